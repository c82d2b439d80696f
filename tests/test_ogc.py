"""OGC API - Features at /ogc/: the requirement list of REFERENCE.md, Part 2 CRS, and GDAL as a
real client (ogrinfo / ogr2ogr over OAPIF against a real server process)."""

from __future__ import annotations

import subprocess

import pytest
from django.db import connection

from layers.channels.ogc.items import item_params
from layers.channels.ogc.openapi import build
from layers.domain import models, registry
from layers.geo import crs as ogc_crs

pytestmark = pytest.mark.django_db
PUBLIC = [s.slug for s in registry.LAYERS if s.is_public]


def get(client, url, expect=200, **params):
    response = client.get(url, params)
    assert response.status_code == expect, response.content[:500]
    return response


def test_landing_conformance_and_collections(client):
    links = {link["rel"]: link for link in get(client, "/ogc/").json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    conforms = get(client, "/ogc/conformance").json()["conformsTo"]
    for cls in ("core", "geojson", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{cls}" in conforms
    body = get(client, "/ogc/collections").json()
    assert [c["id"] for c in body["collections"]] == PUBLIC  # anonymous: public layers only
    for entry in body["collections"]:
        assert entry["crs"][0] == ogc_crs.CRS84 and entry["storageCrs"] == ogc_crs.CRS84
        assert {link["rel"] for link in entry["links"]} >= {"self", "items"}
        assert get(client, f"/ogc/collections/{entry['id']}").json() == entry
    # An internal collection is hidden from the public: 404 as for no collection, no data.
    for path in ("/ogc/collections/hazards", "/ogc/collections/hazards/items"):
        hidden = get(client, path, expect=404).json()
        assert hidden["code"] == "NotFound" and "features" not in hidden and "id" not in hidden
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    get(client, f"/ogc/collections/hazards/items/{hazard.pk}", expect=404)


def test_items_are_geojson_with_counts_links_and_timestamp(client):
    response = get(client, "/ogc/collections/viewpoints/items", limit=5)
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Crs"] == f"<{ogc_crs.CRS84}>"
    body = response.json()
    assert body["numberReturned"] == 5 == len(body["features"])
    assert body["numberMatched"] == models.CulturalViewpoint.objects.count()
    assert body["timeStamp"].endswith("Z")
    assert {link["rel"] for link in body["links"]} >= {"self", "next", "collection"}
    one = body["features"][0]
    item = get(client, f"/ogc/collections/viewpoints/items/{one['id']}").json()
    assert item["geometry"] == one["geometry"]
    assert {link["rel"] for link in item["links"]} == {"self", "alternate", "collection"}
    get(client, "/ogc/collections/viewpoints/items/999999", expect=404)


def test_following_next_yields_every_feature_once(client):
    seen, url = [], "/ogc/collections/buildings/items?limit=97"
    client.force_login(_editor())
    matched = None
    while url:
        body = client.get(url).json()
        matched = body.get("numberMatched", matched)
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == matched == models.Building.objects.count()


def _editor():
    from tests.conftest import make_user

    return make_user("ogc-editor", "editor")


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=abc",
        "limit=100000",
        "foo=1",
        "bbox=1,2,3",
        "bbox=5,5,1,1",
        "datetime=yesterday",
        "datetime=../..",
        "crs=EPSG:4326",
        "bbox-crs=http://x/1",
        "status=exploded",
        "offset=-1",
    ],
)
def test_invalid_or_unknown_parameters_are_400(client, query):
    response = client.get(f"/ogc/collections/viewpoints/items?{query}")
    assert response.status_code == 400, query
    assert response.json()["code"] == "InvalidParameterValue"


def test_property_and_datetime_filters(client):
    body = get(client, "/ogc/collections/viewpoints/items", status="open", limit=100).json()
    assert body["numberMatched"] == models.CulturalViewpoint.objects.filter(status="open").count()
    latest = models.CulturalViewpoint.objects.order_by("-updated_at").first().updated_at
    stamp = latest.isoformat().replace("+00:00", "Z")
    for value, expected in (
        (f"{stamp}/..", models.CulturalViewpoint.objects.filter(updated_at__gte=latest).count()),
        (f"../{stamp}", models.CulturalViewpoint.objects.filter(updated_at__lte=latest).count()),
        ("2000-01-01/2000-12-31", 0),
        (stamp, models.CulturalViewpoint.objects.filter(updated_at=latest).count()),
    ):
        body = get(client, "/ogc/collections/viewpoints/items", datetime=value, limit=100).json()
        assert body["numberMatched"] == expected, value


def _sql(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_bbox_in_epsg_4549_selects_what_postgis_selects(client):
    client.force_login(_editor())
    # A 600 m × 400 m box in CGCS2000 / GK CM 120E around 瞿秋白故居; EPSG axis order: N, E.
    e0, n0, e1, n1 = 494700.0, 3517600.0, 495300.0, 3518000.0
    body = get(
        client,
        "/ogc/collections/buildings/items",
        bbox=f"{n0},{e0},{n1},{e1}",
        **{"bbox-crs": ogc_crs.EPSG + "4549", "limit": 10000},
    ).json()
    got = {f["id"] for f in body["features"]}
    expected = {
        row[0]
        for row in _sql(
            "SELECT id FROM layers_building WHERE deleted_at IS NULL AND ST_Intersects("
            "ST_Transform(geom, 4549), ST_MakeEnvelope(%s, %s, %s, %s, 4549))",
            (e0, n0, e1, n1),
        )
    }
    assert got == expected and len(got) > 20


@pytest.mark.parametrize("srid, flip", [(4549, True), (4528, True), (3857, False), (4326, True)])
def test_crs_output_matches_postgis_transform_to_1_mm(client, srid, flip):
    uri = ogc_crs.EPSG + str(srid)
    body = get(client, "/ogc/collections/viewpoints/items", crs=uri, limit=100)
    assert body["Content-Crs"] == f"<{uri}>"
    for feature in body.json()["features"]:
        ((x, y),) = _sql(
            "SELECT ST_X(ST_Transform(geom, %s)), ST_Y(ST_Transform(geom, %s)) "
            "FROM layers_culturalviewpoint WHERE id = %s",
            (srid, srid, feature["id"]),
        )
        a, b = feature["geometry"]["coordinates"]
        if flip:
            a, b = b, a
        tolerance = 1e-7 if srid == 4326 else 0.001
        assert abs(a - x) <= tolerance and abs(b - y) <= tolerance


def test_qu_qiubai_residence_in_epsg_4549_matches_the_reference_vector(client):
    vp = models.CulturalViewpoint.objects.get(name__contains="瞿秋白故居")
    body = get(client, f"/ogc/collections/viewpoints/items/{vp.pk}", crs=ogc_crs.EPSG + "4549")
    northing, easting = body.json()["geometry"]["coordinates"]
    assert easting == pytest.approx(495000.929, abs=0.01)
    assert northing == pytest.approx(3517767.227, abs=0.01)


def test_openapi_declares_every_parameter_and_status_used():
    document = build(registry.LAYERS)
    for spec in registry.LAYERS:
        operation = document["paths"][f"/collections/{spec.slug}/items"]["get"]
        declared = {p["name"] for p in operation["parameters"]}
        assert item_params(spec) <= declared
        assert set(operation["responses"]) == {"200", "400", "404"}


def test_internal_collections_follow_roles(client):
    client.force_login(_editor())
    ids = [c["id"] for c in get(client, "/ogc/collections").json()["collections"]]
    assert ids == [s.slug for s in registry.LAYERS]
    body = get(client, "/ogc/collections/hazards/items", limit=1000).json()
    assert body["numberMatched"] == models.SafetyHazard.objects.count()


# --- GDAL as a real client ----------------------------------------------------------------


def ogr(*args, token=None) -> str:
    command = [*args]
    if token:
        command[1:1] = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Token {token}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def feature_counts(ogrinfo_output: str) -> dict[str, int]:
    counts, layer = {}, None
    for line in ogrinfo_output.splitlines():
        if line.startswith("Layer name: "):
            layer = line.split(": ", 1)[1].strip()
        elif line.startswith("Feature Count: ") and layer:
            counts[layer] = int(line.split(": ", 1)[1])
    return counts


@pytest.mark.gis
def test_ogrinfo_lists_what_each_caller_may_see(live_app, live_token):
    anonymous = feature_counts(ogr("ogrinfo", "-ro", "-so", "-al", f"OAPIF:{live_app}/ogc"))
    assert anonymous == {s: registry.get(s).model.objects.count() for s in PUBLIC}
    editor = feature_counts(
        ogr("ogrinfo", "-ro", "-so", "-al", f"OAPIF:{live_app}/ogc", token=live_token)
    )
    assert editor == {s.slug: s.model.objects.count() for s in registry.LAYERS}


@pytest.mark.gis
def test_ogr2ogr_downloads_every_public_collection_unchanged(live_app, tmp_path):
    import pyogrio
    import shapely

    target = tmp_path / "public.gpkg"
    ogr("ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{live_app}/ogc")
    for slug in PUBLIC:
        spec = registry.get(slug)
        frame = pyogrio.read_dataframe(target, layer=slug, fid_as_index=True)
        assert len(frame) == spec.model.objects.count(), slug
        stored = dict(spec.model.objects.values_list("pk", "geom"))
        assert set(frame.index) == set(stored)  # GDAL keeps our feature ids as FIDs
        for pk, row in frame.iterrows():
            expected = shapely.from_wkb(bytes(stored[pk].wkb))
            assert shapely.equals_exact(row.geometry, expected, tolerance=1e-7), (slug, pk)
            assert row["name"] == spec.model.objects.get(pk=pk).name
