"""Documents cached per role class and layer generation (layers/query/documents.py): the OGC
collections and the REST layer index are built once, for the callers who get the same bytes,
until a write to one of their layers; extents come from the spatial index, not a scan."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import Point
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from layers.domain import models, registry
from layers.query import documents
from layers.services import editing

pytestmark = pytest.mark.django_db


def statements(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


def collection(body: dict, slug: str) -> dict:
    return next(c for c in body["collections"] if c["id"] == slug)


def test_the_extent_covers_every_feature_without_reading_the_table():
    for spec in registry.LAYERS:
        live = spec.model.objects.all()
        exact = live.aggregate(e=Extent("geom"))["e"]
        with CaptureQueriesContext(connection) as queries:
            box, (first, last) = documents.extent(spec)
        if exact is None:
            continue
        west, south, east, north = box
        assert west <= exact[0] and south <= exact[1], spec.slug
        assert east >= exact[2] and north >= exact[3], spec.slug
        # Bounded: the index's box, not a guess. It covers what the table's rows ever held
        # (deleted ones too, until the index is rebuilt: other tests on this database write),
        # so it is not compared with the live rows' box; every row lies in the service area.
        ax, ay, bx, by = settings.SERVICE_AREA
        slack = 1e-4  # float4 rounding of the index keys
        assert west >= ax - slack and south >= ay - slack, spec.slug
        assert east <= bx + slack and north <= by + slack, spec.slug
        assert (first, last) == (
            live.earliest("updated_at").updated_at,
            live.latest("updated_at").updated_at,
        )
        (sql,) = statements(queries)
        # The index's box; no aggregate over the rows (ST_Extent, Extent()).
        assert "ST_EstimatedExtent" in sql and sql.count("Extent(") == 1, sql


def test_collections_are_built_once_then_rebuilt_after_a_write(client, editor):
    first = client.get("/ogc/collections").json()
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/ogc/collections").json()
    assert again == first
    assert not [s for s in statements(queries) if "ST_EstimatedExtent" in s]
    # A viewpoint moves to the far edge of the service area: the next answer shows it.
    spec = registry.get("viewpoints")
    viewpoint = models.CulturalViewpoint.objects.order_by("pk").first()
    before = collection(first, "viewpoints")["extent"]
    west = before["spatial"]["bbox"][0][0]
    editing.update(
        editing.lock(spec, viewpoint.pk), {"geom": Point(west - 0.004, 31.78, srid=4326)}, editor
    )
    after = collection(client.get("/ogc/collections").json(), "viewpoints")["extent"]
    assert after["spatial"]["bbox"][0][0] == pytest.approx(west - 0.004, abs=1e-4)
    assert after["temporal"]["interval"][0][1] > before["temporal"]["interval"][0][1]
    # One collection's own document follows as well.
    alone = client.get("/ogc/collections/viewpoints").json()
    assert alone["extent"] == after


def test_a_cached_document_never_reaches_another_role(editor_client):
    anonymous_client = Client()
    signed_in = {c["id"] for c in editor_client.get("/ogc/collections").json()["collections"]}
    anonymous = {c["id"] for c in anonymous_client.get("/ogc/collections").json()["collections"]}
    public = {spec.slug for spec in registry.LAYERS if spec.is_public}
    assert anonymous == public < signed_in
    # The same for the REST layer index, whose fields differ by role too.
    editor = editor_client.get("/api/v1/layers/").json()["layers"]
    public_index = anonymous_client.get("/api/v1/layers/").json()["layers"]
    assert {layer["slug"] for layer in public_index} == public
    more = []
    for layer in public_index:
        mine = next(e for e in editor if e["slug"] == layer["slug"])
        spec = registry.get(layer["slug"])
        assert [f["name"] for f in layer["fields"]] == list(spec.public_fields)
        more += [layer["slug"]] if len(mine["fields"]) > len(layer["fields"]) else []
    assert more, "an editor sees more fields of some public layer than the public"


def test_the_layer_index_is_cached_until_its_layer_changes(editor_client, editor):
    def hazards(response):
        return next(layer for layer in response.json()["layers"] if layer["slug"] == "hazards")

    first = hazards(editor_client.get("/api/v1/layers/"))
    assert first["count"] == models.SafetyHazard.objects.count() and first["count_exact"]
    with CaptureQueriesContext(connection) as queries:
        assert hazards(editor_client.get("/api/v1/layers/")) == first
    assert not [s for s in statements(queries) if "count(*)" in s.lower()]
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    editing.soft_delete(editing.lock(registry.get("hazards"), hazard.pk), editor)
    assert hazards(editor_client.get("/api/v1/layers/"))["count"] == first["count"] - 1


@override_settings(API_INDEX_EXACT_COUNT=10)
def test_a_large_layer_is_estimated_in_the_index(editor_client):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE layers_building")
    buildings = next(
        layer
        for layer in editor_client.get("/api/v1/layers/").json()["layers"]
        if layer["slug"] == "buildings"
    )
    total = models.Building.objects.count()
    assert buildings["count_exact"] is False and total / 2 <= buildings["count"] <= total * 2
