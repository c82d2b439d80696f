"""How heavy a web worker is and how soon it serves (issue 28, "light workers").

Usage: .venv/bin/python bench/workers.py [--starts 5] [--rounds 20]

Needs the bench data (bench/make_data.py). Each start runs this project's gunicorn
(geo_service/gunicorn.conf.py, one worker, the production code path: the master imports the app
and forks the worker) on the bench database and measures:
- from the command to the first answer of an API page, and from the worker's fork to it
  (the worker's start time read from /proc, so the master's import is not counted twice);
- the worker's RSS (VmRSS, and its peak VmHWM, the figure bench/peers.py reports) when it has
  served its first page, after `--rounds` rounds of reads (REST and OGC pages of 10, 100 and
  1,000 with the editor's token, the collections, the layer index, z16 tiles) and after one
  map page (which loads folium);
- which of the heavy compiled libraries the worker has mapped at each point (/proc/PID/maps).
Medians over the starts. The figures go into docs/benchmarks.md; never a test assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import benchdb

ROOT = Path(__file__).resolve().parent.parent
BBOX = "119.940,31.775,119.960,31.790"
# Libraries with compiled modules, which show in /proc/PID/maps once imported (folium, geopandas
# and openpyxl are pure Python: tests/test_light_workers.py checks sys.modules for them).
LIBRARIES = ("numpy", "pandas", "pyogrio", "shapely", "pyproj", "matplotlib", "PIL")


def get(url: str, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (our server)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def status_kib(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def loaded(pid: int) -> list[str]:
    """The heavy libraries mapped into the process (their compiled modules or package paths)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return [name for name in LIBRARIES if f"/site-packages/{name}/" in maps]


def worker_age(pid: int) -> float:
    """Seconds since the process started (its start time in /proc, in clock ticks since boot)."""
    ticks = os.sysconf("SC_CLK_TCK")
    started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    return time.clock_gettime(time.CLOCK_BOOTTIME) - started


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def one_start(env: dict, port: int, reads: list[tuple[str, dict]], rounds: int, log) -> dict:
    base = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    server = benchdb.gunicorn(env, log)
    try:
        first = base + "/api/v1/viewpoints/?page_size=10"
        while get(first) != 200:
            if server.poll() is not None or time.monotonic() - began > 120:
                raise SystemExit("gunicorn did not serve; see its log")
            time.sleep(0.02)
        to_first = time.monotonic() - began
        (worker,) = children(server.pid)
        out = {
            "command_to_first_answer_s": round(to_first, 2),
            "fork_to_first_answer_s": round(worker_age(worker), 2),
            "first_page": {**status_kib(worker), "loaded": loaded(worker)},
            "master": status_kib(server.pid),
        }
        statuses = set()
        for _ in range(rounds):
            for url, headers in reads:
                statuses.add(get(base + url, headers))
        out["after_reads"] = {**status_kib(worker), "loaded": loaded(worker)}
        statuses.add(get(base + "/tour/"))
        out["after_a_map_page"] = {**status_kib(worker), "loaded": loaded(worker)}
        out["statuses"] = sorted(statuses)
        return out
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20, help="rounds of the reads per start")
    args = parser.parse_args()
    benchdb.setup()
    import socket

    from django.conf import settings
    from django.contrib.auth import get_user_model

    from layers.auth.tokens import ApiToken

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    editor = get_user_model().objects.get(username="demo-editor")
    _token, key = ApiToken.issue(editor, "bench-workers")
    auth = {"Authorization": f"Token {key}"}
    reads = []
    for size in (10, 100, 1000):
        reads.append((f"/api/v1/buildings/?bbox={BBOX}&page_size={size}", auth))
        reads.append((f"/ogc/collections/buildings/items?bbox={BBOX}&limit={size}", auth))
    reads += [("/ogc/collections", auth), ("/api/v1/layers/", auth), ("/ogc/collections", {})]
    reads += [(f"/tiles/buildings/16/{54603 + dx}/26660.pbf", auth) for dx in range(3)]
    results = []
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    try:
        for n in range(args.starts):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "DJANGO_SETTINGS_MODULE": "geo_service.settings",
                "DEBUG": "0",
                "ALLOWED_HOSTS": "127.0.0.1",
                "WEB_WORKERS": "1",
                "WEB_BIND": f"127.0.0.1:{port}",
                "WEB_ACCESS_LOG": os.devnull,
                "TILE_CACHE_SECONDS": "0",
            }
            result = one_start(env, port, reads, args.rounds, log)
            results.append(result)
            print(f"start {n + 1}: {json.dumps(result)}", file=sys.stderr, flush=True)
    finally:
        log.close()
        ApiToken.objects.filter(name="bench-workers").delete()

    def median(path):
        values = list(results)
        for part in path:
            values = [v[part] for v in values]
        return round(statistics.median(values), 2)

    summary = {
        "load_average_1min": round(os.getloadavg()[0], 2),
        "command_to_first_answer_s": median(["command_to_first_answer_s"]),
        "fork_to_first_answer_s": median(["fork_to_first_answer_s"]),
        "master_rss_mib": median(["master", "VmRSS"]),
        "worker_rss_first_page_mib": median(["first_page", "VmRSS"]),
        "worker_peak_rss_after_reads_mib": median(["after_reads", "VmHWM"]),
        "worker_peak_rss_after_a_map_page_mib": median(["after_a_map_page", "VmHWM"]),
        "loaded_after_reads": results[-1]["after_reads"]["loaded"],
        "loaded_after_a_map_page": results[-1]["after_a_map_page"]["loaded"],
        "statuses": sorted({s for r in results for s in r["statuses"]}),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
