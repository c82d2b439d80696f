"""Model behaviour: derived fields, metric areas, validation, versions, soft delete, history."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from layers.domain import models
from layers.geo import geometry as geo
from layers.services import editing
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_hazard_inside_a_building_gets_building_grid_and_community():
    community = f.community()
    west = f.grid_cell(community, "T-G1", dx=0, w=200)
    east = f.grid_cell(community, "T-G2", dx=200, w=200)
    building = f.make(
        models.Building, name="测试楼", use="residential", geom=f.multi(f.rect(250, 100, 30, 20))
    )
    hazard = f.make(
        models.SafetyHazard,
        name="楼道堆物",
        category="escape_route",
        level="general",
        geom=f.point(265, 110),
    )
    assert hazard.building == building
    assert hazard.grid_cell == east != west
    assert hazard.community == community
    assert building.community == community


def test_hazard_moved_out_of_the_building_loses_it():
    community = f.community()
    f.grid_cell(community)
    f.make(models.Building, name="楼", use="mixed", geom=f.multi(f.rect(50, 50, 20, 20)))
    hazard = f.make(
        models.SafetyHazard, name="飞线充电", category="ebike", level="major", geom=f.point(60, 60)
    )
    assert hazard.building is not None
    hazard.geom = f.point(150, 300)
    f.resave(hazard)
    hazard.refresh_from_db()
    assert hazard.building is None
    assert hazard.grid_cell.code == "T-G1"


def test_building_lies_in_the_renovation_site_covering_it():
    site = f.make(
        models.RenovationSite,
        name="测试小区改造",
        kind="old_community",
        phase="5",
        status="preparation",
        geom=f.multi(f.rect(0, 0, 100, 100)),
    )
    inside = f.make(
        models.Building, name="甲", use="residential", geom=f.multi(f.rect(10, 10, 20, 20))
    )
    outside = f.make(
        models.Building, name="乙", use="residential", geom=f.multi(f.rect(150, 10, 20, 20))
    )
    assert inside.renovation_site == site
    assert outside.renovation_site is None


def test_park_area_is_metric_and_matches_postgis_in_epsg_4549():
    park = f.make(
        models.PocketPark,
        name="测试公园",
        theme="civil_code",
        status="open",
        geom=f.rect(0, 0, 50, 40),
    )
    assert park.geom.geom_type == "MultiPolygon"  # a Polygon is accepted into the Multi field
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Area(ST_Transform(geom, 4549)) FROM layers_pocketpark WHERE id = %s",
            [park.pk],
        )
        postgis_area = cursor.fetchone()[0]
    assert park.area_m2 == pytest.approx(postgis_area, rel=0.005)
    assert park.area_m2 == pytest.approx(2000, rel=0.005)


def test_metric_lengths_reuse_one_transformation_per_thread_and_match_postgis():
    """The walk of a stop page: EPSG:4549 metres as PostGIS gives them, from a transformation
    made once per thread (making one costs PROJ tens of milliseconds), never shared."""
    import threading

    from django.contrib.gis.geos import LineString

    line = LineString([(119.9465, 31.7829), (119.9491, 31.7846)], srid=geo.STORAGE_SRID)
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Length(ST_Transform(ST_GeomFromEWKT(%s), 4549))", [line.ewkt])
        postgis = cursor.fetchone()[0]
    assert geo.metric_length(line) == pytest.approx(postgis, rel=1e-9)
    assert geo.metric_length(line) == pytest.approx(postgis, rel=1e-9)  # the kept one, again
    assert geo.to_metric(geo.STORAGE_SRID) is geo.to_metric(geo.STORAGE_SRID)
    other = []
    worker = threading.Thread(target=lambda: other.append(geo.to_metric(geo.STORAGE_SRID)))
    worker.start()
    worker.join()
    assert other[0] is not geo.to_metric(geo.STORAGE_SRID)


def test_self_intersecting_polygon_is_refused_naming_the_field():
    bowtie = f.as_geos(
        "MULTIPOLYGON(((119.950 31.780, 119.951 31.781, 119.951 31.780, "
        "119.950 31.781, 119.950 31.780)))"
    )
    site = models.RenovationSite(
        name="坏多边形", kind="street_upgrade", status="reserve", geom=bowtie
    )
    with pytest.raises(ValidationError) as exc:
        site.full_clean()
    assert "geom" in exc.value.message_dict
    assert "Self-intersection" in " ".join(exc.value.message_dict["geom"])


@pytest.mark.parametrize(
    "wkt, hint",
    [
        ("POINT(31.7828 119.9472)", "swapped"),  # lat, lon given as lon, lat
        ("POINT(0 0)", "Outside the service area"),
        ("POINT(120.3 31.5)", "Outside the service area"),  # elsewhere in Jiangsu
    ],
)
def test_point_outside_the_service_area_is_refused(wkt, hint):
    hazard = models.SafetyHazard(
        name="远处隐患", category="gas", level="general", geom=f.as_geos(wkt)
    )
    with pytest.raises(ValidationError) as exc:
        hazard.full_clean()
    messages = " ".join(exc.value.message_dict["geom"])
    assert hint in messages


def test_wrong_geometry_type_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as exc:
        geo.validate_geometry(f.rect(0, 0, 10, 10), "POINT", "geom")
    assert "Expected a Point" in " ".join(exc.value.message_dict["geom"])
    with pytest.raises(TypeError):  # the model never holds a geometry of the wrong type
        models.CulturalViewpoint(geom=f.rect(0, 0, 10, 10))


def test_renovation_rules_name_their_fields():
    site = models.RenovationSite(
        name="规则",
        kind="expropriation",
        status="construction",  # a building stage, not an expropriation stage
        households_total=10,
        households_signed=12,
        households_vacated=13,
        progress=101,
        geom=f.multi(f.rect(0, 0, 50, 50)),
    )
    with pytest.raises(ValidationError) as exc:
        site.full_clean()
    errors = exc.value.message_dict
    assert {"status", "households_signed", "households_vacated", "progress"} <= set(errors)
    assert "mobilisation" in " ".join(errors["status"])


def test_unknown_park_facility_is_refused():
    park = models.PocketPark(
        name="设施", theme="minors", facilities=["benches", "jacuzzi"], geom=f.rect(0, 0, 20, 20)
    )
    with pytest.raises(ValidationError) as exc:
        editing.full_clean(park)  # every write's checks: the model's and the registry's
    assert "jacuzzi" in " ".join(exc.value.message_dict["facilities"])


def test_every_save_bumps_the_version_and_keeps_history():
    park = f.make(
        models.PocketPark,
        name="版本",
        theme="mediation",
        status="planned",
        geom=f.rect(0, 0, 30, 30),
    )
    assert park.version == 1
    park.status = "under_construction"
    park.save()
    park.refresh_from_db()
    assert park.version == 2
    statuses = list(park.history.order_by("history_date").values_list("status", flat=True))
    assert statuses == ["planned", "under_construction"]


def test_soft_delete_hides_and_restore_brings_back():
    park = f.make(
        models.PocketPark,
        name="软删除",
        theme="anti_fraud",
        status="open",
        geom=f.rect(0, 0, 30, 30),
    )
    park.soft_delete()
    assert not models.PocketPark.objects.filter(pk=park.pk).exists()
    assert models.PocketPark.all_objects.get(pk=park.pk).is_deleted
    park.restore()
    assert models.PocketPark.objects.filter(pk=park.pk).exists()
    assert park.history.count() == 3


def test_overdue_means_past_deadline_and_not_closed():
    import datetime

    past = datetime.date(2020, 1, 1)
    open_hazard = models.SafetyHazard(status="rectifying", deadline=past)
    closed_hazard = models.SafetyHazard(status="closed", deadline=past)
    no_deadline = models.SafetyHazard(status="found", deadline=None)
    assert open_hazard.is_overdue
    assert not closed_hazard.is_overdue
    assert not no_deadline.is_overdue
