"""manage.py generalize_buildings [--job [--wait]]: rebuild the low zooms' blocks of buildings.

What the job the database queues after buildings change does (layers/services/generalize.py,
docs/MAPS.md "Low zooms"), here at once in this process: after a bulk load with no worker
running, or to see how long a rebuild takes. --job runs it on a worker instead.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from layers.jobs import engine as jobs
from layers.jobs.kinds.maintenance import GENERALIZE
from layers.management.progress import wait_with_bar
from layers.services import generalize


class Command(BaseCommand):
    help = "Rebuild the generalized buildings (blocks) of the tiles at z12-z15."

    def add_arguments(self, parser):
        parser.add_argument(
            "--job", action="store_true", help="run it as a background job on a worker"
        )
        parser.add_argument("--wait", action="store_true", help="with --job: wait, show progress")

    def handle(self, *args, **options):
        if options["job"]:
            job = jobs.start_job(GENERALIZE, None, {})
            self.stdout.write(f"Queued job {job.pk} ({GENERALIZE}).")
            if options["wait"]:
                job = wait_with_bar(job, self.stdout)
                if job.status != job.SUCCEEDED:
                    raise CommandError(f"job {job.pk} failed: {job.error}")
                self.stdout.write(f"Report: {job.report}")
            return
        began = time.perf_counter()
        with transaction.atomic():
            report = generalize.refresh()
        blocks = ", ".join(f"z{z} {n}" for z, n in sorted(report.blocks.items()))
        self.stdout.write(
            f"{report.buildings} buildings in blocks ({blocks}) from generation "
            f"{report.source_generation}, in {time.perf_counter() - began:.1f} s."
        )
