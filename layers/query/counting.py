"""How many features match, without letting the count cost more than the page (REST and OGC).

A short page tells the total for free. Otherwise PostgreSQL counts exactly up to a cap (the
planner's estimate decides first whether counting is worth trying); above the cap the caller
gets the planner's estimate (REST) or no number (OGC's numberMatched is optional).
"""

from __future__ import annotations

import json

from django.db import connections


def free_total(offset: int, size: int, returned: int) -> int | None:
    """The total a page tells by itself: a short non-empty page, or a short first page."""
    if returned < size and (returned > 0 or offset == 0):
        return offset + returned
    return None


def planner_estimate(queryset) -> int:
    """The rows PostgreSQL's planner expects the queryset to return (EXPLAIN, no execution)."""
    sql, params = queryset.values("pk").query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(queryset, cap: int, estimate: int | None = None) -> int | None:
    """The exact count if it is at most `cap`, else None; no counting when the planner
    already expects more than `cap` rows (`estimate`, if the caller has it already)."""
    if (planner_estimate(queryset) if estimate is None else estimate) > cap:
        return None
    sql, params = queryset.values("pk").query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql} LIMIT {int(cap) + 1}) t", params)  # noqa: S608
        count = cursor.fetchone()[0]
    return count if count <= cap else None


def list_total(queryset, offset: int, size: int, returned: int, cap: int) -> tuple[int, bool]:
    """(total, exact) for a list page: exact up to `cap`, else the planner's estimate (never
    less than what the pages so far prove). The planner is asked once."""
    total = free_total(offset, size, returned)
    if total is not None:
        return total, True
    estimate = planner_estimate(queryset)
    total = bounded_count(queryset, cap, estimate)
    if total is not None:
        return total, True
    return max(estimate, offset + returned + 1), False
