"""The layer API: CRUD per layer, filters against PostGIS, paging, versions and history."""

from __future__ import annotations

import json

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from rest_framework.test import APIClient

from layers.domain import models, registry
from tests import factories as f

pytestmark = pytest.mark.django_db

LIST = "/api/v1/{slug}/"
DETAIL = "/api/v1/{slug}/{pk}/"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/geo+json"
    return [feature["id"] for feature in response.json()["features"]]


def sql_ids(sql: str, params=()) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def editor_api(db):
    from tests.conftest import make_user

    client = APIClient()
    client.force_authenticate(make_user("api-editor", "editor"))
    return client


@pytest.mark.parametrize("slug", registry.slugs())
def test_crud_round_trip(editor_api, slug):
    spec = registry.get(slug)
    feature = f.new_feature_body(spec, editor_api)
    created = editor_api.post(LIST.format(slug=slug), feature, format="json")
    assert created.status_code == 201, created.content
    assert created["ETag"] == '"1"'
    pk = created.json()["id"]
    url = DETAIL.format(slug=slug, pk=pk)
    assert editor_api.get(url).json()["properties"]["name"] == feature["properties"]["name"]

    patched = editor_api.patch(
        url, {"properties": {"name": "改名 renamed"}}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert patched.status_code == 200, patched.content
    assert patched["ETag"] == '"2"'
    assert patched.json()["properties"]["name"] == "改名 renamed"

    feature["properties"]["name_en"] = "Replaced"
    put = editor_api.put(url, feature, format="json", HTTP_IF_MATCH='"2"')
    assert put.status_code == 200, put.content
    assert put.json()["properties"]["name_en"] == "Replaced"

    assert editor_api.delete(url, HTTP_IF_MATCH='"3"').status_code == 204
    assert not spec.model.objects.filter(pk=pk).exists()
    assert editor_api.get(url).status_code == 200  # editors still see it, marked deleted
    assert pk in ids(editor_api.get(LIST.format(slug=slug) + "?deleted=true&page_size=1000"))
    restored = editor_api.post(url + "restore/", HTTP_IF_MATCH='"4"')
    assert restored.status_code == 200, restored.content
    assert spec.model.objects.filter(pk=pk).exists()

    history = editor_api.get(url + "history/").json()["versions"]
    assert [v["type"] for v in history] == ["created", "changed", "changed", "deleted", "restored"]
    assert [v["version"] for v in history] == [1, 2, 3, 4, 5]
    assert history[1]["changed_fields"] == ["name"]
    assert all(v["user"] == "api-editor" for v in history)


def test_a_polygon_is_accepted_into_a_multipolygon_layer(editor_api):
    polygon = f.rect(0, 0, 30, 20)
    body = {
        "type": "Feature",
        "geometry": json.loads(polygon.json),
        "properties": {"name": "多边形公园", "theme": "minors", "status": "planned"},
    }
    response = editor_api.post(LIST.format(slug="pocket-parks"), body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["geometry"]["type"] == "MultiPolygon"
    assert response.json()["properties"]["area_m2"] == pytest.approx(600, rel=0.005)


def test_a_geometry_in_epsg_4549_lands_at_the_right_place(editor_api):
    # 瞿秋白故居 in CGCS2000 / GK CM 120E (REFERENCE.md test vector).
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [495000.929, 3517767.227]},
        "properties": {"name": "测点", "category": "gas", "level": "general"},
    }
    response = editor_api.post(LIST.format(slug="hazards") + "?crs=EPSG:4549", body, format="json")
    assert response.status_code == 201, response.content
    lon, lat = response.json()["geometry"]["coordinates"]
    assert Point(lon, lat, srid=4326).distance(Point(119.94722, 31.78278)) < 2e-7  # ~2 cm


@pytest.mark.parametrize("crs", ["EPSG:2000", "+proj=longlat", "file:///etc/passwd", "4326x"])
def test_an_unlisted_crs_is_refused_before_gdal(editor_api, crs):
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [119.95, 31.78]},
        "properties": {"name": "x", "category": "gas", "level": "general"},
    }
    response = editor_api.post(
        LIST.format(slug="hazards"), body, format="json", QUERY_STRING=f"crs={crs}"
    )
    assert response.status_code == 400
    assert "crs" in response.json()


def test_two_clients_same_version_exactly_one_wins(db):
    from tests.conftest import make_user

    spec = registry.get("hazards")
    # An open hazard: a closed one is on the record and only a leader corrects it.
    hazard = spec.model.objects.filter(status="assigned").order_by("pk").first()
    url = DETAIL.format(slug="hazards", pk=hazard.pk)
    first, second = APIClient(), APIClient()
    first.force_authenticate(make_user("inspector-a", "inspector"))
    second.force_authenticate(make_user("inspector-b", "inspector"))
    version = f'"{hazard.version}"'
    a = first.patch(url, {"properties": {"description": "A"}}, format="json", HTTP_IF_MATCH=version)
    b = second.patch(
        url, {"properties": {"description": "B"}}, format="json", HTTP_IF_MATCH=version
    )
    assert (a.status_code, b.status_code) == (200, 412)
    assert b.json()["current_version"] == hazard.version + 1
    hazard.refresh_from_db()
    assert hazard.description == "A"
    assert hazard.history.count() == 2  # loaded once, changed once


def test_update_without_a_version_is_refused(editor_api):
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    response = editor_api.patch(
        DETAIL.format(slug="hazards", pk=hazard.pk), {"properties": {"name": "x"}}, format="json"
    )
    assert response.status_code == 428
    response = editor_api.patch(
        DETAIL.format(slug="hazards", pk=hazard.pk),
        {"properties": {"name": "x", "version": hazard.version}},
        format="json",
    )
    assert response.status_code == 200


def test_etag_and_if_none_match(editor_api):
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    url = DETAIL.format(slug="hazards", pk=hazard.pk)
    etag = editor_api.get(url)["ETag"]
    assert etag == f'"{hazard.version}"'
    assert editor_api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


# --- filters, each checked against the same question asked of PostGIS -----------------------


def test_bbox_filter_matches_postgis(editor_api):
    bbox = (119.944, 31.780, 119.949, 31.784)
    got = ids(
        editor_api.get(
            LIST.format(slug="buildings"), {"bbox": ",".join(map(str, bbox)), "page_size": 1000}
        )
    )
    expected = sql_ids(
        "SELECT id FROM layers_building WHERE deleted_at IS NULL "
        "AND ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
        bbox,
    )
    assert set(got) == expected and len(got) == len(expected) > 10


def test_near_filter_orders_by_metres_and_matches_postgis(editor_api):
    lon, lat, radius = 119.94722, 31.78278, 250
    response = editor_api.get(
        LIST.format(slug="hazards"), {"near": f"{lon},{lat}", "radius": radius, "page_size": 1000}
    )
    features = response.json()["features"]
    distances = [feat["properties"]["distance_m"] for feat in features]
    assert distances == sorted(distances) and max(distances) <= radius
    expected = sql_ids(
        "SELECT id FROM layers_safetyhazard WHERE deleted_at IS NULL AND ST_DWithin("
        "geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s)",
        (lon, lat, radius),
    )
    assert {feat["id"] for feat in features} == expected and expected
    first = models.SafetyHazard.objects.get(pk=features[0]["id"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Distance(%s::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)",
            (first.geom.ewkt, lon, lat),
        )
        assert features[0]["properties"]["distance_m"] == pytest.approx(
            cursor.fetchone()[0], abs=0.01
        )


def test_status_category_level_community_and_q_combine(editor_api):
    community = models.Community.objects.order_by("pk").first()
    params = {
        "status": "found,reported,rectifying",
        "level": "major",
        "community": community.code,
        "page_size": 1000,
    }
    got = set(ids(editor_api.get(LIST.format(slug="hazards"), params)))
    expected = sql_ids(
        "SELECT id FROM layers_safetyhazard WHERE deleted_at IS NULL AND level = 'major' "
        "AND status IN ('found', 'reported', 'rectifying') AND community_id = %s",
        (community.pk,),
    )
    assert got == expected
    repeated = ids(
        editor_api.get(LIST.format(slug="hazards") + "?status=found&status=reported&page_size=1000")
    )
    assert set(repeated) == sql_ids(
        "SELECT id FROM layers_safetyhazard WHERE deleted_at IS NULL "
        "AND status IN ('found', 'reported')"
    )
    word = models.SafetyHazard.objects.order_by("pk").first().name[:4]
    got = set(ids(editor_api.get(LIST.format(slug="hazards"), {"q": word, "page_size": 1000})))
    assert got == sql_ids(
        "SELECT id FROM layers_safetyhazard WHERE deleted_at IS NULL AND (name ILIKE %s "
        "OR name_en ILIKE %s OR description ILIKE %s OR responsible_unit ILIKE %s)",
        [f"%{word}%"] * 4,
    )


def test_grid_filter_on_a_layer_without_a_stored_link_is_spatial(editor_api):
    cell = models.GridCell.objects.order_by("pk").first()
    got = set(
        ids(editor_api.get(LIST.format(slug="buildings"), {"grid": cell.pk, "page_size": 1000}))
    )
    expected = sql_ids(
        "SELECT b.id FROM layers_building b, layers_gridcell g WHERE g.id = %s "
        "AND b.deleted_at IS NULL AND ST_Intersects(b.geom, g.geom)",
        (cell.pk,),
    )
    assert got == expected and got


def test_overdue_and_updated_since(editor_api):
    got = set(
        ids(editor_api.get(LIST.format(slug="hazards"), {"overdue": "true", "page_size": 1000}))
    )
    expected = {h.pk for h in models.SafetyHazard.objects.all() if h.is_overdue}
    assert got == expected and got
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    hazard.save()
    since = hazard.updated_at.isoformat()
    got = ids(editor_api.get(LIST.format(slug="hazards"), {"updated_since": since}))
    assert got == [hazard.pk]


def test_ordering_and_pagination_totals(editor_api):
    total = models.Building.objects.count()
    seen = []
    url = LIST.format(slug="buildings") + "?page_size=200&ordering=-year_built&count=exact"
    while url:
        body = editor_api.get(url).json()
        assert body["count"] == total
        seen += [feat["id"] for feat in body["features"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == total
    expected = sql_ids("SELECT id FROM layers_building WHERE deleted_at IS NULL")
    assert set(seen) == expected
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM layers_building WHERE deleted_at IS NULL ORDER BY year_built DESC, id"
        )
        assert seen == [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize(
    "query, field",
    [
        ("bbox=1,2,3", "bbox"),
        ("bbox=119.96,31.78,119.95,31.79", "bbox"),
        ("near=119.95", "near"),
        ("near=119.95,31.78&radius=-5", "radius"),
        ("radius=100", "radius"),
        ("status=exploded", "status"),
        ("level=apocalyptic", "level"),
        ("community=nowhere", "community"),
        ("updated_since=yesterday", "updated_since"),
        ("ordering=password", "ordering"),
        ("page_size=100000", "page_size"),
        ("page=0", "page"),
        ("colour=red", "colour"),
        ("overdue=maybe", "overdue"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(editor_api, query, field):
    response = editor_api.get(LIST.format(slug="hazards") + "?" + query)
    assert response.status_code == 400
    assert field in response.json()


def test_nearest_open_hazards_by_knn_in_metres(editor_api):
    lon, lat = 119.9475, 31.7840
    body = editor_api.get("/api/v1/hazards/nearest/", {"lon": lon, "lat": lat, "k": 5}).json()
    got = [(feat["id"], feat["properties"]["distance_m"]) for feat in body["features"]]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, ROUND(ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), "
            "4326)::geography)::numeric, 2) d FROM layers_safetyhazard "
            "WHERE deleted_at IS NULL AND status <> 'closed' ORDER BY d, id LIMIT 5",
            (lon, lat),
        )
        expected = [(pk, float(d)) for pk, d in cursor.fetchall()]
    assert got == expected


def test_stats_count_by_status_and_overdue(editor_api):
    body = editor_api.get("/api/v1/stats/").json()
    hazards = models.SafetyHazard.objects
    assert body["layers"]["hazards"] == {
        s: hazards.filter(status=s).count() for s in set(hazards.values_list("status", flat=True))
    }
    assert body["hazards"]["overdue"] == sum(h.is_overdue for h in hazards.all())
    assert sum(row["total"] for row in body["hazards"]["by_grid"]) == hazards.count()
    expro = [r for r in body["renovation"] if r["kind"] == "expropriation"]
    assert expro and expro[0]["households_signed"] <= expro[0]["households_total"]


def test_layer_index_lists_vocabularies_and_counts(editor_api, client):
    body = editor_api.get("/api/v1/layers/").json()
    hazards = next(layer for layer in body["layers"] if layer["slug"] == "hazards")
    assert hazards["count"] == models.SafetyHazard.objects.count()
    assert hazards["geometry_type"] == "Point"
    terms = hazards["vocabularies"]["status"]["terms"]
    assert terms == models.SafetyHazard.status_vocabulary.legend()  # values, labels, colours
    public = client.get("/api/v1/layers/").json()
    public_slugs = {spec.slug for spec in registry.LAYERS if spec.is_public}
    assert {"viewpoints", "pocket-parks", "service-points"} <= public_slugs
    assert {layer["slug"] for layer in public["layers"]} == public_slugs


def test_count_is_right_on_short_pages_and_past_the_end(editor_api, settings):
    settings.COUNT_ROWS_MIN = 100  # the sample's 1,041 buildings stand for a large match
    total = models.Building.objects.count()
    last_page = (total + 99) // 100
    body = editor_api.get(LIST.format(slug="buildings"), {"page": last_page}).json()
    assert body["count"] == total and body["next"] is None
    assert len(body["features"]) == total - (last_page - 1) * 100
    beyond = editor_api.get(LIST.format(slug="buildings"), {"page": last_page + 5}).json()
    assert beyond["features"] == [] and beyond["previous"] and beyond["next"] is None
    # Counting 1,041 is over a page's budget: the estimate, never above what the page proves.
    assert beyond["count_exact"] is False and beyond["count"] <= (last_page + 4) * 100
    args = {"page": last_page + 5, "count": "exact"}
    beyond = editor_api.get(LIST.format(slug="buildings"), args).json()
    assert beyond["count"] == total and beyond["count_exact"] is True
    none = editor_api.get(LIST.format(slug="hazards"), {"q": "没有这样的隐患"}).json()
    assert none["count"] == 0 and none["features"] == []


def test_clients_may_ask_for_geojson(editor_api):
    response = editor_api.get(LIST.format(slug="hazards"), HTTP_ACCEPT="application/geo+json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"


def test_an_id_beyond_bigint_is_404_not_500(editor_api):
    assert editor_api.get(DETAIL.format(slug="hazards", pk=9999999999999999999)).status_code == 404


def test_an_invalid_body_is_400_even_with_a_stale_version(editor_api):
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    response = editor_api.patch(
        DETAIL.format(slug="hazards", pk=hazard.pk),
        {"properties": {"assignee": {}}},
        format="json",
        HTTP_IF_MATCH='"999"',
    )
    assert response.status_code == 400 and "assignee" in response.json()
