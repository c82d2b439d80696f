"""manage.py render_map: a print-quality PNG or A4/A3 PDF of layers over a bbox, community or
grid cell (layers/io/printing.py). By default it renders here and writes --out; with --job it
queues a render_map job for the workers (--wait shows its progress and copies the output)."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from layers.io import printing
from layers.jobs import engine as jobs
from layers.management.progress import wait_with_bar
from layers.query.params import ParamError


class Command(BaseCommand):
    help = "Render a print-quality map (PNG, or PDF on A4/A3) of some layers."

    def add_arguments(self, parser):
        parser.add_argument("--layers", required=True, help="comma-separated layer slugs")
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--bbox", help="minlon,minlat,maxlon,maxlat (EPSG:4326)")
        where.add_argument("--community", help="community code or id")
        where.add_argument("--grid", help="grid cell code or id")
        parser.add_argument("--format", choices=printing.FORMATS, default="pdf")
        parser.add_argument("--paper", choices=tuple(printing.PAPERS_MM), default="A4")
        parser.add_argument("--orientation", choices=printing.ORIENTATIONS, default="landscape")
        parser.add_argument("--size", help="PNG only: WIDTHxHEIGHT in pixels (else the paper)")
        parser.add_argument("--title", default="")
        parser.add_argument("--subtitle", default="")
        parser.add_argument("--out", required=True, help="the file to write")
        parser.add_argument(
            "--job", action="store_true", help="queue it as a job for the workers (see --wait)"
        )
        parser.add_argument("--wait", action="store_true", help="with --job: wait, show progress")

    def handle(self, *args, **opts):
        raw = {
            key: opts[key]
            for key in ("bbox", "community", "grid", "format", "paper", "orientation", "size")
            if opts[key] is not None
        }
        raw |= {"layers": opts["layers"].split(","), "title": opts["title"]}
        raw["subtitle"] = opts["subtitle"]
        out = Path(opts["out"])
        if not out.parent.is_dir():
            raise CommandError(f"--out: folder {out.parent} does not exist")
        try:
            if not opts["job"]:
                params = printing.clean_params(raw)
                report = printing.render(params, out)
                self.stdout.write(
                    f"Wrote {out} ({report['format']}, features {report['features']})"
                )
                return
            job = jobs.start_job("render_map", None, raw)
        except ParamError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Queued job {job.pk} (render_map).")
        if not opts["wait"]:
            return
        job = wait_with_bar(job, self.stdout)
        if job.status != job.SUCCEEDED:
            raise CommandError(f"job {job.pk} failed: {job.error}")
        shutil.copyfile(jobs.output_path(job), out)
        self.stdout.write(f"Wrote {out}")
