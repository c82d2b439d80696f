"""A real streaming replica (issue 28): a primary of the test's own (tests/pgcluster.py) holding
a copy of the test database, a replica made from it with `pg_basebackup -R` on its own port, and
the service (gunicorn) pointed at both through REPLICA_DATABASE_URL. Replay on the replica is
paused to make it fall behind on purpose: a read that still shows the old value came from the
replica, one that shows the new value from the primary.

Two servers share the pair: a tolerant one (REPLICA_MAX_LAG_SECONDS=3600, lag probed once an
hour, so a dead replica is met by queries, not by the probe) and a strict one (a lag over one
second sends reads to the primary; probed on every read). The primary runs without autovacuum,
so that nothing but the tests writes there."""

from __future__ import annotations

import http.cookiejar
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, start_server
from tests.pgcluster import BIN, Cluster

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("test_replica")]
DATABASE = "hh_replica"
EDITOR = "demo-editor"
RENAME = "UPDATE layers_culturalviewpoint SET name = '{name}' WHERE id = {pk}"


class Browser:
    """urllib with a cookie jar: a session of its own against one server."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def request(self, path: str, *, method="GET", data=None, headers=None):
        body = data if data is None or isinstance(data, bytes) else json.dumps(data).encode()
        request = urllib.request.Request(  # noqa: S310 (our own server)
            self.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, path: str):
        status, _headers, body = self.request(path)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)

    def sign_in(self, username: str, password: str) -> None:
        self.request("/accounts/login/")
        form = f"username={username}&password={password}&csrfmiddlewaretoken="
        form += self.cookie("csrftoken") or ""
        status, _headers, body = self.request(
            "/accounts/login/",
            method="POST",
            data=form.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 200 and self.cookie("sessionid"), body[:300]


@pytest.fixture(scope="module")
def pair(django_db_setup):
    """(primary, replica): the test database's committed state, streamed to a replica."""
    from django.db import connection

    db = connection.settings_dict
    primary = Cluster()
    replica = None
    try:
        primary.start()
        primary.sql(f"CREATE DATABASE {DATABASE}")
        with tempfile.TemporaryDirectory() as folder:
            dump = Path(folder) / "test.dump"
            env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
            subprocess.run(
                [BIN / "pg_dump", "-Fc", "-f", dump, "-h", db["HOST"], "-p", str(db["PORT"]),
                 "-U", db["USER"], db["NAME"]],
                check=True, env=env, capture_output=True, timeout=300,
            )  # fmt: skip
            subprocess.run(
                [BIN / "pg_restore", "--no-owner", "--no-acl", "-h", "127.0.0.1",
                 "-p", str(primary.port), "-U", "postgres", "-d", DATABASE, dump],
                check=True, capture_output=True, timeout=300,
            )  # fmt: skip
        replica = Cluster(primary=primary)
        replica.start()
        # Streaming, and one transaction replayed (a replica that has replayed none cannot say
        # how far behind it is, and is not read from).
        primary.sql("SELECT txid_current()", DATABASE)
        catch_up(primary, replica)
        wait_until(
            lambda: replica.sql("SELECT status FROM pg_stat_wal_receiver") == "streaming",
            "the replica streams",
        )
        yield primary, replica
    finally:
        if replica is not None:
            replica.remove()
        primary.remove()


@pytest.fixture(scope="module")
def servers(pair, django_db_blocker):
    primary, replica = pair
    common = {
        "DATABASE_URL": primary.url(DATABASE),
        "REPLICA_DATABASE_URL": replica.url(DATABASE),
        "REPLICA_PIN_SECONDS": "600",
        "WEB_WORKERS": "1",
    }
    tolerant = start_server(
        django_db_blocker,
        **common,
        REPLICA_MAX_LAG_SECONDS="3600",
        REPLICA_LAG_CHECK_SECONDS="3600",
    )
    strict = start_server(
        django_db_blocker,
        **common,
        REPLICA_MAX_LAG_SECONDS="1",
        REPLICA_LAG_CHECK_SECONDS="0",
    )
    try:
        with ThreadPoolExecutor(2) as pool:  # both start at once
            yield tuple(pool.map(next, (tolerant, strict)))
    finally:
        for server in (tolerant, strict):
            next(server, None)


def lsn(cluster: Cluster, function: str) -> str:
    return cluster.sql(f"SELECT {function}()", DATABASE)


def wait_until(check, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.05)


def write_on_primary(primary: Cluster, replica: Cluster, statement: str) -> None:
    """Run `statement` on the primary and wait until the replica has received (not replayed)
    its WAL: a paused replica is then behind by a lag it can measure."""
    primary.sql(statement, DATABASE)
    written = lsn(primary, "pg_current_wal_lsn")
    wait_until(
        lambda: (
            replica.sql(
                f"SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '{written}') >= 0", DATABASE
            )
            == "t"
        ),
        "the replica receives the write",
    )


def pause(replica: Cluster) -> None:
    replica.sql("SELECT pg_wal_replay_pause()", DATABASE)


def resume(primary: Cluster, replica: Cluster) -> None:
    replica.sql("SELECT pg_wal_replay_resume()", DATABASE)
    catch_up(primary, replica)


def catch_up(primary: Cluster, replica: Cluster) -> None:
    target = lsn(primary, "pg_current_wal_lsn")
    wait_until(
        lambda: (
            replica.sql(
                f"SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '{target}') >= 0", DATABASE
            )
            == "t"
        ),
        "the replica catches up",
    )


def viewpoint(primary: Cluster, offset: int) -> tuple[int, str]:
    query = "SELECT id || '|' || name FROM layers_culturalviewpoint WHERE deleted_at IS NULL "
    query += f"ORDER BY id OFFSET {int(offset)} LIMIT 1"
    row = primary.sql(query, DATABASE)
    pk, name = row.split("|", 1)
    return int(pk), name


def name_of(client: Browser, pk: int) -> str:
    return client.json(f"/api/v1/viewpoints/{pk}/")["properties"]["name"]


def replica_check(client: Browser) -> dict:
    """/readyz's replica check (this service runs no job worker, so /readyz as a whole is 503
    for that reason alone: tests/test_faults.py covers it)."""
    _status, _headers, body = client.request("/readyz")
    checks = json.loads(body)["checks"]
    assert checks["database"]["ok"] and checks["migrations"]["ok"], checks
    return checks["replica"]


def test_reads_go_to_the_replica_unless_it_lags_too_much(pair, servers):
    primary, replica = pair
    tolerant, strict = Browser(servers[0]), Browser(servers[1])
    pk, old = viewpoint(primary, 0)
    assert name_of(tolerant, pk) == name_of(strict, pk) == old
    first = replica_check(strict)
    assert first["serving_reads"] is True, first["detail"]
    sql = RENAME.format(name="only on the primary", pk=int(pk))
    pause(replica)
    try:
        write_on_primary(primary, replica, sql)
        # The replica has not replayed the write: what it serves is the old name.
        assert name_of(tolerant, pk) == old
        items = tolerant.json("/ogc/collections/viewpoints/items?limit=100")
        assert {f["id"]: f["properties"]["name"] for f in items["features"]}[pk] == old
        # Its lag grows while replay is paused; once over the strict server's second, /readyz
        # says so and reads go to the primary there (the tolerant server allows an hour).
        wait_until(lambda: not replica_check(strict)["serving_reads"], "the lag passes 1 s")
        assert name_of(strict, pk) == "only on the primary"
        check = replica_check(strict)
        assert check["ok"] is True and check["lag_seconds"] > 1
        assert "reads go to the primary" in check["warning"]
        tolerated = replica_check(tolerant)
        assert tolerated["serving_reads"] is True and tolerated["lag_seconds"] > 1
        assert "warning" not in tolerated
        assert name_of(tolerant, pk) == old
    finally:
        resume(primary, replica)
    assert name_of(tolerant, pk) == "only on the primary"
    wait_until(lambda: replica_check(strict)["serving_reads"], "the strict server trusts it again")


def test_a_user_reads_their_own_write_at_once(pair, servers):
    primary, replica = pair
    editor, anonymous = Browser(servers[0]), Browser(servers[0])
    editor.sign_in(EDITOR, PASSWORD)
    pk, old = viewpoint(primary, 1)
    pause(replica)
    try:
        status, headers, _body = editor.request(f"/api/v1/viewpoints/{pk}/")
        assert status == 200
        status, _headers, body = editor.request(
            f"/api/v1/viewpoints/{pk}/",
            method="PATCH",
            data={"type": "Feature", "properties": {"name": "我刚改的名字"}},
            headers={
                "Content-Type": "application/json",
                "If-Match": headers["ETag"],
                "X-CSRFToken": editor.cookie("csrftoken"),
            },
        )
        assert status == 200, body[:300]
        assert name_of(editor, pk) == "我刚改的名字"  # at once, from the primary
        # Everyone else reads the replica, which has not replayed the edit yet.
        assert name_of(anonymous, pk) == old
    finally:
        resume(primary, replica)
    assert name_of(anonymous, pk) == "我刚改的名字"


def test_a_stopped_replica_degrades_to_the_primary_without_errors(pair, servers):
    primary, replica = pair
    tolerant, strict = Browser(servers[0]), Browser(servers[1])
    pk, _name = viewpoint(primary, 2)
    paths = [
        f"/api/v1/viewpoints/{pk}/",
        "/api/v1/viewpoints/?page_size=5",
        "/ogc/collections/viewpoints/items?limit=5",
        "/ogc/collections",
        "/api/v1/layers/",
    ]
    for client in (tolerant, strict):
        for path in paths:  # the servers' threads hold connections to the replica now
            assert client.request(path)[0] == 200, path
    replica.stop("immediate")
    try:
        for client in (tolerant, strict):
            for _round in range(3):
                for path in paths:
                    status, _headers, body = client.request(path)
                    assert status == 200, (client.base, path, status, body[:300])
            check = replica_check(client)
            assert check["serving_reads"] is False and "unreachable" in check["detail"]
    finally:
        replica.start()
    # Back: the next probe (/readyz's, or the strict server's on every read) finds it fit.
    for client in (tolerant, strict):
        wait_until(lambda c=client: replica_check(c)["serving_reads"], "the replica serves again")
        assert name_of(client, pk)
