"""manage.py publish_tour --out DIR: the public 大庙弄 tour as a self-contained static site.

The page is rendered as an anonymous visitor sees it (public layers and fields only); every
/static/ and /media/ file it references is copied beside it and the links made relative, so the
site works from any static host and from file:// with no server behind it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.staticfiles import finders
from django.core.management.base import BaseCommand, CommandError
from django.db.models import FileField
from django.test import RequestFactory
from django.utils import translation

from layers.channels.maps import stops
from layers.channels.maps.views import tour
from layers.compose import builder
from layers.domain import registry
from layers.domain.models import CulturalViewpoint
from layers.domain.pages import TOUR

REFERENCE = re.compile(r"""(?P<attr>src|href)=(?P<q>["'])(?P<url>/(?:static|media)/[^"']+)(?P=q)""")
CSS_URL = re.compile(r"""url\((?P<q>["']?)(?P<path>[^)"']+)(?P=q)\)""")


class Command(BaseCommand):
    help = "Write the public cultural tour as a static site (works from file://)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="Output folder (created; replaced).")

    def handle(self, *args, out, **options):
        target = Path(out).resolve()
        if target.exists() and any(target.iterdir()) and not (target / "index.html").exists():
            raise CommandError(f"{target} exists, is not empty and is not a published tour.")
        if target.exists():
            shutil.rmtree(target)
        (target / "assets").mkdir(parents=True)

        def relocate(match: re.Match) -> str:
            url = match.group("url").split("?")[0]
            local = self._copy(url, target)
            return f"{match.group('attr')}={match.group('q')}{local}{match.group('q')}"

        # Chinese first (index.html), English beside it (en.html); each links to the other.
        # Each stop has its page: stop-<n>.html (Chinese) and stop-<n>-en.html (English).
        pages = [
            (tour, {}, "zh-hans", "index.html", "en.html"),
            (tour, {}, "en", "en.html", "index.html"),
        ]
        for n in CulturalViewpoint.objects.order_by("tour_order").values_list(
            "tour_order", flat=True
        ):
            zh, en = f"stop-{n}.html", f"stop-{n}-en.html"
            pages += [
                (stops.stop, {"n": n}, "zh-hans", zh, en),
                (stops.stop, {"n": n}, "en", en, zh),
            ]
        for view, kwargs, language, name, other in pages:
            with translation.override(language):
                request = RequestFactory().get("/tour/")
                request.user = AnonymousUser()
                request.static_site = other
                html = view(request, **kwargs).content.decode()
            html = REFERENCE.sub(relocate, html)
            html = html.replace('"/media/', '"media/')  # photo URLs inside the embedded data
            (target / name).write_text(html, encoding="utf-8")
        self._copy_photos(target)
        self._write_data(target)
        self.stdout.write(self.style.SUCCESS(f"Tour published to {target}/index.html"))

    def _copy(self, url: str, target: Path) -> str:
        if url.startswith("/media/"):
            return url.lstrip("/")
        relative = url[len("/" + settings.STATIC_URL.strip("/") + "/") :]
        source = finders.find(relative)
        if source is None:
            raise CommandError(f"static file not found: {relative}")
        destination = target / "assets" / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        if destination.suffix == ".css":
            self._copy_css_references(Path(source), destination)
        return f"assets/{relative}"

    def _copy_css_references(self, source: Path, destination: Path) -> None:
        for match in CSS_URL.finditer(source.read_text(encoding="utf-8", errors="replace")):
            path = match.group("path")
            if path.startswith(("data:", "http:", "https:", "#", "/")):
                continue
            clean = path.split("?")[0].split("#")[0]
            origin = (source.parent / clean).resolve()
            if origin.is_file():
                copy = (destination.parent / clean).resolve()
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(origin, copy)

    def _embedded_specs(self):
        """The registry layers the tour page embeds (its declaration in layers/domain/pages.py)."""
        return [registry.get(layer.slug) for layer in TOUR.layers if layer.embed]

    def _copy_photos(self, target: Path) -> None:
        """Every public file (photo) of the embedded layers' features."""
        for spec in self._embedded_specs():
            files = [
                f.name
                for f in spec.model._meta.concrete_fields
                if isinstance(f, FileField) and f.name in spec.public_fields
            ]
            for feature in spec.model.objects.all():
                for name in files:
                    stored = getattr(feature, name)
                    if not stored:
                        continue
                    source = Path(settings.MEDIA_ROOT) / stored.name
                    if source.is_file():
                        destination = target / "media" / stored.name
                        destination.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(source, destination)

    def _write_data(self, target: Path) -> None:
        """The tour's public data, also as plain files for other apps."""
        data = target / "data"
        data.mkdir()
        for spec in self._embedded_specs():
            slug = spec.slug
            text = builder.embedded_collection(spec, AnonymousUser())
            (data / f"{slug}.geojson").write_text(text, encoding="utf-8")
        route = builder.tour_route()
        (data / "route.json").write_text(json.dumps(route, ensure_ascii=False), encoding="utf-8")
