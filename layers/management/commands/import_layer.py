"""manage.py import_layer <layer> <file>: import a file into a layer (all rows or none)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from layers.io import importer, safety


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

    def handle(self, *args, **o):
        user = None
        if o["user"]:
            user = get_user_model().objects.filter(username=o["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"--user: no active user {o['user']!r}")
        path = Path(o["file"])
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
