"""What a list page costs over its SQL (issue 28, item 1): REST and OGC pages of 10, 100 and
1,000 beside the floor, with the compiled pages on and off (FAST_PAGES=1 / 0), over HTTP.

Usage: .venv/bin/python bench/fixed_cost.py [--repeat 30] [--sizes 10,100,1000] [--before DIR]

Needs the bench database (bench/make_data.py --buildings 200000 --hazards 20000). Gunicorns
with geo_service/gunicorn.conf.py, one worker each: "orm" answers every page through the ORM
and DRF (FAST_PAGES=0, the path before the compiled pages), "fast" with them on, and with
--before DIR a third, "main", served from another checkout (e.g. `git archive <commit>`
unpacked, with .venv and .env). The floor is the page's own SQL through psycopg (as
bench/peers.py's floor: the json_agg of the same features, no web layer). Every round asks
the floor and each server once, starting at a different one each round, so a shared
machine's drift weighs on all alike; medians, paired ratios per round, and each worker's CPU
time per request (/proc/<pid>/task/*/schedstat), which load inflates far less than wall time.

Two modes per page: "same" asks the same bbox every round (a client paging or refreshing);
"new" moves the bbox by ~1 cm each round, so no estimate is cached and the planner is asked
every time (a map being panned); the floor moves with it.
Also the OGC landing page (reads nothing): what HTTP and the middleware cost on their own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import benchdb
from peers import BOXES, Http, children, free_port, start, wait_up

ROOT = Path(__file__).resolve().parent.parent


def shifted(bbox: str, i: int) -> str:
    """The bbox moved east by i × 1e-7° (~1 cm): a new statement, the same page."""
    minx, miny, maxx, maxy = (float(v) for v in bbox.split(","))
    d = i * 1e-7
    return f"{minx + d:.7f},{miny:.7f},{maxx + d:.7f},{maxy:.7f}"


def floor_statements(boxes: list[str], size: int) -> list[str]:
    """The page's SQL for each bbox, values inlined (as bench/peers.py's floor)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from layers.domain import registry
    from layers.query import access, spatial
    from layers.query.encode import feature_rows

    user = get_user_model().objects.get(username="demo-editor")
    spec = registry.get("buildings")
    fields = access.output_fields(user, spec)
    out = []
    with connection.cursor() as cursor:
        for bbox in boxes:
            queryset = spec.model.objects.filter(geom__intersects=spatial.bbox("bbox", bbox))
            rows = feature_rows(queryset.order_by("pk")[:size], spec, fields)
            sql, params = rows.query.sql_with_params()
            out.append(
                cursor.mogrify(
                    "SELECT json_agg(json_build_object('type','Feature','id',t.pk,"  # noqa: S608
                    "'geometry',t._geojson::json,'properties',t._props))::text FROM ("
                    + sql
                    + ") t",
                    params,
                )
            )
    return out


def cpu_ms(pids: list[int]) -> float:
    """CPU time (ms) the processes' threads have run so far (/proc/.../schedstat): what a
    request costs the server whatever else runs on the machine (wall times grow with load)."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e6


def rounds(runners: dict, n: int) -> dict[str, list[float]]:
    """Round i calls every runner once (with i), starting at a different one each round;
    two warm-up rounds first. Returns name -> times (ms) per round."""
    names = list(runners)
    for w in range(2):
        for name in names:
            runners[name](w)
    times = {name: [] for name in names}
    for i in range(n):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed, status = runners[name](i + 2)
            for _retry in range(3):  # a shared database out of connection slots: 503
                if status == 200:
                    break
                print(f"  {name}: HTTP {status}, asked again", file=sys.stderr)
                time.sleep(1)
                elapsed, status = runners[name](i + 2)
            if status != 200:
                raise SystemExit(f"{name}: HTTP {status}")
            times[name].append(elapsed)
    return times


def paired(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument(
        "--before",
        help="a checkout of the code before (e.g. `git archive <commit>` unpacked, with .venv "
        "and .env): served as a third server, 'main'",
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    benchdb.setup()
    import psycopg
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from layers.auth.tokens import ApiToken

    db = settings.DATABASES["default"]
    editor = get_user_model().objects.get(username="demo-editor")
    _token, key = ApiToken.issue(editor, "bench-fixed-cost")
    auth = {"Authorization": f"Token {key}"}
    conn = psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
        dbname=db["NAME"], options="-c jit=off", autocommit=True,
    )  # fmt: skip
    logdir = Path(tempfile.mkdtemp(prefix="bench-fixed-cost-"))
    servers, bases = {}, {}
    pg_url = (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    try:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        plan = [("orm", "0", ROOT), ("fast", "1", ROOT)]
        if args.before:
            plan.insert(0, ("main", "1", Path(args.before).resolve()))
        for name, fast, checkout in plan:
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": pg_url,
                "DEBUG": "0",
                "ALLOWED_HOSTS": "127.0.0.1",
                "WEB_WORKERS": "1",
                "WEB_BIND": f"127.0.0.1:{port}",
                "WEB_ACCESS_LOG": str(logdir / f"{name}-access.log"),
                "FAST_PAGES": fast,
            }
            proc = start(
                [gunicorn, "-c", str(checkout / "geo_service" / "gunicorn.conf.py")],
                env,
                logdir / f"{name}.log",
                cwd=checkout,
            )
            servers[name] = proc
            bases[name] = f"http://127.0.0.1:{port}"
            wait_up(f"{bases[name]}/healthz", proc)

        def http(url_of):
            client = Http(url_of(0), auth)  # one keep-alive connection; the path changes

            def run(i):
                parts = urlsplit(url_of(i))
                client.path = f"{parts.path}?{parts.query}" if parts.query else parts.path
                elapsed, _size, status = client()
                return elapsed, status

            return run

        def sql(statements):
            def run(i):
                started = time.perf_counter()
                with conn.cursor() as cursor:
                    cursor.execute(statements[i % len(statements)])
                    cursor.fetchone()
                return (time.perf_counter() - started) * 1000, 200

            return run

        rows = []
        total = args.repeat + 2
        for box, bbox in BOXES.items():
            for size in sizes:
                for mode in ("same", "new"):
                    boxes = [bbox if mode == "same" else shifted(bbox, i) for i in range(total)]
                    runners = {"floor": sql(floor_statements(boxes, size))}
                    for name, base in bases.items():
                        runners[f"REST {name}"] = http(
                            lambda i, base=base, boxes=boxes, size=size: (
                                f"{base}/api/v1/buildings/?bbox={boxes[i]}&page_size={size}"
                            )
                        )
                        runners[f"OGC {name}"] = http(
                            lambda i, base=base, boxes=boxes, size=size: (
                                f"{base}/ogc/collections/buildings/items?bbox={boxes[i]}&limit={size}"
                            )
                        )
                    spent = {name: cpu_ms(children(proc.pid)) for name, proc in servers.items()}
                    times = rounds(runners, args.repeat)
                    asked = 2 * (args.repeat + 2)  # REST and OGC, warm-ups included
                    for name, proc in servers.items():
                        used = cpu_ms(children(proc.pid)) - spent[name]
                        times[f"cpu {name}"] = [used / asked]
                    rows.append((box, size, mode, times))
                    print(f"  {box} {size} {mode}: {summary(times)}", file=sys.stderr)
        landing = {name: http(lambda i, base=base: f"{base}/ogc/") for name, base in bases.items()}
        landing_times = rounds(landing, args.repeat)
    finally:
        for proc in servers.values():
            proc.terminate()
        for proc in servers.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        ApiToken.objects.filter(name="bench-fixed-cost").delete()
        conn.close()
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end; logs: {logdir}")
    print(table(rows, landing_times))


def summary(times: dict) -> str:
    return ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in times.items())


def table(rows, landing_times) -> str:
    """Medians, +ms over the floor and the paired ratio to it; the last column pairs the
    compiled pages with the code before ("main" when served, else FAST_PAGES=0) per round."""
    before = "main" if "REST main" in rows[0][3] else "orm"
    columns = [c for c in ("main", "orm", "fast") if f"REST {c}" in rows[0][3]]
    titles = {"main": "before (main)", "orm": "FAST_PAGES=0", "fast": "after"}
    lines = [
        "| page | floor | "
        + " | ".join(f"{api} {titles[c]}" for api in ("REST", "OGC") for c in columns)
        + f" | after / {titles[before]}, paired: REST; OGC | worker CPU per request: "
        + ", ".join(titles[c] for c in columns)
        + " |",
        "|---|---|" + "---|" * (2 * len(columns)) + "---|---|",
    ]
    for box, size, mode, times in rows:
        f = statistics.median(times["floor"])

        def cell(name, times=times, f=f):
            m = statistics.median(times[name])
            return f"{m:.1f} (+{m - f:.1f}; {paired(times[name], times['floor']):.2f}×)"

        cells = " | ".join(cell(f"{api} {c}") for api in ("REST", "OGC") for c in columns)
        lines.append(
            f"| {box}, {size:,}, {mode} bbox | {f:.1f} | {cells} | "
            f"{paired(times['REST fast'], times[f'REST {before}']):.2f}; "
            f"{paired(times['OGC fast'], times[f'OGC {before}']):.2f} | "
            + ", ".join(f"{times[f'cpu {c}'][0]:.2f}" for c in columns)
            + " ms |"
        )
    landing = ", ".join(f"{c} {statistics.median(landing_times[c]):.1f} ms" for c in columns)
    lines.append(f"\nOGC landing page (reads nothing), median: {landing}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
