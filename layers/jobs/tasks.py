"""procrastinate tasks (found by procrastinate.contrib.django's autodiscovery of `tasks`).

One task runs every kind of job (layers/jobs/engine.py); a periodic task retries the jobs of workers
that stopped sending heartbeats (killed, or their machine lost), procrastinate's own recipe;
another erases reporters' contacts once their time is up (public reports, docs/REPORTS.md).
"""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from procrastinate.contrib.django import app

from layers.jobs import engine as jobs
from layers.services import reports

log = logging.getLogger(__name__)


@app.task(name=jobs.RUN_TASK, queue=jobs.QUEUE, pass_context=True)
def run_job(context, job_id: int) -> None:
    jobs.execute(job_id, context.job.id)


@app.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
@app.task(name="layers.retry_stalled_jobs", queue=jobs.QUEUE, queueing_lock="retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> None:
    """Jobs left `doing` by workers with no heartbeat for 30 s are queued again; the work
    folders that killed attempts left behind are removed."""
    for stalled in await app.job_manager.get_stalled_jobs(task_name="layers.run_job"):
        log.warning("retrying stalled procrastinate job %s", stalled.id)
        await app.job_manager.retry_job(stalled)
    await sync_to_async(jobs.sweep_workdirs)()


@app.periodic(cron="17 3 * * *", periodic_id="erase_report_contacts")
@app.task(
    name="layers.erase_report_contacts", queue=jobs.QUEUE, queueing_lock="erase_report_contacts"
)
def erase_report_contacts(timestamp: int) -> None:
    """Daily: reporters' contacts are erased REPORT_CONTACT_RETENTION_DAYS after their report
    closed (docs/REPORTS.md); `manage.py erase_report_contacts` does the same by hand."""
    erased = reports.erase_expired_contacts()
    if erased:
        log.info("erased the contacts of %s closed reports", erased)
