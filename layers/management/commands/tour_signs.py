"""manage.py tour_signs --base-url URL --out signs.pdf: one printable A5 QR sign per tour stop
(layers/io/signs.py), each QR code opening <URL>/tour/stops/<n>/."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from layers.io import signs
from layers.query.params import ParamError


class Command(BaseCommand):
    help = "Write a PDF of A5 QR signs, one per stop of the Damiaonong tour."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", required=True, help="where the site is served")
        parser.add_argument("--out", required=True, help="the PDF to write")

    def handle(self, *args, base_url, out, **options):
        out = Path(out)
        if not out.parent.is_dir():
            raise CommandError(f"--out: folder {out.parent} does not exist")
        try:
            base = signs.clean_base_url(base_url)
        except ParamError as exc:
            raise CommandError(str(exc)) from exc
        if not signs.stops():
            raise CommandError("the tour has no stops (viewpoints) to sign")
        urls = signs.render(base, out)
        self.stdout.write(f"Wrote {len(urls)} signs to {out}")
        for url in urls:
            self.stdout.write(f"  {url}")
