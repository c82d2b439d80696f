"""The offline basemap: reference layers under every map (MAP_BASEMAP=none) and an MBTiles
package made here, served at /basemap/{z}/{x}/{y} (MAP_BASEMAP=mbtiles:<path>)."""

from __future__ import annotations

import gzip
import json
import re

import mapbox_vector_tile
import pytest

from layers.compose import builder
from layers.domain import models, registry
from layers.domain.pages import PAGES
from tests import mbtiles_sample
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

REFERENCE = [spec.slug for spec in registry.LAYERS if spec.reference]


def setups(html: str) -> list[dict]:
    return [
        json.loads(m) for m in re.findall(r"window\.hehuachi\.addLayer\(\w+, (\{.*?\})\);", html)
    ]


def test_reference_layers_are_public_and_edited_by_editors_only():
    assert REFERENCE == ["streets", "water", "landmarks"]
    for slug in REFERENCE:
        spec = registry.get(slug)
        assert spec.is_public and spec.edit_roles == ("editor",)


def test_sample_streets_name_the_old_towns_streets_and_mark_approximate_ones():
    names = set(models.Street.objects.values_list("name", flat=True))
    for name in ("延陵西路", "北大街", "南大街", "局前街", "大庙弄", "县学街", "西瀛里", "化龙巷"):
        assert name in names
    assert not models.Street.objects.filter(approximate=False).exists()  # all 示意
    assert set(models.Street.objects.values_list("street_class", flat=True)) == {
        "main_road",
        "street",
        "lane",
    }


def test_anonymous_reads_streets_but_may_not_write_and_a_planner_may_not_edit(client):
    body = client.get("/api/v1/streets/").json()
    assert body["features"] and body["features"][0]["geometry"]["type"] == "LineString"
    anonymous = client.post("/api/v1/streets/", {}, content_type="application/json")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Token"
    client.force_login(make_user("base-planner", "planner"))
    street = models.Street.objects.first()
    response = client.patch(
        f"/api/v1/streets/{street.pk}/", {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "role", "embedded"),
    [
        ("/tour/", None, True),
        ("/", None, True),
        ("/maps/planning/", "planner", False),
        ("/maps/inspection/", "inspector", False),
    ],
)
def test_every_map_draws_the_reference_layers_first_when_there_is_no_basemap(
    client, path, role, embedded
):
    if role:
        client.force_login(make_user(f"base-{role}", role))
    html = client.get(path).content.decode()
    layers = setups(html)
    basemap = [cfg["slug"] for cfg in layers if cfg.get("basemap")]
    assert basemap == REFERENCE
    # Under the features: added before every feature layer of the page.
    assert [cfg["slug"] for cfg in layers[: len(REFERENCE)]] == REFERENCE
    for cfg in layers[: len(REFERENCE)]:
        assert ("data" in cfg) is embedded and cfg["viewport"] is (not embedded)


def test_the_grid_workers_map_draws_them_too(client, settings):
    client.force_login(make_user("base-grid", "inspector"))
    html = client.get("/field/").content.decode()
    config = json.loads(re.search(r'id="hh-field-config"[^>]*>(.*?)</script>', html).group(1))
    assert [cfg["slug"] for cfg in config["basemap"]] == REFERENCE
    # As vector tiles at fixed URLs, which the field app's service worker keeps offline.
    assert all(
        cfg["tiles"].endswith("/{z}/{x}/{y}.pbf") and not cfg["viewport"] and "data" not in cfg
        for cfg in config["basemap"]
    )
    settings.MAP_BASEMAP = "osm"
    html = client.get("/field/").content.decode()
    assert '"basemap": []' in html


def test_an_online_basemap_replaces_the_reference_layers(client, settings):
    settings.MAP_BASEMAP = "osm"
    html = client.get("/tour/").content.decode()
    assert not [cfg for cfg in setups(html) if cfg.get("basemap")]


@pytest.fixture
def raster_package(tmp_path, settings):
    path = tmp_path / "old-town.mbtiles"
    tiles = mbtiles_sample.make(path)
    settings.MAP_BASEMAP = f"mbtiles:{path}"
    return tiles


def test_mbtiles_tiles_are_served_with_the_row_flipped_and_cached(client, raster_package):
    for (z, x, y), data in list(raster_package.items())[::13]:
        response = client.get(f"/basemap/{z}/{x}/{y}")
        assert response.status_code == 200, (z, x, y)
        assert response["Content-Type"] == "image/png"
        assert response.content == data
        assert "max-age" in response["Cache-Control"]
        etag = response["ETag"]
        again = client.get(f"/basemap/{z}/{x}/{y}", HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304 and not again.content
    # A tile the package does not hold (the TMS row of a held tile, unflipped).
    (z, x, y) = next(iter(raster_package))
    assert (z, x, (1 << z) - 1 - y) not in raster_package
    assert client.get(f"/basemap/{z}/{x}/{(1 << z) - 1 - y}").status_code == 404


@pytest.mark.parametrize(
    ("url", "name"),
    [("/basemap/25/0/0", "z"), ("/basemap/3/8/0", "x"), ("/basemap/3/0/8", "y")],
)
def test_mbtiles_out_of_range_tiles_are_400_naming_the_parameter(client, raster_package, url, name):
    response = client.get(url)
    assert response.status_code == 400 and name in response.json()


def test_mbtiles_refuses_writes_and_is_404_without_a_package(client, raster_package, settings):
    assert client.post("/basemap/14/0/0").status_code == 405
    settings.MAP_BASEMAP = "none"
    assert client.get("/basemap/14/0/0").status_code == 404


def test_maps_use_a_raster_package_instead_of_the_reference_layers(client, raster_package):
    html = client.get("/tour/").content.decode()
    assert "/basemap/{z}/{x}/{y}" in html
    assert not [cfg for cfg in setups(html) if cfg.get("basemap")]
    assert builder.basemap_name() == "mbtiles"


def test_vector_packages_are_served_gzipped_and_drawn_with_vectorgrid(client, tmp_path, settings):
    path = tmp_path / "vector.mbtiles"
    tiles = mbtiles_sample.make(path, vector=True)
    settings.MAP_BASEMAP = f"mbtiles:{path}"
    (z, x, y), data = next(iter(tiles.items()))
    response = client.get(f"/basemap/{z}/{x}/{y}")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    decoded = mapbox_vector_tile.decode(gzip.decompress(response.content))
    assert "roads" in decoded
    html = client.get("/tour/").content.decode()
    assert '"basemap_tiles": {"url": "/basemap/{z}/{x}/{y}", "vector": true' in html
    assert "Leaflet.VectorGrid" in html


def test_a_missing_package_is_reported_by_the_system_check(settings, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.MAP_BASEMAP = f"mbtiles:{tmp_path / 'missing.mbtiles'}"
    with pytest.raises(SystemCheckError, match="hh.E101"):
        call_command("check")
    (tmp_path / "text.mbtiles").write_text("not sqlite")
    settings.MAP_BASEMAP = f"mbtiles:{tmp_path / 'text.mbtiles'}"
    with pytest.raises(SystemCheckError, match="hh.E101"):
        call_command("check")


def test_home_page_declaration_keeps_reference_layers_out_of_its_overlays():
    assert not {layer.slug for layer in PAGES["home"].layers} & set(REFERENCE)
