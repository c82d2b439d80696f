"""Live updates (layers/services/live.py, layers/channels/sse/): a real live-update process
(`manage.py serve_live`) on the test database, read over HTTP as a browser's EventSource
reads it. A committed write is pushed, a rolled-back one never; each reader gets the fields the
access rules give them and nobody without a role gets a stream; a soft delete is pushed as
removed; signing out ends the stream; Host, Origin, method and path are checked."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from layers.domain import registry
from layers.domain.models import GridCell, SafetyHazard
from layers.query import access
from layers.services import editing, live
from tests.conftest import make_user
from tests.factories import remove_hazards_named
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
MARK = "推送测试"
ORIGIN = "http://127.0.0.1:8999"


def test_notices_name_the_layer_and_ids_in_pieces_postgresql_accepts():
    messages = live.payloads("hazards", [3, 1, 2, 3, *range(10, 1010)])
    firsts = [json.loads(m)["ids"][:3] for m in messages]
    assert firsts == [[1, 2, 3], [507, 508, 509], [1007, 1008, 1009]]
    assert sum(len(json.loads(m)["ids"]) for m in messages) == 1003
    assert all(len(m.encode()) < 8000 for m in messages)
    assert live.payloads("hazards", []) == []


@pytest.fixture(scope="module")
def live_process(django_db_setup, django_db_blocker, hazard):
    """serve_live on the test database, checking sessions and sending heartbeats every half
    second; stopped (and its database sessions gone) afterwards. It starts after the module's
    hazard is made, so that no stream is told of its making."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    port = free_port()
    app_name = f"hh-test-live-{port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PGAPPNAME": app_name,
        "LIVE_CORS_ORIGINS": ORIGIN,
        "LIVE_SESSION_CHECK": "0.5",
        "LIVE_HEARTBEAT": "0.5",
        "LIVE_COALESCE": "0.05",
    }
    log = (ROOT / f".live-test-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve_live", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/live/healthz", timeout=2)  # noqa: S310 (ours)
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "no live process"
            time.sleep(0.2)
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)
    log.close()
    Path(log.name).unlink()
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for _ in range(100):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app_name]
            )
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.1)


@pytest.fixture(scope="module")
def hazard(django_db_setup, django_db_blocker):
    """A committed hazard of this module (removed afterwards)."""
    with django_db_blocker.unblock():
        leader = get_user_model().objects.get(username="demo-editor")
        cell = GridCell.objects.get(code="HHC-01-02")
        made = editing.create_as(
            registry.get("hazards"),
            {"name": f"{MARK} 楼道杂物", "category": "escape_route", "level": "general",
             "geom": cell.geom.point_on_surface},
            leader,
        )  # fmt: skip
    yield made
    with django_db_blocker.unblock():
        remove_hazards_named(MARK)
        get_user_model().objects.filter(username="live-norole").delete()


def committed_session(django_db_blocker, username: str) -> str:
    """A signed-in session of `username`, committed for the live process (as a sign-in makes)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    with django_db_blocker.unblock():
        user = get_user_model().objects.get(username=username)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key


class Stream:
    """GET /live/events as an EventSource sends it; next() reads the next event."""

    def __init__(self, base: str, session: str | None = None, context=None, **headers):
        parts = urlsplit(base)
        if parts.scheme == "https":
            self.connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=10, context=context
            )
        else:
            self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        if session:
            headers["Cookie"] = f"sessionid={session}"
        headers.setdefault("Accept", "text/event-stream")
        self.connection.request("GET", "/live/events", headers=headers)
        self.response = self.connection.getresponse()

    def next(self) -> tuple[str, dict]:
        event, data = "message", []
        while True:
            line = self.response.fp.readline()
            if not line:
                raise EOFError("the stream ended")
            line = line.decode().rstrip("\n")
            if line == "":
                if data:
                    return event, json.loads("\n".join(data))
                continue
            if line.startswith(":") or line.startswith("retry:"):
                continue
            name, _, value = line.partition(": ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)

    def next_features(self) -> dict:
        while True:
            event, data = self.next()
            if event == "features":
                return data

    def close(self):
        self.connection.close()


def commit(django_db_blocker, work):
    with django_db_blocker.unblock(), transaction.atomic():
        return work()


def test_a_committed_write_is_pushed_and_a_rolled_back_one_never(
    live_process, hazard, django_db_blocker
):
    stream = Stream(live_process, committed_session(django_db_blocker, "demo-planner"))
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
        assert stream.response.getheader("Cache-Control") == "no-store"
        event, data = stream.next()
        assert event == "hello" and data["layers"] == ["hazards"]
        with django_db_blocker.unblock():
            leader = get_user_model().objects.get(username="demo-editor")

        class Refused(Exception):
            pass

        def refused():
            editing.update(SafetyHazard.objects.get(pk=hazard.pk), {"name": "不该出现"}, leader)
            raise Refused

        with pytest.raises(Refused):
            commit(django_db_blocker, refused)
        name = f"{MARK} 楼道杂物（已清理一半）"
        commit(
            django_db_blocker,
            lambda: editing.update(SafetyHazard.objects.get(pk=hazard.pk), {"name": name}, leader),
        )
        pushed = stream.next_features()
        assert pushed["layer"] == "hazards" and pushed["removed"] == []
        assert [f["id"] for f in pushed["features"]] == [hazard.pk]
        assert pushed["features"][0]["properties"]["name"] == name
    finally:
        stream.close()


def test_each_reader_gets_what_the_access_rules_give_and_no_role_gets_nothing(
    live_process, hazard, django_db_blocker
):
    assert Stream(live_process).response.status == 401
    assert Stream(live_process, "no-such-session").response.status == 401
    with django_db_blocker.unblock():
        make_user("live-norole", None)
    nobody = committed_session(django_db_blocker, "live-norole")
    assert Stream(live_process, nobody).response.status == 401
    spec = registry.get("hazards")
    users = get_user_model().objects
    planner = Stream(live_process, committed_session(django_db_blocker, "demo-planner"))
    editor = Stream(live_process, committed_session(django_db_blocker, "demo-editor"))
    try:
        for stream in (planner, editor):
            assert stream.next()[0] == "hello"
        with django_db_blocker.unblock():
            leader = users.get(username="demo-editor")
            planner_user = users.get(username="demo-planner")
        commit(
            django_db_blocker,
            lambda: editing.update(
                SafetyHazard.objects.get(pk=hazard.pk), {"description": "推送的字段"}, leader
            ),
        )
        computed = set(spec.computed_properties())
        seen = {}
        for stream, user in ((planner, planner_user), (editor, leader)):
            feature = stream.next_features()["features"][0]
            seen[user.username] = set(feature["properties"])
            with django_db_blocker.unblock():
                expected = set(access.output_fields(user, spec)) | computed
            assert seen[user.username] == expected, user.username
        # Leaders see deletions; the planner does not even see the field.
        assert seen["demo-editor"] - seen["demo-planner"] == {"deleted_at"}
    finally:
        planner.close()
        editor.close()


def test_a_soft_delete_is_pushed_as_removed(live_process, django_db_blocker):
    with django_db_blocker.unblock():
        leader = get_user_model().objects.get(username="demo-editor")
        cell = GridCell.objects.get(code="HHC-01-02")
    gone = commit(
        django_db_blocker,
        lambda: editing.create_as(
            registry.get("hazards"),
            {"name": f"{MARK} 待删除", "category": "gas", "level": "general",
             "geom": cell.geom.point_on_surface},
            leader,
        ),
    )  # fmt: skip
    stream = Stream(live_process, committed_session(django_db_blocker, "demo-inspector"))
    try:
        assert stream.next()[0] == "hello"
        commit(
            django_db_blocker,
            lambda: editing.soft_delete(SafetyHazard.objects.get(pk=gone.pk), leader),
        )
        pushed = stream.next_features()
        if pushed["features"] and pushed["features"][0]["id"] == gone.pk:
            pushed = stream.next_features()  # its making, if the stream opened in time for it
        assert pushed["removed"] == [gone.pk] and pushed["features"] == []
    finally:
        stream.close()


def test_signing_out_ends_the_stream(live_process, django_db_blocker):
    from django.contrib.sessions.models import Session

    key = committed_session(django_db_blocker, "demo-inspector")
    stream = Stream(live_process, key)
    try:
        assert stream.next()[0] == "hello"
        with django_db_blocker.unblock():
            Session.objects.filter(session_key=key).delete()  # what signing out does
        with pytest.raises(EOFError):
            while True:  # heartbeats until the session check closes it
                stream.next()
    finally:
        stream.close()


def test_host_origin_method_and_path_are_checked(live_process, django_db_blocker):
    key = committed_session(django_db_blocker, "demo-planner")
    allowed = Stream(live_process, key, Origin=ORIGIN)
    try:
        assert allowed.response.status == 200
        assert allowed.response.getheader("Access-Control-Allow-Origin") == ORIGIN
        assert allowed.response.getheader("Access-Control-Allow-Credentials") == "true"
    finally:
        allowed.close()
    assert Stream(live_process, key, Origin="http://evil.example").response.status == 403
    assert Stream(live_process, key, Origin=ORIGIN + "0").response.status == 403
    assert Stream(live_process, key, Host="evil.example").response.status == 400
    for method, path, status in (("POST", "/live/events", 405), ("GET", "/live/other", 404)):
        request = urllib.request.Request(live_process + path, method=method)  # noqa: S310
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 (our own)
        assert answer.value.code == status


def test_pages_may_connect_to_the_live_port_of_their_own_host_only(settings, rf):
    from geo_service.middleware.security import csp_header, live_source

    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    settings.LIVE_PORT = 8001
    assert live_source(rf.get("/", HTTP_HOST="localhost:8000")) == "http://localhost:8001"
    assert live_source(rf.get("/", HTTP_HOST="127.0.0.1:8000")) == "http://127.0.0.1:8001"
    assert live_source(rf.get("/", HTTP_HOST="evil.example")) == ""  # not an allowed host
    policy = csp_header("n", connect=live_source(rf.get("/", HTTP_HOST="localhost:8000")))
    assert "connect-src 'self' http://localhost:8001;" in policy
    settings.LIVE_PORT = None  # behind the proxy: the site's own origin
    assert live_source(rf.get("/", HTTP_HOST="localhost:8000")) == ""
    assert "connect-src 'self';" in csp_header("n", connect="")
