"""Probes for the orchestrator and the proxy.

/healthz: the process answers (touches nothing else), for liveness.
/readyz: the database and PostGIS answer, every migration is applied and the job worker was
seen recently (or none is configured): 200 when ready, else 503 with the failing check. With a
read replica, its lag (a warning when reads go to the primary: slower, not unready). The
app adds its own checks through settings.READY_CHECKS (dotted paths of functions returning
{"ok": bool, ...}; a "warning" key is reported without failing), so this module imports
nothing of the app's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from geo_service.middleware.faults import UNAVAILABLE


def _answer(body: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_safe
def healthz(request):
    return _answer({"status": "ok"})


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT postgis_lib_version()")
        return {"ok": True, "postgis": cursor.fetchone()[0]}


def _migrations() -> dict:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = [f"{m.app_label}.{m.name}" for m, _backwards in plan]
    return {"ok": not pending, "pending": pending}


def _worker() -> dict:
    """The job worker's last heartbeat (procrastinate's table), when a job engine is installed."""
    tables = set(connection.introspection.table_names())
    if "procrastinate_workers" not in tables:
        return {"ok": True, "detail": "no worker configured"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM now() - max(last_heartbeat)) FROM procrastinate_workers"
        )
        age = cursor.fetchone()[0]
    limit = settings.READY_WORKER_MAX_AGE
    if age is None:
        return {"ok": False, "detail": "no worker has ever started"}
    return {"ok": float(age) <= limit, "last_seen_seconds": round(float(age), 1), "limit": limit}


def _replica() -> dict:
    """The read replica's lag, freshly probed (reads go to the primary while it is unfit: the
    service is still ready, and says so)."""
    from geo_service.middleware.dbrouter import health

    state = health.probe()
    if not state["serving_reads"]:
        state["warning"] = f"reads go to the primary: replica {state['detail']}"
    return {"ok": True, **state}


@csrf_exempt
@require_safe
def readyz(request):
    checks: dict[str, dict] = {}
    try:
        checks["database"] = _database()
        checks["migrations"] = _migrations()
        checks["worker"] = _worker()
        if "geo_service.middleware.dbrouter.PrimaryReplicaRouter" in settings.DATABASE_ROUTERS:
            checks["replica"] = _replica()
        for path in getattr(settings, "READY_CHECKS", ()):
            checks[path.rsplit(".", 2)[-2]] = import_string(path)()
    except UNAVAILABLE as exc:
        checks["database"] = {"ok": False, "detail": type(exc).__name__}
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    warnings = [f"{name}: {c['warning']}" for name, c in checks.items() if c.get("warning")]
    if warnings:
        body["warnings"] = warnings
    response = _answer(body, 200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(settings.DB_RETRY_AFTER)
    return response
