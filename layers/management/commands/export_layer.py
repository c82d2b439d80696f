"""manage.py export_layer <layer> <format> [--crs] [--out FILE] [--header] [filters…]."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from layers.domain import registry
from layers.channels.api import filters
from layers.io import export
from layers.query import access
from layers.query.params import ParamError


class Command(BaseCommand):
    help = (
        "Export a layer as GeoJSON, GeoPackage, zipped Shapefile, CSV, XLSX, KML or DXF in a CRS "
        "of the list (4326, 4490, 4549, 4528, 3857, gcj02, bd09), with the list's filters."
    )

    def add_arguments(self, parser):
        parser.add_argument("layer", choices=registry.slugs())
        parser.add_argument("format", choices=list(export.FORMATS))
        parser.add_argument("--crs", default="4326")
        parser.add_argument("--out", help="file to write (default: named after layer and CRS)")
        parser.add_argument("--header", choices=export.HEADERS, default="name")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a filter of GET /api/v1/<layer>/ (status=…, bbox=…, community=…); repeatable",
        )
        parser.add_argument("--user", help="export what this user may read (default: every field)")

    def handle(self, *args, **o):
        spec = registry.get(o["layer"])
        user = None
        if o["user"]:
            user = get_user_model().objects.filter(username=o["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"--user: no active user {o['user']!r}")
            if not access.can_read(user, spec):
                raise CommandError(f"--user: {user} may not read {spec.slug}")
        params = QueryDict(mutable=True)
        for item in o["filter"]:
            name, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--filter: expected NAME=VALUE, got {item!r}")
            params.appendlist(name, value)
        fields = access.output_fields(user, spec) if user else export.fields_of(spec)
        try:
            queryset, _query = filters.apply_filters(
                spec.model.all_objects.all(),
                spec,
                params,
                fields,
                may_see_deleted=user is None,
                # The command's operator (no --user) reads everything; a named user their share.
                staff=user is None or access.is_staff_reader(user),
            )
        except ParamError as exc:
            raise CommandError(f"--filter {exc.name}: {exc.message}") from exc
        out = Path(o["out"]) if o["out"] else Path(export.file_stem(spec, o["crs"]))
        stem = out.with_suffix("") if out.suffix == export.FORMATS[o["format"]][0] else out
        if Path(str(stem) + export.FORMATS[o["format"]][0]).exists():
            raise CommandError(f"{stem}{export.FORMATS[o['format']][0]} exists; not overwritten")
        try:
            path = export.write_export(
                spec.slug, queryset, o["format"], o["crs"], stem, user=user, header=o["header"]
            )
        except export.ExportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{queryset.count()} features of {spec.slug} -> {path}")
