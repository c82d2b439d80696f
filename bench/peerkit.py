"""The pieces bench/peers.py is made of: HTTP runners, turns, wrk (fixed URL and distinct tiles
through a Lua script), an idle machine, peak RSS, the servers (ours, tipg, pygeoapi) and the
floor (the same SQL through psycopg, no web layer). Other bench scripts import from here
(through peers.py, which re-exports what they use).

Over 400 lines because it is the toolbox of one script: about 60 of them are pygeoapi's
configuration, and splitting the rest would scatter helpers that change together.
"""

from __future__ import annotations

import http.client
import math
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / ".peers"
# The old town's z16–z18 tiles: those wholly inside the 200,000 set's extent (bench/make_data.py:
# 119.935–119.965 E, 31.770–31.795 N), which the 2,000,000 set covers at the same density; the
# same list on both sets, shuffled with a fixed seed so the zooms mix.
OLD_TOWN = (119.9355, 31.7705, 119.9645, 31.7945)
# Two bboxes of the old town: wide (~82,000 buildings: an estimate far above any counting budget)
# and block (~8,400: under the exact-count cap of 10,000 before issue 28). One z16 tile.
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
    (ms, bytes, status). Given `paths` (a list), each call asks the next one in turn (distinct
    tiles: no cache answers twice)."""

    def __init__(self, url: str, headers: dict, paths: list[str] | None = None):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.path = parts.path + ("?" + parts.query if parts.query else "")
        self.headers = headers
        self.paths = paths
        self.calls = 0
        self.largest = 0

    def __call__(self) -> tuple[float, int, int]:
        path = self.path
        if self.paths:
            path = self.paths[self.calls % len(self.paths)]
        self.calls += 1
        try:
            out = self._once(path)
        except (http.client.RemoteDisconnected, ConnectionError):
            # The server closed an idle keep-alive connection (its keep-alive timeout, or
            # a server that closes after every answer): time a fresh one.
            self.conn.close()
            out = self._once(path)
        self.largest = max(self.largest, out[1])
        return out

    def _once(self, path: str) -> tuple[float, int, int]:
        start = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        return (time.perf_counter() - start) * 1000, len(body), response.status


def interleaved(runners: dict, n: int, raw: dict | None = None) -> dict:
    """Every runner n times, taking turns: round i calls them all once, starting at a
    different one each round, so a machine that speeds up or slows down during the run
    (a shared virtual machine does) weighs on every column alike. Two warm-ups each first
    (not for runners with a list of paths: their warm-up would take the first two).

    Returns name -> (median ms, p95 ms, bytes, status, paired ratio to "floor"), the paired
    ratio being the median over rounds of (this round's time / the floor's in that round).
    `raw`, if given, receives name -> the n times in order (for other pairings: `paired`).
    """
    names = list(runners)
    for name in names:
        if not getattr(runners[name], "paths", None):
            for _ in range(2):
                runners[name]()
    times = {name: [] for name in names}
    last = {}
    for i in range(n):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed, size, status = runners[name]()
            times[name].append(elapsed)
            previous = last.get(name, (0, 200))
            # Keep the first failure visible; sizes: the largest answer seen.
            last[name] = (max(size, previous[0]), status if previous[1] == 200 else previous[1])
    if raw is not None:
        raw.update(times)
    out = {}
    for name in names:
        ordered = sorted(times[name])
        ratio = paired(times, name, "floor") if "floor" in times and name != "floor" else None
        out[name] = (
            statistics.median(ordered),
            ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            *last[name],
            ratio,
        )
    return out


def paired(times: dict, name: str, base: str) -> float:
    """The median over rounds of times[name][i] / times[base][i]."""
    return statistics.median(t / b for t, b in zip(times[name], times[base], strict=True))


WRK_TILES_LUA = """
-- Distinct tiles: thread k of n asks paths k, k+n, k+2n, ... of the list (cycling only if
-- the run outlasts it), with the prefix and suffix given as script arguments.
local threads = {}
local count = 0
function setup(thread)
  thread:set("offset", count)
  count = count + 1
  table.insert(threads, thread)
end
function init(args)
  prefix = args[1] or ""
  suffix = args[2] or ""
  step = tonumber(args[3]) or 1
  i = tonumber(offset) or 0
  paths = {}
  for line in io.lines(args[4]) do table.insert(paths, line) end
end
function request()
  local path = prefix .. paths[(i % #paths) + 1] .. suffix
  i = i + step
  return wrk.format("GET", path)
end
"""


def wrk(
    url: str,
    headers: dict,
    clients: int,
    duration: int,
    tiles: tuple[str, str, Path] | None = None,
    threads: int = 2,
) -> float | None:
    """Requests/s of wrk on one URL, or, with `tiles` = (prefix, suffix, list file), on the
    distinct tiles of the list (prefix + "z/x/y" + suffix) through a Lua script."""
    if not shutil.which("wrk"):
        return None
    command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{duration}s", "--timeout", "30s"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    command.append(url)
    if tiles:
        prefix, suffix, listing = tiles
        script = listing.with_suffix(".lua")
        script.write_text(WRK_TILES_LUA)
        command[1:1] = ["-s", str(script)]
        command += ["--", prefix, suffix, str(threads), str(listing)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if non2xx:
        print(f"  wrk {url}: {non2xx.group(1)} non-2xx answers", file=sys.stderr)
    if not found:
        print(f"  wrk {url} failed: {done.stdout[-300:]} {done.stderr[-300:]}", file=sys.stderr)
    return float(found.group(1)) if found else None


def _cpu_times() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # all, idle + iowait


SETTLE = {"longest": 10.0}


def settle(idle: float = 0.85) -> None:
    """Wait until the machine is idle (two half-second samples at >= `idle`), at most
    SETTLE["longest"] seconds: servers finish what wrk left queued before the next measurement
    (on a machine shared with other work it is seldom idle: the longest wait is what counts)."""
    deadline = time.monotonic() + SETTLE["longest"]
    calm = 0
    while calm < 2 and time.monotonic() < deadline:
        total, free = _cpu_times()
        time.sleep(0.5)
        total2, free2 = _cpu_times()
        calm = calm + 1 if (free2 - free) >= idle * max(1, total2 - total) else 0


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


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


def start(command, env, log_path: Path, cwd=ROOT):
    """A server process logging to a file (never to an undrained pipe)."""
    log = open(log_path, "wb")  # noqa: SIM115 (lives as long as the server)
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- tiles ----------------------------------------------------------------------------------
def _tile_x(lon: float, z: int) -> float:
    return (lon + 180) / 360 * 2**z


def _tile_y(lat: float, z: int) -> float:
    rad = math.radians(lat)
    return (1 - math.asinh(math.tan(rad)) / math.pi) / 2 * 2**z


def tiles_inside(bbox, zooms) -> list[tuple[int, int, int]]:
    """The tiles of the zooms wholly inside bbox (lon/lat), shuffled with a fixed seed."""
    west, south, east, north = bbox
    found = []
    for z in zooms:
        x0, x1 = math.ceil(_tile_x(west, z)), math.floor(_tile_x(east, z))
        y0, y1 = math.ceil(_tile_y(north, z)), math.floor(_tile_y(south, z))
        found += [(z, x, y) for x in range(x0, x1) for y in range(y0, y1)]
    random.Random(2026).shuffle(found)
    return found


def tiles_touching(bbox, z: int) -> list[tuple[int, int, int]]:
    """Every tile of zoom z that bbox touches (the low zooms' check of tile sizes)."""
    west, south, east, north = bbox
    xs = range(int(_tile_x(west, z)), int(_tile_x(east, z)) + 1)
    ys = range(int(_tile_y(north, z)), int(_tile_y(south, z)) + 1)
    return [(z, x, y) for x in xs for y in ys]


# -- the floor ------------------------------------------------------------------------------
def floor_statements(boxes: dict, sizes: list[int], tiles: dict) -> dict:
    """The same SQL as the endpoints, as Django sends them with the values inlined: "page N
    BOX" for each page size and bbox, "count BOX" for the exact count of a bbox's match, and
    one per entry of `tiles` (name -> list of (z, x, y): a list of statements)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from layers.domain import registry
    from layers.query import access, mvt, spatial
    from layers.query.encode import _feature_rows

    user = get_user_model().objects.get(username="demo-editor")
    spec = registry.get("buildings")
    statements = {}
    with connection.cursor() as cursor:
        for box, bbox in boxes.items():
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
        for name, listing in tiles.items():
            statements[name] = [
                cursor.mogrify(*mvt.layer_tile_sql(spec, user, *tile)) for tile in listing
            ]
    return statements


class Floor:
    """A runner of one statement (or of a list in turn) on its own psycopg connection."""

    def __init__(self, conn, sql, serial: bool):
        self.conn, self.serial = conn, serial
        self.statements = sql if isinstance(sql, list) else [sql]
        self.paths = self.statements if isinstance(sql, list) else None
        self.calls = 0

    def __call__(self) -> tuple[float, int, int]:
        query = self.statements[self.calls % len(self.statements)]
        self.calls += 1
        start = time.perf_counter()
        with self.conn.transaction(), self.conn.cursor() as cursor:
            if self.serial:
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute(query)
            value = cursor.fetchone()[0]
        elapsed = (time.perf_counter() - start) * 1000
        size = len(value if isinstance(value, bytes) else str(value or "").encode())
        return elapsed, size, 200


def connect(dbname: str):
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=dbname,
        options="-c jit=off",
        autocommit=True,
    )


def floors(statements: dict, dbname: str) -> dict:
    """name -> Floor runner on database `dbname` (tiles serial, as one tile request is)."""
    conn = connect(dbname)
    return {name: Floor(conn, sql, name.startswith("tile")) for name, sql in statements.items()}


# -- servers --------------------------------------------------------------------------------
def pg_url(dbname: str, scheme: str = "postgresql") -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"{scheme}://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{dbname}"


def ours(dbname: str, logdir: Path, name: str, cache_seconds: str = "0"):
    """This project's gunicorn with the production configuration, one worker: (proc, base)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": pg_url(dbname, "postgres"),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_WORKERS": "1",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_ACCESS_LOG": str(logdir / f"{name}-access.log"),
        "TILE_CACHE_SECONDS": cache_seconds,
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = start(
        [gunicorn, "-c", str(ROOT / "geo_service" / "gunicorn.conf.py")],
        env,
        logdir / f"{name}.log",
    )
    return proc, f"http://127.0.0.1:{port}"


def tipg(dbname: str, logdir: Path):
    python = PEERS / "tipg" / "bin" / "python"
    if not python.exists():
        return None
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": pg_url(dbname),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    }
    command = [str(python), "-m", "uvicorn", "tipg.main:app", "--port", str(port)]
    command += ["--workers", "1", "--no-access-log"]
    return start(command, env, logdir / "tipg.log"), f"http://127.0.0.1:{port}"


def pygeoapi(dbname: str, logdir: Path):
    from django.conf import settings

    bindir = PEERS / "pygeoapi" / "bin"
    if not (bindir / "pygeoapi").exists():
        return None
    db = settings.DATABASES["default"]
    port = free_port()
    config = logdir / "pygeoapi.yml"
    config.write_text(
        PYGEOAPI_CONFIG.format(
            port=port,
            host=db["HOST"],
            dbport=db["PORT"] or 5432,
            name=dbname,
            user=db["USER"],
            password=db["PASSWORD"],
        )
    )
    openapi = logdir / "pygeoapi-openapi.yml"
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    generate = [str(bindir / "pygeoapi"), "openapi", "generate", str(config)]
    subprocess.run(
        [*generate, "--output-file", str(openapi)], env=env, check=True, capture_output=True
    )
    command = [str(bindir / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}"]
    command += ["--no-control-socket", "pygeoapi.flask_app:APP"]
    return start(command, env, logdir / "pygeoapi.log"), f"http://127.0.0.1:{port}"


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
        bbox: [119.90, 31.74, 120.00, 31.83]
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
