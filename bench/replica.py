"""The read replica measured (docs/SCALING.md): a primary of its own holding the bench data, a
streaming replica made with `pg_basebackup -R`, and this service (gunicorn, one worker) in
front of both, beside the same service on the primary alone.

Usage: .venv/bin/python bench/replica.py [--rounds 30] [--commits 50]

Needs the bench data (bench/make_data.py) in <your database>_bench, which it copies with
pg_dump / pg_restore into a cluster of its own (tests/pgcluster.py: initdb on a free port, the
machine's server is never touched). Prints:
- the copy: restore and `pg_basebackup` times;
- replication delay: from a commit on the primary until the replica has replayed it;
- the lag probe (geo_service/middleware/dbrouter.py): its two statements, median;
- read latency, interleaved: a REST bbox page of 100 and a z16 tile through the replicated
  service and through the service on the primary alone (tile cache off);
- the replica stopped: the first reads after it (the one that meets the dead replica is served
  again from the primary), their statuses; the replica started again: how long until /readyz
  finds it serving reads.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import benchdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.pgcluster import BIN, Cluster  # noqa: E402 (the repository's root first)

DATABASE = "hh_bench"
BBOX = "119.940,31.775,119.960,31.790"


def get(url: str, headers: dict | None = None) -> tuple[float, int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (our server)
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    except OSError:  # not listening yet
        body, status = b"", 0
    return (time.perf_counter() - start) * 1000, status, body


def serve(env: dict, log) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**env, "WEB_BIND": f"127.0.0.1:{port}", "WEB_WORKERS": "1", "WEB_ACCESS_LOG": os.devnull}
    server = benchdb.gunicorn(env, log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while get(base + "/healthz")[1] != 200:
        if server.poll() is not None or time.monotonic() > deadline:
            os.killpg(server.pid, signal.SIGKILL)
            raise SystemExit("gunicorn did not start")
        time.sleep(0.1)
    return server, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--commits", type=int, default=50)
    args = parser.parse_args()
    name = benchdb.setup()
    import psycopg
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from geo_service.middleware.dbrouter import PRIMARY_SQL, REPLICA_SQL
    from layers.auth.tokens import ApiToken

    db = settings.DATABASES["default"]
    out: dict = {}
    primary = Cluster()
    replica = None
    servers = []
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    try:
        primary.start()
        primary.sql(f"CREATE DATABASE {DATABASE}")
        with tempfile.TemporaryDirectory() as folder:
            dump = Path(folder) / "bench.dump"
            started = time.monotonic()
            env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
            subprocess.run(
                [BIN / "pg_dump", "-Fc", "-Z0", "-f", dump, "-h", db["HOST"],
                 "-p", str(db["PORT"] or 5432), "-U", db["USER"], name],
                check=True, env=env, capture_output=True,
            )  # fmt: skip
            subprocess.run(
                [BIN / "pg_restore", "--no-owner", "--no-acl", "-j", "2", "-h", "127.0.0.1",
                 "-p", str(primary.port), "-U", "postgres", "-d", DATABASE, dump],
                check=True, capture_output=True,
            )  # fmt: skip
            out["copy of the bench database (dump + restore), s"] = round(
                time.monotonic() - started, 1
            )
        primary.sql("VACUUM ANALYZE", DATABASE)
        out["database size"] = primary.sql(
            f"SELECT pg_size_pretty(pg_database_size('{DATABASE}'))", DATABASE
        )
        started = time.monotonic()
        replica = Cluster(primary=primary)
        replica.start()
        out["pg_basebackup -R and start, s"] = round(time.monotonic() - started, 1)

        # Replication delay: a commit on the primary until the replica shows it.
        p = psycopg.connect(primary.url(DATABASE).replace("postgres://", "postgresql://"))
        r = psycopg.connect(replica.url(DATABASE).replace("postgres://", "postgresql://"))
        p.autocommit = r.autocommit = True
        p.execute("CREATE TABLE bench_marker (n int)")
        time.sleep(1)  # the table itself replicated
        delays = []
        for n in range(args.commits):
            p.execute("INSERT INTO bench_marker VALUES (%s)", [n])
            committed = time.perf_counter()
            while (
                r.execute("SELECT count(*) FROM bench_marker WHERE n = %s", [n]).fetchone()[0] == 0
            ):
                pass
            delays.append((time.perf_counter() - committed) * 1000)
        delays.sort()
        out["replication delay, commit to visible on the replica, median / p95 ms"] = (
            round(statistics.median(delays), 2),
            round(delays[int(0.95 * len(delays))], 2),
        )
        probes = []
        for _ in range(50):
            start = time.perf_counter()
            p.execute(PRIMARY_SQL).fetchone()
            r.execute(REPLICA_SQL).fetchone()
            probes.append((time.perf_counter() - start) * 1000)
        out["lag probe (its two statements), median ms"] = round(statistics.median(probes), 2)
        p.close()
        r.close()

        editor = get_user_model().objects.get(username="demo-editor")
        _token, key = ApiToken.issue(editor, "bench-replica")  # on the bench database:
        copy_token(primary, name, db)  # the copy predates it
        auth = {"Authorization": f"Token {key}"}
        base_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "geo_service.settings",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "TILE_CACHE_SECONDS": "0",
            "DATABASE_URL": primary.url(DATABASE),
        }
        replicated, base_r = serve({**base_env, "REPLICA_DATABASE_URL": replica.url(DATABASE)}, log)
        servers.append(replicated)
        alone, base_p = serve(base_env, log)
        servers.append(alone)
        paths = {
            "REST bbox page of 100": f"/api/v1/buildings/?bbox={BBOX}&page_size=100",
            "z16 tile": "/tiles/buildings/16/54603/26660.pbf",
        }
        for label, path in paths.items():
            times = {"replicated": [], "primary alone": []}
            for base in (base_r, base_p):
                get(base + path, auth)
            for i in range(args.rounds):
                order = [("replicated", base_r), ("primary alone", base_p)]
                for who, base in order if i % 2 == 0 else order[::-1]:
                    elapsed, status, _body = get(base + path, auth)
                    assert status == 200, (who, path, status)
                    times[who].append(elapsed)
            out[f"{label}, median ms: replicated / primary alone"] = tuple(
                round(statistics.median(times[w]), 1) for w in ("replicated", "primary alone")
            )
        readyz = json.loads(get(base_r + "/readyz")[2])["checks"]["replica"]
        out["/readyz replica check"] = readyz

        replica.stop("immediate")
        after = []
        for _ in range(5):
            elapsed, status, _body = get(base_r + paths["REST bbox page of 100"], auth)
            after.append((round(elapsed, 1), status))
        out["replica stopped: the next five pages (ms, status)"] = after
        out["/readyz replica check, stopped"] = json.loads(get(base_r + "/readyz")[2])["checks"][
            "replica"
        ]
        replica.start()
        started = time.monotonic()
        while not json.loads(get(base_r + "/readyz")[2])["checks"]["replica"]["serving_reads"]:
            time.sleep(0.05)
        out["replica started again: serving reads after, s"] = round(time.monotonic() - started, 2)
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        log.close()
        ApiToken.objects.filter(name="bench-replica").delete()
        if replica is not None:
            replica.remove()
        primary.remove()
    out["load average"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2, ensure_ascii=False))


def copy_token(primary: Cluster, name: str, db: dict) -> None:
    """The bench token, issued on the bench database after the copy, into the copy."""
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
    rows = subprocess.run(
        [BIN / "pg_dump", "--data-only", "-t", "layers_apitoken", "-h", db["HOST"],
         "-p", str(db["PORT"] or 5432), "-U", db["USER"], name],
        check=True, env=env, capture_output=True, text=True,
    ).stdout  # fmt: skip
    primary.sql("TRUNCATE layers_apitoken", DATABASE)
    subprocess.run(
        [BIN / "psql", "-q", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
         "-d", DATABASE, "-v", "ON_ERROR_STOP=1"],
        input=rows, check=True, capture_output=True, text=True,
    )  # fmt: skip


if __name__ == "__main__":
    main()
