"""The tile cache (layers/query/tilecache.py) and the layer generations the database keeps."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from django.db import connection

from layers.domain import models, registry
from layers.query import tilecache
from tests.conftest import missing_tool
from tests.test_tiles import tile_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_api():
    """Signed in by session: the tile views are plain Django views, the API is DRF."""
    from rest_framework.test import APIClient

    from tests.conftest import make_user

    client = APIClient()
    client.force_login(make_user("cache-editor", "editor"))
    return client


def _generation(slug: str) -> str:
    return tilecache.generation([registry.get(slug)])


def test_every_layer_table_bumps_its_generation_on_every_write_path():
    """Write service, raw SQL (loaders, derived refresh) and deletes all bump it; a statement
    that changes nothing does not. A new layer without the triggers fails here."""
    for spec in registry.LAYERS:
        table = spec.model._meta.db_table
        row = spec.model.all_objects.order_by("pk").first()
        assert row is not None, spec.slug
        before = _generation(spec.slug)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET version = version WHERE id = %s", [row.pk])  # noqa: S608
        after_update = _generation(spec.slug)
        assert after_update != before, spec.slug
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET version = version WHERE id = -1")  # noqa: S608
        assert _generation(spec.slug) == after_update, spec.slug


def test_an_edited_building_shows_in_its_tile_at_once(editor_api):
    spec = registry.get("buildings")
    z = spec.tile_fields[-1][0]  # a zoom whose tiles carry the name
    building = models.Building.objects.order_by("pk").first()
    point = building.geom.point_on_surface
    x, y = tile_of(point.x, point.y, z)
    url = f"/tiles/buildings/{z}/{x}/{y}.pbf"

    def names():
        response = editor_api.get(url)
        assert response.status_code == 200
        layer = mapbox_vector_tile.decode(response.content)["buildings"]
        return {f["id"]: f["properties"].get("name") for f in layer["features"]}, response

    first, response = names()
    assert first[building.pk] == building.name
    cached, again = names()  # served from the cache: same bytes, same ETag
    assert cached == first and again["ETag"] == response["ETag"]

    patched = editor_api.patch(
        f"/api/v1/buildings/{building.pk}/",
        {"properties": {"name": "已改名的建筑"}},
        format="json",
        HTTP_IF_MATCH=f'"{building.version}"',
    )
    assert patched.status_code == 200, patched.content[:300]
    edited, after = names()
    assert edited[building.pk] == "已改名的建筑"
    assert after["ETag"] != response["ETag"]


def test_roles_with_different_properties_never_share_a_cached_tile(client, editor_api):
    spec = registry.get("viewpoints")
    viewpoint = models.CulturalViewpoint.objects.order_by("pk").first()
    x, y = tile_of(viewpoint.geom.x, viewpoint.geom.y, 16)
    url = f"/tiles/viewpoints/16/{x}/{y}.pbf"
    staff = editor_api.get(url)
    public = client.get(url)
    assert staff.status_code == public.status_code == 200
    for feature in mapbox_vector_tile.decode(public.content)["viewpoints"]["features"]:
        assert set(feature["properties"]) <= {"id", *spec.public_fields}


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server on a free port (Debian's redis-server), for the shared cache."""
    import shutil
    import socket
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        missing_tool("redis-server (Debian package) is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.slow
def test_tiles_are_shared_through_redis(redis_url, editor_api):
    """With REDIS_URL the tile cache is Redis: what one node stored another reads, and an edit
    still shows at once (the key changes with the generation)."""
    import redis
    from django.test import override_settings

    backend = "django.core.cache.backends.redis.RedisCache"
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "tiles": {"BACKEND": backend, "LOCATION": redis_url, "KEY_PREFIX": "t"},
    }
    building = models.Building.objects.order_by("pk").first()
    point = building.geom.point_on_surface
    z = registry.get("buildings").tile_fields[-1][0]
    x, y = tile_of(point.x, point.y, z)
    url = f"/tiles/buildings/{z}/{x}/{y}.pbf"
    with override_settings(CACHES=caches_setting):
        first = editor_api.get(url)
        assert first.status_code == 200
        keys = redis.Redis.from_url(redis_url).keys("t:*")
        assert len(keys) == 1  # the tile is in Redis, where every node finds it
        assert editor_api.get(url).content == first.content
        building.name = "Redis 之后改的名字"
        building.save()
        layer = mapbox_vector_tile.decode(editor_api.get(url).content)["buildings"]
        names = {f["id"]: f["properties"].get("name") for f in layer["features"]}
        assert names[building.pk] == "Redis 之后改的名字"
        assert len(redis.Redis.from_url(redis_url).keys("t:*")) == 2


def test_a_browser_gets_the_compressed_tile_from_the_cache_and_edits_at_once(
    editor_api, monkeypatch
):
    """Browsers always send Accept-Encoding: the compressed bytes are cached beside the raw
    tile (compressing 270 KB costs more than the rest of a warm answer), per coding, and an
    edit changes them at once like the raw ones."""
    import gzip

    import brotli

    from geo_service.middleware import compression

    calls = []
    real = compression.compress
    monkeypatch.setattr(
        compression, "compress", lambda data, coding: calls.append(coding) or real(data, coding)
    )
    building = models.Building.objects.order_by("pk").first()
    point = building.geom.point_on_surface
    z = 16  # a tile of many buildings (a z18 one can be too small to compress)
    x, y = tile_of(point.x, point.y, z)
    url = f"/tiles/buildings/{z}/{x}/{y}.pbf"
    raw = editor_api.get(url)
    assert raw.status_code == 200 and not raw.has_header("Content-Encoding")
    assert len(raw.content) >= compression.MIN_BYTES

    first = editor_api.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert first["Content-Encoding"] == "br" and "Accept-Encoding" in first["Vary"]
    assert first["ETag"] == "W/" + raw["ETag"]
    assert brotli.decompress(first.content) == raw.content
    again = editor_api.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert again.content == first.content and calls == ["br"]  # the second from the cache

    zipped = editor_api.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == raw.content and calls == ["br", "gzip"]
    assert editor_api.get(url, HTTP_ACCEPT_ENCODING="gzip;q=0, br;q=0").content == raw.content

    new_status = "vacated" if building.status != "vacated" else "in_use"
    patched = editor_api.patch(
        f"/api/v1/buildings/{building.pk}/",
        {"properties": {"status": new_status}},
        format="json",
        HTTP_IF_MATCH=f'"{building.version}"',
    )
    assert patched.status_code == 200, patched.content[:300]
    edited = editor_api.get(url, HTTP_ACCEPT_ENCODING="br")
    layer = mapbox_vector_tile.decode(brotli.decompress(edited.content))["buildings"]
    statuses = {f["id"]: f["properties"]["status"] for f in layer["features"]}
    assert statuses[building.pk] == new_status
