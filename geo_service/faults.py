"""The database going away (restart, failover, network) is an outage, not a bug: every
request that meets it is answered 503 with Retry-After and a short body, never a 500 or a
traceback, and the next request after PostgreSQL is back works again without a restart
(CONN_HEALTH_CHECKS drops the dead connection; Django opens a new one).
"""

from __future__ import annotations

import contextlib
import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import JsonResponse

log = logging.getLogger("geo_service.middleware.faults")

UNAVAILABLE = (OperationalError, InterfaceError)


def is_outage(exc: BaseException | None) -> bool:
    """A lost or refused database connection (also when wrapped by another exception)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, UNAVAILABLE):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def unavailable(request=None) -> JsonResponse:
    """503 for every channel (JSON: machine clients and the browser's fetch() both read it)."""
    for connection in connections.all(initialized_only=True):
        # Drop the broken connection now so the next request starts a new one.
        with contextlib.suppress(Exception):  # closing a dead socket may fail; it is gone anyway
            connection.close()
    response = JsonResponse(
        {"detail": "The service is temporarily unavailable; try again shortly."}, status=503
    )
    response["Retry-After"] = str(settings.DB_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database outage met by a view into 503 + Retry-After (the 500 handler,
    geo_service.middleware.errors.server_error, does the same for one met by a middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_outage(exception):
            log.warning(
                "database unavailable: %s %s: %s",
                request.method,
                request.path,
                type(exception).__name__,
            )
            return unavailable(request)
        return None
