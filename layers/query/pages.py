"""List pages compiled once per shape and reused with new values (REST lists, OGC items).

A page's SQL depends on its *shape*: the layer, the properties the caller may see (the role
class), the geometry's encoding, the ordering and whether a bbox is given. Per request only
the bbox's value and the slice change. Building and compiling the ORM queryset of a page
(a json_build_object of every visible property, joins for user names) cost ~1.4 ms, more
than running a page of 10; here it is done once per shape and process, and each request binds
its bbox into the stored statement. Shapes not compiled here (other filters, CQL2, sortby,
history) take the ORM path, which builds the very queryset compiled here.

The statement also returns the layer's generation (layers_generation, bumped by triggers on
every write): the planner's estimate of the match is kept per (statement, bbox, generation)
for ESTIMATE_SECONDS, so paging through one bbox asks the planner once, not per page.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from django.core.signals import setting_changed
from django.db import connections
from django.dispatch import receiver

from layers.domain import registry
from layers.geo import geometry as geo
from layers.query import counting, encode, spatial

# A bbox no request can send twice by chance: compiled once to find where its value goes.
SENTINEL_BBOX = "100.0000001,20.0000001,100.0000003,20.0000003"
MAX_SHAPES = 512
MAX_ESTIMATES = 4096
# The planner's estimate changes only with the table's statistics (ANALYZE) and its size; a
# write bumps the generation, and this bounds how long an estimate is kept otherwise.
ESTIMATE_SECONDS = 60.0
# Settings whose values a compiled statement holds (a file's URL is MEDIA_URL + its name).
COMPILED_SETTINGS = frozenset({"MEDIA_URL"})


class Page:
    """The compiled statements of one shape: the page (features, their number, the
    generation) and the match (for the planner's estimate and a bounded count)."""

    def __init__(self, spec: registry.LayerSpec, rows, match, has_bbox: bool):
        self.table = spec.model._meta.db_table
        self.rows_sql, rows_params = rows.query.sql_with_params()
        self.match_sql, match_params = match.values("pk").query.sql_with_params()
        self.rows_params, self.rows_slot = _template(rows_params, has_bbox)
        self.match_params, self.match_slot = _template(match_params, has_bbox)
        feature = encode.FEATURE.format(key="pk")
        self.page_sql = (
            f"SELECT COALESCE(json_agg({feature}), '[]'::json)::text, count(*), "  # noqa: S608
            "(SELECT value FROM layers_generation WHERE table_name = %s) "
            f"FROM ({self.rows_sql} LIMIT %s OFFSET %s) t"
        )

    def run(self, db: str, box, offset: int, size: int) -> tuple[str, int, int | None]:
        """(features as JSON array text, how many, the layer's generation) in one statement."""
        params = [self.table, *_bind(self.rows_params, self.rows_slot, box), size, offset]
        with connections[db].cursor() as cursor:
            cursor.execute(self.page_sql, params)
            text, count, generation = cursor.fetchone()
        return text, count, generation

    def counter(self, db: str, box, generation) -> Match:
        return Match(self, db, box, generation)


class Match:
    """The page's match for layers.query.counting: the planner's estimate (cached per
    generation) and a count bounded by a cap."""

    def __init__(self, page: Page, db: str, box, generation):
        self.page, self.db, self.generation = page, db, generation
        self.params = _bind(page.match_params, page.match_slot, box)
        self.box_key = None if box is None else bytes(box.ewkb)

    def estimate(self) -> int:
        key = (self.page.match_sql, self.db, self.box_key, self.generation)
        found = _ESTIMATES.get(key)
        if found is not None:
            return found
        value = counting.estimate_sql(self.db, self.page.match_sql, self.params)
        _ESTIMATES.put(key, value)
        return value

    def count(self, cap: int) -> int | None:
        return counting.count_sql(self.db, self.page.match_sql, self.params, cap)


class _Lru:
    """A small thread-safe LRU (gunicorn's gthread workers share a process), with an age
    limit when `seconds` is given."""

    def __init__(self, size: int, seconds: float | None = None):
        self.size, self.seconds = size, seconds
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            entry = self.items.get(key)
            if entry is None:
                return None
            value, born = entry
            if self.seconds is not None and time.monotonic() - born > self.seconds:
                del self.items[key]
                return None
            self.items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = (value, time.monotonic())
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_SHAPES = _Lru(MAX_SHAPES)
_ESTIMATES = _Lru(MAX_ESTIMATES, ESTIMATE_SECONDS)
stats = {"compiled": 0, "reused": 0}


def page_for(
    shape: Hashable,
    spec: registry.LayerSpec,
    build: Callable[[str | None], tuple],
    box=None,
) -> Page | None:
    """The compiled page of `shape` for a request with the lon/lat polygon `box` (or none);
    `build(bbox text or None)` returns (rows, match): the rows queryset of
    encode.feature_rows over the ordered match, and the match itself, as the ORM path builds
    them. None when the shape cannot be compiled (then the ORM path answers)."""
    if box is not None and box.srid != geo.STORAGE_SRID:
        return None
    page = _SHAPES.get(shape)
    if page is not None:
        stats["reused"] += 1
        return page
    rows, match = build(SENTINEL_BBOX if box is not None else None)
    try:
        page = Page(spec, rows, match, box is not None)
    except _NotTemplatable:
        return None
    _SHAPES.put(shape, page)
    stats["compiled"] += 1
    return page


def forget() -> None:
    """Drop every compiled shape and estimate (tests roll back generations; a deployment
    never needs it)."""
    _SHAPES.clear()
    _ESTIMATES.clear()


@receiver(setting_changed)
def _setting_changed(setting, **_kwargs) -> None:
    if setting in COMPILED_SETTINGS:
        forget()


class _NotTemplatable(Exception):
    """The bbox's value is not exactly one parameter of the compiled statement."""


def _sentinel_param():
    from django.db import connection

    return connection.ops.Adapter(spatial.bbox("bbox", SENTINEL_BBOX))


def _template(params, has_bbox: bool) -> tuple[tuple, int | None]:
    """(the parameters, the index of the bbox's), checking the bbox is exactly one of them
    and that binding a box the same way gives what Django gave for the sentinel."""
    params = tuple(params)
    if not has_bbox:
        return params, None
    sentinel = _sentinel_param()
    slots = [i for i, v in enumerate(params) if type(v) is type(sentinel) and v == sentinel]
    if len(slots) != 1 or params[slots[0]].srid != sentinel.srid:
        raise _NotTemplatable
    return params, slots[0]


def _bind(params: tuple, slot: int | None, box) -> list:
    out = list(params)
    if slot is not None:
        from django.db import connection

        out[slot] = connection.ops.Adapter(box)
    return out
