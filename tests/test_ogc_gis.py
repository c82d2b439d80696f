"""Issue 15 in process: GIS sign-in (Basic / Token), /ogc without redirect, Part 3 (queryables,
CQL2, sortby, properties), Part 4 writes, OGC API - Tiles, HTML, WFS; nothing internal for the
public. Real clients (QGIS, GDAL, OWSLib) are in tests/test_gis_clients.py."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.gis.geos import Polygon
from django.test import override_settings

from layers.auth.tokens import ApiToken
from layers.domain import models, registry
from layers.domain import vocabularies as status
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db
PUBLIC = [s.slug for s in registry.LAYERS if s.is_public]
INTERNAL = [s.slug for s in registry.LAYERS if not s.is_public]


def basic(username: str, password: str = PASSWORD) -> dict:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


@pytest.fixture
def planner(db):
    return make_user("gis-planner", "planner")


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:400]
    return [f["id"] for f in response.json()["features"]]


# --- sign-in ----------------------------------------------------------------------------------


def test_ogc_without_slash_answers_the_landing_page_without_redirect(client):
    plain, slash = client.get("/ogc"), client.get("/ogc/")
    assert plain.status_code == slash.status_code == 200
    assert plain.json() == slash.json()
    hrefs = [link["href"] for link in plain.json()["links"]]
    assert "http://testserver/ogc/collections" in hrefs
    assert "http://testserver/ogc/conformance" in hrefs


def test_basic_and_token_see_every_layer_their_roles_allow(client, planner):
    def listed(**headers):
        response = client.get("/ogc/collections", **headers)
        assert response.status_code == 200, response.content
        return [c["id"] for c in response.json()["collections"]]

    assert listed() == PUBLIC
    assert listed(**basic("gis-planner")) == [s.slug for s in registry.LAYERS]
    _token, key = ApiToken.issue(planner, "qgis")
    assert listed(HTTP_AUTHORIZATION=f"Token {key}") == [s.slug for s in registry.LAYERS]
    one = models.Building.objects.order_by("pk").first()
    response = client.get(f"/ogc/collections/buildings/items/{one.pk}", **basic("gis-planner"))
    assert response.status_code == 200 and response["ETag"] == f'"{one.version}"'
    tile = client.get("/tiles/buildings.json", **basic("gis-planner"))
    assert tile.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(b"gis-planner:wrong").decode(),
        "Basic " + base64.b64encode(b"nobody:" + PASSWORD.encode()).decode(),
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Token not-a-key",
        "Bearer abc",
    ],
)
def test_bad_credentials_are_401_with_a_challenge_never_anonymous(client, planner, header):
    for path in ("/ogc/collections", "/tiles/viewpoints.json", "/wfs/?REQUEST=GetCapabilities"):
        response = client.get(path, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, (path, header)
        assert "Basic" in response["WWW-Authenticate"] and "Token" in response["WWW-Authenticate"]


def test_basic_is_refused_over_plain_http_unless_allowed(client, planner):
    remote = {"REMOTE_ADDR": "10.0.0.7"}
    with override_settings(DEBUG=False, BASIC_AUTH_HTTP_LOCALHOST=True):
        refused = client.get("/ogc/collections", **remote, **basic("gis-planner"))
        assert refused.status_code == 401 and "HTTPS" in refused.json()["description"]
        local = client.get("/ogc/collections", **basic("gis-planner"))  # 127.0.0.1
        assert local.status_code == 200
        secure = client.get("/ogc/collections", secure=True, **remote, **basic("gis-planner"))
        assert len(secure.json()["collections"]) == len(registry.LAYERS)
    with override_settings(DEBUG=False, BASIC_AUTH_HTTP_LOCALHOST=False):
        assert client.get("/ogc/collections", **basic("gis-planner")).status_code == 401


def test_anonymous_sees_no_internal_layer_anywhere(client):
    body = client.get("/ogc/collections").json()
    assert [c["id"] for c in body["collections"]] == PUBLIC
    api = client.get("/ogc/api").json()
    assert not [p for p in api["paths"] if any(f"/collections/{s}" in p for s in INTERNAL)]
    for slug in INTERNAL:
        for path in ("", "/items", "/queryables", "/tiles", "/tiles/WebMercatorQuad"):
            assert client.get(f"/ogc/collections/{slug}{path}").status_code == 404, (slug, path)
        assert client.get(f"/ogc/collections/{slug}/items?f=html").status_code == 404
    capabilities = client.get("/wfs/?SERVICE=WFS&REQUEST=GetCapabilities").content.decode()
    for slug in PUBLIC:
        assert f"<Name>app:{slug}</Name>" in capabilities
    for slug in INTERNAL:
        assert f"app:{slug}<" not in capabilities
        feature = client.get(f"/wfs/?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={slug}")
        assert feature.status_code == 400 and b"<gml:" not in feature.content
    html = client.get("/ogc/", HTTP_ACCEPT="text/html").content.decode()
    for slug in INTERNAL:
        assert f"/ogc/collections/{slug}" not in html


# --- Part 3 ---------------------------------------------------------------------------------


def test_queryables_are_json_schema_from_the_registry(client, planner):
    response = client.get("/ogc/collections/buildings/queryables", **basic("gis-planner"))
    assert response["Content-Type"] == "application/schema+json"
    schema = response.json()
    assert schema["$id"].endswith("/ogc/collections/buildings/queryables")
    props = schema["properties"]
    assert props["geometry"]["format"] == "geometry-multipolygon"
    assert props["use"]["enum"] == list(status.BUILDING_USE.values)
    assert props["status"]["enum"] == list(models.Building.status_vocabulary.values)
    assert props["floors"]["type"] == "integer"
    assert props["heritage_protected"]["type"] == "boolean"
    assert props["community"]["type"] == "integer"
    public = client.get("/ogc/collections/viewpoints/queryables").json()["properties"]
    assert set(public) - {"geometry"} <= set(registry.get("viewpoints").public_fields)
    assert "created_by" not in public and "version" not in public


def test_cql2_text_and_json_select_what_the_orm_selects(client, planner):
    auth = basic("gis-planner")
    url = "/ogc/collections/buildings/items"
    expected = sorted(
        models.Building.objects.filter(floors__gt=5, use="residential").values_list("pk", flat=True)
    )
    text = client.get(url, {"filter": "floors > 5 AND use = 'residential'", "limit": 5000}, **auth)
    as_json = {
        "op": "and",
        "args": [
            {"op": ">", "args": [{"property": "floors"}, 5]},
            {"op": "=", "args": [{"property": "use"}, "residential"]},
        ],
    }
    js = client.get(
        url, {"filter": json.dumps(as_json), "filter-lang": "cql2-json", "limit": 5000}, **auth
    )
    assert ids(text) == ids(js) == expected and expected
    like = client.get(
        url, {"filter": "address LIKE '%街%' AND NOT floors < 3", "limit": 5000}, **auth
    )
    assert ids(like) == sorted(
        models.Building.objects.filter(address__contains="街")
        .exclude(floors__lt=3)
        .values_list("pk", flat=True)
    )
    within = client.get(
        url, {"filter": "floors BETWEEN 2 AND 4 OR floors IN (9, 10)", "limit": 5000}, **auth
    )
    assert len(ids(within)) == models.Building.objects.filter(floors__in=[2, 3, 4, 9, 10]).count()


def test_spatial_predicates_use_the_geometry_in_the_filter_crs(client, planner):
    auth = basic("gis-planner")
    url = "/ogc/collections/buildings/items"
    box = (119.944, 31.781, 119.948, 31.784)
    expected = sorted(
        models.Building.objects.filter(geom__intersects=Polygon.from_bbox(box)).values_list(
            "pk", flat=True
        )
    )
    assert expected
    by_bbox = client.get(url, {"bbox": ",".join(map(str, box)), "limit": 5000}, **auth)
    cql_bbox = client.get(
        url,
        {"filter": "S_INTERSECTS(geometry, BBOX({},{},{},{}))".format(*box), "limit": 5000},
        **auth,
    )
    minx, miny, maxx, maxy = box
    wkt = f"POLYGON(({minx} {miny},{maxx} {miny},{maxx} {maxy},{minx} {maxy},{minx} {miny}))"
    cql_poly = client.get(url, {"filter": f"S_INTERSECTS(geometry,{wkt})", "limit": 5000}, **auth)
    assert ids(by_bbox) == ids(cql_bbox) == ids(cql_poly) == expected
    # The same box in EPSG:4549 (northing first, as EPSG orders its axes).
    shape = Polygon.from_bbox(box)
    shape.srid = 4326
    shape.transform(4549)
    ring = " , ".join(f"{y} {x}" for x, y in shape.coords[0])
    projected = client.get(
        url,
        {
            "filter": f"S_WITHIN(geometry, POLYGON(({ring})))",
            "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4549",
            "limit": 5000,
        },
        **auth,
    )
    shape.transform(4326)
    assert ids(projected) == sorted(
        models.Building.objects.filter(geom__within=shape).values_list("pk", flat=True)
    )


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"filter": "nope = 1"}, "unknown property 'nope'"),
        ({"filter": "created_by = 1"}, "unknown property 'created_by'"),
        ({"filter": "name = = 1"}, "syntax error"),
        ({"filter": "theme = 'volcano'"}, "unknown value 'volcano'"),
        ({"filter": "tour_order = 'x'"}, "tour_order is a integer"),
        ({"filter": "tour_order > name"}, "tour_order is a integer"),
        ({"filter": "geometry = 1"}, "geometry can be used in spatial predicates only"),
        ({"filter": "S_INTERSECTS(geometry, POINT(500 500))"}, "outside the area of use"),
        (
            {
                "filter": '{"op": "t_after", "args": [{"property": "updated_at"}, '
                '{"timestamp": "2020-01-01T00:00:00Z"}]}',
                "filter-lang": "cql2-json",
            },
            "not supported",
        ),
        ({"filter": "{", "filter-lang": "cql2-json"}, "invalid JSON"),
        ({"filter": '{"op": "frobnicate"}', "filter-lang": "cql2-json"}, "CQL2-JSON"),
        ({"filter": "name = 'a'", "filter-lang": "ecql"}, "filter-lang"),
        ({"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}, "given without filter"),
        ({"filter": "name='a'", "filter-crs": "EPSG:9999"}, "unsupported CRS"),
        ({"sortby": "-secret"}, "cannot sort by"),
        ({"sortby": "name,-name"}, "named twice"),
        ({"properties": "name,password"}, "unknown property 'password'"),
    ],
)
def test_bad_filters_sorts_and_properties_are_400_naming_the_problem(client, params, named):
    response = client.get("/ogc/collections/viewpoints/items", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and named in body["description"], body


def test_sortby_and_properties(client):
    url = "/ogc/collections/viewpoints/items"
    body = client.get(url, {"sortby": "-tour_order,name", "properties": "name,tour_order"}).json()
    orders = [f["properties"]["tour_order"] for f in body["features"]]
    assert orders == sorted(orders, reverse=True)
    assert all(set(f["properties"]) == {"name", "tour_order"} for f in body["features"])
    plus = client.get(url, {"sortby": "+name", "limit": 100}).json()
    names = [f["properties"]["name"] for f in plus["features"]]
    expected = list(
        models.CulturalViewpoint.objects.order_by("name", "pk").values_list("name", flat=True)
    )
    assert names == expected


def test_conformance_declares_what_is_implemented(client):
    conforms = client.get("/ogc/conformance").json()["conformsTo"]
    for cls in ("queryables", "filter", "features-filter"):
        assert f"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/{cls}" in conforms
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conforms
    assert (
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in conforms
    )
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core" in conforms
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html" in conforms
    assert not [c for c in conforms if "temporal" in c or "arithmetic" in c or "array" in c]


# --- Part 4 ---------------------------------------------------------------------------------


def test_part4_create_replace_update_delete_with_etags_and_history(client, planner):
    auth = basic("gis-planner")
    url = "/ogc/collections/viewpoints/items"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [119.9451, 31.7826]},
        "properties": {
            "name": "新观景点",
            "theme": "streetscape",
            "status": "planned",
            "tour_order": 90,
        },
    }
    created = client.post(url, json.dumps(feature), content_type="application/geo+json", **auth)
    assert created.status_code == 201, created.content
    location = created["Location"]
    pk = created.json()["id"]
    assert location == f"http://testserver{url}/{pk}"
    read = client.get(f"{url}/{pk}", **auth)
    etag = read["ETag"]
    # Replace with what was read (read-only audit fields included, as GIS clients send them).
    replaced = read.json()
    replaced.pop("links")
    replaced["properties"]["name"] = "新观景点（改）"
    put = client.put(
        f"{url}/{pk}",
        json.dumps(replaced),
        content_type="application/json",
        HTTP_IF_MATCH=etag,
        **auth,
    )
    assert put.status_code == 200, put.content
    stale = client.patch(
        f"{url}/{pk}",
        json.dumps({"properties": {"name": "旧版本"}}),
        content_type="application/json",
        HTTP_IF_MATCH=etag,
        **auth,
    )
    assert stale.status_code == 412 and stale["ETag"] == put["ETag"]
    missing = client.patch(
        f"{url}/{pk}",
        json.dumps({"properties": {"name": "x"}}),
        content_type="application/json",
        **auth,
    )
    assert missing.status_code == 428
    bad = client.patch(
        f"{url}/{pk}",
        json.dumps({"properties": {"theme": "volcano"}}),
        content_type="application/json",
        HTTP_IF_MATCH=put["ETag"],
        **auth,
    )
    assert bad.status_code == 400 and "theme" in bad.json()
    deleted = client.delete(f"{url}/{pk}", HTTP_IF_MATCH=put["ETag"], **auth)
    assert deleted.status_code == 204
    obj = models.CulturalViewpoint.all_objects.get(pk=pk)
    assert obj.is_deleted and obj.name == "新观景点（改）"
    assert [h.history_user.username for h in obj.history.all()] == ["gis-planner"] * 3
    assert client.get(f"{url}/{pk}", **auth).status_code == 404


def test_part4_roles_and_the_hazard_lifecycle_apply(client, planner):
    make_user("gis-inspector", "inspector")
    building = models.Building.objects.order_by("pk").first()
    body = json.dumps({"properties": {"floors": building.floors}})
    url = f"/ogc/collections/buildings/items/{building.pk}"
    # Anonymous: an internal layer does not exist for them; a public one asks to sign in.
    assert client.patch(url, body, content_type="application/json").status_code == 404
    viewpoint = models.CulturalViewpoint.objects.order_by("pk").first()
    anonymous = client.patch(
        f"/ogc/collections/viewpoints/items/{viewpoint.pk}", body, content_type="application/json"
    )
    assert anonymous.status_code == 401 and "Basic" in anonymous["WWW-Authenticate"]
    refused = client.patch(
        url,
        body,
        content_type="application/json",
        HTTP_IF_MATCH=f'"{building.version}"',
        **basic("gis-inspector"),
    )
    assert refused.status_code == 403
    hazard = models.SafetyHazard.objects.filter(status="reported").order_by("pk").first()
    status_edit = client.patch(
        f"/ogc/collections/hazards/items/{hazard.pk}",
        json.dumps({"properties": {"status": "closed"}}),
        content_type="application/json",
        HTTP_IF_MATCH=f'"{hazard.version}"',
        **basic("gis-inspector"),
    )
    assert status_edit.status_code in (400, 403) and "status" in status_edit.content.decode()
    hazard.refresh_from_db()
    assert hazard.status == "reported"


# --- OGC API - Tiles ------------------------------------------------------------------------


def test_tiles_matrix_sets_tilesets_and_tiles(client):
    sets = client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad"]
    tms = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert tms["crs"].endswith("/3857") and tms["tileMatrices"][15]["matrixWidth"] == 2**15
    assert client.get("/ogc/tileMatrixSets/WorldCRS84Quad").status_code == 404
    doc = client.get("/ogc/collections/viewpoints").json()
    tiles_link = next(link for link in doc["links"] if link["rel"].endswith("tilesets-vector"))
    tilesets = client.get(tiles_link["href"]).json()["tilesets"]
    assert tilesets[0]["dataType"] == "vector"
    tileset = client.get("/ogc/collections/viewpoints/tiles/WebMercatorQuad").json()
    template = next(link for link in tileset["links"] if link["rel"] == "item")["href"]
    limit = tileset["tileMatrixSetLimits"][0]
    z, row, col = limit["tileMatrix"], limit["minTileRow"], limit["minTileCol"]
    assert template == "http://testserver/tiles/viewpoints/{tileMatrix}/{tileCol}/{tileRow}.pbf"
    # The tile holding a viewpoint, at the layer's first zoom: inside the limits, not empty.
    from layers.channels.ogc.tiles import _tile_of

    point = models.CulturalViewpoint.objects.order_by("pk").first().geom
    col, row = _tile_of(point.x, point.y, int(z))
    assert limit["minTileCol"] <= col <= limit["maxTileCol"]
    assert limit["minTileRow"] <= row <= limit["maxTileRow"]
    tile = template.replace("{tileMatrix}", z).replace("{tileRow}", str(row))
    tile = client.get(tile.replace("{tileCol}", str(col)))
    assert tile.status_code == 200 and tile["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert client.get("/tiles/viewpoints.json").json()["tilejson"] == "3.0.0"  # TileJSON stays


# --- HTML -----------------------------------------------------------------------------------


def test_html_pages_in_zh_and_en_link_the_geojson(client):
    for path in ("/ogc/", "/ogc/collections", "/ogc/collections/viewpoints"):
        page = client.get(path, HTTP_ACCEPT="text/html,application/xhtml+xml")
        assert page.status_code == 200 and page["Content-Type"].startswith("text/html"), path
        assert 'class="hh-header' in page.content.decode() or "<header" in page.content.decode()
    items = client.get("/ogc/collections/viewpoints/items?f=html&limit=5").content.decode()
    assert 'id="hh-ogc-map"' in items and "vendor/leaflet/1.9.4/leaflet.js" in items
    assert 'id="hh-ogc-geojson"' in items and "cdn" not in items.lower()
    one = models.CulturalViewpoint.objects.order_by("pk").first()
    item = client.get(f"/ogc/collections/viewpoints/items/{one.pk}?f=html").content.decode()
    assert one.name in item
    client.cookies["django_language"] = "en"
    english = client.get("/ogc/collections?f=html", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Collections" in english
    chinese = client.get("/ogc/collections?f=html", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 200
    assert client.get("/ogc/collections/viewpoints/items?f=xml").status_code == 400


def test_queryables_as_html_list_every_queryable_with_its_type(editor_client):
    from django.test import Client

    for who, slug in ((Client(), "viewpoints"), (editor_client, "buildings")):
        page = who.get(f"/ogc/collections/{slug}/queryables?f=html")
        assert page.status_code == 200, page.content.decode()[:300]
        schema = who.get(f"/ogc/collections/{slug}/queryables").json()
        html = page.content.decode()
        for name, queryable in schema["properties"].items():
            assert f"<code>{name}</code>" in html
            if "format" in queryable:  # the geometry: a format, no type
                assert f"({queryable['format']})" in html


# --- WFS --------------------------------------------------------------------------------------


def _wfs(client, **params) -> bytes:
    query = {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", **params}
    response = client.get("/wfs/", query, **basic("gis-planner"))
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("srid", [4326, 4490, 4549])
def test_wfs_getfeature_with_bbox_and_property_filter(client, planner, srid):
    box = (119.944, 31.781, 119.948, 31.784)
    response = _wfs(
        client,
        TYPENAMES="buildings",
        BBOX=f"{box[1]},{box[0]},{box[3]},{box[2]},urn:ogc:def:crs:EPSG::4326",
        SRSNAME=f"urn:ogc:def:crs:EPSG::{srid}",
        OUTPUTFORMAT="geojson",
        COUNT=5000,
    )
    got = sorted(int(f["id"].split(".")[1]) for f in json.loads(response)["features"])
    assert got == sorted(
        models.Building.objects.filter(geom__intersects=Polygon.from_bbox(box)).values_list(
            "pk", flat=True
        )
    )
    fes = (
        '<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"><fes:PropertyIsEqualTo>'
        "<fes:ValueReference>use</fes:ValueReference><fes:Literal>residential</fes:Literal>"
        "</fes:PropertyIsEqualTo></fes:Filter>"
    )
    filtered = _wfs(client, TYPENAMES="buildings", FILTER=fes, OUTPUTFORMAT="geojson", COUNT=5000)
    assert (
        len(json.loads(filtered)["features"])
        == models.Building.objects.filter(use="residential").count()
    )


def test_wfs_is_read_only(client, planner):
    transaction = client.post(
        "/wfs/",
        '<wfs:Transaction service="WFS" version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0"/>',
        content_type="application/xml",
        **basic("gis-planner"),
    )
    assert transaction.status_code == 400
    assert b"Transaction" in transaction.content


def _token_lookups(queries) -> int:
    """SELECTs of the token table (its first use in a while also writes last_used_at)."""
    return sum(
        1 for q in queries if q["sql"].startswith("SELECT") and "apitoken" in q["sql"].lower()
    )


def test_part4_write_resolves_a_token_once_and_calls_the_feature_service(client, planner):
    """One caller resolution per request: the write is not handed to another channel (which
    resolved the token a second time); it calls the services REST calls."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _token, key = ApiToken.issue(planner, "qgis")
    viewpoint = models.CulturalViewpoint.objects.order_by("pk").first()
    url = f"/ogc/collections/viewpoints/items/{viewpoint.pk}"
    with CaptureQueriesContext(connection) as captured:
        response = client.patch(
            url,
            json.dumps({"properties": {"description": "一次解析"}}),
            content_type="application/json",
            HTTP_IF_MATCH=f'"{viewpoint.version}"',
            HTTP_AUTHORIZATION=f"Token {key}",
        )
    assert response.status_code == 200, response.content
    assert _token_lookups(captured.captured_queries) == 1
    viewpoint.refresh_from_db()
    assert viewpoint.description == "一次解析" and response["ETag"] == f'"{viewpoint.version}"'


def test_part4_write_signed_in_by_cookie_needs_the_csrf_token(planner):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(planner)
    viewpoint = models.CulturalViewpoint.objects.order_by("pk").first()
    url = f"/ogc/collections/viewpoints/items/{viewpoint.pk}"
    body = json.dumps({"properties": {"description": "带令牌"}})
    precondition = {"HTTP_IF_MATCH": f'"{viewpoint.version}"'}
    refused = browser.patch(url, body, content_type="application/json", **precondition)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    browser.get("/accounts/tokens/")  # any page sets the csrftoken cookie
    token = browser.cookies["csrftoken"].value
    accepted = browser.patch(
        url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token, **precondition
    )
    assert accepted.status_code == 200, accepted.content
