"""Generate a bench data set: N buildings and M hazards at the old town's density, seeded, in SQL.

Usage: .venv/bin/python bench/make_data.py [--buildings 100000] [--hazards 10000]
                                           [--db-suffix _bench] [--spacing 6.25]

The density is fixed, the extent grows with N: buildings sit on a jittered lattice of lots
`--spacing` metres apart (6.25 m: 25,600 lots per km², the density of the 200,000-building set
before issue 28, the old town's small courtyard houses), centred on 119.950 E, 31.7825 N. 200,000
buildings cover 2.8 × 2.8 km (the old town and its edge: the same set as before); 2,000,000
cover 8.8 × 8.8 km (119.90–120.00 E, 31.74–31.82 N: central Changzhou). Hazards are spread over
the same extent at the density of the buildings (M/N), so a tile or a bbox page of the old town
holds the same features at any N: the city test asks what 10× the rows costs per request.

Each set lives in a database of its own, <your database><suffix>: `_bench` (the default) and,
for the city, `--db-suffix _bench_city`; both can exist at once. Runs migrate and the sample
data first (communities, grid cells, sites), then adds the synthetic rows with ref prefix BENCH-
(re-running replaces them). The secondary indexes of both tables are dropped during the bulk
insert and rebuilt after it (their definitions read back from pg_indexes), then the derived
links are refreshed and the tables vacuumed and analyzed.
"""

from __future__ import annotations

import argparse
import time

import benchdb

CENTRE = (119.950, 31.7825)  # the old town's 200,000 set: 119.935–119.965 E, 31.770–31.795 N
TABLES = ("layers_building", "layers_safetyhazard")
# The definitions of the indexes dropped for the bulk insert, kept in the database until they
# are rebuilt (a run that dies in between rebuilds them at its next start).
DROPPED = "bench_dropped_indexes"


def pick(vocabulary: str) -> str:
    """SQL picking a random value of a vocabulary passed as the parameter of that name."""
    array = f"%({vocabulary})s::text[]"
    return f"({array})[1 + floor(random() * cardinality({array}))::int]"


def drop_indexes(cursor, table: str) -> list[str]:
    """Drop the table's indexes that back no constraint; their definitions, to rebuild."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = %s
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                          WHERE c.conindid = (quote_ident(i.indexname))::regclass)
        """,
        [table],
    )
    found = cursor.fetchall()
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {DROPPED} (definition text)")
    for name, definition in found:
        cursor.execute(f"INSERT INTO {DROPPED} VALUES (%s)", [definition])
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in found]


def rebuild_indexes(workers: int = 3) -> int:
    """Create the indexes recorded in DROPPED (this run's, or those of a run that died before
    rebuilding them), several at a time on connections of their own; then forget them."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    conninfo = {
        "host": db["HOST"],
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"],
        "dbname": db["NAME"],
        "autocommit": True,
    }
    with psycopg.connect(**conninfo) as conn:
        if not conn.execute("SELECT to_regclass(%s)", [DROPPED]).fetchone()[0]:
            return 0
        definitions = [row[0] for row in conn.execute(f"SELECT definition FROM {DROPPED}")]

    def build(definition: str) -> None:
        # IF NOT EXISTS: a run that died half-way may have built some of them already.
        definition = definition.replace(" INDEX ", " INDEX IF NOT EXISTS ", 1)
        with psycopg.connect(**conninfo) as own:
            own.execute("SET maintenance_work_mem = '512MB'")
            own.execute(definition)

    # The slow ones first (GIN over expressions), so the pool ends together.
    definitions.sort(key=lambda d: ("gin" not in d, "hh_initials" not in d))
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(build, definitions))
    with psycopg.connect(**conninfo) as conn:
        conn.execute(f"DROP TABLE {DROPPED}")
    return len(definitions)


def step(label: str, started: float) -> None:
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--hazards", type=int, default=10_000)
    parser.add_argument(
        "--db-suffix",
        default=None,
        help="bench database <name><suffix> (default _bench, or $BENCH_DB_SUFFIX)",
    )
    parser.add_argument(
        "--spacing", type=float, default=6.25, help="metres between lots (fixes the density)"
    )
    args = parser.parse_args()

    name = benchdb.setup(args.db_suffix)
    from django.conf import settings

    benchdb.ensure_database(settings.DATABASES["default"]["NAME"])
    from django.core.management import call_command
    from django.db import connection, transaction

    from layers.domain import vocabularies as status
    from layers.services import derived

    vocabularies = {
        v.name: list(v.values)
        for v in (
            status.BUILDING_STATUS,
            status.BUILDING_USE,
            status.BUILDING_STRUCTURE,
            status.HAZARD_STATUS,
            status.HAZARD_CATEGORY,
        )
    }

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("load_sample_data", verbosity=0)
    step("migrate and sample data", began)
    started = time.perf_counter()
    if rebuilt := rebuild_indexes():
        step(f"{rebuilt} indexes of an unfinished run rebuilt", started)
    side = 1
    while side * side < args.buildings:
        side += 1
    rows = -(-args.buildings // side)
    spacing = args.spacing
    # Footprints as before issue 28: 2 m of jitter, then up to 12 × 9 m scaled to the lot.
    width = 2 + 12 * min(1, spacing / 16)
    depth = 2 + 9 * min(1, spacing / 16)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SELECT setseed(0.2026)")
        cursor.execute(
            "SELECT ST_X(c), ST_Y(c) FROM ST_Transform("
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326), 4549) c",
            list(CENTRE),
        )
        cx, cy = cursor.fetchone()
        x0, y0 = cx - side * spacing / 2, cy - rows * spacing / 2
        x1, y1 = x0 + side * spacing, y0 + rows * spacing
        cursor.execute("DELETE FROM layers_safetyhazard WHERE ref LIKE 'BENCH-%%'")
        cursor.execute("DELETE FROM layers_historicalsafetyhazard WHERE ref LIKE 'BENCH-%%'")
        drop_indexes(cursor, "layers_building")
        cursor.execute("DELETE FROM layers_building WHERE ref LIKE 'BENCH-%%'")
        cursor.execute("DELETE FROM layers_historicalbuilding WHERE ref LIKE 'BENCH-%%'")
        drop_indexes(cursor, "layers_safetyhazard")
        step("old rows deleted, indexes dropped", started)
        # Buildings: a lattice of `side` columns, row after row (the rows' order on disk
        # follows the lattice, as a city loaded district by district would).
        cursor.execute(
            f"""
            INSERT INTO layers_building (
                ref, name, name_en, status, created_at, updated_at, version, use, address,
                floors, year_built, households, structure, heritage_protected, geom)
            SELECT 'BENCH-' || c.i, '测试建筑 ' || c.i, 'Bench building ' || c.i,
                   {pick("building_status")},
                   now(), now(), 1,
                   {pick("building_use")},
                   '测试路' || c.i || '号', 1 + (random() * 6)::int, 1950 + (random() * 70)::int,
                   (random() * 30)::int,
                   {pick("building_structure")},
                   random() < 0.02,
                   ST_Multi(ST_Transform(ST_MakeEnvelope(
                       %(x0)s + c.col * %(spacing)s + random() * 2,
                       %(y0)s + c.row * %(spacing)s + random() * 2,
                       %(x0)s + c.col * %(spacing)s + %(width)s,
                       %(y0)s + c.row * %(spacing)s + %(depth)s,
                       4549), 4326))
            FROM (SELECT g - 1 AS i, (g - 1) %% %(side)s AS col, (g - 1) / %(side)s AS row
                  FROM generate_series(1, %(n)s) g) c
            """,
            {
                "n": args.buildings,
                "side": side,
                "spacing": spacing,
                "x0": x0,
                "y0": y0,
                "width": width,
                "depth": depth,
                **vocabularies,
            },
        )
        step(f"{args.buildings} buildings inserted", started)
        cursor.execute(
            f"""
            INSERT INTO layers_safetyhazard (
                ref, name, name_en, status, created_at, updated_at, version, category, level,
                description, found_at, deadline, responsible_unit, reject_reason, supervised,
                geom)
            SELECT 'BENCH-H' || g, '测试隐患 ' || g, 'Bench hazard ' || g,
                   {pick("hazard_status")},
                   now(), now(), 1,
                   {pick("hazard_category")},
                   CASE WHEN random() < 0.1 THEN 'major' ELSE 'general' END,
                   '基准测试数据', now() - random() * interval '200 days',
                   (now() + (random() * 300 - 100)::int * interval '1 day')::date,
                   '测试单位', '', false,
                   ST_Transform(ST_SetSRID(ST_MakePoint(
                       %(x0)s + random() * %(w)s, %(y0)s + random() * %(h)s), 4549), 4326)
            FROM generate_series(1, %(m)s) g
            """,
            {"m": args.hazards, "x0": x0, "y0": y0, "w": x1 - x0, "h": y1 - y0, **vocabularies},
        )
        step(f"{args.hazards} hazards inserted", started)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys, checked now
    step(f"{rebuild_indexes()} indexes rebuilt", started)
    with transaction.atomic(), connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
        # The derived links (what `manage.py refresh_derived` does), scoped: a new row lying
        # in no boundary (most of a city's) keeps its empty links, so only the rows within a
        # source (a community, grid cell or site; a hazard within a building) are re-derived.
        touched = {
            source: set(derived.layer_model(source).objects.values_list("id", flat=True))
            for source in derived.SOURCES
            if source != "Building"
        }
        derived.propagate(touched)
        cursor.execute(
            "SELECT DISTINCT b.id FROM layers_building b JOIN layers_safetyhazard h"
            " ON ST_Intersects(b.geom, h.geom) AND h.ref LIKE 'BENCH-%%'"
        )
        derived.propagate({"Building": {row[0] for row in cursor.fetchall()}})
        step("derived links refreshed", started)
        cursor.execute("SELECT count(*) FROM layers_building")
        buildings = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM layers_safetyhazard")
        hazards = cursor.fetchone()[0]
        cursor.execute(
            "SELECT ST_AsText(ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 4549), 4326))",
            [x0, y0, x1, y1],
        )
        extent = cursor.fetchone()[0]
    with connection.cursor() as cursor:  # outside the transaction
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    step("vacuum analyze", started)
    print(
        f"{name}: {buildings} buildings, {hazards} hazards; lattice {side} × {rows} lots of "
        f"{spacing} m ({side * spacing / 1000:.2f} × {rows * spacing / 1000:.2f} km, "
        f"{1e6 / spacing**2:,.0f} lots/km²): {extent}\n"
        f"({time.perf_counter() - started:.1f} s for the synthetic rows, "
        f"{time.perf_counter() - began:.1f} s in all)"
    )


if __name__ == "__main__":
    main()
