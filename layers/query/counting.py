"""How many features match, without letting the count cost more than a fraction of the page
(REST and OGC).

A short page tells the total for free. Otherwise the planner's estimate (EXPLAIN, no
execution) decides whether counting is worth trying, and PostgreSQL counts at most `cap`
rows: a page's own budget (`cheap_cap`) unless the caller asked for the exact count. Above
the cap the caller gets the planner's estimate (REST, flagged as such) or no number (OGC's
numberMatched is optional).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import connections
from django.db.models import QuerySet


def free_total(offset: int, size: int, returned: int) -> int | None:
    """The total a page tells by itself: a short non-empty page, or a short first page."""
    if returned < size and (returned > 0 or offset == 0):
        return offset + returned
    return None


def cheap_cap(size: int) -> int:
    """The most rows counted for a page of `size` features when nobody asked for an exact
    count. Counting a row (an index entry and its recheck) costs a small fraction of encoding
    one as GeoJSON (docs/benchmarks.md: ~2 µs against ~50 µs), so COUNT_ROWS_PER_FEATURE rows
    per feature keep the count a small part of the page; COUNT_ROWS_MIN for the smallest pages.
    """
    return max(settings.COUNT_ROWS_MIN, size * settings.COUNT_ROWS_PER_FEATURE)


def planner_estimate(queryset) -> int:
    """The rows PostgreSQL's planner expects the queryset to return (EXPLAIN, no execution)."""
    sql, params = queryset.values("pk").query.sql_with_params()
    return estimate_sql(queryset.db, sql, params)


def estimate_sql(db: str, sql: str, params) -> int:
    """The planner's row estimate for the SELECT `sql` on database alias `db`."""
    with connections[db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(queryset, cap: int, estimate: int | None = None) -> int | None:
    """The exact count if it is at most `cap`, else None; no counting when the planner
    already expects more than `cap` rows (`estimate`, if the caller has it already).

    The LIMIT stops the scan after `cap` + 1 rows. (A bitmap scan still reads every matching
    index entry first; the planner chooses one only where it expects many rows, and it does
    not count then.)"""
    if (planner_estimate(queryset) if estimate is None else estimate) > cap:
        return None
    sql, params = queryset.values("pk").query.sql_with_params()
    return count_sql(queryset.db, sql, params, cap)


def count_sql(db: str, sql: str, params, cap: int) -> int | None:
    """The rows of the SELECT `sql` if at most `cap`, else None (counts at most cap + 1)."""
    with connections[db].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql} LIMIT {int(cap) + 1}) t", params)  # noqa: S608
        count = cursor.fetchone()[0]
    return count if count <= cap else None


class _Queryset:
    """A queryset as a match to count (the compiled pages, query/pages.py, bring their own:
    anything with estimate() and count(cap))."""

    def __init__(self, queryset):
        self.queryset = queryset

    def estimate(self) -> int:
        return planner_estimate(self.queryset)

    def count(self, cap: int) -> int | None:
        sql, params = self.queryset.values("pk").query.sql_with_params()
        return count_sql(self.queryset.db, sql, params, cap)


def _match(source):
    return _Queryset(source) if isinstance(source, QuerySet) else source


def total(queryset, cap: int) -> tuple[int, bool]:
    """(count, exact) of a whole queryset: exact up to `cap`, else the planner's estimate."""
    estimate = planner_estimate(queryset)
    found = bounded_count(queryset, cap, estimate)
    return (found, True) if found is not None else (estimate, False)


def list_total(source, offset: int, size: int, returned: int, cap: int) -> tuple[int, bool]:
    """(total, exact) for a list page: exact up to `cap`, else the planner's estimate, kept
    within what the page proves (a full page: more than it reaches; an empty page past the
    end: no more than its offset). The planner is asked once. `source`: a queryset, or a
    compiled page's match (query/pages.py)."""
    total = free_total(offset, size, returned)
    if total is not None:
        return total, True
    match = _match(source)
    estimate = match.estimate()
    total = match.count(cap) if estimate <= cap else None
    if total is not None:
        return total, True
    if returned == 0:
        return min(estimate, offset), False
    return max(estimate, offset + returned + 1), False


def matched(source, offset: int, size: int, returned: int) -> int | None:
    """The exact total where it is cheap (the page's budget, `cheap_cap`), else None."""
    total = free_total(offset, size, returned)
    if total is not None:
        return total
    match, cap = _match(source), cheap_cap(size)
    return match.count(cap) if match.estimate() <= cap else None
