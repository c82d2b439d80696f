"""GET /metrics: Prometheus text format, for this machine or the holder of METRICS_TOKEN.

The request counters come from every gunicorn worker (geo_service/middleware/metrics.py); the
gauges below are read from the database at scrape time, so they are the same whichever worker
answers:

- `hehuachi_jobs{queue, status}`: rows of procrastinate's queue that are due and waiting
  (todo), scheduled for later (scheduled), running (doing) or failed;
- `hehuachi_jobs_oldest_waiting_seconds{queue}`: how long the oldest due job has waited;
- `hehuachi_job_worker_heartbeat_age_seconds`: since the freshest worker heartbeat (none: +Inf);
- `hehuachi_hazards_open`, `hehuachi_hazards_overdue`: live hazards not closed, and those of them
  past their deadline (SafetyHazard.overdue_q, the dashboard's definition).
"""

from __future__ import annotations

import math

from django.db import connection
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily

from geo_service.middleware.metrics import exposition, may_read_metrics
from layers.domain import clock
from layers.domain.models import SafetyHazard
from layers.domain.vocabularies import HAZARD_OPEN_STATUSES

JOB_STATES = ("todo", "scheduled", "doing", "failed")


class DatabaseCollector:
    """Gauges computed from the database when Prometheus scrapes."""

    def collect(self):
        now = clock.now()  # the service's clock (SERVICE_CLOCK_OFFSET moves it)
        jobs = GaugeMetricFamily(
            "hehuachi_jobs", "Background jobs by queue and state.", labels=["queue", "status"]
        )
        oldest = GaugeMetricFamily(
            "hehuachi_jobs_oldest_waiting_seconds",
            "Age of the oldest due job still waiting for a worker, by queue.",
            labels=["queue"],
        )
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT j.queue_name,
                       CASE WHEN j.status = 'todo' AND j.scheduled_at > %(now)s
                            THEN 'scheduled' ELSE j.status::text END AS state,
                       count(*),
                       max(EXTRACT(EPOCH FROM %(now)s - GREATEST(j.scheduled_at, e.at)))
                FROM procrastinate_jobs j
                LEFT JOIN LATERAL (
                    SELECT min(at) AS at FROM procrastinate_events
                    WHERE job_id = j.id AND type = 'deferred'
                ) e ON true
                WHERE j.status IN ('todo', 'doing', 'failed')
                GROUP BY 1, 2
                """,
                {"now": now},
            )
            rows = cursor.fetchall()
            cursor.execute(
                "SELECT EXTRACT(EPOCH FROM %s - max(last_heartbeat)) FROM procrastinate_workers",
                [now],
            )
            heartbeat = cursor.fetchone()[0]
        seen = set()
        for queue, state, count, age in rows:
            jobs.add_metric([queue, state], count)
            seen.add((queue, state))
            if state == "todo":
                oldest.add_metric([queue], max(float(age or 0), 0.0))
        for queue in {q for q, _ in seen} | {"jobs"}:
            for state in JOB_STATES:
                if (queue, state) not in seen:
                    jobs.add_metric([queue, state], 0)
            if (queue, "todo") not in seen:
                oldest.add_metric([queue], 0)
        yield jobs
        yield oldest
        yield GaugeMetricFamily(
            "hehuachi_job_worker_heartbeat_age_seconds",
            "Seconds since the freshest job worker heartbeat (+Inf: no worker).",
            value=math.inf if heartbeat is None else max(float(heartbeat), 0.0),
        )
        hazards = SafetyHazard.objects.filter(status__in=HAZARD_OPEN_STATUSES)
        yield GaugeMetricFamily(
            "hehuachi_hazards_open", "Live hazards not yet closed.", value=hazards.count()
        )
        yield GaugeMetricFamily(
            "hehuachi_hazards_overdue",
            "Open hazards past their deadline (挂账).",
            value=SafetyHazard.objects.filter(SafetyHazard.overdue_q()).count(),
        )


@csrf_exempt
@require_safe
def metrics(request):
    if not may_read_metrics(request):
        response = HttpResponse(
            "Metrics are for this machine or the holder of the metrics token.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = "Bearer"
        return response
    response = HttpResponse(exposition(DatabaseCollector()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
