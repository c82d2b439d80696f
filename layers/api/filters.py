"""List filters of the layer API, generated from the spec; every bad parameter is a 400 naming it.

bbox, near+radius, status, the spec's vocabulary fields, community, grid, q, updated_since,
overdue (hazards), deleted (editors), ordering. All combine with AND.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.contrib.gis.geos import Polygon
from django.db import models
from django.db.models import F, FloatField, Func, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import PermissionDenied, ValidationError

from layers import geo, registry
from layers.models import Community, GridCell

MAX_RADIUS_M = 20_000
DEFAULT_RADIUS_M = 500
PAGING_PARAMS = ("page", "page_size")


class GeographyDistance(Func):
    """Metres between the layer geometry and a lon/lat point, on the spheroid (geography)."""

    template = (
        "ST_Distance(%(expressions)s::geography, "
        "ST_SetSRID(ST_MakePoint(%(lon)r, %(lat)r), 4326)::geography)"
    )
    output_field = FloatField()

    def __init__(self, expression, lon: float, lat: float):
        super().__init__(expression, lon=float(lon), lat=float(lat))


@dataclass
class ListQuery:
    """What the client asked for, after validation."""

    near: tuple[float, float] | None = None
    radius: float | None = None
    ordering: list[str] = field(default_factory=list)
    include_deleted: bool = False


def _numbers(name: str, raw: str, count: int) -> list[float]:
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise ValidationError({name: [f"expected {count} comma-separated numbers, got {raw!r}"]})
    return values


def _lon_lat(name: str, lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError({name: [f"longitude {lon} / latitude {lat} out of range"]})


def parse_bbox(raw: str) -> Polygon:
    minx, miny, maxx, maxy = _numbers("bbox", raw, 4)
    _lon_lat("bbox", minx, miny)
    _lon_lat("bbox", maxx, maxy)
    if minx > maxx or miny > maxy:
        raise ValidationError({"bbox": ["expected minx,miny,maxx,maxy with min ≤ max"]})
    polygon = Polygon.from_bbox((minx, miny, maxx, maxy))
    polygon.srid = geo.STORAGE_SRID
    return polygon


def parse_point(name: str, raw: str) -> tuple[float, float]:
    lon, lat = _numbers(name, raw, 2)
    _lon_lat(name, lon, lat)
    return lon, lat


def within_metres(queryset, lon: float, lat: float, radius: float):
    """Features within `radius` metres: a degree box for the index, then the exact test."""
    dlat = radius / 110_574.0
    dlon = radius / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
    box = Polygon.from_bbox((lon - dlon, lat - dlat, lon + dlon, lat + dlat))
    box.srid = geo.STORAGE_SRID
    return queryset.filter(geom__intersects=box).filter(_distance_m__lte=radius)


def _choices(name: str, values: list[str], allowed) -> list[str]:
    chosen = [v for raw in values for v in raw.split(",") if v != ""]
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise ValidationError({name: [f"unknown value(s) {unknown}; allowed: {list(allowed)}"]})
    return chosen


def _boundary(model, name: str, raw: str):
    query = Q(code=raw) | (Q(pk=int(raw)) if raw.isdigit() else Q(pk__in=[]))
    found = model.objects.filter(query).first()
    if found is None:
        raise ValidationError({name: [f"no {model._meta.verbose_name} with id or code {raw!r}"]})
    return found


def _date_or_datetime(name: str, raw: str) -> dt.datetime:
    parsed = parse_datetime(raw)
    if parsed is None:
        day = parse_date(raw)
        if day is None:
            raise ValidationError({name: [f"expected an ISO 8601 date or date-time, got {raw!r}"]})
        parsed = dt.datetime.combine(day, dt.time.min)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _bool(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise ValidationError({name: [f"expected true or false, got {raw!r}"]})


def _values(params, name: str) -> list[str]:
    return params.getlist(name) if hasattr(params, "getlist") else [params[name]]


def orderable_fields(spec: registry.LayerSpec, fields) -> set[str]:
    out = set()
    for name in fields:
        f = spec.model._meta.get_field(name)
        if not isinstance(f, (models.JSONField, models.FileField)) and not f.many_to_one:
            out.add(name)
    return out | {"id"}


def allowed_params(spec: registry.LayerSpec) -> tuple[str, ...]:
    names = ["bbox", "near", "radius", "status", *spec.filter_fields]
    names += ["community", "grid", "q", "updated_since", "ordering", "deleted"]
    if spec.computed_properties and "overdue" in spec.computed_properties():
        names.append("overdue")
    return (*names, *PAGING_PARAMS)


def apply_filters(queryset, spec: registry.LayerSpec, params, fields, *, may_see_deleted: bool):
    """Filter `queryset` (all_objects) by the query `params`; returns (queryset, ListQuery)."""
    allowed = allowed_params(spec)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValidationError(
            {name: [f"unknown parameter; allowed: {', '.join(allowed)}"] for name in unknown}
        )
    empty = sorted(n for n in params if any(v == "" for v in _values(params, n)))
    if empty:
        raise ValidationError({name: ["empty value; leave the parameter out"] for name in empty})
    nul = sorted(n for n in params if any("\x00" in v for v in _values(params, n)))
    if nul:
        raise ValidationError({name: ["must not contain NUL characters"] for name in nul})
    query = ListQuery()
    single = {name: params.get(name) for name in params if name not in (spec.status_field,)}

    deleted = single.get("deleted")
    if deleted is not None and _bool("deleted", deleted):
        if not may_see_deleted:
            raise PermissionDenied("Only editors may list deleted features.")
        query.include_deleted = True
        queryset = queryset.filter(deleted_at__isnull=False)
    else:
        queryset = queryset.filter(deleted_at__isnull=True)

    if single.get("bbox"):
        queryset = queryset.filter(geom__intersects=parse_bbox(single["bbox"]))

    if "radius" in single and "near" not in single:
        raise ValidationError({"radius": ["radius needs near=lon,lat"]})
    if single.get("near"):
        lon, lat = parse_point("near", single["near"])
        radius = DEFAULT_RADIUS_M
        if single.get("radius"):
            (radius,) = _numbers("radius", single["radius"], 1)
            if not 0 < radius <= MAX_RADIUS_M:
                raise ValidationError({"radius": [f"radius must be in (0, {MAX_RADIUS_M}] metres"]})
        queryset = queryset.annotate(_distance_m=GeographyDistance("geom", lon, lat))
        queryset = within_metres(queryset, lon, lat, radius)
        query.near, query.radius = (lon, lat), radius

    statuses = params.getlist(spec.status_field) if hasattr(params, "getlist") else []
    if statuses:
        chosen = _choices(spec.status_field, statuses, spec.status_vocabulary.values)
        queryset = queryset.filter(**{f"{spec.status_field}__in": chosen})
    for name, vocabulary in spec.filter_fields.items():
        values = params.getlist(name) if hasattr(params, "getlist") else []
        if values:
            queryset = queryset.filter(**{f"{name}__in": _choices(name, values, vocabulary.values)})

    if single.get("community"):
        queryset = _spatial_or_link(queryset, spec, Community, "community", single["community"])
    if single.get("grid"):
        queryset = _spatial_or_link(queryset, spec, GridCell, "grid_cell", single["grid"], "grid")

    if single.get("q"):
        text = single["q"].strip()[:100]
        condition = Q()
        for name in ("name", "name_en", *spec.search_fields):
            condition |= Q(**{f"{name}__icontains": text})
        queryset = queryset.filter(condition)

    if single.get("updated_since"):
        since = _date_or_datetime("updated_since", single["updated_since"])
        queryset = queryset.filter(updated_at__gte=since)

    if single.get("overdue") is not None and "overdue" in allowed:
        overdue = spec.model.overdue_q()
        queryset = queryset.filter(overdue if _bool("overdue", single["overdue"]) else ~overdue)

    query.ordering = _ordering(spec, single.get("ordering"), fields, near=query.near is not None)
    return queryset.order_by(*query.ordering), query


def _spatial_or_link(queryset, spec, boundary_model, link: str, raw: str, name: str | None = None):
    name = name or link
    boundary = _boundary(boundary_model, name, raw)
    model = spec.model
    if model is boundary_model:
        return queryset.filter(pk=boundary.pk)
    if any(f.name == link for f in model._meta.concrete_fields):
        return queryset.filter(**{link: boundary})
    if model is GridCell and boundary_model is Community:
        return queryset.filter(community=boundary)
    # Layers without a stored link: whatever intersects the boundary.
    return queryset.filter(geom__intersects=boundary.geom)


def _ordering(spec, raw: str | None, fields, *, near: bool) -> list[str]:
    if not raw:
        return ["_distance_m", "pk"] if near else [*spec.model._meta.ordering, "pk"]
    allowed = orderable_fields(spec, fields) | ({"distance"} if near else set())
    out = []
    for term in raw.split(","):
        descending = term.startswith("-")
        name = term.lstrip("-")
        if name not in allowed:
            raise ValidationError(
                {"ordering": [f"cannot order by {name!r}; allowed: {sorted(allowed)}"]}
            )
        column = "_distance_m" if name == "distance" else name
        out.append(("-" if descending else "") + column)
    return [*out, "pk"]


def distance_property() -> dict:
    """The distance in metres, rounded to centimetres, as a feature property."""
    return {
        "distance_m": Func(
            F("_distance_m"),
            template="ROUND((%(expressions)s)::numeric, 2)",
            output_field=FloatField(),
        )
    }
