"""manage.py jobs: list background jobs, retry one (failed, or stalled after its worker died),
remove the work folders that killed workers left.

    manage.py jobs list [--status failed]
    manage.py jobs retry ID [--force] [--wait]
    manage.py jobs sweep
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from layers.jobs import engine as jobs
from layers.management.progress import line, wait_with_bar
from layers.domain.models import Job
from layers.query.params import ParamError


class Command(BaseCommand):
    help = "List, retry and clean up background jobs."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="the latest jobs")
        listing.add_argument("--status", choices=[s for s, _ in Job.STATUSES])
        retry = sub.add_parser("retry", help="queue a failed or stalled job again")
        retry.add_argument("id", type=int)
        retry.add_argument(
            "--force", action="store_true", help="retry a running job whose worker you know died"
        )
        retry.add_argument("--wait", action="store_true", help="wait, showing a progress bar")
        sub.add_parser("sweep", help="remove work folders of jobs not running")

    def handle(self, *args, action, **opts):
        if action == "list":
            found = Job.objects.all()
            if opts["status"]:
                found = found.filter(status=opts["status"])
            for job in found[:50]:
                owner = job.user.get_username() if job.user else "-"
                self.stdout.write(f"{job.pk:6}  {job.kind:16} {owner:14} {line(job)}")
                if job.error:
                    self.stdout.write(f"        error: {job.error}")
        elif action == "retry":
            job = Job.objects.filter(pk=opts["id"]).first()
            if job is None:
                raise CommandError(f"id: no job {opts['id']}")
            try:
                job = jobs.retry(job, force=opts["force"])
            except ParamError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Queued job {job.pk} again.")
            if opts["wait"]:
                job = wait_with_bar(job, self.stdout)
                if job.status != Job.SUCCEEDED:
                    raise CommandError(f"job {job.pk} failed: {job.error}")
        else:
            self.stdout.write(f"Removed {jobs.sweep_workdirs(min_age=0)} work folder(s).")
