"""manage.py refresh_derived [--dry-run]: re-derive every geometry-derived link, report changes.

Each live building's community and renovation site, and each live hazard's building, grid cell
and community, are recomputed in SQL by the rules of `layers.services.derived`; only rows whose links
differ are written (version + 1, a history record "derived"). Reports per layer how many rows
were checked and changed (per link); with -v2, which rows and from what to what. --dry-run
does all of it in a transaction that is rolled back.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from layers.services import derived
from layers.jobs import engine as jobs
from layers.domain import registry
from layers.management.progress import wait_with_bar


class Command(BaseCommand):
    help = "Re-derive every geometry-derived link (buildings, hazards) and report what changed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change; save nothing"
        )
        parser.add_argument(
            "--job", action="store_true", help="run it as a background job on a worker"
        )
        parser.add_argument("--wait", action="store_true", help="with --job: wait, show progress")

    def handle(self, *args, dry_run=False, verbosity=1, **options):
        if options["job"]:
            if dry_run:
                raise CommandError("--dry-run: not with --job (a job writes what it finds)")
            return self._as_job(options["wait"])
        with transaction.atomic():
            report = derived.refresh_all()
            if dry_run:
                transaction.set_rollback(True)
        if verbosity < 1:
            return
        for name in derived.dependents():
            spec = registry.for_model(derived.layer_model(name))
            columns = report.by_column(name)
            detail = ", ".join(f"{c.removesuffix('_id')} {n}" for c, n in columns.items())
            self.stdout.write(
                f"{spec.slug:10} checked {report.checked[name]:6}  "
                f"changed {report.changed(name):6}  ({detail})"
            )
            if verbosity >= 2:
                for change in report.changes[name]:
                    self.stdout.write(f"  {spec.slug} {change.describe()}")
        total = sum(report.changed(name) for name in derived.dependents())
        if dry_run:
            self.stdout.write(f"Dry run: {total} rows would change; nothing was saved.")
        else:
            self.stdout.write(f"{total} rows re-derived.")

    def _as_job(self, wait: bool):
        job = jobs.start_job("refresh_derived", None, {})
        self.stdout.write(f"Queued job {job.pk} (refresh_derived).")
        if wait:
            job = wait_with_bar(job, self.stdout)
            if job.status != job.SUCCEEDED:
                raise CommandError(f"job {job.pk} failed: {job.error}")
            self.stdout.write(f"Report: {job.report}")
