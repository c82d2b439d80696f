"""Faults: PostgreSQL restarted in the middle of traffic (a cluster of the test's own), the
health probes, and a worker killed in the middle of a write."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.pgcluster import Cluster

ROOT = Path(__file__).resolve().parent.parent
# The cluster and the server on it are made once for the module (on one xdist worker).
pytestmark = pytest.mark.xdist_group("test_faults")


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (our server)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.mark.slow
def test_healthz_and_readyz(client, db, tmp_path):
    from tests.test_jobs import Worker

    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.json() == {"status": "ok"}
    # No job worker has sent a heartbeat lately: alive, but not ready (jobs would wait forever).
    ready = client.get("/readyz")
    body = ready.json()
    assert ready.status_code == 503, body
    assert body["checks"]["database"]["ok"] and body["checks"]["database"]["postgis"]
    assert body["checks"]["migrations"] == {"ok": True, "pending": []}
    assert body["checks"]["worker"]["ok"] is False
    assert "no-store" in ready["Cache-Control"]
    # A real worker starts: its heartbeat makes the service ready.
    worker = Worker(tmp_path / "worker.log", tmp_path / "private").start()
    try:
        deadline = time.monotonic() + 90
        while (ready := client.get("/readyz")).status_code != 200:
            assert worker.process.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
            assert time.monotonic() < deadline, ready.json()
            time.sleep(0.5)
    finally:
        worker.stop()
    assert ready.json()["checks"]["worker"]["ok"] is True


@pytest.fixture(scope="module")
def own_cluster():
    cluster = Cluster()
    cluster.start()
    url = cluster.create_postgis_database("hh_faults")
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "geo_service.settings"}
    env.pop("DATABASE_TEST_TEMPLATE", None)
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    yield cluster, url
    cluster.remove()


@pytest.fixture(scope="module")
def server_on_own_cluster(own_cluster):
    cluster, url = own_cluster
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1"}
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)  # noqa: S310
            break
        except OSError:
            assert server.poll() is None, "server died"
            time.sleep(0.3)
    yield cluster, base, log
    server.terminate()
    server.wait(timeout=10)
    log.close()


def _database_ready(base: str) -> bool:
    """/readyz's database and migration checks (this cluster runs no job worker, so the
    probe as a whole says 503 for that reason alone: test_healthz_and_readyz covers it)."""
    checks = json.loads(_get(base + "/readyz")[2])["checks"]
    return checks["database"]["ok"] is True and checks["migrations"]["ok"] is True


PATHS = [
    "/api/v1/viewpoints/",
    "/ogc/collections/viewpoints/items",
    "/",
    "/tour/",
    "/api/v1/layers/",
]


@pytest.mark.cluster
def test_database_restart_gives_503_then_recovers_by_itself(server_on_own_cluster):
    cluster, base, log = server_on_own_cluster
    for path in PATHS:
        assert _get(base + path)[0] == 200, path
    assert _database_ready(base)

    cluster.stop("fast")  # the database goes away under open connections
    try:
        for path in PATHS:
            status, headers, body = _get(base + path)
            assert status == 503, (path, status, body[:300])
            assert int(headers["Retry-After"]) >= 1
            text = body.decode()
            assert "Traceback" not in text and "OperationalError" not in text
            assert json.loads(text)["detail"]
        assert _get(base + "/healthz")[0] == 200  # the process itself is alive
        status, headers, body = _get(base + "/readyz")
        assert status == 503 and json.loads(body)["checks"]["database"]["ok"] is False
    finally:
        cluster.start()

    # No restart of the service: the next requests simply work again.
    for path in PATHS:
        status = None
        for _attempt in range(20):  # the first request may still meet the dead connection
            status = _get(base + path)[0]
            if status == 200:
                break
            assert status == 503
        assert status == 200, path
    assert _database_ready(base)
    log.seek(0)
    assert b"Traceback" not in log.read()


@pytest.mark.cluster
def test_a_worker_killed_mid_write_leaves_no_partial_feature(own_cluster):
    """A process creating a feature (row, derived links, history) is killed with SIGKILL
    inside its transaction: afterwards neither the feature nor its history exists."""
    cluster, url = own_cluster
    env = {**os.environ, "DATABASE_URL": url}
    script = r"""
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings")
django.setup()
from django.contrib.gis.geos import Point
from django.db import transaction
from layers.domain import registry
from layers.services import editing
spec = registry.get("viewpoints")
with transaction.atomic():
    values = {"name": "KILLED-MID-WRITE", "status": "open", "theme": "streetscape",
              "tour_order": 999, "geom": Point(119.955, 31.78, srid=4326)}
    obj = editing.create(spec, values, None)
    print("written", obj.pk, flush=True)
    sys.stdin.readline()  # wait inside the transaction until killed
"""
    worker = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    line = worker.stdout.readline()
    assert line.startswith("written"), worker.stderr.read()
    pk = int(line.split()[1])
    # The row exists inside the worker's transaction: the write was really under way.
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    for _ in range(50):  # PostgreSQL notices the dead client and rolls its transaction back
        busy = cluster.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname='hh_faults' "
            "AND state LIKE 'idle in transaction%'",
            database="hh_faults",
        )
        if busy == "0":
            break
        time.sleep(0.1)
    assert (
        cluster.sql(
            "SELECT count(*) FROM layers_culturalviewpoint "  # noqa: S608 (pk is our int)
            f"WHERE id = {int(pk)} OR name = 'KILLED-MID-WRITE'",
            database="hh_faults",
        )
        == "0"
    )
    assert (
        cluster.sql(
            "SELECT count(*) FROM layers_historicalculturalviewpoint "
            "WHERE name = 'KILLED-MID-WRITE'",
            database="hh_faults",
        )
        == "0"
    )
