"""manage.py import_layer <layer> <file>: import a file into a layer (all rows or none).

By default it runs here with a progress bar; with --job (and --user, the editor the job runs
as) the checked file is copied into a new import_layer job's input folder for the workers, and
--wait shows the job's progress bar and its report."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from layers.jobs import engine as jobs
from layers.io import importer, mapping, safety
from layers.jobs.kinds import imports as import_jobs
from layers.management.progress import wait_with_bar
from layers.query.params import ParamError


class Command(BaseCommand):
    help = (
        "Import GeoJSON, GeoPackage, zipped Shapefile, CSV, XLSX, KML or DXF into a layer. "
        "Every row is validated as the API validates; nothing is written if a row is bad "
        "(unless --skip-invalid)."
    )

    def add_arguments(self, parser):
        parser.add_argument("layer")
        parser.add_argument("file")
        parser.add_argument("--crs", help="EPSG 4326/4490/4549/4528/3857, gcj02 or bd09")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--mode", choices=importer.MODES, default="append")
        parser.add_argument("--key", help="with --mode upsert: the field rows are matched on")
        parser.add_argument("--skip-invalid", action="store_true")
        parser.add_argument("--mapping", help="JSON or YAML file {column: field or null}")
        parser.add_argument("--cad-layer", help="DXF: the CAD layer; GPKG/KML: the layer")
        parser.add_argument("--user", help="username recorded as the author of the rows")
        parser.add_argument(
            "--job", action="store_true", help="queue it as a job for the workers (needs --user)"
        )
        parser.add_argument("--wait", action="store_true", help="with --job: wait, show progress")

    def handle(self, *args, **o):
        user = None
        if o["user"]:
            user = get_user_model().objects.filter(username=o["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"--user: no active user {o['user']!r}")
        path = Path(o["file"])
        if o["job"]:
            return self._queue(path, o, user)
        bar = _Bar(self.stdout) if self.stdout.isatty() else _Lines(self.stdout)
        try:
            with safety.prepared(path) as local:
                report = importer.run_import(
                    o["layer"],
                    local,
                    crs=o["crs"],
                    mode=o["mode"],
                    key=o["key"],
                    skip_invalid=o["skip_invalid"],
                    dry_run=o["dry_run"],
                    mapping=o["mapping"],
                    user=user,
                    progress=bar,
                    cad_layer=o["cad_layer"],
                )
        except safety.UploadRefused as exc:
            raise CommandError(f"{path.name}: refused: {exc}") from exc
        bar.done()
        text = "\n".join(report.lines())
        if report.fatal or (report.errors and not o["skip_invalid"]):
            raise CommandError(f"import failed, nothing written:\n{text}")
        self.stdout.write(text)

    def _queue(self, path: Path, o: dict, user) -> None:
        if user is None:
            raise CommandError("--job needs --user: the editor the job runs as")
        try:
            chosen = mapping.load_file(Path(o["mapping"])) if o["mapping"] else None
            with safety.prepared(path) as local, transaction.atomic():
                params = {"layer": o["layer"], "file": _input_name(local), "source": path.name}
                params |= {"crs": o["crs"], "mode": o["mode"], "key": o["key"]}
                params |= {"skip_invalid": o["skip_invalid"], "dry_run": o["dry_run"]}
                params |= {"mapping": chosen, "cad_layer": o["cad_layer"]}
                job = jobs.start_job(import_jobs.KIND, user, params)
                _copy_input(local, import_jobs.input_dir(job))
        except (safety.UploadRefused, mapping.MappingError, ParamError) as exc:
            raise CommandError(f"{path.name}: refused: {exc}") from exc
        self.stdout.write(f"Queued job {job.pk} (import_layer).")
        if not o["wait"]:
            return
        job = wait_with_bar(job, self.stdout)
        text = "\n".join((job.report or {}).get("lines", []))
        if job.status != job.SUCCEEDED:
            raise CommandError(f"job {job.pk} failed: {job.error}\n{text}")
        self.stdout.write(text)


def _input_name(local: Path) -> str:
    return "data" if local.is_dir() else local.name


def _copy_input(local: Path, target: Path) -> None:
    """Copy what the readers open into the job's input folder (a shapefile with its sidecar
    files of the same stem)."""
    if local.is_dir():
        shutil.copytree(local, target / "data")
        return
    target.mkdir(parents=True)
    shp = local.suffix.lower() == ".shp"
    siblings = [p for p in local.parent.iterdir() if p.stem == local.stem] if shp else []
    for one in {local, *siblings}:
        if one.is_file():
            shutil.copyfile(one, target / one.name)


class _Lines:
    """Plain progress lines (not a terminal): one every reported step."""

    def __init__(self, out):
        self.out = out

    def __call__(self, *, read, written, refused, total):
        self.out.write(f"read {read}/{total} written {written} refused {refused}")

    def done(self):
        pass


class _Bar(_Lines):
    WIDTH = 30

    def __call__(self, *, read, written, refused, total):
        filled = self.WIDTH * read // total if total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stdout.write(f"\r[{bar}] {read}/{total} written {written} refused {refused}")
        sys.stdout.flush()

    def done(self):
        sys.stdout.write("\n")
