"""Rebuild the generalized buildings of the low zooms (layers/domain/models/generalized.py).

One statement per rebuild: every live building is put in the cell of each level's grid that
holds the centre of its bounding box (EPSG:3857; a cell is 1/64 of that zoom's tile, 4 pixels
of a 256-pixel tile), and each non-empty cell becomes the convex hull of its buildings with
their count per status. A tile of a level therefore holds at most 64 × 64 features, whatever
the density: its size is bounded by construction (docs/MAPS.md, "Low zooms").

It runs as the job `generalize_buildings` (layers/jobs/kinds/maintenance.py), queued by the
buildings' generation counter (migration 0018). Readers see the previous blocks until the
rebuild commits (one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from layers.domain import clock
from layers.domain.models import Building, BuildingBlock, GeneralizedSource

LEVELS = BuildingBlock.LEVELS
CELLS_PER_TILE = BuildingBlock.CELLS_PER_TILE
ORIGIN = 20037508.342789244  # half the width of the EPSG:3857 world


def cell_size(level: int) -> float:
    """The side of a cell of `level`'s grid, in EPSG:3857 metres."""
    return 2 * ORIGIN / 2**level / CELLS_PER_TILE


@dataclass(frozen=True)
class Report:
    source_generation: int
    blocks: dict[int, int]  # level -> cells written
    buildings: int


def source_generation() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT value FROM layers_generation WHERE table_name = %s",
            [Building._meta.db_table],
        )
        row = cursor.fetchone()
    return row[0] if row else 0


def is_current() -> bool:
    """Whether the blocks were built from the buildings as they are now."""
    built = GeneralizedSource.objects.filter(name=BuildingBlock._meta.db_table).first()
    return built is not None and built.source_generation == source_generation()


def refresh() -> Report:
    """Rebuild every level from the live buildings (inside the caller's transaction).

    The generation is read before the rows: an edit committed in between is then built in
    but not recorded, which costs one more rebuild later and never leaves one out.
    """
    generation = source_generation()
    blocks = BuildingBlock._meta.db_table
    finest = max(LEVELS)
    size = cell_size(finest)
    # The grids nest (a cell of z is 2 × 2 cells of z+1, and a building's cell of z is its
    # cell of z+1 halved), so each building is transformed and placed once, at the finest
    # level, and the coarser levels aggregate those hulls (a hull of hulls is the hull).
    shifts = ", ".join(f"({z}, {finest - z})" for z in LEVELS)  # our constants
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {blocks}")  # noqa: S608 (table names are ours)
        cursor.execute(
            f"""
            WITH b AS (
                SELECT status, ST_Transform(geom, 3857) AS g
                FROM {Building._meta.db_table} WHERE deleted_at IS NULL
            ), fine AS (
                SELECT floor(((ST_XMin(g) + ST_XMax(g)) / 2 + {ORIGIN!r}) / {size!r})::int AS cx,
                       floor(({ORIGIN!r} - (ST_YMin(g) + ST_YMax(g)) / 2) / {size!r})::int AS cy,
                       status, count(*) AS n, ST_ConvexHull(ST_Collect(g)) AS hull
                FROM b GROUP BY 1, 2, status
            ), per_status AS (
                SELECT lv.z, f.cx >> lv.k AS cx, f.cy >> lv.k AS cy, f.status,
                       sum(f.n) AS n, ST_Collect(f.hull) AS g
                FROM fine f CROSS JOIN (VALUES {shifts}) AS lv (z, k)
                GROUP BY lv.z, f.cx >> lv.k, f.cy >> lv.k, f.status
            ), cells AS (
                SELECT z, cx, cy, sum(n)::int AS buildings,
                       (array_agg(status ORDER BY n DESC, status))[1] AS status,
                       jsonb_object_agg(status, n) AS counts,
                       ST_ConvexHull(ST_Collect(g)) AS hull
                FROM per_status GROUP BY z, cx, cy
            )
            INSERT INTO {blocks} (level, cell_x, cell_y, geom, buildings, status, counts)
            SELECT z, cx, cy, hull, buildings, status, counts FROM cells
            WHERE GeometryType(hull) = 'POLYGON'
            """  # noqa: S608 (table names and numbers are ours)
        )
        cursor.execute(
            f"SELECT level, count(*), sum(buildings) FROM {blocks} GROUP BY level"  # noqa: S608
        )
        rows = cursor.fetchall()
    GeneralizedSource.objects.update_or_create(
        name=blocks, defaults={"source_generation": generation, "refreshed_at": clock.now()}
    )
    written = {level: count for level, count, _ in rows}
    total = max((int(n) for _, _, n in rows), default=0)
    return Report(generation, written, total)
