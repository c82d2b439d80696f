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
    with override_settings(DATABASE_ROUTERS=ROUTERS):
        yield
    connections["replica"].close()  # or the test database cannot be dropped at the end


def in_request(view, session=None, user=None):
    """Run `view()` as the body of a request through ReadAfterWriteMiddleware."""
    request = RequestFactory().get("/")
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
