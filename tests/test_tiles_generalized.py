"""The low zooms' generalized buildings: blocks at z12-z14 rebuilt by one queued job after
buildings change, each building from z15, the same readers as buildings, and the size cap."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from layers.domain import models, registry
from layers.jobs.kinds import maintenance
from layers.services import generalize
from tests.test_tiles import ids_in_tile, tile_of

pytestmark = pytest.mark.django_db
TASK = "layers.generalize_buildings"


def queued() -> tuple[int, float | None]:
    """The rebuilds waiting, and how many seconds ahead the first is scheduled."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), extract(epoch FROM min(scheduled_at) - now())"
            " FROM procrastinate_jobs WHERE task_name = %s AND status = 'todo'",
            [TASK],
        )
        count, ahead = cursor.fetchone()
    return count, ahead


def forget_queued() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = %s", [TASK])


@pytest.fixture
def built():
    """The blocks built from the sample buildings as they are, and no rebuild waiting.

    The tile cache is emptied: each test's rollback takes the generations back to the same
    numbers, which never happens outside tests, while the block ids move on."""
    generalize.refresh()
    forget_queued()
    caches["tiles"].clear()
    assert generalize.is_current()


def layer(response, slug="buildings") -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    return mapbox_vector_tile.decode(response.content)[slug]["features"]


def block_of(building, level: int) -> models.BuildingBlock:
    """The block of `level` holding the building (by its bounding box's centre, as built)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.id FROM layers_buildingblock b, layers_building s WHERE s.id = %s"
            " AND b.level = %s AND ST_Contains(b.geom, ST_Centroid(ST_Envelope("
            "ST_Transform(s.geom, 3857))))",
            [building.pk, level],
        )
        return models.BuildingBlock.objects.get(pk=cursor.fetchone()[0])


def test_an_edit_queues_one_rebuild_and_the_job_updates_the_blocks(built, editor_client):
    building = models.Building.objects.filter(status="in_use").order_by("pk").first()
    z = 13
    x, y = tile_of(*building.geom.point_on_surface.coords, z)
    url = f"/tiles/buildings/{z}/{x}/{y}.pbf"
    block = block_of(building, z)
    before = {f["id"]: f["properties"] for f in layer(editor_client.get(url))}
    assert before[block.pk]["buildings"] == block.buildings
    assert before[block.pk].get("vacated", 0) == block.counts.get("vacated", 0)
    etag = editor_client.get(url)["ETag"]

    # A rolled-back edit queues nothing: the job is queued in the writer's transaction.
    with pytest.raises(RuntimeError), transaction.atomic():
        models.Building.objects.filter(pk=building.pk).update(status="vacated")
        raise RuntimeError
    assert queued() == (0, None)

    patched = editor_client.patch(
        f"/api/v1/buildings/{building.pk}/",
        {"properties": {"status": "vacated"}},
        content_type="application/json",
        HTTP_IF_MATCH=f'"{building.version}"',
    )
    assert patched.status_code == 200, patched.content[:300]
    other = models.Building.objects.exclude(pk=building.pk).order_by("pk").first()
    other.name = "改过名"
    other.save()
    with connection.cursor() as cursor:  # an import's raw statements: many rows at once
        cursor.execute("UPDATE layers_building SET version = version + 1 WHERE id % 7 = 0")
    count, ahead = queued()
    assert count == 1 and 20 < ahead <= 30  # one rebuild for them all, debounced

    # Until the job runs, the low zooms still show the blocks as built.
    assert layer(editor_client.get(url)) and block_of(building, z).counts == block.counts

    job = maintenance.generalize_when_stale()
    assert job.status == job.SUCCEEDED, job.error
    assert job.report["source_generation"] == generalize.source_generation()
    assert generalize.is_current() and maintenance.generalize_when_stale() is None

    after_block = block_of(building, z)
    assert after_block.counts.get("vacated", 0) == block.counts.get("vacated", 0) + 1
    assert after_block.counts.get("in_use", 0) == block.counts.get("in_use", 0) - 1
    served = editor_client.get(url)
    assert served["ETag"] != etag
    after = {f["id"]: f["properties"] for f in layer(served)}
    assert after[after_block.pk]["vacated"] == after_block.counts["vacated"]
    assert sum(p["buildings"] for p in after.values()) == sum(
        p["buildings"] for p in before.values()
    )


def test_blocks_at_z12_to_z14_and_each_building_from_z15(built, editor_client):
    building = models.Building.objects.order_by("pk").first()
    lon, lat = building.geom.point_on_surface.coords
    for z in (12, 13, 14):
        x, y = tile_of(lon, lat, z)
        features = layer(editor_client.get(f"/tiles/buildings/{z}/{x}/{y}.pbf"))
        ids = set(models.BuildingBlock.objects.filter(level=z).values_list("pk", flat=True))
        assert features and {f["id"] for f in features} <= ids
        for feature in features:
            props = feature["properties"]
            assert "id" not in props and props["buildings"] >= 1  # a block, not a building
            counts = {k: v for k, v in props.items() if k not in {"buildings", "status"}}
            assert sum(counts.values()) == props["buildings"]
            assert props["status"] == max(sorted(counts), key=lambda s: counts[s])
    for z in (15, 16):
        x, y = tile_of(lon, lat, z)
        features = layer(editor_client.get(f"/tiles/buildings/{z}/{x}/{y}.pbf"))
        got, expected = {f["id"] for f in features}, ids_in_tile("layers_building", z, x, y)
        # z15 is simplified by half a pixel: a footprint just inside the buffer may vanish.
        assert got == expected if z == 16 else building.pk in got <= expected
        assert all(f["properties"]["id"] == f["id"] for f in features)
    x, y = tile_of(lon, lat, 11)
    assert editor_client.get(f"/tiles/buildings/11/{x}/{y}.pbf").status_code == 404
    assert editor_client.get("/tiles/buildings/13/99999/1.pbf").status_code == 404
    # The past has no blocks: the buildings as they were are drawn from z15.
    x, y = tile_of(lon, lat, 13)
    past = editor_client.get(f"/tiles/buildings/13/{x}/{y}.pbf?as_of=2024-01-01")
    assert past.status_code == 404
    x, y = tile_of(lon, lat, 15)
    assert editor_client.get(f"/tiles/buildings/15/{x}/{y}.pbf?as_of=2024-01-0x").status_code == 400


@pytest.mark.parametrize("role", ["planner", "inspector", "editor"])
def test_blocks_are_read_as_buildings_are(built, client, role):
    from tests.conftest import make_user

    building = models.Building.objects.order_by("pk").first()
    x, y = tile_of(*building.geom.point_on_surface.coords, 13)
    url = f"/tiles/buildings/13/{x}/{y}.pbf"
    assert client.get(url).status_code == 401
    assert client.get(f"/tiles/multi/13/{x}/{y}.pbf?layers=buildings").status_code == 401
    client.force_login(make_user("no-role-blocks", None))
    assert client.get(url).status_code == 403
    client.force_login(make_user(f"blocks-{role}", role))
    features = layer(client.get(url))
    assert features and all("status" in f["properties"] for f in features)
    multi = mapbox_vector_tile.decode(client.get(f"/tiles/multi/13/{x}/{y}.pbf").content)
    assert {f["id"] for f in multi["buildings"]["features"]} == {f["id"] for f in features}
    tilejson = client.get("/tiles/buildings.json").json()
    assert tilejson["minzoom"] == 12 and "buildings" in tilejson["vector_layers"][0]["fields"]
    tileset = client.get("/ogc/collections/buildings/tiles/WebMercatorQuad").json()
    assert tileset["layers"][0]["minTileMatrix"] == "12"


def test_the_map_pages_draw_buildings_from_z12_by_tiles_only():
    from layers.compose.builder import layer_config
    from layers.domain.pages import MapLayer
    from tests.conftest import make_user

    planner = make_user("blocks-map", "planner")
    tiled = layer_config(MapLayer("buildings", tiles=True), planner)
    # Blocks from z12; each building (clickable) from z15.
    assert (tiled["min_zoom"], tiled["detail_zoom"]) == (12, 15)
    # GeoJSON by viewport has no blocks: it starts at the detail zoom.
    assert layer_config(MapLayer("buildings", viewport=True), planner)["min_zoom"] == 15


def test_a_detailed_tile_over_the_size_cap_is_drawn_as_blocks(built, editor_client):
    building = models.Building.objects.order_by("pk").first()
    x, y = tile_of(*building.geom.point_on_surface.coords, 15)
    url = f"/tiles/buildings/15/{x}/{y}.pbf"
    caches["tiles"].clear()
    detailed = editor_client.get(url)
    assert all("id" in f["properties"] for f in layer(detailed))
    caches["tiles"].clear()
    with override_settings(TILE_MAX_BYTES=len(detailed.content) - 1):
        capped = editor_client.get(url)
    blocks = layer(capped)
    assert blocks and all("id" not in f["properties"] for f in blocks)
    ids = set(models.BuildingBlock.objects.filter(level=15).values_list("pk", flat=True))
    assert {f["id"] for f in blocks} <= ids
    assert len(capped.content) < len(detailed.content)
    caches["tiles"].clear()
    # Far over the cap (the blocks count enough buildings): blocks, without the detail first.
    with override_settings(TILE_MAX_BYTES=100), CaptureQueriesContext(connection) as asked:
        assert layer(editor_client.get(url)) == blocks
    assert not any('FROM "layers_building"' in q["sql"] for q in asked.captured_queries)
    caches["tiles"].clear()
    # Under the cap the tile stays detailed; layers without blocks are never replaced.
    with override_settings(TILE_MAX_BYTES=len(detailed.content)):
        assert layer(editor_client.get(url)) == layer(detailed)
        hazards = editor_client.get(f"/tiles/hazards/15/{x}/{y}.pbf")
    with override_settings(TILE_MAX_BYTES=1):
        caches["tiles"].clear()
        assert editor_client.get(f"/tiles/hazards/15/{x}/{y}.pbf").content == hazards.content
        # Blocks never built (no worker yet): the detail, rather than an empty tile.
        models.BuildingBlock.objects.all().delete()
        caches["tiles"].clear()
        assert layer(editor_client.get(url)) == layer(detailed)


def test_every_level_has_its_blocks_and_a_level_tile_is_bounded():
    report = generalize.refresh()
    live = models.Building.objects.count()
    assert set(report.blocks) == set(models.BuildingBlock.LEVELS) and report.buildings == live
    for level in models.BuildingBlock.LEVELS:
        blocks = models.BuildingBlock.objects.filter(level=level)
        assert sum(b.buildings for b in blocks) == live
        size = generalize.cell_size(level)
        # No two blocks share a cell; a cell is 1/64 of its level's tile.
        assert blocks.values("cell_x", "cell_y").distinct().count() == blocks.count()
        assert size * 64 == pytest.approx(2 * generalize.ORIGIN / 2**level)
    assert registry.get("buildings").generalized is models.BuildingBlock


def test_the_command_rebuilds_the_blocks_at_once():
    from io import StringIO

    from django.core.management import call_command

    models.BuildingBlock.objects.all().delete()
    out = StringIO()
    call_command("generalize_buildings", stdout=out)
    assert generalize.is_current() and models.BuildingBlock.objects.filter(level=12).exists()
    assert f"{models.Building.objects.count()} buildings in blocks" in out.getvalue()
