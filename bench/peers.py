"""This project beside tipg and pygeoapi, over HTTP through the real servers (issue #13's table).

Usage: make bench-peers   (or .venv/bin/python bench/peers.py [--repeat 30] [--duration 10])

Needs the bench database (bench/make_data.py --buildings 200000 --hazards 20000) and the
peers' venvs under bench/.peers/ (the Makefile target makes both). Every server runs one
worker process on 127.0.0.1. Latency: every server and the floor take turns, one request each
per round on its own keep-alive connection (so drift of a shared machine weighs on all
alike), median and p95 over the rounds, and the paired ratio to the floor. Throughput: wrk at
8 and 32 connections, each target twice in turns, averaged. Peak RSS: each worker's VmHWM
after all that. The floor is the same SQL run through psycopg with no web layer. tipg is
asked twice: with its default (every column) and for the same columns as ours.

Pages of each of --sizes (10, 100, 1,000) in two bboxes (wide: 82,191 buildings; block:
8,352), each beside its own floor, and the exact count of each bbox's match (what counting
costs); the OGC landing page, the collections and the REST layer index with and without a
token (no floor: what a client pays to connect); the time from a server's command to its
first answer.
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
from itertools import product
from pathlib import Path
from urllib.parse import urlsplit

import benchdb

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / ".peers"
# Two bboxes: a wide one (82,191 of the bench's buildings: an estimate far above any budget)
# and a block (8,352: what an exact count of up to 10,000, the rule before issue 28, counted on
# every page).
BOXES = {"wide": "119.940,31.775,119.960,31.790", "block": "119.945,31.780,119.951,31.785"}
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
            time.sleep(0.05)  # fine-grained: the time to the first answer is a figure
    raise SystemExit(f"{url} did not answer in {seconds} s")


class Http:
    """One keep-alive connection to one URL: each call makes one request, returns
    (ms, bytes, status)."""

    def __init__(self, url: str, headers: dict):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.path = parts.path + ("?" + parts.query if parts.query else "")
        self.headers = headers

    def __call__(self) -> tuple[float, int, int]:
        try:
            return self._once()
        except (http.client.RemoteDisconnected, ConnectionError):
            # The server closed an idle keep-alive connection (its keep-alive timeout, or
            # a server that closes after every answer): time a fresh one.
            self.conn.close()
            return self._once()

    def _once(self) -> tuple[float, int, int]:
        start = time.perf_counter()
        self.conn.request("GET", self.path, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        return (time.perf_counter() - start) * 1000, len(body), response.status


def interleaved(runners: dict, n: int) -> dict:
    """Every runner n times, taking turns: round i calls them all once, starting at a
    different one each round, so a machine that speeds up or slows down during the run
    (a shared virtual machine does) weighs on every column alike. Two warm-ups each first.

    Returns name -> (median ms, p95 ms, bytes, status, paired ratio to "floor"), the paired
    ratio being the median over rounds of (this round's time / the floor's in that round).
    """
    names = list(runners)
    for name in names:
        for _ in range(2):
            runners[name]()
    times = {name: [] for name in names}
    last = {}
    for i in range(n):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed, size, status = runners[name]()
            times[name].append(elapsed)
            last[name] = (size, status)
    out = {}
    for name in names:
        ordered = sorted(times[name])
        paired = None
        if "floor" in times and name != "floor":
            paired = statistics.median(
                t / f for t, f in zip(times[name], times["floor"], strict=True)
            )
        out[name] = (
            statistics.median(ordered),
            ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            *last[name],
            paired,
        )
    return out


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


def _cpu_times() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # all, idle + iowait


SETTLE_LONGEST = 90.0


def settle(idle: float = 0.85) -> None:
    """Wait until the machine is idle (two half-second samples at >= `idle`), at most
    SETTLE_LONGEST seconds: servers finish what wrk left queued before the next measurement."""
    deadline = time.monotonic() + SETTLE_LONGEST
    calm = 0
    while calm < 2 and time.monotonic() < deadline:
        total, free = _cpu_times()
        time.sleep(0.5)
        total2, free2 = _cpu_times()
        calm = calm + 1 if (free2 - free) >= idle * max(1, total2 - total) else 0


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


def floor(sizes: list[int]) -> dict:
    """The same SQL as the endpoints, through psycopg, no web layer: a runner per request
    ("page N BOX" for each page size and bbox, "count BOX" for the exact count of a bbox's
    match, "tile")."""
    import psycopg
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from layers.domain import registry
    from layers.query import access, mvt, spatial
    from layers.query.encode import _feature_rows

    user = get_user_model().objects.get(username="demo-editor")
    spec = registry.get("buildings")
    statements = {}
    with connection.cursor() as cursor:
        # The statements as Django sends them, with the values inlined (psycopg runs them bare).
        for box, bbox in BOXES.items():
            queryset = spec.model.objects.filter(geom__intersects=spatial.bbox("bbox", bbox))
            for size in sizes:
                page = queryset.order_by("pk")[:size]
                rows = _feature_rows(page, spec, access.output_fields(user, spec))
                sql, params = rows.query.sql_with_params()
                statements[f"page {size} {box}"] = cursor.mogrify(
                    "SELECT json_agg(json_build_object('type','Feature','id',t.pk,"  # noqa: S608
                    "'geometry',t._geojson::json,'properties',t._props))::text FROM ("
                    + sql
                    + ") t",
                    params,
                )
            sql, params = queryset.values("pk").query.sql_with_params()
            statements[f"count {box}"] = cursor.mogrify(f"SELECT count(*) FROM ({sql}) t", params)
        tile_sql, tile_params = mvt.layer_tile_sql(spec, user, *TILE)
        statements["tile"] = cursor.mogrify(tile_sql, tile_params)
    db = settings.DATABASES["default"]
    conn = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=db["NAME"],
        options="-c jit=off",
        autocommit=True,
    )

    def runner(query: str, serial: bool):
        def run() -> tuple[float, int, int]:
            start = time.perf_counter()
            with conn.transaction(), conn.cursor() as cursor:
                if serial:
                    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                cursor.execute(query)
                value = cursor.fetchone()[0]
            elapsed = (time.perf_counter() - start) * 1000
            return elapsed, len(value if isinstance(value, bytes) else str(value).encode()), 200

        return run

    return {name: runner(sql, name == "tile") for name, sql in statements.items()}


def start(command, env, log_path: Path, cwd=ROOT):
    """A server process logging to a file (never to an undrained pipe)."""
    log = open(log_path, "wb")  # noqa: SIM115 (lives as long as the server)
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="rounds of latency requests")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--wrk-rounds", type=int, default=2, help="wrk runs per target, averaged")
    parser.add_argument(
        "--sizes", default="10,100,1000", help="page sizes of the bbox page (comma-separated)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=90.0,
        help="longest wait (s) for an idle machine before each measurement (0: none)",
    )
    args = parser.parse_args()
    global SETTLE_LONGEST
    SETTLE_LONGEST = args.settle
    sizes = [int(n) for n in args.sizes.split(",")]
    benchdb.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from layers.auth.tokens import ApiToken
    from layers.domain import registry
    from layers.query import access
    from layers.query.mvt import tile_properties

    db = settings.DATABASES["default"]
    pg_url = (
        f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    editor = get_user_model().objects.get(username="demo-editor")
    _token, key = ApiToken.issue(editor, "bench-peers")
    auth = {"Authorization": f"Token {key}"}
    # tipg asked for the same columns as ours (like for like) besides its default of all.
    spec = registry.get("buildings")
    page_columns = ",".join(
        spec.model._meta.get_field(name).column for name in access.output_fields(editor, spec)
    )
    tile_columns = ",".join(
        ["id"]  # our tiles carry the id as a property too (QGIS shows no feature id)
        + [spec.model._meta.get_field(n).column for n in tile_properties(spec, editor, TILE[0])]
    )
    floors = floor(sizes)
    logdir = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    z, x, y = TILE
    servers = {}  # name -> (process, probe url)
    started = {}  # name -> seconds from the command to the first answer
    # "page SIZE BOX" -> column -> (url, headers)
    pages = {f"page {size} {box}": {} for box in BOXES for size in sizes}
    tiles = {}
    documents = {}  # name -> (url, headers): documents without a floor
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
            began = time.monotonic()
            proc = start(
                [gunicorn, "-c", str(ROOT / "geo_service" / "gunicorn.conf.py")],
                env,
                logdir / f"{name}.log",
            )
            servers[name] = (proc, f"{base}/healthz")
            started[name] = began
            tile = f"{base}/tiles/buildings/{z}/{x}/{y}.pbf"
            if name == "ours":
                for size, (box, bbox) in product(sizes, BOXES.items()):
                    pages[f"page {size} {box}"]["REST"] = (
                        f"{base}/api/v1/buildings/?bbox={bbox}&page_size={size}",
                        auth,
                    )
                    pages[f"page {size} {box}"]["OGC"] = (
                        f"{base}/ogc/collections/buildings/items?bbox={bbox}&limit={size}",
                        auth,
                    )
                tiles["ours"] = (tile, auth)
                documents["OGC landing"] = (f"{base}/ogc/", auth)
                documents["OGC collections, token"] = (f"{base}/ogc/collections", auth)
                documents["OGC collections, anonymous"] = (f"{base}/ogc/collections", {})
                documents["REST layer index, token"] = (f"{base}/api/v1/layers/", auth)
                documents["REST layer index, anonymous"] = (f"{base}/api/v1/layers/", {})
            else:
                tiles["warm"] = (tile, auth)
                # What a browser gets: the brotli bytes, also cached.
                tiles["warm br"] = (tile, {**auth, "Accept-Encoding": "br, gzip"})

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
            command = [str(tipg_python), "-m", "uvicorn", "tipg.main:app", "--port", str(port)]
            command += ["--workers", "1", "--no-access-log"]
            started["tipg"] = time.monotonic()
            servers["tipg"] = (start(command, env, logdir / "tipg.log"), f"{base}/collections")
            for size, (box, bbox) in product(sizes, BOXES.items()):
                items = f"{coll}/items?bbox={bbox}&limit={size}"
                pages[f"page {size} {box}"]["tipg"] = (items, {})
                pages[f"page {size} {box}"]["tipg same"] = (
                    f"{items}&properties={page_columns}",
                    {},
                )
            tile = f"{coll}/tiles/WebMercatorQuad/{z}/{x}/{y}"
            tiles["tipg"] = (tile, {})
            tiles["tipg same"] = (f"{tile}?properties={tile_columns}", {})

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
            generate = [str(pygeoapi_bin / "pygeoapi"), "openapi", "generate", str(config)]
            subprocess.run(
                [*generate, "--output-file", str(openapi)], env=env, check=True, capture_output=True
            )
            base = f"http://127.0.0.1:{port}"
            command = [str(pygeoapi_bin / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}"]
            command += ["--no-control-socket", "pygeoapi.flask_app:APP"]
            started["pygeoapi"] = time.monotonic()
            servers["pygeoapi"] = (
                start(command, env, logdir / "pygeoapi.log"),
                f"{base}/collections?f=json",
            )
            for size, (box, bbox) in product(sizes, BOXES.items()):
                pages[f"page {size} {box}"]["pygeoapi"] = (
                    f"{base}/collections/buildings/items?bbox={bbox}&limit={size}&f=json",
                    {},
                )
        for name, (proc, probe) in servers.items():
            wait_up(probe, proc)
            started[name] = time.monotonic() - started[name]
        print(f"  first answer after start, s: {started}", file=sys.stderr)

        # Latency first, every group on an idle machine; then throughput, each wrk run
        # starting only when the backlog of the one before has drained (a server still
        # working off 32 queued requests would otherwise tax the next one's figures).
        results = {"started": started}
        groups = [*pages.items(), ("tile", tiles), ("documents", documents)]
        for kind, targets in groups:
            settle()
            runners = {"floor": floors[kind]} if kind in floors else {}
            if kind.startswith(f"page {sizes[0]} "):
                box = kind.rsplit(" ", 1)[1]
                runners["count"] = floors[f"count {box}"]  # what an exact count costs
            runners.update({name: Http(url, headers) for name, (url, headers) in targets.items()})
            results[kind] = interleaved(runners, args.repeat)
            for name, entry in results[kind].items():
                print(f"  {kind} {name}: {entry}", file=sys.stderr)
        throughput = [("page", pages[f"page {max(sizes)} wide"]), ("tile", tiles)]
        for kind, targets in throughput if shutil.which("wrk") else []:
            rates = {}
            for clients in (8, 32):
                names = list(targets)
                got = {name: [] for name in names}
                for i in range(args.wrk_rounds):
                    shift = i % len(names)
                    for name in names[shift:] + names[:shift]:
                        url, headers = targets[name]
                        settle()
                        got[name].append(wrk(url, headers, clients, args.duration))
                for name, values in got.items():
                    values = [v for v in values if v is not None]
                    rates.setdefault(name, {})[clients] = (
                        statistics.mean(values) if values else None
                    )
            results[kind + "/s"] = rates
            print(f"  {kind}/s: {rates}", file=sys.stderr)
        results["rss"] = {
            name: peak_rss_mb(children(proc.pid) or [proc.pid])
            for name, (proc, _probe) in servers.items()
        }
    finally:
        for proc, _probe in servers.values():
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        ApiToken.objects.filter(name="bench-peers").delete()
    print(table(results, sizes))
    print(f"\nlogs: {logdir}")


def _cell(entry, floor_ms=None) -> str:
    if entry is None:
        return "–"
    median, p95, size, status, paired = entry
    if status != 200:
        return f"HTTP {status}"
    ratio = ""
    if floor_ms:
        ratio = f" ({median / floor_ms:.2f}×; paired {paired:.2f}×, +{median - floor_ms:.1f} ms)"
    return f"{median:.1f} / {p95:.1f} ms{ratio}, {size / 1024:.0f} KiB"


def _rates(rates: dict, name: str) -> str:
    got = rates.get(name)
    if not got:
        return "–"
    return " / ".join("–" if got[c] is None else f"{got[c]:.1f}" for c in (8, 32))


def table(results: dict, sizes: list[int]) -> str:
    tile = results["tile"]
    tile_floor = tile["floor"][0]
    pr, tr = results.get("page/s", {}), results.get("tile/s", {})
    rss = results["rss"]
    lines = [
        "| request | floor: same SQL, psycopg | this project | tipg, every column "
        "| tipg, our columns | pygeoapi |",
        "|---|---|---|---|---|---|",
    ]
    for box, size in product(BOXES, sizes):
        page = results[f"page {size} {box}"]
        page_floor = page["floor"][0]
        lines.append(
            f"| {box} bbox, page of {size:,}, median / p95 | {_cell(page['floor'])} | "
            f"REST {_cell(page.get('REST'), page_floor)}; "
            f"OGC {_cell(page.get('OGC'), page_floor)} | {_cell(page.get('tipg'), page_floor)} | "
            f"{_cell(page.get('tipg same'), page_floor)} | "
            f"{_cell(page.get('pygeoapi'), page_floor)} |"
        )
    for box in BOXES:
        count = results[f"page {sizes[0]} {box}"].get("count")
        lines.append(
            f"| (exact count of the {box} bbox's match, for scale) | {_cell(count)} | | | | |"
        )
    lines += [
        f"| z16 tile {'/'.join(map(str, TILE))}, median / p95 | {_cell(tile['floor'])} | "
        f"{_cell(tile.get('ours'), tile_floor)} | {_cell(tile.get('tipg'), tile_floor)} | "
        f"{_cell(tile.get('tipg same'), tile_floor)} | – |",
        f"| pages of {max(sizes):,}/s, wrk 8 / 32 clients | | REST {_rates(pr, 'REST')}; "
        f"OGC {_rates(pr, 'OGC')} | {_rates(pr, 'tipg')} | {_rates(pr, 'tipg same')} | "
        f"{_rates(pr, 'pygeoapi')} |",
        f"| tiles/s, wrk 8 / 32 clients | | {_rates(tr, 'ours')} | {_rates(tr, 'tipg')} | "
        f"{_rates(tr, 'tipg same')} | – |",
        f"| warm tile (cache on), median / p95; tiles/s 8 / 32 | | "
        f"raw {_cell(tile.get('warm'))}, {_rates(tr, 'warm')}; "
        f"brotli {_cell(tile.get('warm br'))}, {_rates(tr, 'warm br')} | | | |",
    ]
    for name, entry in results["documents"].items():
        lines.append(f"| {name}, median / p95 | | {_cell(entry)} | | | |")
    started = results["started"]
    lines += [
        f"| peak RSS per worker | | {rss.get('ours', 0):.0f} MiB | "
        f"{rss.get('tipg', 0):.0f} MiB | (same process) | {rss.get('pygeoapi', 0):.0f} MiB |",
        f"| start to first answer | | {started.get('ours', 0):.1f} s | "
        f"{started.get('tipg', 0):.1f} s | | {started.get('pygeoapi', 0):.1f} s |",
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
