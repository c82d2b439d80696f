"""The illustrative sample data: minimum counts, every status, tiling grid cells, idempotent."""

from __future__ import annotations

import json
import shutil
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from layers.domain import models, registry
from layers.domain import vocabularies as status
from layers.services.sample import load_sample_data

pytestmark = pytest.mark.django_db

MINIMUMS = {
    "communities": 3,
    "grid-cells": 12,
    "renovation-sites": 12,
    "viewpoints": 10,
    "pocket-parks": 5,
    "buildings": 300,
    "hazards": 60,
    "service-points": 12,
    "streets": 15,
    "water": 2,
    "landmarks": 3,
}


@pytest.mark.parametrize("slug", registry.slugs())
def test_counts_meet_the_minimums(slug):
    assert registry.get(slug).model.objects.count() >= MINIMUMS[slug]


@pytest.mark.parametrize("slug", registry.slugs())
def test_every_value_of_every_vocabulary_appears(slug):
    spec = registry.get(slug)
    for field, vocabulary in spec.vocabularies().items():
        present = set(spec.model.objects.values_list(field, flat=True))
        missing = set(vocabulary.values) - present
        assert not missing, f"{slug}.{field} never takes {missing}"


def test_renovation_statuses_fit_their_kinds():
    for site in models.RenovationSite.objects.all():
        assert site.status in status.RENOVATION_STAGES_BY_KIND[site.kind].values, site.ref


def test_grid_cells_tile_each_community_without_gaps_or_overlaps():
    with connection.cursor() as cursor:
        # Overlap between any two cells, in m² (EPSG:4549).
        cursor.execute(
            """
            SELECT COALESCE(MAX(ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), 4549))), 0)
            FROM layers_gridcell a JOIN layers_gridcell b
              ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
            """
        )
        assert cursor.fetchone()[0] < 0.01
        # Each community against the union of its cells: symmetric difference in m².
        cursor.execute(
            """
            SELECT c.code,
                   ST_Area(ST_Transform(ST_SymDifference(c.geom, ST_Union(g.geom)), 4549))
            FROM layers_community c JOIN layers_gridcell g ON g.community_id = c.id
            GROUP BY c.id
            """
        )
        rows = cursor.fetchall()
    assert len(rows) == models.Community.objects.count()
    for code, gap in rows:
        assert gap < 1.0, f"community {code}: {gap:.2f} m² not covered exactly by its grid cells"


def test_buildings_do_not_overlap():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM layers_building a JOIN layers_building b
              ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
             AND ST_Area(ST_Intersection(a.geom, b.geom)) > 0
            """
        )
        assert cursor.fetchone()[0] == 0


def test_derived_links_are_filled_and_some_hazards_are_overdue():
    hazards = models.SafetyHazard.objects.all()
    assert not hazards.filter(grid_cell__isnull=True).exists()
    assert not hazards.filter(community__isnull=True).exists()
    assert hazards.filter(building__isnull=False).count() >= hazards.count() // 2
    assert sum(h.is_overdue for h in hazards) >= 3
    assert not models.Building.objects.filter(community__isnull=True).exists()
    assert models.Building.objects.filter(renovation_site__isnull=False).exists()
    assert models.SafetyHazard.objects.filter(level="major").exists()


def test_qu_qiubai_former_residence_is_at_its_real_location():
    from django.contrib.gis.geos import Point

    viewpoint = models.CulturalViewpoint.objects.get(name__contains="瞿秋白故居")
    assert viewpoint.geom.distance(Point(119.94722, 31.78278, srid=4326)) < 1e-6


def test_sample_data_is_marked_illustrative():
    for spec in registry.LAYERS:
        data = json.loads(spec.sample_path.read_text(encoding="utf-8"))
        assert "示意数据" in data["description"], spec.slug


def test_loading_twice_changes_nothing():
    def snapshot():
        return {
            spec.slug: (
                spec.model.all_objects.count(),
                spec.model.history.count(),
                sorted(spec.model.all_objects.values_list("pk", "version")),
            )
            for spec in registry.LAYERS
        }

    before = snapshot()
    results = load_sample_data()
    assert snapshot() == before
    assert all(r.created == 0 and r.updated == 0 for r in results.values())


@pytest.mark.slow
def test_load_sample_data_command_reports_each_layer():
    out = StringIO()
    call_command("load_sample_data", stdout=out)
    text = out.getvalue()
    for slug in registry.slugs():
        assert slug in text
    assert "created    0  updated    0" in text


def test_a_bad_row_is_reported_and_nothing_changes(tmp_path, settings):
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    for spec in registry.LAYERS:
        (fixtures / spec.sample_path.name).write_text(spec.sample_path.read_text("utf-8"), "utf-8")
    (fixtures / "users.json").write_text(
        (spec.sample_path.parent / "users.json").read_text("utf-8"), "utf-8"
    )
    shutil.copytree(spec.sample_path.parent / "photos", fixtures / "photos")
    hazards = json.loads((fixtures / "hazards.geojson").read_text("utf-8"))
    hazards["features"][0]["properties"]["name"] = "改过的名字"
    hazards["features"][3]["properties"]["level"] = "catastrophic"
    (fixtures / "hazards.geojson").write_text(json.dumps(hazards, ensure_ascii=False), "utf-8")
    settings.BASE_DIR = tmp_path
    ref = hazards["features"][3]["properties"]["ref"]
    with pytest.raises(CommandError) as exc:
        call_command("load_sample_data", stdout=StringIO())
    message = str(exc.value)
    assert "hazards.geojson feature #4" in message and ref in message and "level" in message
    assert not models.SafetyHazard.objects.filter(name="改过的名字").exists()


def test_viewpoint_photos_are_loaded_into_media_storage():
    from django.core.files.storage import default_storage

    with_photo = models.CulturalViewpoint.objects.exclude(photo="")
    assert with_photo.count() == models.CulturalViewpoint.objects.count()
    for viewpoint in with_photo:
        assert default_storage.exists(viewpoint.photo.name)
        assert viewpoint.photo.name.startswith("viewpoints/")


def test_a_3d_feature_is_loaded_in_2d():
    from layers.services.loading import upsert_features

    spec = registry.get("hazards")
    feature = json.loads(spec.sample_path.read_text(encoding="utf-8"))["features"][0]
    x, y = feature["geometry"]["coordinates"][:2]
    feature["geometry"]["coordinates"] = [x, y, 7.5]
    feature["properties"] = {**feature["properties"], "ref": "Z-TEST-1", "name": "三维隐患"}
    upsert_features(spec, [feature], "test")
    stored = models.SafetyHazard.objects.get(ref="Z-TEST-1").geom
    assert not stored.hasz and stored.coords == (x, y)


def test_sample_hazards_have_a_past():
    """The sample hazards were walked through the lifecycle over the months before the
    reference date: closed ones across at least three months, closed at their re-inspection
    (never at the load time), some on time, some late, some reworked, some returned."""
    import datetime as dt

    from django.utils import timezone

    from layers.domain.models import HazardEvent, SafetyHazard
    from layers.services import sample_history

    closed = list(SafetyHazard.objects.filter(status="closed", ref__startswith="HZ-"))
    assert closed
    loaded = timezone.now() - dt.timedelta(hours=6)
    stamps = []
    for hazard in closed:
        events = list(hazard.events.order_by("at", "pk"))
        times = [e.at for e in events]
        assert times == sorted(times)
        assert events[-1].action in ("pass", "fix_on_spot")
        assert hazard.closed_at == events[-1].at
        assert hazard.closed_at < loaded  # never the load time
        assert hazard.closed_at.date() < sample_history.REFERENCE
        rectifiers = [e.actor_id for e in events if e.action == "rectify"]
        if events[-1].action == "pass":
            assert events[-1].actor_id != rectifiers[-1]
        stamps += times
    assert (max(stamps) - min(stamps)).days >= 90
    late = [h for h in closed if h.deadline and timezone.localdate(h.closed_at) > h.deadline]
    assert 0 < len(late) < len(closed)
    assert HazardEvent.objects.filter(action="fail", hazard__in=closed).exists()
    assert HazardEvent.objects.filter(action="return").exists()
    open_ = SafetyHazard.objects.filter(status__in=("assigned", "rectifying", "reinspection"))
    assert all(h.events.filter(action="assign").exists() for h in open_)
