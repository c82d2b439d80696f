"""Links derived from geometry, kept true: one rule per link, in SQL, used on every path.

A building lies in a community and a renovation site; a hazard lies in a building, a grid cell
and a community. These links are never typed by hand. Each is ONE SQL expression over the
feature's geometry (`_RULES`), used in two ways:

- `links_for(model, geom)`: the links of one feature, when it is saved (`LayerFeature.derive`);
- `propagate(...)` / `refresh_all()`: set-based UPDATE ... FROM of every dependent row whose link
  changed, after a boundary (community, grid cell, renovation site) or a building changed its
  geometry, was created, soft-deleted or restored, or (grid cell) changed its community.

Rules (docs/ARCHITECTURE.md, "Derived links"):

- Only live features are linked: a soft-deleted boundary is never the target of a link, and
  soft-deleted dependents are left as they were (they are re-derived when restored).
- A building is in the polygon that contains its ST_PointOnSurface; a hazard is in the polygon
  its point intersects (a point on a shared edge intersects both).
- Where several polygons qualify, the lowest id wins (the feature that existed first).
- A hazard's community is its grid cell's community when it has a grid cell whose community is
  live; otherwise the community its point lies in.

Rows whose links change get `version + 1`, `updated_at` = now, and a history record with
`history_change_reason = "derived"` whose user is whoever caused the change (None for the
refresh command). `layers.editing.check_version` lets an edit made on an older version through
when every version since is such a derived record: derived links are not editable and are
recomputed on every save, so nothing the user sent can be lost and no link is overwritten.

Callers hold the transaction. Write paths call `changed(obj, user)` (through layers.editing);
bulk paths wrap their writes in `batch()` so dependents are re-derived once, at the end.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from layers.geo import STORAGE_SRID

DERIVED_REASON = "derived"

# Scalar SQL per derived column, over `{g}` (the dependent's geometry expression). Every rule
# picks live rows only and the lowest id where several qualify.
_COMMUNITY_AT = (
    "(SELECT c.id FROM layers_community c WHERE c.deleted_at IS NULL"
    " AND ST_Intersects(c.geom, {p}) ORDER BY c.id LIMIT 1)"
)
_GRID_AT = (
    "(SELECT g.id FROM layers_gridcell g WHERE g.deleted_at IS NULL"
    " AND ST_Intersects(g.geom, {g}) ORDER BY g.id LIMIT 1)"
)
_RULES: dict[str, dict[str, str]] = {
    "Building": {
        "community_id": _COMMUNITY_AT.replace("{p}", "ST_PointOnSurface({g})"),
        "renovation_site_id": (
            "(SELECT s.id FROM layers_renovationsite s WHERE s.deleted_at IS NULL"
            " AND ST_Intersects(s.geom, ST_PointOnSurface({g})) ORDER BY s.id LIMIT 1)"
        ),
    },
    "SafetyHazard": {
        "building_id": (
            "(SELECT b.id FROM layers_building b WHERE b.deleted_at IS NULL"
            " AND ST_Intersects(b.geom, {g}) ORDER BY b.id LIMIT 1)"
        ),
        "grid_cell_id": _GRID_AT,
        "community_id": (
            "COALESCE((SELECT c.id FROM layers_gridcell g JOIN layers_community c"
            " ON c.id = g.community_id AND c.deleted_at IS NULL WHERE g.id = "
            + _GRID_AT
            + "), "
            + _COMMUNITY_AT.replace("{p}", "{g}")
            + ")"
        ),
    },
}

# Which source layer each derived column follows: (dependent model, column) -> source model.
# A change of a source row re-derives the dependents linked to it or lying in it.
_SOURCES: dict[str, dict[str, str]] = {
    "Building": {"community_id": "Community", "renovation_site_id": "RenovationSite"},
    "SafetyHazard": {
        "building_id": "Building",
        "grid_cell_id": "GridCell",
        "community_id": "Community",
    },
}
# Dependents in the order they are re-derived.
DEPENDENTS = ("Building", "SafetyHazard")
# Layers whose changes can change another row's links.
SOURCES = ("Community", "GridCell", "RenovationSite", "Building")


def layer_model(name: str):
    from django.apps import apps

    return apps.get_model("layers", name)


def _rule(model_name: str, column: str, geom_sql: str) -> str:
    return _RULES[model_name][column].replace("{g}", geom_sql)


# -- one feature ------------------------------------------------------------------------------
def links_for(model, geom) -> dict[str, int | None]:
    """The derived links (column -> id) of a feature of `model` with geometry `geom`."""
    rules = _RULES.get(model.__name__)
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
        counts = dict.fromkeys(_RULES[model_name], 0)
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
    for column, source in _SOURCES[dependent].items():
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
    if dependent == "SafetyHazard" and touched.get("Community"):
        # A hazard's community follows its grid cell's community (live or not).
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
    columns = list(_RULES[dependent])
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
    for dependent in DEPENDENTS:
        params: dict = {}
        scope = _scope_sql(dependent, touched, params)
        if scope is None:
            continue
        report.changes[dependent] = _rederive(dependent, scope, params, user_id, now)
    return report


def refresh_all(user=None) -> Report:
    """Re-derive every live dependent row from the live boundaries (the `refresh_derived`
    command, bulk loads written in SQL); only rows whose links differ are written."""
    report = Report()
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    now = timezone.now()
    for dependent in DEPENDENTS:
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
