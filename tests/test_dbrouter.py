"""The read-replica router (geo_service/middleware/dbrouter.py) with the replica as a second alias
of the
same server, a test mirror of "default" as in Django's own tests: a separate connection, so it
sees committed data only. A read sent to it after a write in the same request would miss the
write (the test's transaction is not committed), which is what these tests catch."""

from __future__ import annotations

import contextvars

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connections
from django.test import RequestFactory, override_settings

from geo_service.middleware import dbrouter
from layers.domain import models, registry
from layers.query import encode
from layers.services import editing

ROUTERS = ["geo_service.middleware.dbrouter.PrimaryReplicaRouter"]
pytestmark = [
    pytest.mark.django_db(databases=["default", "replica"]),
    pytest.mark.usefixtures("routed"),
]


@pytest.fixture
def routed():
    # Outside a request a write pins the rest of the context (a command's run): each test
    # starts unpinned, whatever the tests before it wrote.
    token = dbrouter._pinned.set(False)
    with override_settings(DATABASE_ROUTERS=ROUTERS):
        yield
    dbrouter._pinned.reset(token)
    connections["replica"].close()  # or the test database cannot be dropped at the end


@pytest.fixture
def fresh_health(monkeypatch):
    """A replica health of its own (the module's is shared by the whole process)."""
    health = dbrouter.ReplicaHealth()
    monkeypatch.setattr(dbrouter, "health", health)
    yield health
    health.mark_down("test over")  # closes the probe's connections


def in_request(view, session=None, user=None, method="GET"):
    """Run `view()` as the body of a request through ReadAfterWriteMiddleware."""
    request = getattr(RequestFactory(), method.lower())("/")
    request.session = session if session is not None else SessionStore()
    request.user = user
    out = {}

    def get_response(req):
        out["value"] = view()
        return out["value"]

    dbrouter.ReadAfterWriteMiddleware(get_response)(request)
    return out["value"], request.session


def test_reads_go_to_the_replica_and_writes_to_the_primary():
    assert models.Building.objects.all().db == "replica"
    assert models.Building.objects.select_for_update().db == "default"
    assert (
        connections["replica"].settings_dict["NAME"] == connections["default"].settings_dict["NAME"]
    )


def test_a_read_after_a_write_in_the_same_request_sees_the_write(editor):
    spec = registry.get("buildings")
    building = models.Building.objects.order_by("pk").first()

    def edit_then_read():
        before = models.Building.objects.all().db
        obj = editing.lock(spec, building.pk)
        editing.update(obj, {"name": "主库读到的名字"}, editor)
        queryset = models.Building.objects.filter(pk=building.pk)
        text = encode.encode_feature(queryset, spec, ["name"])
        return before, queryset.db, text

    (before, after, text), _session = in_request(edit_then_read, user=editor)
    assert (before, after) == ("replica", "default")
    assert "主库读到的名字" in text
    # The replica's own connection cannot see the uncommitted edit: routing mattered.
    on_replica = models.Building.objects.using("replica").get(pk=building.pk)
    assert on_replica.name == building.name != "主库读到的名字"


def test_a_session_that_wrote_keeps_reading_the_primary(editor):
    def write():
        models.Building.objects.filter(pk=-1).update(name="x")  # a write statement
        return models.Building.objects.all().db

    assert in_request(write, user=editor)[0] == "default"
    _db, session = in_request(write, user=editor)
    assert session.get(dbrouter.SESSION_KEY)
    db_next, _ = in_request(lambda: models.Building.objects.all().db, session=session, user=editor)
    assert db_next == "default"
    fresh, _ = in_request(lambda: models.Building.objects.all().db, user=editor)
    assert fresh == "replica"
    # The pin ends with the request: the thread's next request starts unpinned (in a fresh
    # context: outside requests, e.g. in a command, a write pins the rest of the run).
    context = contextvars.Context()
    assert context.run(in_request, write, user=editor)[0] == "default"
    assert context.run(dbrouter.pinned) is False


def test_the_api_answers_reads_through_the_replica(client):
    response = client.get("/api/v1/viewpoints/")
    assert response.status_code == 200
    assert response.json()["count"] == models.CulturalViewpoint.objects.count() > 0


def test_only_the_layers_are_read_from_the_replica():
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session

    from layers.domain.models import ApiToken, Job

    assert models.Building.objects.all().db == models.SafetyHazard.objects.all().db == "replica"
    # Small, and must be current: who is signed in, with which token, which job is done.
    for model in (get_user_model(), Session, ApiToken, Job):
        assert model.objects.all().db == "default", model


def test_a_request_that_may_write_reads_from_the_primary_from_its_start(editor):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert in_request(lambda: models.Building.objects.all().db, method=method)[0] == "default"
    assert in_request(lambda: models.Building.objects.all().db, method="GET")[0] == "replica"
    # Reading is not writing: a GET pinned by an earlier write does not extend the pin.
    _db, session = in_request(lambda: models.Building.objects.filter(pk=-1).update(name="x"),
                              user=editor)  # fmt: skip
    until = session[dbrouter.SESSION_KEY]
    in_request(lambda: models.Building.objects.all().db, session=session, user=editor)
    assert session[dbrouter.SESSION_KEY] == until


def test_the_lag_is_probed_once_per_interval(fresh_health, settings):
    settings.REPLICA_LAG_CHECK_SECONDS = 3600
    queries = []
    real = fresh_health._query
    fresh_health._query = lambda alias, sql: queries.append(alias) or real(alias, sql)
    for _ in range(5):
        assert models.Building.objects.all().db == "replica"
    assert queries == ["default", "replica"]  # one probe: the primary's WAL, the replica's
    assert fresh_health.state()["lag_seconds"] == 0  # a test mirror is no standby
    settings.REPLICA_LAG_CHECK_SECONDS = 0
    models.Building.objects.all().db  # noqa: B018 (routing is the point)
    assert queries == ["default", "replica"] * 2


def test_an_unreachable_replica_sends_reads_to_the_primary(fresh_health, monkeypatch):
    from tests.servers import free_port

    monkeypatch.setitem(connections["replica"].settings_dict, "PORT", free_port())
    monkeypatch.setitem(connections["replica"].settings_dict, "HOST", "127.0.0.1")
    assert models.Building.objects.all().db == "default"
    state = fresh_health.state()
    assert state["serving_reads"] is False and state["detail"].startswith("unreachable")
