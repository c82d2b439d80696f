"""The clock of the lifecycle: limits from the TimeLimit table, counted in working days on the
Chinese calendar (layers/domain/workdays.py) from the service clock's today.

- a report must be dispatched within `dispatch_days`;
- a dispatch sets the 整改期限 `rectify_days` after it (the leader may give another date);
- a recorded rectification must be re-inspected within `reinspect_days`;
- past a limit by `escalate_days`, the reminder pass puts the hazard under 挂牌督办;
- a public report (随手拍) must be answered (accepted, linked or not accepted) within
  `accept_days` of its category at the general level (empty in the table: no limit).

A category and level missing from the table (an editor deleted the row) falls back to the
defaults in layers/domain/time_limits.py (HAZARD_TIME_LIMITS).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from layers.domain import clock, workdays
from layers.domain.time_limits import HAZARD_TIME_LIMITS


@dataclass(frozen=True)
class Limits:
    dispatch_days: int
    rectify_days: int
    reinspect_days: int
    accept_days: int | None
    escalate_days: int


def limits_for(category: str, level: str) -> Limits:
    from layers.domain.models import TimeLimit

    row = TimeLimit.objects.filter(category=category, level=level).first()
    if row is not None:
        return Limits(
            row.dispatch_days,
            row.rectify_days,
            row.reinspect_days,
            row.accept_days,
            row.escalate_days,
        )
    fallback = (
        HAZARD_TIME_LIMITS.get((category, level))
        or HAZARD_TIME_LIMITS[("structure", level if level in ("general", "major") else "general")]
    )
    return Limits(*fallback)


def default_deadline(hazard_or_level, start: dt.date | None = None, category: str | None = None):
    """The 整改期限 a dispatch gets by default: `rectify_days` working days after `start`
    (today by the service clock). Takes a hazard, or a level with `category`."""
    if isinstance(hazard_or_level, str):
        level, category = hazard_or_level, category or "structure"
    else:
        level, category = hazard_or_level.level, hazard_or_level.category
    days = limits_for(category, level).rectify_days
    return workdays.add(start or clock.today(), days)


def dispatch_due(hazard, start: dt.date | None = None) -> dt.date:
    return workdays.add(
        start or clock.today(), limits_for(hazard.category, hazard.level).dispatch_days
    )


def reinspect_due(hazard, start: dt.date | None = None) -> dt.date:
    days = limits_for(hazard.category, hazard.level).reinspect_days
    return workdays.add(start or clock.today(), days)


def escalation_date(hazard, due: dt.date) -> dt.date:
    """The day past `due` from which the hazard goes under formal supervision (a report not
    yet answered: its category at the general level)."""
    level = getattr(hazard, "level", "general")
    return workdays.add(due, limits_for(hazard.category, level).escalate_days)


def accept_due(category: str, start: dt.date | None = None) -> dt.date | None:
    """The day by which a public report of `category` received on `start` (today by the
    service clock) is answered: `accept_days` working days later; None when the table sets
    no acceptance limit for the category. A report has no level yet: the general level's row
    counts."""
    days = limits_for(category, "general").accept_days
    if days is None:
        return None
    return workdays.add(start or clock.today(), days)


def step_due(action: str, hazard, values: dict) -> dict:
    """The current step's limit after `action` (hazard fields to write): due_date, and the
    超期 mark cleared whenever the limit changes."""
    status_after = values.get("status", hazard.status)
    deadline = values.get("deadline", hazard.deadline)
    if status_after in ("closed", "rejected"):
        due = None
    elif action in ("report", "return"):
        due = dispatch_due(hazard)
    elif action == "rectify":
        due = reinspect_due(hazard)
    elif status_after in ("assigned", "rectifying"):
        due = deadline
    else:
        return {}
    if due == hazard.due_date:
        return {}
    return {"due_date": due, "overdue_since": None}
