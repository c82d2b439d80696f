"""procrastinate tasks (found by procrastinate.contrib.django's autodiscovery of `tasks`).

One task runs every kind of job (layers/jobs/engine.py); a periodic task retries the jobs of workers
that stopped sending heartbeats (killed, or their machine lost), procrastinate's own recipe.
Another delivers signed webhooks (with retries), one sends text messages (retried the same
way), a periodic one runs the hazard loop's reminder pass (hazards and unanswered public
reports), another erases reporters' contacts once their time is up (docs/REPORTS.md), and
one rebuilds the low zooms' generalized buildings when the database queues it.
"""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from layers.jobs import engine as jobs
from layers.jobs.kinds import maintenance
from layers.services import notifications, reminders, reports, sms, webhooks

log = logging.getLogger(__name__)


@app.task(name=jobs.RUN_TASK, queue=jobs.QUEUE, pass_context=True)
def run_job(context, job_id: int) -> None:
    jobs.execute(job_id, context.job.id)


@app.task(name="layers.generalize_buildings", queue=jobs.QUEUE)
def generalize_buildings() -> None:
    """The low zooms' generalized buildings, rebuilt after buildings changed. Queued by the
    database itself, once per burst of writes (migration 0018: the buildings' generation
    counter, a queueing lock and a short delay)."""
    job = maintenance.generalize_when_stale()
    if job is not None:
        log.info("generalize_buildings: job %s %s", job.pk, job.status)


@app.task(
    name="layers.deliver_webhook",
    queue=jobs.QUEUE,
    retry=RetryStrategy(
        max_attempts=5, exponential_wait=10, retry_exceptions={webhooks.DeliveryFailed}
    ),
)
def deliver_webhook(delivery_id: int) -> None:
    """One signed POST of a notice (layers/services/webhooks.py); a failure is retried with
    growing waits (10 s, 20 s, 40 s, …)."""
    webhooks.deliver(delivery_id)


# The notification service queues its deliveries through this task (it imports no job code).
notifications.register_webhook_dispatcher(lambda pk: deliver_webhook.defer(delivery_id=pk))


@app.task(
    name="layers.send_sms",
    queue=jobs.QUEUE,
    retry=RetryStrategy(max_attempts=5, exponential_wait=10, retry_exceptions={sms.SendFailed}),
)
def send_sms(key: str) -> None:
    """One text message through the SMS gateway (layers/services/sms.py); its text and number
    are read when it is sent; a refusal is retried with growing waits like a webhook."""
    sms.send(key)


notifications.register_sms_dispatcher(lambda key: send_sms.defer(key=key))


@app.periodic(cron="*/10 * * * *", periodic_id="remind")
@app.task(name="layers.remind", queue=jobs.QUEUE, queueing_lock="remind")
def remind(timestamp: int) -> None:
    """The reminder pass (layers/services/reminders.py), every ten minutes; its notices are
    keyed, so running it often sends nothing twice."""
    for line in reminders.run():
        log.info("remind: %s", line)


@app.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
@app.task(name="layers.retry_stalled_jobs", queue=jobs.QUEUE, queueing_lock="retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> None:
    """Jobs left `doing` by workers with no heartbeat for 30 s are queued again; the work
    folders that killed attempts left behind are removed."""
    for stalled in await app.job_manager.get_stalled_jobs(task_name="layers.run_job"):
        log.warning("retrying stalled procrastinate job %s", stalled.id)
        await app.job_manager.retry_job(stalled)
    await sync_to_async(jobs.sweep_workdirs)()


@app.periodic(cron="17 3 * * *", periodic_id="purge_idempotency_keys")
@app.task(name="layers.purge_idempotency_keys", queue=jobs.QUEUE, queueing_lock="purge_keys")
def purge_idempotency_keys(timestamp: int) -> None:
    """Every night: forget the Idempotency-Keys older than IDEMPOTENCY_KEY_DAYS."""
    from layers.services import idempotency

    log.info("purged %d idempotency keys", idempotency.purge())


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
