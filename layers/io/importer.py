"""run_import: read a file, match its columns, convert its CRS, validate every row as the API
does, and write all rows or none (or the good ones with skip_invalid), in one transaction.

The file is read in chunks of IMPORT_CHUNK_ROWS rows (`read.open_source`): each chunk is
converted, validated and written before the next is read, so an import of any size holds one
chunk in memory; progress is told after every chunk (and every PROGRESS_EVERY rows). It stays
one transaction: a refused row in the last chunk still leaves nothing written.

Long because one import is one contract: the report, opening and CRS resolution, the chunked
loop with its all-or-nothing rollback, and the per-row conversion and validation read best
together.

Rows go through the layer's own write serializer (`layers.services.validation`: types, vocabularies,
ranges, geometry validity, service area, the model's rules) and `layers.services.editing` (history,
versions, derived links, the lifecycle's rules), re-deriving links once at the end
(`derived.batch`). A pure function: a background job can call it with a progress callback.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.db.models import Extent
from django.db import models, transaction

from layers.domain import registry
from layers.geo import files as crs_mod
from layers.io import mapping as mapping_mod
from layers.io import read as read_mod
from layers.services import derived, editing
from layers.services.validation import write_serializer_for

MODES = ("append", "upsert")
Progress = Callable[..., None]
# Report progress every this many rows (and at the end).
PROGRESS_EVERY = 25


@dataclass
class ImportReport:
    layer: str
    source: str
    mode: str = "append"
    dry_run: bool = False
    rows_read: int = 0
    written: int = 0
    created: int = 0
    updated: int = 0
    refused: int = 0
    # (row number counted from 1, field, reason)
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    crs: str = ""
    crs_guessed: bool = False
    crs_reason: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A problem with the whole file (format, CRS, mapping): nothing was written.
    fatal: str = ""
    # The features written (ids) and their extent (minx, miny, maxx, maxy in EPSG:4326): the
    # job page links to them (the admin list filtered to them, the map zoomed to them).
    ids: list[int] = field(default_factory=list)
    extent: list[float] | None = None

    @property
    def ok(self) -> bool:
        return not self.fatal and (not self.errors or self.written > 0 or self.rows_read == 0)

    @property
    def failed(self) -> bool:
        return bool(self.fatal) or bool(self.errors)

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok, "failed": self.failed}

    def lines(self) -> list[str]:
        out = [f"{self.layer} <- {self.source} ({self.mode}{', dry run' if self.dry_run else ''})"]
        if self.fatal:
            out.append(f"REFUSED: {self.fatal}")
        if self.crs:
            how = f"guessed: {self.crs_reason}" if self.crs_guessed else self.crs_reason or "given"
            out.append(f"CRS {self.crs} ({how})")
        if self.mapping:
            out.append("columns: " + ", ".join(f"{c} -> {f}" for c, f in self.mapping.items()))
        if self.ignored_columns:
            out.append("ignored columns: " + ", ".join(self.ignored_columns))
        out.extend(self.notes)
        out.append(
            f"rows read {self.rows_read}, written {self.written} (created {self.created}, "
            f"updated {self.updated}), refused {self.refused}"
        )
        out.extend(f"row {row}: {name}: {reason}" for row, name, reason in self.errors)
        return out


class _Rollback(Exception):
    pass


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, (list, tuple)):
        return " ".join(_flatten(v) for v in detail)
    return str(detail)


def _list_value(value):
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                return value
        return [part.strip() for part in re.split(r"[,，、;；]", text) if part.strip()]
    return value


def _related(spec: registry.LayerSpec, name: str, value):
    """A foreign key given by its natural key (a community's code); users by username."""
    target = spec.model._meta.get_field(name).related_model
    if target is get_user_model():
        return value
    target_spec = registry.for_model(target)
    found = list(
        target.objects.filter(**{target_spec.natural_key: str(value)}).values_list("pk", flat=True)
    )
    if len(found) != 1:
        raise ValueError(f"no {target_spec.slug} with {target_spec.natural_key} {value!r}")
    return found[0]


def _properties(spec: registry.LayerSpec, row: dict, columns: dict[str, str]) -> dict:
    props = {}
    for column, name in columns.items():
        value = row.get(column)
        if value is None:
            continue
        model_field = spec.model._meta.get_field(name)
        if name in spec.list_fields:
            value = _list_value(value)
        elif model_field.many_to_one:
            try:
                value = _related(spec, name, value)
            except ValueError as exc:
                raise _RowError(name, str(exc)) from None
        elif isinstance(model_field, models.DateTimeField) and hasattr(value, "isoformat"):
            value = value.isoformat()  # no zone: Asia/Shanghai, as the API reads it
        elif isinstance(model_field, models.DateField) and hasattr(value, "isoformat"):
            value = value.date().isoformat() if hasattr(value, "hour") else value.isoformat()
        elif isinstance(model_field, (models.CharField, models.TextField)) and not isinstance(
            value, str
        ):
            value = (
                str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            )
        elif isinstance(value, float) and isinstance(model_field, models.IntegerField):
            value = int(value) if value.is_integer() else value
        props[name] = value
    return props


class _RowError(Exception):
    def __init__(self, name: str, reason: str):
        super().__init__(reason)
        self.name = name
        self.reason = reason


def _resolve_crs(report: ImportReport, source, crs) -> int | str:
    """The CRS of the rows: given, declared by the file, or guessed from the first chunk."""
    import shapely

    if crs is not None:
        key = crs_mod.parse(crs)
        report.crs = crs_mod.FileCrs(key).label
        return key
    declared = crs_mod.of_file(source.crs)
    if source.declared:
        declared = crs_mod.parse(source.declared)
    if declared is not None:
        report.crs, report.crs_reason = crs_mod.FileCrs(declared).label, "declared by the file"
        return declared
    present = [g for g in source.first.geoms if g is not None and not g.is_empty]
    if not present:
        raise crs_mod.CrsError("no geometry to tell the CRS from; name it")
    guessed = crs_mod.guess(shapely.total_bounds(present))
    report.crs, report.crs_guessed, report.crs_reason = guessed.label, True, guessed.reason
    return guessed.key


def _to_storage(report: ImportReport, table, key):
    """The chunk's geometries in EPSG:4326; a row outside the CRS's area of use is a bad row
    (its coordinates never reach PROJ). report.fatal when a guessed CRS puts them outside the
    service area."""
    inside = crs_mod.inside_area(table.geoms, key)
    for index in map(int, (~inside).nonzero()[0]):
        table.geometry_errors.setdefault(
            index, f"coordinates outside the area of use of {crs_mod.FileCrs(key).label}"
        )
    geoms = crs_mod.to_storage(np.where(inside, table.geoms, None), key)
    if report.crs_guessed and not crs_mod.in_service_area(geoms):
        report.fatal = (
            f"the coordinates, read as the guessed {report.crs}, lie outside the service area; "
            "name the CRS"
        )
    return geoms


def chunk_rows() -> int:
    return max(1, int(settings.IMPORT_CHUNK_ROWS))


def _open(layer, path, *, crs=None, mapping=None, cad_layer=None, source=None, size=None):
    """Open, match and resolve the CRS: (report, spec, source, columns, CRS key)."""
    path = Path(path)
    report = ImportReport(layer=layer, source=source or path.name)
    try:
        spec = registry.get(layer)
    except KeyError:
        report.fatal = f"no layer {layer!r}; layers: {', '.join(registry.slugs())}"
        return report, None, None, {}, None
    try:
        src = read_mod.open_source(
            path, layer=cad_layer, shown=report.source, size=size or chunk_rows()
        )
        given = mapping_mod.load_file(mapping) if isinstance(mapping, (str, Path)) else mapping
        columns = mapping_mod.match(spec, src.columns, given)
        key = _resolve_crs(report, src, crs)
    except (read_mod.ReadError, mapping_mod.MappingError, crs_mod.CrsError) as exc:
        report.fatal = read_mod.scrub_paths(str(exc), path, report.source)
        return report, spec, None, {}, None
    report.notes.extend(src.notes)
    report.rows_read = src.total
    report.mapping = columns
    report.ignored_columns = [c for c in src.columns if c not in columns]
    return report, spec, src, columns, key


def prepare(layer: str, path: Path, *, crs=None, mapping=None, cad_layer=None, source=None):
    """Read, match and convert: (report, spec, table, columns, geometries in 4326), where the
    table is the file's first chunk (the upload page shows its columns and CRS) and
    report.rows_read the file's number of rows.

    `source` is the file's name as the user knows it (an upload's own name; the path's name
    by default): the report and its messages name the file so, never the server's path.
    Raises nothing for a bad file: report.fatal says why (the upload page shows it)."""
    report, spec, src, columns, key = _open(
        layer, path, crs=crs, mapping=mapping, cad_layer=cad_layer, source=source
    )
    if src is None:
        return report, spec, None, {}, []
    try:
        geoms = _to_storage(report, src.first, key)
    except crs_mod.CrsError as exc:
        report.fatal = read_mod.scrub_paths(str(exc), Path(path), report.source)
        return report, spec, None, {}, []
    return report, spec, src.first, columns, geoms


class _Fatal(Exception):
    """A whole-file problem found in a later chunk (report.fatal says what)."""


def run_import(
    layer: str,
    path,
    *,
    crs=None,
    mode: str = "append",
    key: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    mapping=None,
    user=None,
    progress: Progress | None = None,
    cad_layer: str | None = None,
    source: str | None = None,
    chunk_size: int | None = None,
) -> ImportReport:
    """Import `path` into `layer`; see the module doc. Returns the report (never raises for bad
    input: `report.fatal` / `report.errors` say what was refused; nothing written then unless
    skip_invalid). `chunk_size` overrides IMPORT_CHUNK_ROWS."""
    size = chunk_size or chunk_rows()
    report, spec, src, columns, crs_key = _open(
        layer, path, crs=crs, mapping=mapping, cad_layer=cad_layer, source=source, size=size
    )
    report.mode, report.dry_run = mode, dry_run
    if report.fatal:
        return report
    try:
        first_geoms = _to_storage(report, src.first, crs_key)
    except crs_mod.CrsError as exc:
        report.fatal = read_mod.scrub_paths(str(exc), Path(path), report.source)
    if report.fatal:
        return report
    if mode not in MODES:
        report.fatal = f"mode: {mode!r}; use append or upsert"
    elif mode == "upsert" and (spec is None or key not in mapping_mod.fields(spec)):
        names = ", ".join(mapping_mod.fields(spec)) if spec else ""
        report.fatal = f"key: upsert needs a key field of the layer ({names}), got {key!r}"
    elif mode == "upsert" and key not in columns.values():
        report.fatal = f"key: no column of the file fills {key!r}"
    elif spec.workflow is not None and not getattr(user, "is_authenticated", False):
        report.fatal = f"user: {spec.slug} has a lifecycle; name the user who reports the rows"
    if report.fatal:
        return report
    serializer_class = write_serializer_for(spec)
    total = src.total
    read = 0
    ids = array("q")
    extent: list[float] | None = None

    def tell(index: int, *, chunk_end: bool = False) -> None:
        if progress is not None and (chunk_end or index % PROGRESS_EVERY == 0 or index == total):
            progress(read=index, written=report.written, refused=report.refused,
                     total=max(total, index))  # fmt: skip

    try:
        with transaction.atomic(), derived.batch(user):
            for table in src.chunks(size):
                if table is src.first:  # converted above
                    geoms, first_geoms = first_geoms, None
                else:
                    geoms = _to_storage(report, table, crs_key)
                if report.fatal:
                    raise _Fatal()
                chunk_ids = []
                for index, (row, geom) in enumerate(zip(table.rows, geoms, strict=True)):
                    number = table.start + index + 1
                    try:
                        with transaction.atomic():
                            created, pk = _write_row(spec, serializer_class, row, geom, columns,
                                                     table, index, mode, key, user)  # fmt: skip
                    except _RowError as exc:
                        report.refused += 1
                        report.errors.append((number, exc.name, exc.reason))
                    else:
                        report.written += 1
                        report.created += created
                        report.updated += not created
                        chunk_ids.append(pk)
                    read = number
                    tell(number)
                ids.extend(chunk_ids)
                extent = _union(extent, _extent(spec, chunk_ids))
                tell(read, chunk_end=True)
            report.rows_read = read
            if dry_run or (report.errors and not skip_invalid):
                raise _Rollback()
            report.ids = sorted(set(ids)) if mode == "upsert" else list(ids)
            report.extent = extent
    except (read_mod.ReadError, crs_mod.CrsError) as exc:
        report.fatal = read_mod.scrub_paths(str(exc), Path(path), report.source)
        _nothing_written(report)
    except _Fatal:
        _nothing_written(report)
    except _Rollback:
        report.ids = []
        if not dry_run:
            report.written = report.created = report.updated = 0
            report.notes.append("nothing written: a row was refused (use skip_invalid to write "
                                "the good rows)")  # fmt: skip
        else:
            report.notes.append("dry run: nothing written")
    if read == 0 and not report.fatal:
        tell(0)
    return report


def _nothing_written(report: ImportReport) -> None:
    report.ids, report.extent = [], None
    report.written = report.created = report.updated = 0
    report.notes.append("nothing written")


def _union(box: list[float] | None, other: list[float] | None) -> list[float] | None:
    if box is None or other is None:
        return box or other
    return [min(box[0], other[0]), min(box[1], other[1]),
            max(box[2], other[2]), max(box[3], other[3])]  # fmt: skip


def _extent(spec, ids: list[int]) -> list[float] | None:
    if not ids:
        return None
    box = spec.model.objects.filter(pk__in=ids).aggregate(box=Extent("geom"))["box"]
    return [round(v, 7) for v in box] if box else None


def _write_row(
    spec, serializer_class, row, geom, columns, table, index, mode, key, user
) -> tuple[bool, int]:
    """Validate and write one row in its own savepoint: (created, the feature's id)."""
    import shapely

    if index in table.geometry_errors:
        raise _RowError("geom", table.geometry_errors[index])
    if geom is None or geom.is_empty:
        raise _RowError("geom", "no geometry")
    properties = _properties(spec, row, columns)
    data = {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(geom),
        "properties": properties,
    }
    instance = None
    if mode == "upsert":
        value = properties.get(key)
        if value in (None, ""):
            raise _RowError(key, "the upsert key is empty")
        matches = list(spec.model.objects.filter(**{key: value}).values_list("pk", flat=True)[:2])
        if len(matches) > 1:
            raise _RowError(key, f"{value!r} matches several features")
        if matches:
            instance = editing.lock(spec, matches[0])
    serializer = serializer_class(instance, data=data, partial=instance is not None)
    if not serializer.is_valid():
        errors = serializer.errors
        name = next(iter(errors), "row")
        raise _RowError(name, _flatten(errors[name]) if isinstance(errors, dict) else str(errors))
    try:
        if instance is None:
            return True, editing.create_as(spec, serializer.validated_data, user).pk
        editing.check_edit(spec, instance, user)
        editing.update(instance, serializer.validated_data, user)
        editing.check_edit(spec, instance, user)
        return False, instance.pk
    except editing.Refused as exc:
        raise _RowError("row", str(exc)) from None
