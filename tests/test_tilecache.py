"""The tile cache (layers/tilecache.py) and the layer generations the database keeps."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from django.db import connection

from layers import models, registry, tilecache
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
