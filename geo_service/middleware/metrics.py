"""Prometheus metrics of the requests (docs/OPERATIONS.md, "Metrics").

- `hehuachi_http_requests_total{route, method, status}`: every answer, by the URL pattern's
  name (`ogc:items`, `tile`, `home`; "static", "media", or "unmatched" for a 404 no pattern
  took), never the raw path, so that the series stay few;
- `hehuachi_http_request_duration_seconds{route}`: a latency histogram (until the response
  object is ready; a streamed body's transfer is not counted);
- `hehuachi_tile_cache_requests_total{result="hit"|"miss"}`: counted by layers/query/tilecache.py.

gunicorn runs several worker processes: geo_service/gunicorn.conf.py points
PROMETHEUS_MULTIPROC_DIR at a fresh folder before the app is imported, so every worker writes
its counters there and a scrape of any worker reads them all (prometheus_client's multiprocess
mode). Without it (runserver, tests) the process's own registry is used.

The endpoint itself (`/metrics`, with the database gauges computed at scrape time) is
layers/channels/metrics/views.py; who may read it is `may_read_metrics` below: this machine
without a proxy in between, or anyone with `Authorization: Bearer <METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.registry import REGISTRY

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "hehuachi_http_requests_total",
    "HTTP answers by route (URL pattern name), method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "hehuachi_http_request_duration_seconds",
    "Time to answer (until the response is ready), by route.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
TILE_CACHE = Counter(
    "hehuachi_tile_cache_requests_total",
    "Vector tile cache look-ups by result (hit or miss).",
    ["result"],
)
# Headers a proxy adds: with any of them the socket's address is the proxy's, not the caller's.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or "unnamed"
    path = request.path_info
    if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    if path.startswith("/" + settings.MEDIA_URL.lstrip("/")):
        return "media"
    return "unmatched"


class MetricsMiddleware:
    """Outermost: counts and times every answer, those of the other middleware included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        LATENCY.labels(route).observe(time.perf_counter() - started)
        return response


def count_tile_cache(hit: bool) -> None:
    TILE_CACHE.labels("hit" if hit else "miss").inc()


def may_read_metrics(request) -> bool:
    """A caller on this machine talking to us directly, or the holder of METRICS_TOKEN."""
    token = getattr(settings, "METRICS_TOKEN", "") or ""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    if token and scheme.lower() == "bearer":
        return hmac.compare_digest(given.strip().encode(), token.encode())
    if any(request.META.get(name) for name in FORWARDING_HEADERS):
        return False  # through a proxy: the socket address says nothing about the caller
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def exposition(*extra_collectors) -> bytes:
    """The text format of every process's request metrics plus `extra_collectors`."""
    registry = CollectorRegistry()
    for collector in extra_collectors:
        registry.register(collector)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY) + generate_latest(registry)
