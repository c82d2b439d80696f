"""What a typed parameter does to a layer's queryset: one function per kind of filter.

The channels map their own parameter names onto these (REST in layers/channels/api/filters.py, OGC
in layers/channels/ogc/views.py); a new kind of filter is a parser here, a function here, and one
line in each channel that offers it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from layers.domain import registry
from layers.domain.models import Community, GridCell
from layers.query import params as p
from layers.query.times import Span

# The boundaries a list may be limited to: parameter -> (model, the link field holding it).
BOUNDARIES = {"community": (Community, "community"), "grid": (GridCell, "grid_cell")}
MAX_QUERY_TEXT = 100


def by_choices(queryset, field: str, values: list[str]):
    return queryset.filter(**{f"{field}__in": values})


def by_vocabularies(queryset, spec: registry.LayerSpec, chosen: dict[str, list[str]]):
    for field, values in chosen.items():
        queryset = by_choices(queryset, field, values)
    return queryset


def filterable_vocabularies(spec: registry.LayerSpec, *, staff: bool):
    """The vocabulary fields a caller may filter by: all for a role, else the public fields
    only (a filter on a hidden field would reveal its values one 200 at a time)."""
    vocabularies = spec.vocabularies()
    if staff:
        return vocabularies
    return {name: v for name, v in vocabularies.items() if name in spec.public_fields}


def vocabulary_values(spec: registry.LayerSpec, name: str, raw_values: list[str]) -> list[str]:
    """Values of the spec's vocabulary field `name` (status or a filter field)."""
    vocabulary = spec.vocabularies()[name]
    return p.choices(name, [p.text(name, v) for v in raw_values], vocabulary.values)


def boundary(name: str, raw: str):
    """The community or grid cell named by id or code; ParamError if there is none."""
    model, _ = BOUNDARIES[name]
    raw = p.text(name, raw, max_length=64)
    pk = p.identifier(name, raw)
    query = Q(code=raw) | (Q(pk=pk) if pk is not None else Q(pk__in=[]))
    found = model.objects.filter(query).first()
    if found is None:
        raise p.ParamError(name, f"no {model._meta.verbose_name} with id or code {raw!r}")
    return found


def by_boundary(queryset, spec: registry.LayerSpec, name: str, found):
    """Features of `spec` in the boundary: its stored link where the layer has one, else space."""
    boundary_model, link = BOUNDARIES[name]
    model = spec.model
    if model is boundary_model:
        return queryset.filter(pk=found.pk)
    if any(f.name == link for f in model._meta.concrete_fields):
        return queryset.filter(**{link: found})
    if model is GridCell and boundary_model is Community:
        return queryset.filter(community=found)
    return queryset.filter(geom__intersects=found.geom)


def search_text(name: str, raw: str) -> str:
    return p.text(name, raw, max_length=p.MAX_TEXT_LENGTH).strip()[:MAX_QUERY_TEXT]


def text_fields(spec: registry.LayerSpec) -> tuple[str, ...]:
    """What `q` searches: the names, the 编号 (ref) and code where the layer has them, and the
    spec's search_fields. Each has a trigram index (migration 0011)."""
    names = {f.name for f in spec.model._meta.concrete_fields}
    return tuple(
        dict.fromkeys(
            f for f in ("name", "name_en", "ref", "code", *spec.search_fields) if f in names
        )
    )


def by_text(queryset, spec: registry.LayerSpec, text: str):
    condition = Q()
    for field in text_fields(spec):
        condition |= Q(**{f"{field}__icontains": text})
    return queryset.filter(condition)


def by_time(queryset, span: Span, field: str = "updated_at"):
    return queryset.filter(**span.lookups(field))


def has_overdue(spec: registry.LayerSpec) -> bool:
    return bool(spec.computed_properties) and "overdue" in spec.computed_properties()


def by_overdue(queryset, spec: registry.LayerSpec, overdue: bool):
    condition = spec.model.overdue_q()
    return queryset.filter(condition if overdue else ~condition)


def orderable_fields(spec: registry.LayerSpec, fields) -> set[str]:
    out = set()
    for name in fields:
        f = spec.model._meta.get_field(name)
        if not isinstance(f, (models.JSONField, models.FileField)) and not f.many_to_one:
            out.add(name)
    return out | {"id"}
