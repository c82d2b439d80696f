"""Background jobs: a registry of job kinds run by procrastinate workers, with progress.

A job kind is a function registered under a name:

    @register("render_map", validate=clean_params)
    def render(job, params, progress) -> (report, output_path | None): ...

- `validate(params, user) -> params` checks the client's values before anything is queued
  (raise `layers.query.params.ParamError` naming the parameter: the caller answers 400).
- `progress(done=, total=, read=, written=, refused=, message=)` updates the job's row, at most
  every JOB_PROGRESS_INTERVAL seconds (the last call is always written). It writes through its
  own database connection, so the page sees progress while the job's writes are still in
  their transaction.
- The function runs inside ONE transaction: a job that fails, or a worker killed mid-job,
  leaves the database as it was.
- A kind that refuses its input for good raises `JobRefused(reason, report)`: the job fails
  with that reason and still keeps the report (e.g. an import's bad rows).
- It writes its files under `job.workdir` (a fresh folder per attempt, removed afterwards and
  again at the next attempt, so a killed worker's temporary files do not stay). The output
  it returns is moved into private storage in one rename: never a half-written output.

`start_job(kind, user, params)` records the job and defers the procrastinate task
`layers.jobs.tasks.run_job` when the transaction commits. `retry(job)` runs a failed job, or one
whose worker died, again; procrastinate's stalled-job check (layers/jobs/tasks.py) retries jobs of
workers that stopped sending heartbeats.
"""

from __future__ import annotations

import logging
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django import app as procrastinate_app

from layers.domain import roles
from layers.domain.models import Job
from layers.query.params import ParamError

log = logging.getLogger(__name__)

# A running job whose row was not updated for this long is taken for one whose worker died.
STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class Kind:
    name: str
    run: Callable
    validate: Callable | None
    title: tuple[str, str]


KINDS: dict[str, Kind] = {}


def register(kind: str, *, validate: Callable | None = None, title: tuple[str, str] = ("", "")):
    """Decorator: register `fn(job, params, progress) -> (report, output_path | None)`."""

    def decorate(fn):
        if kind in KINDS:
            raise ValueError(f"job kind {kind!r} registered twice")
        KINDS[kind] = Kind(kind, fn, validate, title if title[0] else (kind, kind))
        return fn

    return decorate


def get_kind(name: str) -> Kind:
    if name not in KINDS:
        raise ParamError("kind", f"unknown job kind {name!r}; known: {sorted(KINDS)}")
    return KINDS[name]


def jobs_root() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / "jobs"


def job_dir(job: Job) -> Path:
    return jobs_root() / str(job.pk)


def workdir(job: Job) -> Path:
    return job_dir(job) / "tmp"


def output_path(job: Job) -> Path | None:
    return jobs_root() / job.output if job.output else None


def start_job(kind: str, user, params: dict) -> Job:
    """Check `params`, record a queued job and defer it to a worker (on commit)."""
    spec = get_kind(kind)
    if not isinstance(params, dict):
        raise ParamError("params", "expected an object")
    cleaned = spec.validate(params, user) if spec.validate else params
    job = Job.objects.create(kind=kind, params=cleaned, user=user if user else None)
    _defer(job)
    return job


# The procrastinate task that runs every kind (layers/jobs/tasks.py), named, not imported: the
# tasks module imports this engine.
RUN_TASK = "layers.run_job"
QUEUE = "jobs"


def _defer(job: Job) -> None:
    def defer():
        task_id = procrastinate_app.configure_task(RUN_TASK, queue=QUEUE).defer(job_id=job.pk)
        Job.objects.filter(pk=job.pk).update(task_id=task_id)
        job.task_id = task_id

    transaction.on_commit(defer)


def can_retry(job: Job) -> bool:
    if job.status == Job.FAILED:
        return True
    # A running job nobody updated for a while: its worker died.
    return job.status == Job.RUNNING and timezone.now() - job.updated_at > STALE_AFTER


def retry(job: Job, *, force: bool = False) -> Job:
    """Queue `job` again: a failed one, or a running one whose worker died (`force` skips the
    staleness check, for an operator who knows the worker is gone)."""
    if not (force or can_retry(job)):
        raise ParamError("job", f"job {job.pk} is {job.status}; only a failed or stalled job")
    Job.objects.filter(pk=job.pk).update(status=Job.QUEUED, error="", updated_at=timezone.now())
    job.refresh_from_db()
    _defer(job)
    return job


class JobRefused(Exception):
    """A job's definitive refusal (e.g. an import with a bad row): the job ends FAILED with
    this reason, and `execute` still stores `report` (what was refused, row by row)."""

    def __init__(self, reason: str, report: dict | None = None):
        super().__init__(reason)
        self.report = report


class Progress:
    """The `progress` callable handed to a job: throttled writes through a side connection."""

    FIELDS = {"done": "done", "total": "total", "read": "rows_read"}
    FIELDS |= {"written": "rows_written", "refused": "rows_refused", "message": "message"}

    def __init__(self, job: Job, interval: float | None = None):
        self.job = job
        self.interval = settings.JOB_PROGRESS_INTERVAL if interval is None else interval
        self.pending: dict[str, object] = {}
        self.last: float | None = None  # the first call is always written
        self._conn = None

    def __call__(self, *, force: bool = False, **values) -> None:
        unknown = set(values) - set(self.FIELDS)
        if unknown:
            raise TypeError(f"unknown progress value(s) {sorted(unknown)}")
        for key, value in values.items():
            if key == "message":
                value = str(value)[:200]
            self.pending[self.FIELDS[key]] = value
            setattr(self.job, self.FIELDS[key], value)
        now = time.monotonic()
        if force or self.last is None or now - self.last >= self.interval:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        columns = ", ".join(f"{name} = %s" for name in self.pending)
        values = [*self.pending.values(), timezone.now(), self.job.pk]
        sql = f"UPDATE {Job._meta.db_table} SET {columns}, updated_at = %s WHERE id = %s"  # noqa: S608 (column names are ours)
        self._connection().execute(sql, values)
        self.pending.clear()
        self.last = time.monotonic()

    def _connection(self):
        if self._conn is None:
            db = connection.settings_dict
            self._conn = psycopg.connect(
                dbname=db["NAME"],
                user=db["USER"],
                password=db["PASSWORD"],
                host=db["HOST"] or None,
                port=db["PORT"] or None,
                autocommit=True,
            )
        return self._conn

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def execute(job_id: int, task_id: int | None = None) -> None:
    """Run one attempt of a job (called by the worker's task). Never raises for a job error:
    the failure and its reason are recorded on the job."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        log.warning("job %s: no such job", job_id)
        return
    if task_id is not None and job.task_id is not None and job.task_id != task_id:
        # A retry deferred a newer attempt; this one (e.g. requeued after its worker died) is
        # no longer current.
        log.info("job %s: task %s superseded by %s", job_id, task_id, job.task_id)
        return
    if job.status == Job.SUCCEEDED:
        return
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        status=Job.RUNNING,
        attempts=job.attempts + 1,
        started_at=now,
        updated_at=now,
        finished_at=None,
        error="",
        done=0,
        rows_read=0,
        rows_written=0,
        rows_refused=0,
        message="",
        report=None,
        output="",
    )
    job.refresh_from_db()
    tmp = workdir(job)
    shutil.rmtree(tmp, ignore_errors=True)  # what a killed attempt left
    tmp.mkdir(parents=True)
    progress = Progress(job)
    try:
        kind = get_kind(job.kind)
        with transaction.atomic():
            report, produced = kind.run(job, job.params, progress)
        output = _keep_output(job, produced) if produced else ""
    except Exception as exc:  # noqa: BLE001 (any failure of a job is recorded, with its reason)
        progress.close()
        log.info("job %s failed: %s", job.pk, traceback.format_exc())
        kept = {"report": exc.report} if isinstance(exc, JobRefused) else {}
        Job.objects.filter(pk=job.pk).update(
            **_figures(job),
            status=Job.FAILED,
            error=_reason(exc),
            finished_at=timezone.now(),
            updated_at=timezone.now(),
            **kept,
        )
    else:
        progress.close()
        Job.objects.filter(pk=job.pk).update(
            **_figures(job),
            status=Job.SUCCEEDED,
            message="",
            report=report,
            output=output,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _figures(job: Job) -> dict:
    """The last progress figures, written again with the outcome through the job's own
    connection (the side connection cannot see a row its caller has not committed yet)."""
    return {name: getattr(job, name) for name in Progress.FIELDS.values() if name != "message"}


def _reason(exc: Exception) -> str:
    if isinstance(exc, (ParamError, JobRefused)):
        return str(exc)
    from layers.io.read import scrub_paths  # here: reading files loads GDAL, the engine stays light

    # Shown on the job's page: the server's folders stay out of it (a file by its name only).
    text = scrub_paths(str(exc)) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]


def _keep_output(job: Job, produced) -> str:
    """Move the produced file out of the work folder (one rename); its name under jobs/."""
    produced = Path(produced)
    if workdir(job) not in produced.resolve().parents:
        raise ValueError("a job's output must be written in its work folder")
    final = job_dir(job) / f"output{produced.suffix}"
    produced.replace(final)
    return str(final.relative_to(jobs_root()))


def sweep_workdirs(min_age: float = 600) -> int:
    """Remove the work folders of jobs no attempt is running (left by killed workers), once
    they are `min_age` seconds old (an attempt that is starting is left alone)."""
    root = jobs_root()
    if not root.is_dir():
        return 0
    running = set(Job.objects.filter(status=Job.RUNNING).values_list("pk", flat=True))
    removed = 0
    now = time.time()
    for tmp in root.glob("*/tmp"):
        name = tmp.parent.name
        old = now - tmp.stat().st_mtime >= min_age
        if name.isdigit() and int(name) not in running and old:
            shutil.rmtree(tmp, ignore_errors=True)
            removed += 1
    return removed


def visible_to(job: Job, user) -> bool:
    """The owner and editors see a job (its page, report and output)."""
    return roles.can_see_job(user, job)


def wait(job: Job, *, poll: float = 0.5, timeout: float | None = None, on_update=None) -> Job:
    """Block until the job has finished (for commands with --wait); `on_update(job)` each poll."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        job.refresh_from_db()
        if on_update:
            on_update(job)
        if job.finished:
            return job
        if deadline is not None and time.monotonic() > deadline:
            return job
        time.sleep(poll)
