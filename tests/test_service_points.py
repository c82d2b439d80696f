"""The service-points layer (服务点位, issue 16) through every channel: REST, the generic nearest
search, OGC API, tiles, the map pages, the home page and the published tour; its derived
community and grid cell; its vocabularies. Nothing here is special-cased for the layer in the
code under test: the layer is a model, a migration, a LayerSpec and fixtures."""

from __future__ import annotations

import json

import mapbox_vector_tile
import pytest
from django.core.management import call_command
from django.db import connection

from layers.domain import models, registry
from layers.domain import vocabularies as status
from layers.domain.pages import HOME, INSPECTION, PLANNING, TOUR
from layers.services import derived, editing
from tests.conftest import make_user
from tests.test_tiles import tile_of

pytestmark = pytest.mark.django_db
SLUG = "service-points"
HERE = (119.9475, 31.7840)  # near 大庙弄


def spec():
    return registry.get(SLUG)


def postgis_nearest(lon, lat, *, kind=None, statuses=("open",), k=3):
    """PostGIS's own answer: (id, metres rounded to cm) of the k nearest live points."""
    sql = (
        "SELECT id, ROUND(ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)"
        "::geography)::numeric, 2) d FROM layers_servicepoint WHERE deleted_at IS NULL"
        " AND status = ANY(%s)"
    )
    params = [lon, lat, list(statuses)]
    if kind:
        sql += " AND kind = %s"
        params.append(kind)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY d, id LIMIT %s", [*params, k])
        return [(pk, float(d)) for pk, d in cursor.fetchall()]


# -- the layer and its data ----------------------------------------------------------------------
def test_vocabularies_have_zh_en_labels_and_distinct_colours():
    for vocabulary in (status.SERVICE_KIND, status.SERVICE_OFFERED, status.SERVICE_STATUS):
        colours = [t.color for t in vocabulary.terms]
        assert len(set(colours)) == len(colours), vocabulary.name
        for term in vocabulary.terms:
            assert term.zh and term.en and term.zh != term.en
            assert len(term.color) == 7 and term.color.startswith("#")
            int(term.color[1:], 16)
    assert set(status.SERVICE_STATUS.values) == {"planned", "open", "closed_temporarily"}
    assert set(status.SERVICE_KIND.values) == {
        "grid_station",
        "party_centre",
        "elderly_care",
        "children",
        "legal",
        "culture",
        "clean_governance",
    }
    assert spec().list_fields == {"services": status.SERVICE_OFFERED}
    assert spec().color_by == "kind"


def test_sample_data_places_the_named_centres_and_one_station_and_centre_per_community():
    points = models.ServicePoint.objects.all()
    assert points.count() >= 12
    for community in models.Community.objects.all():
        for kind in ("grid_station", "party_centre"):
            assert points.filter(kind=kind, community=community).count() == 1, (community, kind)
    names = " ".join(points.values_list("name", flat=True))
    for anchor in ("晋陵文锦", "儿童友好", "非诉服务中心", "调解委员会", "红荷文化", "一街多社"):
        assert anchor in names, anchor
    assert {p.kind for p in points} == set(status.SERVICE_KIND.values)


def test_community_and_grid_cell_are_derived_from_the_location_as_postgis_says():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, (SELECT g.id FROM layers_gridcell g WHERE g.deleted_at IS NULL"
            " AND ST_Intersects(g.geom, s.geom) ORDER BY g.id LIMIT 1),"
            " (SELECT c.id FROM layers_community c WHERE c.deleted_at IS NULL"
            " AND ST_Intersects(c.geom, s.geom) ORDER BY c.id LIMIT 1)"
            " FROM layers_servicepoint s WHERE s.deleted_at IS NULL ORDER BY s.id"
        )
        expected = cursor.fetchall()
    got = list(
        models.ServicePoint.objects.order_by("pk").values_list("pk", "grid_cell", "community")
    )
    assert got == expected and all(g and c for _, g, c in got)


def test_moving_a_grid_cell_to_another_community_re_derives_its_service_points():
    point = models.ServicePoint.objects.filter(grid_cell__isnull=False).order_by("pk").first()
    cell = point.grid_cell
    other = models.Community.objects.exclude(pk=cell.community_id).order_by("pk").first()
    before = point.version
    cell.community = other
    editing.save(cell, None)
    point.refresh_from_db()
    assert point.community_id == other.pk and point.version == before + 1
    assert point.history.order_by("-history_date").first().history_change_reason == (
        derived.DERIVED_REASON
    )


def test_refresh_derived_covers_the_layer():
    assert "ServicePoint" in derived.dependents()
    report = derived.refresh_all()
    assert report.checked["ServicePoint"] == models.ServicePoint.objects.count()
    assert report.changed("ServicePoint") == 0


# -- REST ---------------------------------------------------------------------------------------
def test_rest_list_is_public_with_public_fields_and_filters_by_kind(client):
    body = client.get(f"/api/v1/{SLUG}/", {"kind": "elderly_care"}).json()
    expected = models.ServicePoint.objects.filter(kind="elderly_care").count()
    assert body["count"] == expected > 0
    for feature in body["features"]:
        assert set(feature["properties"]) == set(spec().public_fields)
        assert feature["properties"]["kind"] == "elderly_care"
    one = client.get(f"/api/v1/{SLUG}/{body['features'][0]['id']}/")
    assert one.status_code == 200 and one["ETag"]


def test_rest_roles_see_the_derived_links_and_filter_by_community(editor_client):
    community = models.Community.objects.get(code="HHC-01")
    body = editor_client.get(f"/api/v1/{SLUG}/", {"community": "HHC-01"}).json()
    assert body["count"] == models.ServicePoint.objects.filter(community=community).count() > 0
    assert {f["properties"]["community"] for f in body["features"]} == {community.pk}
    assert all(f["properties"]["grid_cell"] for f in body["features"])


def test_rest_create_validates_the_services_list_and_derives_links(editor_client):
    lon, lat = 119.9460, 31.7850
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": "测试站", "kind": "grid_station", "services": ["spa"]},
    }
    bad = editor_client.post(f"/api/v1/{SLUG}/", feature, content_type="application/json")
    assert bad.status_code == 400 and "services" in bad.json()
    assert not models.ServicePoint.objects.filter(name="测试站").exists()
    feature["properties"]["services"] = ["consultation", "matters"]
    feature["properties"]["community"] = 1  # derived: not writable
    refused = editor_client.post(f"/api/v1/{SLUG}/", feature, content_type="application/json")
    assert refused.status_code == 400 and "community" in refused.json()
    del feature["properties"]["community"]
    created = editor_client.post(f"/api/v1/{SLUG}/", feature, content_type="application/json")
    assert created.status_code == 201, created.content
    props = created.json()["properties"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM layers_gridcell WHERE deleted_at IS NULL AND ST_Intersects(geom,"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4326)) ORDER BY id LIMIT 1",
            [lon, lat],
        )
        assert props["grid_cell"] == cursor.fetchone()[0]


# -- the generic nearest search -----------------------------------------------------------------
def test_nearest_elderly_care_point_is_postgis_answer(client):
    body = client.get(
        f"/api/v1/{SLUG}/nearest/", {"lon": HERE[0], "lat": HERE[1], "kind": "elderly_care"}
    ).json()
    got = [(f["id"], f["properties"]["distance_m"]) for f in body["features"]]
    assert got == postgis_nearest(*HERE, kind="elderly_care", k=5) and got
    assert all(f["properties"]["status"] == "open" for f in body["features"])  # spec default
    planned = client.get(
        f"/api/v1/{SLUG}/nearest/",
        {"lon": HERE[0], "lat": HERE[1], "kind": "elderly_care", "status": "planned", "k": 1},
    ).json()
    assert [(f["id"], f["properties"]["distance_m"]) for f in planned["features"]] == (
        postgis_nearest(*HERE, kind="elderly_care", statuses=("planned",), k=1)
    )


def test_nearest_is_offered_for_every_layer_by_the_registry(editor_client):
    for layer in registry.LAYERS:
        response = editor_client.get(
            f"/api/v1/{layer.slug}/nearest/", {"lon": HERE[0], "lat": HERE[1], "k": 2}
        )
        assert response.status_code == 200, (layer.slug, response.content[:200])
        distances = [f["properties"]["distance_m"] for f in response.json()["features"]]
        assert distances == sorted(distances) and len(distances) == 2, layer.slug


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"lat": 31.78}, "lon"),
        ({"lon": 119.95}, "lat"),
        ({"lon": 119.95, "lat": 31.78, "k": 0}, "k"),
        ({"lon": 119.95, "lat": 31.78, "k": 101}, "k"),
        ({"lon": "east", "lat": 31.78}, "lon"),
        ({"lon": 119.95, "lat": 31.78, "kind": "spa"}, "kind"),
        ({"lon": 119.95, "lat": 31.78, "status": "gone"}, "status"),
        ({"lon": 119.95, "lat": 31.78, "radius": 5}, "radius"),
    ],
)
def test_bad_nearest_parameters_are_400_naming_them(client, query, name):
    response = client.get(f"/api/v1/{SLUG}/nearest/", query)
    assert response.status_code == 400 and name in response.json(), response.content


def test_nearest_of_an_internal_layer_needs_a_role(client):
    assert client.get("/api/v1/hazards/nearest/", {"lon": 119.95, "lat": 31.78}).status_code == 401


def test_nearest_with_nothing_to_find_is_an_empty_collection(client):
    models.ServicePoint.objects.update(status="planned")
    body = client.get(f"/api/v1/{SLUG}/nearest/", {"lon": HERE[0], "lat": HERE[1]}).json()
    assert body == {"type": "FeatureCollection", "features": []}


# -- OGC API and tiles --------------------------------------------------------------------------
def test_ogc_items_are_public_and_filtered_by_bbox(client):
    assert client.get(f"/ogc/collections/{SLUG}").status_code == 200
    body = client.get(f"/ogc/collections/{SLUG}/items", {"limit": 100}).json()
    assert body["numberReturned"] == models.ServicePoint.objects.count()
    assert set(body["features"][0]["properties"]) <= set(spec().public_fields)


def test_tiles_carry_the_points_in_the_tile_with_public_fields(client):
    point = models.ServicePoint.objects.get(ref="SP-17")  # the clean-governance base, 大庙弄
    z = 16
    x, y = tile_of(point.geom.x, point.geom.y, z)
    response = client.get(f"/tiles/{SLUG}/{z}/{x}/{y}.pbf")
    assert response.status_code == 200
    layer = mapbox_vector_tile.decode(response.content)[SLUG]
    names = {f["properties"]["name"] for f in layer["features"]}
    assert point.name in names
    assert all("community" not in f["properties"] for f in layer["features"])
    assert client.get(f"/tiles/{SLUG}.json").status_code == 200


# -- map pages, home page, published tour -------------------------------------------------------
def _config(html: str, slug: str) -> dict:
    marker = "window.hehuachi.addLayer("
    for chunk in html.split(marker)[1:]:
        text = chunk.split(");\n", 1)[0].split(", ", 1)[1]
        config = json.loads(text)
        if config["slug"] == slug:
            return config
    raise AssertionError(f"no layer {slug}")


def test_declared_on_every_map_page_switchable_and_off_by_default_where_asked():
    for page in (PLANNING, INSPECTION, TOUR, HOME):
        layers = {layer.slug: layer for layer in page.layers}
        assert SLUG in layers, page.slug
    for page in (PLANNING, INSPECTION, TOUR):
        assert {layer.slug: layer for layer in page.layers}[SLUG].visible is False


@pytest.mark.parametrize(
    ("path", "role"), [("/maps/planning/", "planner"), ("/maps/inspection/", "inspector")]
)
def test_planning_and_inspection_maps_offer_the_layer(client, path, role):
    client.force_login(make_user(f"sp-{role}", role))
    html = client.get(path).content.decode()
    config = _config(html, SLUG)
    assert config["visible"] is False and config["color_field"] == "kind"
    assert config["url"] == f"/api/v1/{SLUG}/"
    assert 'data-vocabulary="service_kind"' in html  # the legend shows the kinds' colours


def test_tour_embeds_nearby_services_off_by_default_with_a_nearest_panel(client):
    html = client.get("/tour/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    config = _config(html, SLUG)
    assert config["visible"] is False and config["title_en"] == "Nearby services"
    assert len(config["data"]["features"]) == models.ServicePoint.objects.count()
    assert 'id="hh-nearest-choice"' in html and 'value="elderly_care" selected' in html
    assert f'"url": "/api/v1/{SLUG}/nearest/"' in html


def test_anonymous_home_page_has_the_public_overview_map(client):
    html = client.get("/").content.decode()
    assert 'id="hh-overview"' in html
    for layer in registry.LAYERS:
        if layer.is_public:
            assert len(_config(html, layer.slug)["data"]["features"]) == (
                layer.model.objects.count()
            )
    client.force_login(make_user("sp-home-planner", "planner"))
    assert 'id="hh-overview"' not in client.get("/").content.decode()


@pytest.mark.slow
def test_published_tour_carries_the_layer_without_a_server_search(tmp_path):
    out = tmp_path / "tour"
    call_command("publish_tour", "--out", str(out))
    data = json.loads((out / "data" / f"{SLUG}.geojson").read_text(encoding="utf-8"))
    assert len(data["features"]) == models.ServicePoint.objects.count()
    html = (out / "index.html").read_text(encoding="utf-8")
    assert len(_config(html, SLUG)["data"]["features"]) == models.ServicePoint.objects.count()
    assert 'id="hh-nearest-choice"' not in html and "/nearest/" not in html
