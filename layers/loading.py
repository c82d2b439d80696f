"""Upsert GeoJSON features into a layer by its natural key: all rows or none.

Used by `load_sample_data`; each bad row is reported with its file, index, ref and field.
Rows are written through `layers.services.editing.save`, so the links that depend on them are
re-derived (once per load, when the caller wraps the load in `layers.services.derived.batch()`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.db import models

from layers.services import editing
from layers.geo import geometry as geo
from layers.domain import registry


class LoadError(Exception):
    """A row that cannot be loaded; the message names the source, the row and the field."""


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def read_feature_collection(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LoadError(f"{path}: cannot read GeoJSON: {exc}") from exc
    if data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise LoadError(f"{path}: not a GeoJSON FeatureCollection")
    return data["features"]


def _related_value(field: models.ForeignKey, value):
    if value in (None, ""):
        return None
    target = field.related_model
    if target is get_user_model():
        return target.objects.get(username=value)
    spec = registry.for_model(target)
    return target.all_objects.get(**{spec.natural_key: value})


def _stored_file(field: models.FileField, value: str, base_dir: Path | None) -> str:
    """Copy a file named relative to the fixtures into media storage (once); its stored name."""
    from django.core.files import File
    from django.core.files.storage import default_storage

    if base_dir is None:
        raise ValidationError({field.name: "files can only be loaded from a fixtures folder"})
    source = (base_dir / value).resolve()
    if base_dir.resolve() not in source.parents or not source.is_file():
        raise ValidationError({field.name: f"no file {value!r} beside the fixtures"})
    name = f"{field.upload_to}{source.name}"
    if default_storage.exists(name):
        if default_storage.size(name) == source.stat().st_size:
            return name
        default_storage.delete(name)
    with source.open("rb") as handle:
        return default_storage.save(name, File(handle))


def _record_fields(model) -> tuple[str, ...]:
    """Fields a workflow manages that a trusted load (sample data) may set as recorded."""
    wf = registry.for_model(model).workflow_module
    return wf.RECORD_FIELDS if wf is not None else ()


def _convert(model, name: str, value, base_dir: Path | None = None):
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist as exc:
        raise ValidationError({name: f"unknown field {name!r} for {model.__name__}"}) from exc
    if name in _record_fields(model):
        pass  # a lifecycle's record (status, deadline, …) loaded as it stands in the source
    elif not field.editable or name in {"id", "geom", "version", "deleted_at"}:
        raise ValidationError({name: f"{name!r} is derived or managed and cannot be loaded"})
    if isinstance(field, models.ForeignKey):
        try:
            return field.name, _related_value(field, value)
        except ObjectDoesNotExist as exc:
            raise ValidationError({name: f"no {field.related_model.__name__} {value!r}"}) from exc
    if isinstance(field, models.FileField) and value:
        return field.name, _stored_file(field, value, base_dir)
    if isinstance(field, models.JSONField) or value is None:
        return field.name, value
    return field.name, field.to_python(value)


def _geometry(feature: dict, spec: registry.LayerSpec) -> GEOSGeometry:
    try:
        geom = GEOSGeometry(json.dumps(feature.get("geometry")), srid=geo.STORAGE_SRID)
    except (GEOSException, ValueError, TypeError) as exc:
        raise ValidationError({"geom": f"unreadable geometry: {exc}"}) from exc
    # Layers are 2-D: heights are dropped, as the API does (a Z geometry was a DataError).
    return geo.coerce_to_field(geo.drop_z(geom), spec.model.geom_type())


def upsert_features(
    spec: registry.LayerSpec, features: list[dict], source: str, base_dir: Path | None = None
) -> LoadResult:
    """Create or update rows matched on the spec's natural key; caller holds the transaction.

    File properties (a viewpoint's photo) name files relative to `base_dir`.
    """
    result = LoadResult()
    model = spec.model
    seen_keys: set[str] = set()
    for index, feature in enumerate(features, start=1):
        properties = dict(feature.get("properties") or {})
        key = properties.get(spec.natural_key)
        where = f"{source} feature #{index} ({spec.natural_key}={key!r})"
        if not key:
            raise LoadError(f"{where}: {spec.natural_key}: required")
        if key in seen_keys:
            raise LoadError(f"{where}: {spec.natural_key}: duplicate in the file")
        seen_keys.add(key)
        try:
            values = dict(
                _convert(model, name, value, base_dir) for name, value in properties.items()
            )
            values["geom"] = _geometry(feature, spec)
            obj = model.all_objects.filter(**{spec.natural_key: key}).first()
            if obj is not None and not _differs(obj, values):
                result.unchanged += 1
                continue
            created = obj is None
            obj = obj or model()
            for name, value in values.items():
                setattr(obj, name, value)
            obj.full_clean()
            editing.save(obj, None)
        except ValidationError as exc:
            raise LoadError(f"{where}: {_describe(exc)}") from exc
        if created:
            result.created += 1
        else:
            result.updated += 1
    return result


def _differs(obj, values: dict) -> bool:
    for name, value in values.items():
        current = getattr(obj, name)
        if name == "geom":
            if current is None or not current.equals_exact(value, tolerance=1e-9):
                return True
        elif current != value:
            return True
    return False


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)
