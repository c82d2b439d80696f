"""A 1,000-feature bbox page of /api/v1/buildings/ against the same query in raw SQL (the floor).

Usage: .venv/bin/python bench/api_list.py [--repeat 30]
Needs the bench data (bench/make_data.py). Prints medians and ratios; in-process Django client,
one persistent database connection for both sides.
"""

from __future__ import annotations

import statistics

import benchdb

BBOX = (119.940, 31.775, 119.960, 31.790)


def main() -> None:
    args, user, client = benchdb.start(__doc__, repeat=30)
    from django.contrib.auth import get_user_model
    from django.db import connection

    from layers.domain import registry
    from layers.query import access
    from layers.query.encode import PRECISION

    url = "/api/v1/buildings/?bbox={},{},{},{}&page_size=1000".format(*BBOX)
    spec = registry.get("buildings")
    fields = access.output_fields(user, spec)

    # The floor: the same page, the same properties, encoded by PostGIS in one statement.
    columns = []
    joins = []
    for name in fields:
        field = spec.model._meta.get_field(name)
        if field.many_to_one and field.related_model is get_user_model():
            alias = f"u_{name}"
            joins.append(f"LEFT JOIN auth_user {alias} ON {alias}.id = b.{field.attname}")
            columns.append(f"'{name}', {alias}.username")
        else:
            columns.append(f"'{name}', b.{field.attname}")
    floor_sql = f"""
        SELECT COALESCE(json_agg(json_build_object('type', 'Feature', 'id', t.id,
               'geometry', ST_AsGeoJSON(t.geom, {PRECISION})::json, 'properties', t.p)), '[]')::text
        FROM (SELECT b.id, b.geom, json_build_object({", ".join(columns)}) p
              FROM layers_building b {" ".join(joins)}
              WHERE b.deleted_at IS NULL
                AND ST_Intersects(b.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
              ORDER BY b.id LIMIT 1000) t
    """
    count_sql = (
        "SELECT count(*) FROM layers_building WHERE deleted_at IS NULL "
        "AND ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
    )

    def floor():
        with connection.cursor() as cursor:
            cursor.execute(floor_sql, BBOX)
            return cursor.fetchone()[0]

    def floor_with_count():
        with connection.cursor() as cursor:
            cursor.execute(count_sql, BBOX)
            cursor.fetchone()
        return floor()

    def endpoint():
        response = client.get(url)
        assert response.status_code == 200
        return response.content

    body = endpoint()
    import json

    features = json.loads(body)["features"]
    assert len(features) == 1000, len(features)
    assert len(json.loads(floor())) == 1000
    for fn in (floor, floor_with_count, endpoint):  # warm caches and the connection
        fn()
    results = {
        "floor (page SQL)": statistics.median(benchdb.timed(floor, args.repeat)),
        "floor + count": statistics.median(benchdb.timed(floor_with_count, args.repeat)),
        "endpoint": statistics.median(benchdb.timed(endpoint, args.repeat)),
    }
    base = results["floor (page SQL)"]
    print(f"1,000-feature bbox page of buildings, median of {args.repeat}:")
    for name, seconds in results.items():
        print(f"  {name:18} {seconds * 1000:8.1f} ms   {seconds / base:5.2f}× floor")
    print(
        f"  endpoint vs floor+count: {results['endpoint'] / results['floor + count']:.2f}×  "
        f"(response {len(body) / 1024:.0f} KiB)"
    )


if __name__ == "__main__":
    main()
