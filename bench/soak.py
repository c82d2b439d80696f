#!/usr/bin/env python
"""Soak: gunicorn (production settings) under mixed concurrent traffic for --minutes (>= 5).

It makes its own database (<name>_soak, from template_postgis, migrated, sample data), collects
the static files, starts gunicorn itself and runs --clients threads that mix
- reads: REST lists and details, OGC items, vector tiles, the home page and the tour;
- writes: PATCHes with If-Match of a few hot features (so conflicts really happen), creates,
  and hazard transitions (an inspector creates a hazard and reports it).
Afterwards it checks, and prints as a JSON summary (docs/benchmarks.md keeps the figures):
- no 5xx at all;
- every acknowledged write is in the database (the PATCHed value at its version in the
  history, every created feature present, every reported hazard reported);
- every 412 was a real conflict (the server's current version was newer than the one sent);
- p50/p99 per kind of request;
- RSS of each gunicorn worker sampled every 10 s: the growth over the last half of the run.
Exit status 1 when a check fails. Never a test: see docs/OPERATIONS.md.

    .venv/bin/python bench/soak.py --minutes 5 --clients 8 --workers 3
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def soak_url() -> tuple[str, str]:
    from geo_service.env import env

    url = env("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set (run `make db` first)")
    base, _, name = url.rpartition("/")
    name = name.split("?")[0] + "_soak"
    return f"{base}/{name}", name


def prepare(url: str, name: str, static_root: Path) -> dict[str, str]:
    """Fresh database with the sample data; tokens for an editor and an inspector."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "geo_service.settings"}
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-qc",
            f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
        ],
        check=True,
    )
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-qc",
            f"CREATE DATABASE {name} OWNER {url.split('//')[1].split(':')[0]} "
            "TEMPLATE template_postgis",
        ],
        check=True,
    )
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [py, "manage.py", "load_sample_data"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if not (static_root / "staticfiles.json").exists():
        production = {**env, **server_env(url, static_root)}
        subprocess.run(
            [py, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=production,
            check=True,
        )
    code = (
        "import django; django.setup();"
        "from django.contrib.auth import get_user_model as g;"
        "from layers.auth.tokens import ApiToken as T;"
        "print(T.issue(g().objects.get(username='demo-editor'), 'soak')[1]);"
        "print(T.issue(g().objects.get(username='demo-inspector'), 'soak')[1])"
    )
    out = subprocess.run(
        [py, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    return {"editor": out[0], "inspector": out[1]}


def server_env(url: str, static_root: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "geo_service.settings_production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        # One address plays every client: the per-address limits would throttle the soak.
        "THROTTLE_ANON_API": "",
        "THROTTLE_ANON_OGC": "0",
        "THROTTLE_ANON_TILES": "0",
        "LOG_LEVEL": "WARNING",
    }


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.status = defaultdict(lambda: defaultdict(int))
        self.errors: list[str] = []
        self.acked_patches: list[tuple[str, int, int, str]] = []  # slug, pk, version, value
        self.created: list[tuple[str, int]] = []
        self.reported: list[int] = []
        self.conflicts = 0
        self.false_conflicts: list[str] = []

    def record(self, kind: str, status: int, seconds: float, body: bytes = b""):
        with self.lock:
            self.times[kind].append(seconds)
            self.status[kind][status] += 1
            if status >= 500:
                self.errors.append(f"{kind} {status} {body[:200]!r}")


class Client:
    def __init__(self, port: int, token: str | None):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                started = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, data, time.perf_counter() - started, response
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


HOT = {"pocket-parks": [], "viewpoints": []}
# Tiles that hold features (filled at start from the features' own coordinates: a fixed list
# of addresses can miss the data and measure only empty 204 answers).
TILES: list[str] = []


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def first_point(geometry: dict) -> tuple[float, float]:
    coords = geometry["coordinates"]
    while isinstance(coords[0], list):
        coords = coords[0]
    return coords[0], coords[1]


def reader(port, stats, stop, token):
    client = Client(port, token)
    paths = [
        ("api-list", "/api/v1/viewpoints/"),
        ("api-list", "/api/v1/pocket-parks/?page_size=50"),
        ("api-detail", None),
        ("ogc-items", "/ogc/collections/viewpoints/items?limit=50"),
        ("page", "/tour/"),
        ("page", "/"),
    ]
    if token:
        paths += [
            ("api-list", "/api/v1/hazards/?page_size=100"),
            ("ogc-items", "/ogc/collections/buildings/items?limit=100"),
        ]
    while not stop.is_set():
        kind, path = random.choice(paths + [("tile", random.choice(TILES))])
        if kind == "api-detail":
            path = f"/api/v1/viewpoints/{random.choice(HOT['viewpoints'])}/"
        status, body, seconds, _ = client.call("GET", path)
        stats.record(kind, status, seconds, body)


def patcher(port, stats, stop, token):
    client = Client(port, token)
    while not stop.is_set():
        slug = random.choice(list(HOT))
        pk = random.choice(HOT[slug][:3])  # a few hot features: real conflicts
        status, body, seconds, response = client.call("GET", f"/api/v1/{slug}/{pk}/")
        stats.record("api-detail", status, seconds, body)
        if status != 200:
            continue
        version = json.loads(body)["properties"]["version"]
        time.sleep(random.random() * 0.05)  # think time: another writer may come in between
        value = f"soak {secrets.token_hex(4)}"
        status, body, seconds, response = client.call(
            "PATCH",
            f"/api/v1/{slug}/{pk}/",
            {"properties": {"name_en": value}},
            {"If-Match": f'"{version}"'},
        )
        stats.record("write-patch", status, seconds, body)
        with stats.lock:
            if status == 200:
                new_version = json.loads(body)["properties"]["version"]
                stats.acked_patches.append((slug, pk, new_version, value))
            elif status == 412:
                stats.conflicts += 1
                current = json.loads(body).get("current_version")
                if current is None or current <= version:
                    stats.false_conflicts.append(f"{slug}/{pk} sent {version} got {current}")


def reporter(port, stats, stop, token, anchor):
    client = Client(port, token)
    while not stop.is_set():
        lon, lat = anchor[0] + random.uniform(-3e-4, 3e-4), anchor[1] + random.uniform(-3e-4, 3e-4)
        body = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "name": f"soak {secrets.token_hex(3)}",
                "category": "ebike",
                "level": "general",
            },
        }
        status, data, seconds, response = client.call("POST", "/api/v1/hazards/", body)
        stats.record("write-create", status, seconds, data)
        if status != 201:
            continue
        created = json.loads(data)
        with stats.lock:
            stats.created.append(("hazards", created["id"]))
        etag = response.getheader("ETag")
        status, data, seconds, _ = client.call(
            "POST",
            f"/api/v1/hazards/{created['id']}/transitions/",
            {"action": "report"},
            {"If-Match": etag},
        )
        stats.record("write-transition", status, seconds, data)
        if status in (200, 201):
            with stats.lock:
                stats.reported.append(created["id"])
        time.sleep(0.2)


def worker_rss(master_pid: int) -> dict[int, int]:
    out = {}
    for child in Path("/proc").glob("[0-9]*"):
        try:
            status = (child / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master_pid):
            out[int(child.name)] = int(fields["VmRSS"].split()[0])
    return out


def check_database(url: str, stats: Stats) -> list[str]:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "geo_service.settings"}
    payload = json.dumps(
        {"patches": stats.acked_patches, "created": stats.created, "reported": stats.reported}
    )
    code = r"""
import json, sys, django
django.setup()
from layers.domain import registry
data = json.loads(sys.stdin.read())
problems = []
for slug, pk, version, value in data["patches"]:
    model = registry.get(slug).model
    if not model.history.filter(id=pk, version=version, name_en=value).exists():
        problems.append(f"acknowledged {slug}/{pk} v{version} missing")
for slug, pk in data["created"]:
    if not registry.get(slug).model.objects.filter(pk=pk).exists():
        problems.append(f"created {slug}/{pk} missing")
hazards = registry.get("hazards").model
for pk in data["reported"]:
    if hazards.objects.filter(pk=pk).values_list("status", flat=True).first() == "found":
        problems.append(f"reported hazard {pk} still found")
print(json.dumps(problems))
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        input=payload,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description="Soak gunicorn with mixed traffic.")
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--static-root", type=Path, default=ROOT / "staticfiles")
    options = parser.parse_args()
    url, name = soak_url()
    tokens = prepare(url, name, options.static_root)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **server_env(url, options.static_root)}
    gunicorn = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "geo_service.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(options.workers),
            "-k",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        setup = Client(port, tokens["editor"])
        for slug in HOT:
            _, body, _, _ = setup.call("GET", f"/api/v1/{slug}/?page_size=20")
            features = json.loads(body)["features"]
            HOT[slug] = [f["id"] for f in features]
            for feature in features[:5]:
                lon, lat = first_point(feature["geometry"])
                x, y = tile_of(lon, lat, 16)
                TILES.append(f"/tiles/{slug}/16/{x}/{y}.pbf")
                x, y = tile_of(lon, lat, 15)
                TILES.append(f"/tiles/multi/15/{x}/{y}.pbf?layers={slug},streets")
        _, body, _, _ = setup.call("GET", "/api/v1/hazards/?page_size=1")
        anchor = json.loads(body)["features"][0]["geometry"]["coordinates"]

        stats, stop = Stats(), threading.Event()
        threads = []
        for n in range(options.clients):
            role = n % 4
            if role == 0:
                target = (patcher, (port, stats, stop, tokens["editor"]))
            elif role == 1:
                target = (reporter, (port, stats, stop, tokens["inspector"], anchor))
            else:
                target = (reader, (port, stats, stop, None if role == 2 else tokens["editor"]))
            threads.append(threading.Thread(target=target[0], args=target[1], daemon=True))
        for t in threads:
            t.start()
        samples = []
        end = time.monotonic() + options.minutes * 60
        while time.monotonic() < end:
            samples.append((time.monotonic(), worker_rss(gunicorn.pid)))
            time.sleep(10)
        stop.set()
        for t in threads:
            t.join(timeout=90)
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)

    problems = check_database(url, stats)
    half = samples[len(samples) // 2]
    last = samples[-1]
    growth = {
        pid: round((last[1][pid] - half[1][pid]) / 1024, 1) for pid in last[1] if pid in half[1]
    }
    summary = {
        "minutes": options.minutes,
        "clients": options.clients,
        "workers": options.workers,
        "requests": {k: sum(v.values()) for k, v in stats.status.items()},
        "status": {k: dict(v) for k, v in stats.status.items()},
        "p50_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in stats.times.items()},
        "p99_ms": {
            k: round(sorted(v)[int(len(v) * 0.99) - 1] * 1000, 1)
            for k, v in stats.times.items()
            if v
        },
        "five_xx": stats.errors[:10],
        "five_xx_count": len(stats.errors),
        "acknowledged_patches": len(stats.acked_patches),
        "conflicts_412": stats.conflicts,
        "false_conflicts": stats.false_conflicts[:10],
        "created": len(stats.created),
        "reported": len(stats.reported),
        "missing_writes": problems[:10],
        "worker_rss_mb_at_half": {p: round(v / 1024, 1) for p, v in half[1].items()},
        "worker_rss_mb_at_end": {p: round(v / 1024, 1) for p, v in last[1].items()},
        "worker_rss_growth_mb_second_half": growth,
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    failed = stats.errors or problems or stats.false_conflicts
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
