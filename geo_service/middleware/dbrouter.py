"""Reads to a streaming replica, writes (and the reads that follow a write) to the primary.

Enabled when REPLICA_DATABASE_URL is set (settings): DATABASES["replica"] is then the replica
and this router is in DATABASE_ROUTERS. A request that writes reads from the primary from that
moment on; a signed-in session that wrote keeps reading from the primary for
REPLICA_PIN_SECONDS (longer than the replica's lag), so a user always sees their own edit.
Tests run it with the replica as a second alias of the same server (TEST MIRROR = "default").
"""

from __future__ import annotations

import contextvars
import time

from django.conf import settings

PRIMARY = "default"
REPLICA = "replica"
SESSION_KEY = "_read_primary_until"

# Per request (gthread workers reuse threads: the middleware sets and resets it each time).
_pinned = contextvars.ContextVar("read_from_primary", default=False)


def pinned() -> bool:
    return _pinned.get()


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return PRIMARY if _pinned.get() else REPLICA

    def db_for_write(self, model, **hints):
        _pinned.set(True)  # every read after this one, in this request, sees the write
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two doors

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class ReadAfterWriteMiddleware:
    """Pins a request to the primary when its session wrote recently; remembers a write."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        until = session.get(SESSION_KEY, 0) if session is not None else 0
        token = _pinned.set(isinstance(until, (int, float)) and time.time() < until)
        try:
            response = self.get_response(request)
            user = getattr(request, "user", None)
            if _pinned.get() and session is not None and getattr(user, "is_authenticated", False):
                session[SESSION_KEY] = time.time() + settings.REPLICA_PIN_SECONDS
            return response
        finally:
            _pinned.reset(token)
