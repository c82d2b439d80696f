"""Links derived from geometry, kept true: one rule per link, in SQL, used on every path.

A building lies in a community and a renovation site; a hazard lies in a building, a grid cell
and a community; a service point in a grid cell and a community. These links are never typed by
hand. Which links a layer has is read from its model (`LINK_TARGETS`: a non-editable ForeignKey
named `community`, `grid_cell`, `building` or `renovation_site`); each is ONE SQL expression over
the feature's geometry (`_rules_of`), used in two ways:

- `links_for(model, geom)`: the links of one feature, when it is saved (`LayerFeature.derive`);
- `propagate(...)` / `refresh_all()`: set-based UPDATE ... FROM of every dependent row whose link
  changed, after a boundary (community, grid cell, renovation site) or a building changed its
  geometry, was created, soft-deleted or restored, or (grid cell) changed its community.

Rules (docs/ARCHITECTURE.md, "Derived links"):

- Only live features are linked: a soft-deleted boundary is never the target of a link, and
  soft-deleted dependents are left as they were (they are re-derived when restored).
- A feature that is not a point (a building) is in the polygon that contains its
  ST_PointOnSurface; a point (a hazard, a service point) is in the polygon it intersects (a
  point on a shared edge intersects both).
- Where several polygons qualify, the lowest id wins (the feature that existed first).
- A feature with both a grid cell and a community link (hazards, service points) takes its grid
  cell's community when it has a grid cell whose community is live; otherwise the community its
  point lies in.

Rows whose links change get `version + 1`, `updated_at` = now, and a history record with
`history_change_reason = "derived"` whose user is whoever caused the change (None for the
refresh command). `layers.services.editing.check_version` lets an edit made on an older version
through when every version since is such a derived record: derived links are not editable and
are recomputed on every save, so nothing the user sent can be lost and no link is overwritten.

Callers hold the transaction. Write paths call `changed(obj, user)` (through
layers.services.editing); bulk paths wrap their writes in `batch()` so dependents are re-derived
once, at the end."""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from layers.domain import clock, registry
from layers.domain.vocabularies import HAZARD_CLOSED_STATUSES
from layers.geo.geometry import STORAGE_SRID, metric_area
from layers.services import live

DERIVED_REASON = "derived"

# The layers a feature can lie in, by the name of the link field that holds them: a layer model's
# ForeignKey with one of these names to that model, declared `editable=False`, is a derived link
# (a building's community, a hazard's grid cell, a service point's community, ...). A new layer
# gets its links kept true by declaring such fields; nothing here names a dependent layer.
LINK_TARGETS: dict[str, str] = {
    "building": "Building",
    "renovation_site": "RenovationSite",
    "grid_cell": "GridCell",
    "community": "Community",
}
# Layers whose changes can change another row's links.
SOURCES = tuple(dict.fromkeys(LINK_TARGETS.values()))

# Scalar SQL picking the live `table` row whose geometry intersects `{a}` (the dependent's
# anchor point), lowest id first.
_AT = (
    "(SELECT x.id FROM {table} x WHERE x.deleted_at IS NULL"
    " AND ST_Intersects(x.geom, {a}) ORDER BY x.id LIMIT 1)"
)


def layer_model(name: str):
    from django.apps import apps

    return apps.get_model("layers", name)


def _links(model) -> dict[str, str]:
    """The derived link columns of `model` -> the source model name they point at."""
    out = {}
    for f in model._meta.concrete_fields:
        target = LINK_TARGETS.get(f.name)
        if (
            target is not None
            and f.many_to_one
            and not f.editable
            and f.related_model.__name__ == target
        ):
            out[f.column] = target
    return out


@functools.cache
def _rules_of(model_name: str) -> dict[str, str]:
    """Scalar SQL per derived column of `model_name`, over `{g}` (its geometry expression).

    A point lies where it is; any other geometry where its ST_PointOnSurface lies (one point,
    always inside). A community is the grid cell's community when the layer also has a grid cell
    link and that community is live; otherwise the community polygon the anchor lies in.
    """
    model = layer_model(model_name)
    links = _links(model)
    is_point = model._meta.get_field("geom").geom_type.upper() == "POINT"
    anchor = "{g}" if is_point else "ST_PointOnSurface({g})"

    def at(source: str) -> str:
        table = layer_model(source)._meta.db_table
        return _AT.replace("{table}", table).replace("{a}", anchor)

    rules = {}
    for column, source in links.items():
        rule = at(source)
        if source == "Community" and "grid_cell_id" in links:
            rule = (
                "COALESCE((SELECT c.id FROM layers_gridcell g JOIN layers_community c"
                " ON c.id = g.community_id AND c.deleted_at IS NULL WHERE g.id = "
                + at("GridCell")
                + "), "
                + rule
                + ")"
            )
        rules[column] = rule
    return rules


def _sources_of(model_name: str) -> dict[str, str]:
    return _links(layer_model(model_name))


def dependents() -> tuple[str, ...]:
    """The layer models with derived links, in registry order (the order they re-derive)."""
    from layers.domain import registry

    return tuple(spec.model.__name__ for spec in registry.LAYERS if _rules_of(spec.model.__name__))


def _rule(model_name: str, column: str, geom_sql: str) -> str:
    return _rules_of(model_name)[column].replace("{g}", geom_sql)


# -- one feature ------------------------------------------------------------------------------
def links_for(model, geom) -> dict[str, int | None]:
    """The derived links (column -> id) of a feature of `model` with geometry `geom`."""
    rules = _rules_of(model.__name__)
    if not rules:
        return {}
    if geom is None:
        return dict.fromkeys(rules)
    if geom.srid != STORAGE_SRID:  # the database compares in the storage SRID
        geom = geom.transform(STORAGE_SRID, clone=True) if geom.srid else geom.clone()
        geom.srid = STORAGE_SRID
    columns = list(rules)
    select = ", ".join(_rule(model.__name__, c, "d.geom") for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select} FROM (SELECT ST_GeomFromEWKB(%s) AS geom) d",
            [bytes(geom.ewkb)],
        )
        return dict(zip(columns, cursor.fetchone(), strict=True))


def apply_own(obj) -> None:
    """Set the fields `obj` derives from its own geometry and status, before it is saved: its
    links (above), a surface's area in square metres (EPSG:4549, never square degrees) and a
    hazard's 销号时间 (set when it closes, kept if a caller set it, cleared when it reopens)."""
    for column, value in links_for(type(obj), obj.geom).items():
        setattr(obj, column, value)
    if _has_field(obj, "area_m2"):
        obj.area_m2 = round(metric_area(obj.geom), 2) if obj.geom else None
    if _has_field(obj, "closed_at"):
        if obj.status in HAZARD_CLOSED_STATUSES:
            obj.closed_at = obj.closed_at or clock.now()
        else:
            obj.closed_at = None


def _has_field(obj, name: str) -> bool:
    return any(f.name == name for f in obj._meta.concrete_fields)


# -- many features ----------------------------------------------------------------------------
@dataclass
class LinkChange:
    id: int
    ref: str
    before: dict[str, int | None]
    after: dict[str, int | None]

    def describe(self) -> str:
        parts = [
            f"{c.removesuffix('_id')} {self.before[c]} -> {self.after[c]}"
            for c in self.before
            if self.before[c] != self.after[c]
        ]
        return f"#{self.id} {self.ref or '-'}: " + ", ".join(parts)


@dataclass
class Report:
    """What a propagation or refresh changed, per dependent layer (model name)."""

    checked: dict[str, int] = field(default_factory=dict)
    changes: dict[str, list[LinkChange]] = field(default_factory=dict)

    def changed(self, model_name: str) -> int:
        return len(self.changes.get(model_name, []))

    def by_column(self, model_name: str) -> dict[str, int]:
        counts = dict.fromkeys(_rules_of(model_name), 0)
        for change in self.changes.get(model_name, []):
            for column in counts:
                if change.before[column] != change.after[column]:
                    counts[column] += 1
        return counts


def _history_columns(model) -> list[str]:
    """Columns the historical table copies from the layer table (all of the model's)."""
    return [f.column for f in model._meta.concrete_fields]


def _scope_sql(dependent: str, touched: dict[str, set[int]], params: dict) -> str | None:
    """SQL selecting the ids of the live `dependent` rows a change of `touched` may affect.

    A row's link can change only if it is linked to a touched row now, or lies in a touched row
    (with its new geometry): if the winner was neither, adding or removing a non-winning
    candidate leaves the lowest id where it was. None when nothing touched concerns `dependent`.
    """
    table = layer_model(dependent)._meta.db_table
    parts = []
    for column, source in _sources_of(dependent).items():
        ids = touched.get(source)
        if not ids:
            continue
        key = f"ids_{source}"
        params[key] = sorted(ids)
        source_table = layer_model(source)._meta.db_table
        parts.append(
            f"SELECT d.id FROM {table} d WHERE d.deleted_at IS NULL AND d.{column} = ANY(%({key})s)"
        )
        parts.append(
            f"SELECT d.id FROM {table} d JOIN {source_table} s ON s.id = ANY(%({key})s)"
            " AND s.deleted_at IS NULL AND ST_Intersects(s.geom, d.geom)"
            " WHERE d.deleted_at IS NULL"
        )
    links = _sources_of(dependent)
    if "grid_cell_id" in links and "community_id" in links and touched.get("Community"):
        # A community derived through the grid cell follows its grid cell's community.
        params["ids_Community"] = sorted(touched["Community"])
        parts.append(
            f"SELECT d.id FROM {table} d JOIN layers_gridcell g ON g.id = d.grid_cell_id"
            " WHERE d.deleted_at IS NULL AND g.community_id = ANY(%(ids_Community)s)"
        )
    return " UNION ".join(parts) if parts else None


def _rederive(dependent: str, scope: str | None, params: dict, user_id, now) -> list[LinkChange]:
    """One statement: recompute the links of the rows in scope, update those that differ,
    write their history records; returns the changed rows with their links before and after."""
    model = layer_model(dependent)
    table = model._meta.db_table
    history_table = model.history.model._meta.db_table
    columns = list(_rules_of(dependent))
    where = "h.deleted_at IS NULL" if scope is None else f"h.id IN ({scope})"
    fresh = ", ".join(f"{_rule(dependent, c, 'h.geom')} AS new_{c}" for c in columns)
    old = ", ".join(f"h.{c} AS old_{c}" for c in columns)
    differs = " OR ".join(f"d.{c} IS DISTINCT FROM t.new_{c}" for c in columns)
    assign = ", ".join(f"{c} = t.new_{c}" for c in columns)
    copied = _history_columns(model)
    copied_list = ", ".join(copied)
    sql = f"""
        WITH target AS (
            SELECT h.id, h.ref, {old}, {fresh} FROM {table} h WHERE {where}
        ), changed AS (
            UPDATE {table} d SET {assign}, version = d.version + 1, updated_at = %(now)s
            FROM target t WHERE d.id = t.id AND ({differs})
            RETURNING d.*
        ), written AS (
            INSERT INTO {history_table} ({copied_list}, history_date, history_change_reason,
                                         history_type, history_user_id)
            SELECT {copied_list}, %(now)s, %(reason)s, '~', %(user)s FROM changed
        )
        SELECT t.* FROM target t JOIN changed c ON c.id = t.id ORDER BY t.id
    """
    params = {**params, "now": now, "reason": DERIVED_REASON, "user": user_id}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    live.changed_ids(registry.for_model(model), [row[0] for row in rows])
    n = len(columns)
    return [
        LinkChange(
            id=row[0],
            ref=row[1],
            before=dict(zip(columns, row[2 : 2 + n], strict=True)),
            after=dict(zip(columns, row[2 + n : 2 + 2 * n], strict=True)),
        )
        for row in rows
    ]


def _count_live(model_name: str) -> int:
    return layer_model(model_name).objects.count()


def propagate(touched: dict[str, set[int]], user=None) -> Report:
    """Re-derive every link that a change of the `touched` rows ({model name: ids}) may move."""
    report = Report()
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    now = timezone.now()
    for dependent in dependents():
        params: dict = {}
        scope = _scope_sql(dependent, touched, params)
        if scope is None:
            continue
        report.changes[dependent] = _rederive(dependent, scope, params, user_id, now)
    return report


def refresh_all(user=None, on_step=None) -> Report:
    """Re-derive every live dependent row from the live boundaries (the `refresh_derived`
    command and job, bulk loads written in SQL); only rows whose links differ are written.
    `on_step(done, total, name)` is called before each dependent layer (a job's progress)."""
    report = Report()
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    now = timezone.now()
    names = dependents()
    for i, dependent in enumerate(names):
        if on_step:
            on_step(i, len(names), dependent)
        report.checked[dependent] = _count_live(dependent)
        report.changes[dependent] = _rederive(dependent, None, {}, user_id, now)
    return report


# -- the write paths' hook --------------------------------------------------------------------
@dataclass
class _Batch:
    user: object = None
    touched: dict[str, set[int]] = field(default_factory=dict)


_batch: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar(
    "derived_batch", default=None
)


def changed(obj, user=None) -> Report | None:
    """Call after writing `obj` (created, moved, edited, soft-deleted or restored).

    Re-derives the dependents now, or at the end of the enclosing `batch()`.
    """
    name = type(obj).__name__
    if name not in SOURCES:
        return None
    current = _batch.get()
    if current is not None:
        current.touched.setdefault(name, set()).add(obj.pk)
        return None
    return propagate({name: {obj.pk}}, user)


@contextlib.contextmanager
def batch(user=None) -> Iterator[_Batch]:
    """Collect `changed()` calls and re-derive once on leaving (not when an error leaves)."""
    outer = _batch.get()
    if outer is not None:  # nested: the outer batch propagates
        yield outer
        return
    current = _Batch(user=user)
    token = _batch.set(current)
    try:
        yield current
    finally:
        _batch.reset(token)
    if current.touched:
        propagate(current.touched, user)
