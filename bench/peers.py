"""This project beside tipg and pygeoapi, over HTTP through the real servers (issue #13's table).

Usage: make bench-peers   (or .venv/bin/python bench/peers.py [--repeat 30] [--duration 10])

Needs the bench database (bench/make_data.py --buildings 200000 --hazards 20000) and the
peers' venvs under bench/.peers/ (the Makefile target makes both). Every server runs one
worker process on 127.0.0.1; requests are sequential on one keep-alive connection for the
latencies (median, p95), then wrk at 8 and 32 connections for throughput; peak RSS is each
worker's VmHWM after all that. The floor is the same SQL run through psycopg with no web layer.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import benchdb

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / ".peers"
BBOX = "119.940,31.775,119.960,31.790"
TILE = (16, 54603, 26660)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_up(url: str, proc, seconds: int = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server for {url} exited with {proc.returncode}")
        try:
            parts = urlsplit(url)
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {seconds} s")


def sequential(url: str, headers: dict, n: int) -> tuple[float, float, int, int]:
    """(median ms, p95 ms, bytes, status) over n requests on one keep-alive connection."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    path = parts.path + ("?" + parts.query if parts.query else "")
    times, size, status = [], 0, 0
    for i in range(n + 2):  # two warm-up requests
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        size, status = len(body), response.status
        if i >= 2:
            times.append(elapsed)
    conn.close()
    times.sort()
    return (
        statistics.median(times),
        times[min(len(times) - 1, int(0.95 * len(times)))],
        size,
        status,
    )


def wrk(url: str, headers: dict, clients: int, duration: int) -> float | None:
    if not shutil.which("wrk"):
        return None
    command = ["wrk", "-t2", f"-c{clients}", f"-d{duration}s", "--timeout", "30s"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=False).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        print(f"  wrk {url}: {non2xx.group(1)} non-2xx answers", file=sys.stderr)
    return float(found.group(1)) if found else None


def peak_rss_mb(pids: list[int]) -> float:
    best = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmHWM:\s+(\d+) kB", text)
        if found:
            best = max(best, int(found.group(1)))
    return best / 1024


def children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(p) for p in found]


def floor(repeat: int) -> dict:
    """The same SQL as the endpoints, through psycopg, no web layer."""
    import psycopg
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from layers import registry
    from layers.query import access, mvt, spatial
    from layers.query.encode import _feature_rows

    user = get_user_model().objects.get(username="demo-editor")
    spec = registry.get("buildings")
    queryset = spec.model.objects.filter(geom__intersects=spatial.bbox("bbox", BBOX))
    rows = _feature_rows(queryset.order_by("pk")[:1000], spec, access.output_fields(user, spec))
    sql, params = rows.query.sql_with_params()
    page_sql = (
        "SELECT json_agg(json_build_object('type','Feature','id',t.pk,"  # noqa: S608
        "'geometry',t._geojson::json,'properties',t._props))::text FROM (" + sql + ") t"
    )
    tile_sql, tile_params = mvt.layer_tile_sql(spec, user, *TILE)
    from django.db import connection

    # The statements as Django sends them, with the values inlined (psycopg runs them bare).
    with connection.cursor() as cursor:
        page_sql = cursor.mogrify(page_sql, params)
        tile_sql = cursor.mogrify(tile_sql, tile_params)
    params, tile_params = [], []
    db = settings.DATABASES["default"]
    out = {}
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=db["NAME"],
        options="-c jit=off",
    ) as conn:
        for name, query, args in (("page", page_sql, params), ("tile", tile_sql, tile_params)):
            times, size = [], 0
            for i in range(repeat + 2):
                start = time.perf_counter()
                with conn.transaction(), conn.cursor() as cursor:
                    if name == "tile":
                        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                    cursor.execute(query, list(args))
                    value = cursor.fetchone()[0]
                elapsed = (time.perf_counter() - start) * 1000
                size = len(value if isinstance(value, bytes) else str(value).encode())
                if i >= 2:
                    times.append(elapsed)
            times.sort()
            out[name] = (statistics.median(times), times[int(0.95 * len(times))], size)
    return out


def start(command, env, log_path: Path, cwd=ROOT):
    """A server process logging to a file (never to an undrained pipe)."""
    log = open(log_path, "wb")  # noqa: SIM115 (lives as long as the server)
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    args = parser.parse_args()
    benchdb.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from layers.portal.tokens import ApiToken

    db = settings.DATABASES["default"]
    pg_url = (
        f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    editor = get_user_model().objects.get(username="demo-editor")
    _token, key = ApiToken.issue(editor, "bench-peers")
    auth = {"Authorization": f"Token {key}"}
    results = {"floor": floor(args.repeat)}
    logdir = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    z, x, y = TILE
    servers = {}

    try:
        # This project: gunicorn with the production configuration, one worker. The tile
        # cache is off for the main figures (every tile rendered, as the peers do); a second
        # server with the cache on gives the warm-tile figures.
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        for name, cache_seconds in (("ours", "0"), ("ours-warm", "3600")):
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": pg_url.replace("postgresql://", "postgres://"),
                "DEBUG": "0",
                "ALLOWED_HOSTS": "127.0.0.1",
                "WEB_WORKERS": "1",
                "WEB_BIND": f"127.0.0.1:{port}",
                "WEB_ACCESS_LOG": str(logdir / f"{name}-access.log"),
                "TILE_CACHE_SECONDS": cache_seconds,
            }
            base = f"http://127.0.0.1:{port}"
            tile = (f"{base}/tiles/buildings/{z}/{x}/{y}.pbf", auth)
            urls = {
                "REST page": (f"{base}/api/v1/buildings/?bbox={BBOX}&page_size=1000", auth),
                "OGC page": (
                    f"{base}/ogc/collections/buildings/items?bbox={BBOX}&limit=1000",
                    auth,
                ),
                "tile": tile,
            }
            log = logdir / f"{name}.log"
            servers[name] = (
                start([gunicorn, "-c", str(ROOT / "geo_service" / "gunicorn.conf.py")], env, log),
                urls if name == "ours" else {"tile": tile},
                f"{base}/ogc/",
            )

        tipg_python = PEERS / "tipg" / "bin" / "python"
        if tipg_python.exists():
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": pg_url,
                "TIPG_DB_SCHEMAS": '["public"]',
                "TIPG_MAX_FEATURES_PER_QUERY": "10000",
            }
            base = f"http://127.0.0.1:{port}"
            coll = f"{base}/collections/public.layers_building"
            servers["tipg"] = (
                start(
                    [
                        str(tipg_python),
                        "-m",
                        "uvicorn",
                        "tipg.main:app",
                        "--port",
                        str(port),
                        "--workers",
                        "1",
                        "--no-access-log",
                    ],
                    env,
                    logdir / "tipg.log",
                ),
                {
                    "OGC page": (f"{coll}/items?bbox={BBOX}&limit=1000", {}),
                    "tile": (f"{coll}/tiles/WebMercatorQuad/{z}/{x}/{y}", {}),
                },
                f"{base}/collections",
            )

        pygeoapi_bin = PEERS / "pygeoapi" / "bin"
        if (pygeoapi_bin / "pygeoapi").exists():
            port = free_port()
            config = logdir / "pygeoapi.yml"
            config.write_text(
                PYGEOAPI_CONFIG.format(
                    port=port,
                    **{
                        "host": db["HOST"],
                        "dbport": db["PORT"] or 5432,
                        "name": db["NAME"],
                        "user": db["USER"],
                        "password": db["PASSWORD"],
                    },
                )
            )
            openapi = logdir / "pygeoapi-openapi.yml"
            env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
            subprocess.run(
                [
                    str(pygeoapi_bin / "pygeoapi"),
                    "openapi",
                    "generate",
                    str(config),
                    "--output-file",
                    str(openapi),
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            base = f"http://127.0.0.1:{port}"
            servers["pygeoapi"] = (
                start(
                    [
                        str(pygeoapi_bin / "gunicorn"),
                        "-w",
                        "1",
                        "-b",
                        f"127.0.0.1:{port}",
                        "--no-control-socket",
                        "pygeoapi.flask_app:APP",
                    ],
                    env,
                    logdir / "pygeoapi.log",
                ),
                {
                    "OGC page": (
                        f"{base}/collections/buildings/items?bbox={BBOX}&limit=1000&f=json",
                        {},
                    )
                },
                f"{base}/collections?f=json",
            )
        for name, (proc, urls, probe) in servers.items():
            wait_up(probe, proc)
            got = {}
            for label, (url, headers) in urls.items():
                median, p95, size, status = sequential(url, headers, args.repeat)
                rates = {c: wrk(url, headers, c, args.duration) for c in (8, 32)}
                got[label] = (median, p95, size, status, rates)
                print(
                    f"  {name} {label}: {median:.1f} ms, {status}, {size} B, {rates}",
                    file=sys.stderr,
                )
            pids = children(proc.pid) or [proc.pid]
            got["rss"] = peak_rss_mb(pids)
            results[name] = got
    finally:
        for proc, _urls, _probe in servers.values():
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        ApiToken.objects.filter(name="bench-peers").delete()
    print(table(results))
    print(f"\nlogs: {logdir}")


def _cell(entry, floor_ms=None) -> str:
    if entry is None:
        return "–"
    median, p95, size, status, _rates = entry
    if status != 200:
        return f"HTTP {status}"
    ratio = f" ({median / floor_ms:.2f}×)" if floor_ms else ""
    return f"{median:.1f} / {p95:.1f} ms{ratio}, {size / 1024:.0f} KiB"


def _rates(entry) -> str:
    if entry is None or entry[3] != 200:
        return "–"
    rates = entry[4]
    return " / ".join("–" if rates[c] is None else f"{rates[c]:.1f}" for c in (8, 32))


def table(results: dict) -> str:
    fl = results["floor"]
    ours, tipg, pygeoapi = (results.get(k, {}) for k in ("ours", "tipg", "pygeoapi"))
    lines = [
        "| request (median / p95, N sequential keep-alive) | floor: same SQL, psycopg | "
        "this project | tipg | pygeoapi |",
        "|---|---|---|---|---|",
        f"| bbox page, 1,000 of the bbox's buildings | {fl['page'][0]:.1f} / "
        f"{fl['page'][1]:.1f} ms, {fl['page'][2] / 1024:.0f} KiB | "
        f"REST {_cell(ours.get('REST page'), fl['page'][0])}; "
        f"OGC {_cell(ours.get('OGC page'), fl['page'][0])} | "
        f"{_cell(tipg.get('OGC page'), fl['page'][0])} "
        f"| {_cell(pygeoapi.get('OGC page'), fl['page'][0])} |",
        f"| z16 tile {'/'.join(map(str, TILE))} | {fl['tile'][0]:.1f} / {fl['tile'][1]:.1f} ms, "
        f"{fl['tile'][2] / 1024:.0f} KiB | {_cell(ours.get('tile'), fl['tile'][0])} | "
        f"{_cell(tipg.get('tile'), fl['tile'][0])} | {_cell(pygeoapi.get('tile'))} |",
        f"| pages/s, wrk 8 / 32 clients | | REST {_rates(ours.get('REST page'))}; "
        f"OGC {_rates(ours.get('OGC page'))} | {_rates(tipg.get('OGC page'))} | "
        f"{_rates(pygeoapi.get('OGC page'))} |",
        f"| tiles/s, wrk 8 / 32 clients | | {_rates(ours.get('tile'))} | "
        f"{_rates(tipg.get('tile'))} | {_rates(pygeoapi.get('tile'))} |",
        f"| warm tile (cache on), median / p95; tiles/s 8 / 32 | | "
        f"{_cell(results.get('ours-warm', {}).get('tile'))}; "
        f"{_rates(results.get('ours-warm', {}).get('tile'))} | | |",
        f"| peak RSS per worker | | {ours.get('rss', 0):.0f} MiB | {tipg.get('rss', 0):.0f} MiB | "
        f"{pygeoapi.get('rss', 0):.0f} MiB |",
    ]
    return "\n".join(lines)


PYGEOAPI_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 10, max_items: 10000}}
  map:
    url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png"
    attribution: OSM
logging: {{level: ERROR}}
metadata:
  identification:
    title: bench
    description: bench
    keywords: [bench]
    keywords_type: theme
    terms_of_service: none
    url: http://127.0.0.1
  license: {{name: none, url: http://127.0.0.1}}
  provider: {{name: bench, url: http://127.0.0.1}}
  contact: {{name: bench}}
resources:
  buildings:
    type: collection
    title: buildings
    description: bench buildings
    keywords: [buildings]
    extents:
      spatial:
        bbox: [119.93, 31.765, 119.97, 31.80]
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
    providers:
      - type: feature
        name: PostgreSQL
        data:
          host: {host}
          port: {dbport}
          dbname: {name}
          user: {user}
          password: {password}
          search_path: [public]
        id_field: id
        table: layers_building
        geom_field: geom
"""


if __name__ == "__main__":
    main()
