"""Map pages on the server side: roles, size, languages, escaping, the tour route."""

from __future__ import annotations

import json
import re

import pytest

from layers.compose import builder
from layers.domain import models
from layers.domain.pages import PAGES
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_script_json_cannot_close_the_script_element():
    text = builder.script_json({"name": "</script><script>alert(1)</script>\u2028&"})
    assert "</script>" not in text and "<" not in text and "\u2028" not in text
    assert json.loads(text)["name"].startswith("</script>")


@pytest.mark.parametrize("path", ["/maps/planning/", "/maps/inspection/"])
def test_internal_pages_redirect_anonymous_users_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={path}"


def test_planning_page_is_small_and_inlines_no_building(client):
    client.force_login(make_user("map-planner", "planner"))
    response = client.get("/maps/planning/")
    assert response.status_code == 200
    html = response.content.decode()
    assert len(response.content) < 300 * 1024
    sample = models.Building.objects.order_by("pk").first()
    assert sample.address not in html and '"features"' not in html


def test_pages_speak_chinese_first_and_english_on_request(client):
    chinese = client.get("/tour/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "大庙弄文化游览图" in chinese and "游览路线" in chinese and 'lang="zh-Hans"' in chinese
    english = client.get("/tour/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Damiaonong cultural tour" in english and "Walking route" in english
    assert "Illustrative data" in english


def test_tour_route_length_is_metric_and_in_tour_order():
    route = builder.tour_route()
    stops = list(models.CulturalViewpoint.objects.order_by("tour_order"))
    assert len(route["coordinates"]) == len(stops)
    assert route["coordinates"][0] == [round(stops[0].geom.y, 7), round(stops[0].geom.x, 7)]
    assert 500 < route["length_m"] < 2000
    assert route["minutes"] == round(route["length_m"] / builder.WALKING_M_PER_MIN)


def test_every_page_layer_is_a_registry_layer():
    from layers.domain import registry

    for page in PAGES.values():
        for layer in page.layers:
            assert layer.slug in registry.slugs()
        for slug, _field in page.filters:
            assert slug in {layer.slug for layer in page.layers}


def test_amap_basemap_shifts_data_and_draws_buildings_as_geojson(client, settings):
    settings.MAP_BASEMAP = "amap"
    client.force_login(make_user("map-planner-amap", "planner"))
    html = client.get("/maps/planning/").content.decode()
    assert "js/gcj02.js" in html and '"shift": true' in html
    config = html.split('"slug": "buildings"', 1)[1].split("window.hehuachi", 1)[0]
    assert '"tiles": null' in config and '"viewport": true' in config


def test_no_basemap_by_default_and_tianditu_needs_a_key(client, settings):
    client.force_login(make_user("map-planner-base", "planner"))
    assert "tile.openstreetmap.org" not in client.get("/maps/planning/").content.decode()
    settings.MAP_BASEMAP = "tianditu"
    settings.TIANDITU_KEY = ""
    assert builder.basemap_name() == "none"
    settings.TIANDITU_KEY = "k"
    assert "tianditu.gov.cn" in client.get("/maps/planning/").content.decode()


def test_page_legends_use_each_terms_own_colour(client):
    """The side panel's swatches carry the vocabulary's colours, term by term."""
    import re

    from layers.domain import registry

    client.force_login(make_user("map-planner-legend", "planner"))
    html = client.get("/maps/planning/").content.decode()
    swatches = dict(
        re.findall(
            r'<li data-value="([^"]+)"><span class="hh-swatch" style="background: ([^"]+)"', html
        )
    )
    vocabulary = registry.get("renovation-sites").status_vocabulary
    for term in vocabulary.terms:
        assert swatches[term.value] == term.color, term.value


def _layer_configs(html: str) -> dict[str, dict]:
    found = re.findall(r"window\.hehuachi\.addLayer\(\w+, (\{.*?\})\);\n", html)
    return {c["slug"]: c for c in map(json.loads, found)}


def test_a_map_opens_zoomed_to_a_given_extent_with_a_layer_switched_on(client):
    """What the job page of an import links to: ?fit=minx,miny,maxx,maxy&show=<layer>."""
    client.force_login(make_user("map-planner-fit", "planner"))
    plain = client.get("/maps/planning/").content.decode()
    assert _layer_configs(plain)["service-points"]["visible"] is False
    assert '"fit":' not in plain
    html = client.get(
        "/maps/planning/?fit=119.945,31.780,119.950,31.785&show=service-points"
    ).content.decode()
    assert '"fit": [[31.78, 119.945], [31.785, 119.95]]' in html
    assert _layer_configs(html)["service-points"]["visible"] is True


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("fit=119.9,31.7", "fit"),
        ("fit=119.95,31.78,119.94,31.79", "fit"),  # min after max
        ("fit=0,0,1,1", "fit"),  # outside the service area
        ("show=hazards", "show"),  # not a layer of the planning map
        ("show=service-points,nope", "show"),
        ("show=%00", "show"),
    ],
)
def test_a_bad_opening_view_is_refused_naming_the_parameter(client, query, name):
    client.force_login(make_user("map-planner-bad", "planner"))
    response = client.get(f"/maps/planning/?{query}")
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{name}: ")
