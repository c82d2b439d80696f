"""Prometheus metrics (/metrics): who may read them, and the series they carry."""

from __future__ import annotations

import urllib.request

import pytest
from django.db import connection
from django.db.models import Q
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from layers.domain import models, registry
from layers.domain.vocabularies import HAZARD_OPEN_STATUSES
from tests.test_tiles import tile_of

pytestmark = pytest.mark.django_db

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}
OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(client, **meta) -> str:
    response = client.get("/metrics", **{**LOCAL, **meta})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"] == "no-store"
    return response.content.decode()


# -- who may read ------------------------------------------------------------------------------
def test_a_caller_from_elsewhere_without_the_token_is_refused(client):
    response = client.get("/metrics", **OUTSIDE)
    assert response.status_code == 403
    assert b"hehuachi_" not in response.content
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_local_address_behind_a_proxy_is_not_local(client):
    """Behind a proxy on this machine every request comes from 127.0.0.1: a forwarding header
    means the caller is someone else."""
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"):
        response = client.get("/metrics", **LOCAL, **{header: "203.0.113.9"})
        assert response.status_code == 403, header
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


def test_the_metrics_token_opens_it_from_anywhere_and_a_wrong_one_does_not(client, settings):
    settings.METRICS_TOKEN = "m" * 40
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "m" * 40, **OUTSIDE)
    assert ok.status_code == 200 and b"hehuachi_http_requests_total" in ok.content
    for wrong in ("Bearer " + "m" * 39, "Bearer " + "m" * 41, "Bearer ", "Basic bTptbW0="):
        assert client.get("/metrics", HTTP_AUTHORIZATION=wrong, **OUTSIDE).status_code == 403
    # A wrong token is refused on this machine too (it says who it is, and it is wrong).
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope", **LOCAL).status_code == 403


def test_without_a_token_configured_no_bearer_opens_it(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ", **OUTSIDE).status_code == 403


def test_only_reads(client):
    assert client.post("/metrics", **LOCAL).status_code == 405


# -- what it says ------------------------------------------------------------------------------
def test_requests_are_counted_by_route_name_and_status_with_latency(client):
    before = scrape(client)
    for _ in range(3):
        assert client.get("/ogc/collections").status_code == 200
    assert client.get("/ogc/collections/no-such-layer").status_code == 404
    assert client.get("/no/such/page/").status_code == 404
    after = scrape(client)
    counter = "hehuachi_http_requests_total"
    ok = {"route": "ogc:collections", "method": "GET", "status": "200"}
    assert value(after, counter, **ok) - value(before, counter, **ok) == 3
    missing = {"route": "ogc:collection", "method": "GET", "status": "404"}
    assert value(after, counter, **missing) - value(before, counter, **missing) == 1
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, counter, **unmatched) - value(before, counter, **unmatched) == 1
    # Routes are pattern names, never raw paths.
    routes = {dict(labels).get("route") for name, labels in samples(after) if name == counter}
    assert not any(route and "/" in route for route in routes), routes
    histogram = "hehuachi_http_request_duration_seconds"
    count = value(after, histogram + "_count", route="ogc:collections")
    assert count - value(before, histogram + "_count", route="ogc:collections") == 3
    assert value(after, histogram + "_bucket", route="ogc:collections", le="+Inf") == count
    assert value(after, histogram + "_sum", route="ogc:collections") > 0


def test_tile_cache_hits_and_misses(client):
    spec = registry.get("viewpoints")  # public: no sign-in
    assert spec.is_public
    point = spec.model.objects.order_by("pk").first().geom.point_on_surface
    z = 16
    x, y = tile_of(point.x, point.y, z)
    before = scrape(client)
    url = f"/tiles/viewpoints/{z}/{x}/{y}.pbf"
    from django.core.cache import caches

    caches["tiles"].clear()
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    after = scrape(client)
    name = "hehuachi_tile_cache_requests_total"
    assert value(after, name, result="miss") - value(before, name, result="miss") == 1
    assert value(after, name, result="hit") - value(before, name, result="hit") == 1


def test_overdue_hazards_follow_the_service_clock(client):
    hazards = models.SafetyHazard.objects
    now = scrape(client)
    assert (
        value(now, "hehuachi_hazards_overdue")
        == hazards.filter(models.SafetyHazard.overdue_q()).count()
    )
    open_with_deadline = (
        hazards.filter(status__in=HAZARD_OPEN_STATUSES)
        .filter(Q(deadline__isnull=False) | Q(due_date__isnull=False))
        .count()
    )
    assert value(now, "hehuachi_hazards_open") >= open_with_deadline
    with override_settings(SERVICE_CLOCK_OFFSET="1100d"):  # the service's clock, 3 years on
        in_three_years = scrape(client)
    assert value(in_three_years, "hehuachi_hazards_overdue") == open_with_deadline
    assert open_with_deadline > value(now, "hehuachi_hazards_overdue")


def test_job_queue_depth_and_age(client):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args) "
            "VALUES ('metrics-test', 'layers.tasks.nothing', '{}'), "
            "('metrics-test', 'layers.tasks.nothing', '{}')"
        )
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, scheduled_at) "
            "VALUES ('metrics-test', 'layers.tasks.nothing', '{}', now() + interval '1 day')"
        )
    text = scrape(client)
    assert value(text, "hehuachi_jobs", queue="metrics-test", status="todo") == 2
    assert value(text, "hehuachi_jobs", queue="metrics-test", status="scheduled") == 1
    assert ("hehuachi_jobs", frozenset({"queue": "jobs", "status": "failed"}.items())) in samples(
        text
    )
    # An hour later (the service's clock moved) the oldest due job has waited an hour.
    with override_settings(SERVICE_CLOCK_OFFSET="1h"):
        later = scrape(client)
    age = value(later, "hehuachi_jobs_oldest_waiting_seconds", queue="metrics-test")
    assert 3600 - 120 < age < 3600 + 120
    assert "hehuachi_job_worker_heartbeat_age_seconds" in later


# -- the real server: several gunicorn workers, one view of the counts --------------------------
@pytest.mark.slow
def test_every_worker_counts_into_one_scrape(live_app):
    def read() -> str:
        with urllib.request.urlopen(live_app + "/metrics", timeout=30) as response:  # noqa: S310
            return response.read().decode()

    labels = {"route": "ogc:conformance", "method": "GET", "status": "200"}
    before = value(read(), "hehuachi_http_requests_total", **labels)
    for _ in range(12):  # new connections: spread over the workers
        with urllib.request.urlopen(live_app + "/ogc/conformance", timeout=30) as response:  # noqa: S310
            assert response.status == 200
    counts = {value(read(), "hehuachi_http_requests_total", **labels) for _ in range(4)}
    assert counts == {before + 12}
