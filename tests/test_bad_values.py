"""Regression tests for every bad value of issue 9 ("Bad values reach the server's insides"), on
every channel where the parameter exists: REST /api/v1/, OGC /ogc/ and tiles /tiles/.

Each answered 500 or never answered before the shared parsers of layers/query/. Now each is a
400 naming the parameter (404 for an id in a URL path that names no feature), and changes
nothing. Most requests are anonymous, as they were when found.
"""

from __future__ import annotations

import json
import math
from urllib.parse import quote

import pytest
from django.contrib.gis.geos import GEOSGeometry

from layers.domain import models
from layers.domain.roles import EDITOR, INSPECTOR
from layers.geo import crs as crs_table

pytestmark = pytest.mark.django_db

REST = "/api/v1/viewpoints/"  # public: anonymous callers reach every list parameter
OGC = "/ogc/collections/viewpoints/items"
SUPERSCRIPT_TWO = "²"  # str.isdigit() is True; int() refuses it
ARABIC_THREE = "٣"  # int() accepts it: a Unicode digit is no ASCII integer either


def rest_400(client, query: str, name: str, url: str = REST, **headers):
    response = client.get(f"{url}?{query}", **headers)
    assert response.status_code == 400, (query, response.status_code, response.content[:300])
    body = response.json()
    assert name in body, (query, body)
    return body


def ogc_400(client, query: str, name: str, url: str = OGC):
    response = client.get(f"{url}?{query}")
    assert response.status_code == 400, (query, response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == "InvalidParameterValue"
    assert body["description"].startswith(f"{name}:"), (query, body)
    return body


def tile_url(z: int = 16) -> str:
    from tests.test_tiles import QU_QIUBAI, tile_of

    x, y = tile_of(*QU_QIUBAI, z)
    return f"/tiles/multi/{z}/{x}/{y}.pbf"


# --- a NUL byte in q, community or grid (and the text parameters of OGC and tiles) -----------


@pytest.mark.parametrize("name", ["q", "community", "grid"])
def test_rest_nul_in_text_parameters(client, name):
    if name in ("community", "grid"):  # staff filters: the public gets "unknown parameter"
        from tests.conftest import make_user

        client.force_login(make_user("t-nul-planner", "planner"))
    body = rest_400(client, f"{name}=a%00b", name)
    assert "control characters" in str(body[name]) or "NUL" in str(body[name])


@pytest.mark.parametrize("name", ["q", "community", "grid"])
def test_rest_nul_alone_and_at_the_end(client, name):
    rest_400(client, f"{name}=%00", name)
    rest_400(client, f"{name}=C01%00", name)


@pytest.mark.parametrize(
    "query, name",
    [
        ("status=open%00", "status"),
        ("theme=streetscape%00", "theme"),
        ("crs=%00", "crs"),
        ("bbox=119.94,31.77,119.95,31.78&bbox-crs=%00", "bbox-crs"),
        ("datetime=2026-10-01%00", "datetime"),
        ("f=json%00", "f"),
    ],
)
def test_ogc_nul_in_text_parameters(client, query, name):
    ogc_400(client, query, name)


def test_rest_nul_in_vocabulary_and_ordering(client):
    rest_400(client, "status=open%00", "status")
    rest_400(client, "ordering=name%00", "ordering")


def test_tiles_nul_in_layers(client):
    response = client.get(tile_url() + "?layers=viewpoints%00")
    assert response.status_code == 400 and "layers" in response.json()


def test_rest_nul_in_a_body_string_is_named(role_client):
    client = role_client(INSPECTOR)
    before = models.SafetyHazard.all_objects.count()
    body = (
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.9472, 31.7828]},'
        ' "properties": {"name": "a\\u0000b", "category": "gas", "level": "general"}}'
    )
    response = client.post("/api/v1/hazards/", body, content_type="application/json")
    assert response.status_code == 400 and "name" in response.json(), response.content
    assert models.SafetyHazard.all_objects.count() == before


# --- non-ASCII digits in page, page_size, limit, offset, ids and If-Match ---------------------


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE, "１"])
@pytest.mark.parametrize("name", ["page", "page_size"])
def test_rest_unicode_digits_in_paging(client, name, digit):
    rest_400(client, f"{name}={quote(digit)}", name)
    rest_400(client, f"{name}=1{quote(digit)}", name)


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
@pytest.mark.parametrize("name", ["limit", "offset"])
def test_ogc_unicode_digits_in_limit_and_offset(client, name, digit):
    ogc_400(client, f"{name}={quote(digit)}", name)


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
def test_rest_unicode_digits_as_community_or_grid_id(client, digit):
    rest_400(client, f"community={quote(digit)}", "community")
    rest_400(client, f"grid={quote(digit)}", "grid")


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
def test_rest_unicode_digits_in_nearest_k(role_client, digit):
    client = role_client(INSPECTOR)
    rest_400(client, f"lon=119.95&lat=31.78&k={quote(digit)}", "k", url="/api/v1/hazards/nearest/")


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
def test_unicode_digits_as_ids_in_urls_name_no_feature(client, digit):
    viewpoint = models.CulturalViewpoint.objects.order_by("pk").first()
    for path in (
        f"/api/v1/viewpoints/{quote(digit)}/",
        f"/api/v1/viewpoints/{viewpoint.pk}{quote(digit)}/",
        f"/ogc/collections/viewpoints/items/{quote(digit)}",
        f"/ogc/collections/viewpoints/items/{viewpoint.pk}{quote(digit)}",
        f"/tiles/viewpoints/1{quote(digit)}/1/1.pbf",
    ):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
    # The same id in ASCII is the feature.
    ok = client.get(f"/ogc/collections/viewpoints/items/{viewpoint.pk}")
    assert ok.status_code == 200 and ok.json()["id"] == viewpoint.pk


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
@pytest.mark.parametrize("verb", ["patch", "delete"])
def test_rest_unicode_digits_in_if_match(role_client, verb, digit):
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    client = role_client(EDITOR)
    url = f"/api/v1/hazards/{hazard.pk}/"
    data = {"properties": {"name": "不应保存"}} if verb == "patch" else None
    response = getattr(client, verb)(url, data, format="json", HTTP_IF_MATCH=f'"{digit}"')
    assert response.status_code == 400 and "If-Match" in response.json(), response.content
    hazard.refresh_from_db()
    assert hazard.name != "不应保存" and hazard.deleted_at is None


def test_rest_restore_with_unicode_if_match(role_client):
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    response = role_client(EDITOR).post(
        f"/api/v1/hazards/{hazard.pk}/restore/", HTTP_IF_MATCH=f'"{SUPERSCRIPT_TWO}"'
    )
    assert response.status_code == 400 and "If-Match" in response.json()


# --- page past the integer range (and the other bounded integers) ----------------------------


@pytest.mark.parametrize("value", ["99999999999999999999", "9223372036854775808", "1000001"])
def test_rest_page_past_the_range(client, value):
    rest_400(client, f"page={value}", "page")


def test_rest_page_size_past_the_range(client):
    rest_400(client, "page_size=99999999999999999999", "page_size")


@pytest.mark.parametrize("name", ["limit", "offset"])
def test_ogc_limit_and_offset_past_the_range(client, name):
    ogc_400(client, f"{name}=99999999999999999999", name)


def test_tiles_coordinates_past_the_range_are_no_tile(client):
    for path in (
        "/tiles/viewpoints/99999999999999999999/1/1.pbf",
        "/tiles/viewpoints/16/99999999999999999999/1.pbf",
        "/tiles/multi/16/1/99999999999999999999.pbf",
    ):
        assert client.get(path).status_code == 404, path


# --- impossible dates and offsets in updated_since (REST) and datetime (OGC) -----------------

BAD_TIMES = [
    "2026-13-01",
    "2026-02-30",
    "2026-00-10",
    "2026-10-01T08:00:00+99:00",
    "2026-10-01T08:00:00+24:00",
    "2026-10-01T25:00:00",
    "0000-01-01",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:00:00-05:00",  # year 10000 in UTC
    "0001-01-01T00:30:00+01:00",  # year 0 in UTC
    "0001-01-01T00:00:00",  # Asia/Shanghai: year 0 in UTC
    "2026-10-01T08:00:00Z\x00",
    "2026-10-01T08:00:00.5+08:00junk",
]


@pytest.mark.parametrize("value", BAD_TIMES)
def test_rest_impossible_updated_since(client, value):
    rest_400(client, f"updated_since={quote(value)}", "updated_since")


@pytest.mark.parametrize("value", BAD_TIMES)
def test_ogc_impossible_datetime(client, value):
    ogc_400(client, f"datetime={quote(value)}", "datetime")
    ogc_400(client, f"datetime={quote(value)}/..", "datetime")
    ogc_400(client, f"datetime=../{quote(value)}", "datetime")


# --- bbox=nan,… ----------------------------------------------------------------------------

NON_FINITE_BBOXES = [
    "nan,31.77,119.95,31.78",
    "119.94,NaN,119.95,31.78",
    "119.94,31.77,inf,31.78",
    "-Infinity,31.77,119.95,31.78",
    "119.94,31.77,1e309,31.78",
]


@pytest.mark.parametrize("bbox", NON_FINITE_BBOXES)
def test_rest_non_finite_bbox(client, bbox):
    rest_400(client, f"bbox={bbox}", "bbox")


@pytest.mark.parametrize("bbox", NON_FINITE_BBOXES)
def test_ogc_non_finite_bbox(client, bbox):
    ogc_400(client, f"bbox={bbox}", "bbox")


def test_rest_non_finite_near_and_radius(client):
    rest_400(client, "near=nan,31.78", "near")
    rest_400(client, "near=119.95,31.78&radius=nan", "radius")
    rest_400(client, "near=119.95,31.78&radius=inf", "radius")


# --- huge or infinite coordinates in a projected bbox-crs, or in a body sent with crs= ------


@pytest.fixture
def proj_spy(monkeypatch):
    """Every geometry handed to GDAL/PROJ for a transform, recorded; PROJ itself is not called
    for coordinates outside the source CRS's area of use (PROJ may spin on them for minutes),
    so a regression fails here instead of hanging the test run."""
    from django.contrib.gis.geos import GEOSGeometry as Geometry

    seen = []
    real = Geometry.transform

    def transform(self, ct, clone=False):
        crs = crs_table.BY_SRID.get(self.srid)
        minx, miny, maxx, maxy = self.extent
        safe = crs is not None and crs.contains(minx, miny) and crs.contains(maxx, maxy)
        if not safe or not all(math.isfinite(v) for v in self.extent):
            seen.append((self.srid, self.extent))
            raise AssertionError("PROJ was handed coordinates outside the area of use")
        return real(self, ct, clone=clone)

    monkeypatch.setattr(Geometry, "transform", transform)
    return seen


HUGE = ["1e300", "1e16", "-1e300", "1e308"]


@pytest.mark.parametrize("srid", [4549, 4528, 3857])
@pytest.mark.parametrize("value", HUGE)
def test_ogc_huge_bbox_in_a_projected_crs(client, proj_spy, srid, value):
    uri = quote(crs_table.EPSG + str(srid))
    ogc_400(client, f"bbox=0,0,{value},{value}&bbox-crs={uri}", "bbox")
    ogc_400(client, f"bbox={value},{value},{value},{value}&bbox-crs={uri}", "bbox")
    assert proj_spy == []


@pytest.mark.parametrize("srid", [4549, 4528, 3857])
def test_ogc_infinite_bbox_in_a_projected_crs(client, proj_spy, srid):
    uri = quote(crs_table.EPSG + str(srid))
    ogc_400(client, f"bbox=0,0,inf,inf&bbox-crs={uri}", "bbox")
    ogc_400(client, f"bbox=0,0,1e999,1e999&bbox-crs={uri}", "bbox")
    assert proj_spy == []


def test_ogc_a_projected_bbox_inside_the_area_of_use_still_works(client, proj_spy):
    from tests.conftest import make_user

    client.force_login(make_user("bad-values-editor", EDITOR))
    uri = quote(crs_table.EPSG + "4549")
    response = client.get(f"{OGC}?bbox=3517600,494700,3518000,495300&bbox-crs={uri}&limit=100")
    assert response.status_code == 200 and response.json()["numberReturned"] > 0
    assert proj_spy == []


@pytest.mark.parametrize("srid", [4549, 4528, 3857])
@pytest.mark.parametrize("value", [*HUGE, "1e999"])
def test_rest_huge_coordinates_in_a_body_with_crs(role_client, proj_spy, srid, value):
    client = role_client(INSPECTOR)
    before = models.SafetyHazard.all_objects.count()
    body = (
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": '
        f'[{value}, {value}]}}, "properties": {{"name": "远", "category": "gas", '
        '"level": "general"}}'
    )
    response = client.post(
        f"/api/v1/hazards/?crs=EPSG:{srid}", body, content_type="application/json"
    )
    assert response.status_code == 400 and "geom" in response.json(), response.content
    assert proj_spy == []
    assert models.SafetyHazard.all_objects.count() == before


def test_rest_huge_coordinates_in_an_update_with_crs(role_client, proj_spy):
    site = models.RenovationSite.objects.order_by("pk").first()
    version, geom = site.version, site.geom.wkt
    body = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[0, 0], [1e300, 0], [1e300, 1e300], [0, 0]]],
        },
    }
    response = role_client(EDITOR).patch(
        f"/api/v1/renovation-sites/{site.pk}/?crs=3857",
        body,
        format="json",
        HTTP_IF_MATCH=f'"{site.version}"',
    )
    assert response.status_code == 400 and "geom" in response.json(), response.content
    assert proj_spy == []
    site.refresh_from_db()
    assert (site.version, site.geom.wkt) == (version, geom)


# --- 3-D coordinates: Z is dropped, never a DataError -----------------------------------------


@pytest.mark.parametrize("crs", ["", "?crs=EPSG:4549"])
def test_rest_3d_point_is_stored_2d(role_client, crs):
    xy = [119.9472, 31.7828] if not crs else [495000.929, 3517767.227]
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [*xy, 12.5]},
        "properties": {"name": "三维点", "category": "gas", "level": "general"},
    }
    response = role_client(INSPECTOR).post(f"/api/v1/hazards/{crs}", body, format="json")
    assert response.status_code == 201, response.content
    assert len(response.json()["geometry"]["coordinates"]) == 2
    stored = models.SafetyHazard.objects.get(pk=response.json()["id"]).geom
    assert not stored.hasz


def test_rest_3d_polygon_is_stored_2d(role_client):
    ring = [
        [119.950, 31.780, 5],
        [119.9502, 31.780, 5],
        [119.9502, 31.7802, 6],
        [119.950, 31.780, 5],
    ]
    body = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name": "三维公园", "theme": "minors", "status": "planned"},
    }
    response = role_client(EDITOR).post("/api/v1/pocket-parks/", body, format="json")
    assert response.status_code == 201, response.content
    park = models.PocketPark.objects.get(pk=response.json()["id"])
    assert not park.geom.hasz
    assert park.geom.equals_exact(
        GEOSGeometry(
            json.dumps({"type": "MultiPolygon", "coordinates": [[[p[:2] for p in ring]]]})
        ),
        1e-12,
    )


def test_rest_3d_update_is_stored_2d(role_client):
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    response = role_client(EDITOR).patch(
        f"/api/v1/hazards/{hazard.pk}/",
        {"geometry": {"type": "Point", "coordinates": [119.9473, 31.7829, 99]}},
        format="json",
        HTTP_IF_MATCH=f'"{hazard.version}"',
    )
    assert response.status_code == 200, response.content
    hazard.refresh_from_db()
    assert not hazard.geom.hasz and hazard.geom.coords == (119.9473, 31.7829)


def test_ogc_bbox_with_heights_ignores_them(client):
    plain = client.get(f"{OGC}?bbox=119.93,31.765,119.97,31.80&limit=100").json()
    heights = client.get(f"{OGC}?bbox=119.93,31.765,-10,119.97,31.80,500&limit=100").json()
    assert [f["id"] for f in heights["features"]] == [f["id"] for f in plain["features"]]
    assert plain["numberReturned"] > 0


def test_rest_bbox_with_heights_is_refused(client):
    rest_400(client, "bbox=119.93,31.765,0,119.97,31.80,5", "bbox")


# --- deeply nested JSON ---------------------------------------------------------------------


@pytest.mark.parametrize("depth", [21, 100, 100_000])
def test_rest_deeply_nested_body(role_client, depth):
    client = role_client(INSPECTOR)
    before = models.SafetyHazard.all_objects.count()
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        response = client.post("/api/v1/hazards/", body, content_type="application/json")
        assert response.status_code == 400 and "body" in response.json(), response.content[:300]
    assert models.SafetyHazard.all_objects.count() == before


def test_rest_deeply_nested_geometry_and_properties(role_client):
    client = role_client(INSPECTOR)
    deep = "[" * 5000 + "]" * 5000
    for body in (
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": ' + deep + "}}",
        '{"type": "Feature", "properties": {"name": ' + deep + "}}",
    ):
        for media in ("application/json", "application/geo+json"):
            response = client.post("/api/v1/hazards/", body, content_type=media)
            assert response.status_code == 400 and "body" in response.json()


def test_rest_deeply_nested_update_changes_nothing(role_client):
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    response = role_client(EDITOR).patch(
        f"/api/v1/hazards/{hazard.pk}/",
        "[" * 50_000 + "]" * 50_000,
        content_type="application/json",
        HTTP_IF_MATCH=f'"{hazard.version}"',
    )
    assert response.status_code == 400 and "body" in response.json()
    assert models.SafetyHazard.objects.get(pk=hazard.pk).version == hazard.version


def test_brackets_inside_strings_do_not_count_as_nesting(role_client):
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [119.9472, 31.7828]},
        "properties": {
            "name": "[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{",
            "description": '"\\"[[[[[[[[[[[[[[[[[[[[[[[[[[',
            "category": "gas",
            "level": "general",
        },
    }
    response = role_client(INSPECTOR).post("/api/v1/hazards/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["properties"]["name"] == body["properties"]["name"]


@pytest.mark.parametrize("charset", ["zlib", "hex", "rot13", "utf-16", "latin-1"])
def test_rest_a_body_in_another_charset_is_refused(role_client, charset):
    client = role_client(INSPECTOR)
    before = models.SafetyHazard.all_objects.count()
    response = client.generic(
        "POST",
        "/api/v1/hazards/",
        b'{"type": "Feature"}',
        content_type=f"application/json; charset={charset}",
    )
    assert response.status_code == 400 and "body" in response.json(), response.content[:200]
    assert models.SafetyHazard.all_objects.count() == before


def test_rest_a_body_that_is_not_utf8_is_refused(role_client):
    body = b'{"type": "Feature", "properties": {"name": "' + bytes([0xFF, 0xFE]) + b'"}}'
    response = role_client(INSPECTOR).generic(
        "POST", "/api/v1/hazards/", body, content_type="application/json"
    )
    assert response.status_code == 400 and "body" in response.json()


# --- CQL2 temporal literals: RFC 3339 only (dateparser took "tomorrow") -----------------------

NOT_RFC3339 = [
    "tomorrow",
    "now",
    "2026-10-01 08:00:00Z",  # a space for T
    "20261001T080000Z",  # basic format
    "2026-10-01T08:00:00",  # no zone
    "2026-10-01T08:00Z",  # no seconds
    "2026-02-30T00:00:00Z",
    "２０２６-10-01T00:00:00Z",
    "2026-10-01T08:00:00+24:00",
]


HAZARDS = "/ogc/collections/hazards/items"  # updated_at is a date-time queryable for editors


@pytest.fixture
def hazard_editor(client):
    from tests.conftest import make_user

    client.force_login(make_user("bad-values-rfc3339", EDITOR))
    return client


@pytest.mark.parametrize("value", NOT_RFC3339)
def test_ogc_cql2_json_timestamps_are_rfc3339(hazard_editor, value):
    document = {"op": ">", "args": [{"property": "updated_at"}, {"timestamp": value}]}
    query = f"filter-lang=cql2-json&filter={quote(json.dumps(document))}"
    body = ogc_400(hazard_editor, query, "filter", url=HAZARDS)
    assert "RFC 3339" in body["description"] or "no such" in body["description"]


@pytest.mark.parametrize("value", NOT_RFC3339)
def test_ogc_cql2_text_timestamps_are_rfc3339(hazard_editor, value):
    query = f"filter={quote(f'updated_at > TIMESTAMP({value!r})')}"
    ogc_400(hazard_editor, query, "filter", url=HAZARDS)


@pytest.mark.parametrize("value", ["tomorrow", "20261001", "2026-02-30", "2026-1-1"])
def test_ogc_cql2_dates_are_rfc3339(client, value):
    document = {"op": "=", "args": [{"property": "name"}, {"date": value}]}
    ogc_400(client, f"filter-lang=cql2-json&filter={quote(json.dumps(document))}", "filter")
    ogc_400(client, f"filter={quote(f'name = DATE({value!r})')}", "filter")


def test_ogc_cql2_rfc3339_timestamps_still_filter(hazard_editor):
    client = hazard_editor
    for value in ("2020-01-01T00:00:00Z", "2020-01-01T08:00:00.5+08:00"):
        text = f"updated_at > TIMESTAMP('{value}')"
        document = {"op": ">", "args": [{"property": "updated_at"}, {"timestamp": value}]}
        for query in (
            f"filter={quote(text)}",
            f"filter-lang=cql2-json&filter={quote(json.dumps(document))}",
        ):
            response = client.get(f"{HAZARDS}?{query}")
            assert response.status_code == 200, response.content[:300]
            assert response.json()["numberReturned"] > 0
