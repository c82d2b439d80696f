"""OGC API items (limit=1000 in a bbox) and vector tiles z14–z18 against the same SQL run
directly (the floor). Usage: .venv/bin/python bench/ogc_and_tiles.py [--repeat 20]"""

from __future__ import annotations

import math
import statistics

import benchdb

BBOX = (119.940, 31.775, 119.960, 31.790)
CENTRE = (119.948, 31.783)


def tile_of(lon, lat, z):
    n = 2**z
    return (
        int((lon + 180) / 360 * n),
        int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n),
    )


def main() -> None:
    args, user, client = benchdb.start(__doc__, repeat=20)
    from django.db import connection

    from layers.domain import registry
    from layers.query import access, mvt, spatial
    from layers.query.encode import _feature_rows

    spec = registry.get("buildings")
    fields = access.output_fields(user, spec)

    def run_sql(sql, params):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    rows = []
    # OGC items: the floor is the same page in one json_agg statement (no count).
    box = spatial.bbox("bbox", ",".join(map(str, BBOX)))
    queryset = spec.model.objects.filter(geom__intersects=box)
    page = _feature_rows(queryset.order_by("pk")[:1000], spec, fields).query.sql_with_params()
    floor_sql = (
        "SELECT json_agg(json_build_object('type','Feature','id',t.pk,"
        "'geometry',t._geojson::json,'properties',t._props))::text FROM (" + page[0] + ") t"
    )
    url = "/ogc/collections/buildings/items?limit=1000&bbox={},{},{},{}".format(*BBOX)
    assert client.get(url).status_code == 200
    floor = statistics.median(benchdb.timed(lambda: run_sql(floor_sql, page[1]), args.repeat))
    endpoint = statistics.median(benchdb.timed(lambda: client.get(url), args.repeat))
    rows.append(("OGC items limit=1000 bbox", floor, endpoint))

    # Tiles z14–z18 over the old town: floor = the same ST_AsMVT statement run directly.
    jobs = [(registry.get("hazards"), 14)] + [(spec, z) for z in range(15, 19)]
    for tile_spec, z in jobs:
        x, y = tile_of(*CENTRE, z)
        sql, params = mvt.layer_tile_sql(tile_spec, user, z, x, y)

        def direct(sql=sql, params=params):
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                cursor.execute(sql, params)
                size = len(bytes(cursor.fetchone()[0] or b""))
                cursor.execute("COMMIT")
            return size

        tile_url = f"/tiles/{tile_spec.slug}/{z}/{x}/{y}.pbf"
        assert client.get(tile_url).status_code in (200, 204)
        floor = statistics.median(benchdb.timed(direct, args.repeat))
        endpoint = statistics.median(benchdb.timed(lambda u=tile_url: client.get(u), args.repeat))
        rows.append((f"tile {tile_spec.slug} z{z} ({direct() / 1024:.0f} KiB)", floor, endpoint))

    print(f"median of {args.repeat}; floor = the same SQL run directly")
    for name, floor, endpoint in rows:
        print(
            f"  {name:34} floor {floor * 1000:7.1f} ms  endpoint {endpoint * 1000:7.1f} ms"
            f"  {endpoint / floor:5.2f}×"
        )


if __name__ == "__main__":
    main()
