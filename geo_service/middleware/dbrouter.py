"""Reads of the map layers to a streaming replica; writes, and the reads that must see them, to
the primary.

Enabled when REPLICA_DATABASE_URL is set (settings): DATABASES["replica"] is then the replica
and this router is in DATABASE_ROUTERS. What goes where:
- Only models that declare `replica_reads = True` (the layer features, layers/domain/models/
  base.py) are read from the replica: the heavy reads (pages, tiles, OGC, search). Sessions,
  users, tokens, jobs and idempotency keys are small and must be current: the primary.
- A request that may write (any method but GET, HEAD, OPTIONS) reads from the primary from its
  start; any request reads from the primary from its first write on; a signed-in session that
  wrote keeps reading from the primary for REPLICA_PIN_SECONDS, so a user sees their own edit.
- The replica's lag is probed at most every REPLICA_LAG_CHECK_SECONDS per process (one query
  on the primary and one on the replica, on connections of the probe's own); above
  REPLICA_MAX_LAG_SECONDS, or when the replica does not answer or does not stream, reads go to
  the primary until a later probe finds it fit again. /readyz reports it
  (geo_service/middleware/health.py).
- A read that meets a dead replica (stopped since the last probe) marks it down, and the
  request, if it is a GET or HEAD, is served again from the primary: no 5xx.
Tests run the router with the replica as a second alias of the same server (TEST MIRROR =
"default", tests/test_dbrouter.py) and against a real streaming replica (tests/test_replica.py).
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import logging
import math
import os
import threading
import time

from django.conf import settings
from django.db import connections

from geo_service.middleware.faults import is_outage

PRIMARY = "default"
REPLICA = "replica"
SESSION_KEY = "_read_primary_until"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

log = logging.getLogger("geo_service.middleware.dbrouter")

# Per request (gthread workers reuse threads: the middleware sets and resets them each time).
_pinned = contextvars.ContextVar("read_from_primary", default=False)
_wrote = contextvars.ContextVar("wrote", default=False)
_used_replica = contextvars.ContextVar("read_from_replica", default=False)

# How far behind the replica is, from WAL positions (bytes since the cluster began): the
# primary's flushed WAL is sampled at every probe, and the replica's lag is the time since the
# newest sample it has replayed. (Comparing the replica's received and replayed positions
# alone, the common recipe, reports the time since the last commit whenever a record that is
# no commit, such as a page pruned by a read, is still half-received: seconds of false lag on a
# quiet primary.)
PRIMARY_SQL = "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint"
REPLICA_SQL = """
SELECT pg_is_in_recovery(),
       pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint,
       (SELECT status FROM pg_stat_wal_receiver)
"""


def pinned() -> bool:
    return _pinned.get()


class ReplicaHealth:
    """The replica's state as last probed, shared by the threads of one process."""

    def __init__(self):
        self._lock = threading.RLock()
        self._connections: dict[str, object] = {}  # alias -> the probe's own connection
        self._pid = None  # the process that opened them (gunicorn forks its workers)
        self._samples: collections.deque = collections.deque()  # (monotonic time, primary LSN)
        self.checked_at = -math.inf  # time.monotonic() of the last probe
        self.lag: float | None = None  # seconds; None: unknown (down, not streaming)
        self.detail = "not probed yet"

    def usable(self) -> bool:
        """Whether reads may go to the replica now (probing first if the last probe is old;
        a thread that finds another probing goes by the last result)."""
        stale = time.monotonic() - self.checked_at >= settings.REPLICA_LAG_CHECK_SECONDS
        if stale and self._lock.acquire(blocking=False):
            try:
                self._probe()
            finally:
                self._lock.release()
        return self.fit()

    def fit(self) -> bool:
        return self.lag is not None and self.lag <= settings.REPLICA_MAX_LAG_SECONDS

    def probe(self) -> dict:
        """A fresh probe (for /readyz), then the state."""
        with self._lock:
            self._probe()
        return self.state()

    def state(self) -> dict:
        return {
            "serving_reads": self.fit(),
            "lag_seconds": None if self.lag is None else round(self.lag, 3),
            "max_lag_seconds": settings.REPLICA_MAX_LAG_SECONDS,
            "detail": self.detail,
        }

    def mark_down(self, reason: str) -> None:
        self.lag, self.detail, self.checked_at = None, reason, time.monotonic()
        with self._lock:
            self._close()

    def _probe(self) -> None:
        if self._pid != os.getpid():  # forked copies of the parent's sockets: never used
            self._connections, self._pid = {}, os.getpid()
            self._samples.clear()
        try:
            flushed = self._query(PRIMARY, PRIMARY_SQL)[0]
            sampled = time.monotonic()
            recovering, replayed, receiver = self._query(REPLICA, REPLICA_SQL)
        except Exception as exc:  # noqa: BLE001 (any failure means: do not read there)
            self.mark_down(f"unreachable: {type(exc).__name__}")
            return
        self.checked_at = time.monotonic()
        self._samples.append((sampled, flushed))
        horizon = sampled - max(60.0, 2 * settings.REPLICA_MAX_LAG_SECONDS)
        while len(self._samples) > 1 and self._samples[0][0] < horizon:
            self._samples.popleft()
        if not recovering:
            self.lag, self.detail = 0.0, "not in recovery (a primary)"
            return
        if receiver != "streaming":
            self.lag, self.detail = None, f"not streaming from the primary ({receiver or 'none'})"
            return
        reached = [at for at, position in self._samples if position <= replayed]
        if reached:
            self.lag = max(0.0, self.checked_at - max(reached))
        else:  # behind every sample kept: at least as old as the oldest
            self.lag = self.checked_at - self._samples[0][0]
        over = self.lag > settings.REPLICA_MAX_LAG_SECONDS
        self.detail = "lag above the limit: reads go to the primary" if over else "streaming"

    def _query(self, alias: str, sql: str) -> tuple:
        connection = self._connections.get(alias)
        if connection is None or connection.closed:
            connection = self._connections[alias] = self._connect(alias)
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()

    def _connect(self, alias: str):
        import psycopg

        db = connections[alias].settings_dict
        options = {
            key: value
            for key, value in db["OPTIONS"].items()
            if key not in ("pool", "server_side_binding", "isolation_level", "assume_role")
        }
        params = {"dbname": db["NAME"], "user": db["USER"], "password": db["PASSWORD"]}
        params |= {"host": db["HOST"], "port": db["PORT"]}
        return psycopg.connect(
            **{k: v for k, v in params.items() if v},
            **options,
            connect_timeout=settings.REPLICA_CONNECT_TIMEOUT,
            application_name="hehuachi-replica-probe",
            autocommit=True,
        )

    def _close(self) -> None:
        found, self._connections = self._connections, {}
        for connection in found.values():
            with contextlib.suppress(Exception):  # a dead connection is gone anyway
                connection.close()


health = ReplicaHealth()


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        if _pinned.get() or not getattr(model, "replica_reads", False) or not health.usable():
            return PRIMARY
        _used_replica.set(True)
        return REPLICA

    def db_for_write(self, model, **hints):
        _pinned.set(True)  # every read after this one, in this request, sees the write
        _wrote.set(True)
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two doors

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class ReadAfterWriteMiddleware:
    """Pins a request to the primary when it may write or its session wrote recently;
    remembers a write; serves a read again from the primary when the replica died under it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        until = session.get(SESSION_KEY, 0) if session is not None else 0
        recent = isinstance(until, (int, float)) and time.time() < until
        token = _pinned.set(recent or request.method not in SAFE_METHODS)
        wrote = _wrote.set(False)
        used = _used_replica.set(False)
        try:
            response = self.get_response(request)
            if getattr(request, "_replica_outage", False) and request.method in ("GET", "HEAD"):
                # health.mark_down() sends this and every later read to the primary.
                request._replica_outage = False
                _used_replica.set(False)
                response = self.get_response(request)
            user = getattr(request, "user", None)
            if _wrote.get() and session is not None and getattr(user, "is_authenticated", False):
                session[SESSION_KEY] = time.time() + settings.REPLICA_PIN_SECONDS
            return response
        finally:
            _used_replica.reset(used)
            _wrote.reset(wrote)
            _pinned.reset(token)

    def process_exception(self, request, exception):
        """A database outage met by a view that read from the replica: mark it down and let
        __call__ serve the request again (DatabaseUnavailableMiddleware answers meanwhile)."""
        if _used_replica.get() and is_outage(exception):
            log.warning("replica unavailable: %s %s", request.method, request.path)
            health.mark_down(f"unreachable: {type(exception).__name__}")
            request._replica_outage = True
        return None
