"""List parameters of the REST API: its names mapped onto the shared parsers and filters.

bbox, near+radius, status, the spec's vocabulary fields, community, grid, q, updated_since,
overdue (hazards), deleted (editors), ordering, page, page_size, count. All combine with AND.
Parsing and filtering live in layers/query/; a bad value raises ParamError (a 400 naming it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from rest_framework.exceptions import PermissionDenied

from layers.domain import registry
from layers.query import filters as qf
from layers.query import params as p
from layers.query import spatial, times

# What shapes the page rather than the match (an export or the ledger refuses them).
PAGING_PARAMS = ("page", "page_size", "count")
COUNT_MODES = ("estimate", "exact")
# Pages past this are refused: page × page_size stays far inside PostgreSQL's bigint.
MAX_PAGE = 1_000_000


@dataclass
class ListQuery:
    """What the client asked for, after validation."""

    near: tuple[float, float] | None = None
    radius: float | None = None
    ordering: list[str] = field(default_factory=list)
    include_deleted: bool = False


# Parameters only a role may use: the internal boundaries (whose ids and codes a 400/200
# would otherwise reveal). `deleted` is accepted from everyone and refused (403) but to editors.
STAFF_PARAMS = ("community", "grid")


def allowed_params(spec: registry.LayerSpec, *, staff: bool = True) -> tuple[str, ...]:
    """The list parameters of `spec`; the public (staff=False) gets only public filters:
    vocabularies of public fields, bbox, near, q, ordering and paging."""
    vocabularies = qf.filterable_vocabularies(spec, staff=staff)
    names = ["bbox", "near", "radius", *vocabularies, "q", "updated_since", "ordering", "deleted"]
    if staff:
        names += list(STAFF_PARAMS)
        if qf.has_overdue(spec):
            names.append("overdue")
    return (*names, *PAGING_PARAMS)


def _values(params, name: str) -> list[str]:
    return params.getlist(name) if hasattr(params, "getlist") else [params[name]]


def paging(params) -> tuple[int, int]:
    """(page, page_size): ASCII integers, page 1..MAX_PAGE, page_size 1..API_MAX_PAGE_SIZE."""
    raw_page = p.single(params, "page")
    raw_size = p.single(params, "page_size")
    page = 1 if raw_page is None else p.integer("page", raw_page, low=1, high=MAX_PAGE)
    size = settings.API_PAGE_SIZE
    if raw_size is not None:
        size = p.integer("page_size", raw_size, low=1, high=settings.API_MAX_PAGE_SIZE)
    return page, size


def exact_count(params) -> bool:
    """`count=exact`: count every match (up to API_EXACT_COUNT); `count=estimate`, the
    default: exact only where it is cheap, else the planner's estimate."""
    raw = p.single(params, "count")
    if raw is not None and raw not in COUNT_MODES:
        raise p.ParamError("count", f"expected one of {list(COUNT_MODES)}, got {p._show(raw)}")
    return raw == "exact"


def apply_filters(
    queryset, spec: registry.LayerSpec, params, fields, *, may_see_deleted: bool, staff: bool
):
    """Filter `queryset` (all_objects) by the query `params`; returns (queryset, ListQuery).

    `staff`: the caller has a role; otherwise only the public filters are accepted."""
    allowed = allowed_params(spec, staff=staff)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise p.ParamError(unknown[0], f"unknown parameter; allowed: {', '.join(allowed)}")
    empty = sorted(n for n in params if any(v == "" for v in _values(params, n)))
    if empty:
        raise p.ParamError(empty[0], "empty value; leave the parameter out")
    query = ListQuery()
    vocabularies = qf.filterable_vocabularies(spec, staff=staff)
    single = {name: p.single(params, name) for name in params if name not in vocabularies}

    deleted = single.get("deleted")
    if deleted is not None and p.boolean("deleted", deleted):
        if not may_see_deleted:
            raise PermissionDenied("Only editors may list deleted features.")
        query.include_deleted = True
        queryset = queryset.filter(deleted_at__isnull=False)
    else:
        queryset = queryset.filter(deleted_at__isnull=True)

    if single.get("bbox"):
        queryset = queryset.filter(geom__intersects=spatial.bbox("bbox", single["bbox"]))

    if "radius" in single and "near" not in single:
        raise p.ParamError("radius", "radius needs near=lon,lat")
    if single.get("near"):
        lon, lat = spatial.point("near", single["near"])
        radius = spatial.radius("radius", single.get("radius"))
        queryset = spatial.near(queryset, lon, lat, radius)
        query.near, query.radius = (lon, lat), radius

    chosen = {
        name: qf.vocabulary_values(spec, name, _values(params, name))
        for name in vocabularies
        if name in params
    }
    queryset = qf.by_vocabularies(queryset, spec, chosen)

    for name in qf.BOUNDARIES:
        if single.get(name):
            found = qf.boundary(name, single[name])
            queryset = qf.by_boundary(queryset, spec, name, found)

    if single.get("q"):
        queryset = qf.by_text(queryset, spec, qf.search_text("q", single["q"]))

    if single.get("updated_since"):
        since = times.moment("updated_since", single["updated_since"]).start
        queryset = qf.by_time(queryset, times.Span(start=since))

    if single.get("overdue") is not None and "overdue" in allowed:
        queryset = qf.by_overdue(queryset, spec, p.boolean("overdue", single["overdue"]))

    query.ordering = _ordering(spec, single.get("ordering"), fields, near=query.near is not None)
    return queryset.order_by(*query.ordering), query


def _ordering(spec, raw: str | None, fields, *, near: bool) -> list[str]:
    if not raw:
        return ["_distance_m", "pk"] if near else [*spec.model._meta.ordering, "pk"]
    allowed = qf.orderable_fields(spec, fields) | ({"distance"} if near else set())
    out = []
    for name, descending in p.ordering("ordering", raw, allowed):
        column = "_distance_m" if name == "distance" else name
        out.append(("-" if descending else "") + column)
    return [*out, "pk"]
