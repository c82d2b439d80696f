"""The largest vector tiles per zoom (issue 28 item 2): the densest tiles of z12-z18 over HTTP.

Usage: .venv/bin/python bench/tile_sizes.py [--top 3] [--repeat 3] [--cap BYTES]

On the bench data (bench/make_data.py), finds per zoom the `--top` tiles holding the most
buildings (and hazards), asks this project's gunicorn (production configuration, one worker,
the tile cache off: every answer rendered) for each as the demo editor, and prints per zoom the
largest tile's bytes (as sent without and with gzip) and its median time. `--cap` sets
TILE_MAX_BYTES on the server (e.g. 1000000000: no cap, the detailed layer at every zoom from
z15, as before issue 28). The generalized buildings are rebuilt first when stale.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchdb
from peers import Http, free_port, start, wait_up

ROOT = Path(__file__).resolve().parent.parent
ZOOMS = range(12, 19)

DENSEST = """
WITH c AS (
    SELECT ST_X(ST_Centroid(geom)) AS lon, ST_Y(ST_Centroid(geom)) AS lat
    FROM {table} WHERE deleted_at IS NULL
)
SELECT floor((lon + 180) / 360 * 2 ^ %(z)s)::int AS x,
       floor((1 - asinh(tan(radians(lat))) / pi()) / 2 * 2 ^ %(z)s)::int AS y,
       count(*) AS n
FROM c GROUP BY 1, 2 ORDER BY n DESC LIMIT %(top)s
"""


def densest(table: str, z: int, top: int) -> list[tuple[int, int, int]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(DENSEST.format(table=table), {"z": z, "top": top})
        return cursor.fetchall()


def rebuild_blocks() -> str:
    from django.db import transaction

    from layers.services import generalize

    if generalize.is_current():
        return "generalized buildings current"
    began = time.perf_counter()
    with transaction.atomic():
        report = generalize.refresh()
    return f"generalized buildings rebuilt in {time.perf_counter() - began:.1f} s: {report}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=3, help="densest tiles measured per zoom")
    parser.add_argument("--repeat", type=int, default=3, help="requests per tile (median time)")
    parser.add_argument("--cap", type=int, default=None, help="TILE_MAX_BYTES of the server")
    args = parser.parse_args()
    benchdb.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from layers.auth.tokens import ApiToken
    from layers.domain import registry

    print(rebuild_blocks(), flush=True)
    editor = get_user_model().objects.get(username="demo-editor")
    token, key = ApiToken.issue(editor, "bench-tile-sizes")
    auth = {"Authorization": f"Token {key}"}
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    port = free_port()
    logdir = Path(tempfile.mkdtemp(prefix="bench-tile-sizes-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_WORKERS": "1",
        "WEB_BIND": f"127.0.0.1:{port}",
        "TILE_CACHE_SECONDS": "0",
    }
    if args.cap is not None:
        env["TILE_MAX_BYTES"] = str(args.cap)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "-c", str(ROOT / "geo_service" / "gunicorn.conf.py")]
    proc = start(command, env, logdir / "log")
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        wait_up(f"{base}/healthz", proc)
        for slug in ("buildings", "hazards"):
            spec = registry.get(slug)
            for z in ZOOMS:
                if z < spec.min_zoom:
                    continue
                largest = None
                for x, y, n in densest(spec.model._meta.db_table, z, args.top):
                    tile = f"{base}/tiles/{slug}/{z}/{x}/{y}.pbf"
                    plain = Http(tile, auth)
                    times, size = [], 0
                    for _ in range(args.repeat):
                        ms, size, status = plain()
                        assert status in (200, 204), (tile, status)
                        times.append(ms)
                    _, packed, _ = Http(tile, {**auth, "Accept-Encoding": "gzip"})()
                    entry = (size, packed, statistics.median(times), n, f"{z}/{x}/{y}")
                    largest = max(largest or entry, entry)
                rows.append((slug, z, *largest))
                print(slug, z, largest, flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        token.delete()
    load = os.getloadavg()[0]
    print(f"\nTILE_MAX_BYTES={args.cap or 'default'}; load average {load:.1f}\n")
    print("| layer | zoom | densest tile | features there | bytes | gzip bytes | ms (median) |")
    print("|---|---|---|---|---|---|---|")
    for slug, z, size, packed, ms, n, where in rows:
        print(f"| {slug} | {z} | {where} | {n:,} | {size:,} | {packed:,} | {ms:.0f} |")


if __name__ == "__main__":
    main()
