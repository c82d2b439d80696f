"""Generate the bench data set: N buildings and M hazards over the old town, seeded, in SQL.

Usage: .venv/bin/python bench/make_data.py [--buildings 100000] [--hazards 10000]
Runs migrate and the sample data first (communities, grid cells, sites), then adds the synthetic
rows with ref prefix BENCH- (re-running replaces them).
"""

from __future__ import annotations

import argparse
import time

import benchdb


def pick(vocabulary: str) -> str:
    """SQL picking a random value of a vocabulary passed as the parameter of that name."""
    array = f"%({vocabulary})s::text[]"
    return f"({array})[1 + floor(random() * cardinality({array}))::int]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--hazards", type=int, default=10_000)
    args = parser.parse_args()

    name = benchdb.setup()
    from django.conf import settings

    benchdb.ensure_database(settings.DATABASES["default"]["NAME"])
    from django.core.management import call_command
    from django.db import connection, transaction

    from layers.domain import vocabularies as status
    from layers.services.derived import refresh_all

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

    call_command("migrate", verbosity=0)
    call_command("load_sample_data", verbosity=0)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.2026)")
        cursor.execute("DELETE FROM layers_safetyhazard WHERE ref LIKE 'BENCH-%%'")
        cursor.execute("DELETE FROM layers_building WHERE ref LIKE 'BENCH-%%'")
        # Buildings: 12 × 9 m footprints on a jittered lattice over 119.935–119.965 E,
        # 31.770–31.795 N (about 2.8 × 2.8 km), built in EPSG:4549 metres.
        cursor.execute(
            f"""
            WITH params AS (SELECT ceil(sqrt(%(n)s))::int AS side),
            cells AS (
                SELECT g - 1 AS i, ((g - 1) %% p.side) AS col, ((g - 1) / p.side) AS row, p.side
                FROM params p, generate_series(1, %(n)s) g
            ),
            origin AS (
                SELECT ST_X(o) AS x0, ST_Y(o) AS y0
                FROM (SELECT ST_Transform(
                    ST_SetSRID(ST_MakePoint(119.935, 31.770), 4326), 4549) o) s
            )
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
                       o.x0 + c.col * (2800.0 / c.side) + random() * 2,
                       o.y0 + c.row * (2800.0 / c.side) + random() * 2,
                       o.x0 + c.col * (2800.0 / c.side) + 2 + 12 * least(1, 2800.0 / c.side / 16),
                       o.y0 + c.row * (2800.0 / c.side) + 2 + 9 * least(1, 2800.0 / c.side / 16),
                       4549), 4326))
            FROM cells c, origin o
            """,
            {"n": args.buildings, **vocabularies},
        )
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
                   '基准测试数据', now() - (random() * 200 || ' days')::interval,
                   (now() + ((random() * 300 - 100)::int || ' days')::interval)::date,
                   '测试单位', '', false,
                   ST_SetSRID(ST_MakePoint(
                       119.935 + random() * 0.03, 31.770 + random() * 0.025), 4326)
            FROM generate_series(1, %(m)s) g
            """,
            {"m": args.hazards, **vocabularies},
        )
        refresh_all()  # what `manage.py refresh_derived` does
        cursor.execute("ANALYZE layers_building")
        cursor.execute("ANALYZE layers_safetyhazard")
        cursor.execute("SELECT count(*) FROM layers_building")
        buildings = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM layers_safetyhazard")
        hazards = cursor.fetchone()[0]
    print(
        f"{name}: {buildings} buildings, {hazards} hazards "
        f"({time.perf_counter() - started:.1f} s for the synthetic rows)"
    )


if __name__ == "__main__":
    main()
