"""The rates the hazard loop is judged by, per grid cell, unit, person or month, over a period.

Every figure is one SQL statement with GROUP BY, read from the hazards and their timeline
(docs/HAZARDS.md gives each formula). Dates are local (TIME_ZONE); the period [start, end]
includes both days. `drill()` returns the hazards behind any one number, with the same SQL.

Figures and their dates (what decides the period and the month):
- reported: hazards found (found_at);
- dispatched: hazards with an `assign` step (its time; unit and person as dispatched);
- closed, on_time, late, mean_workdays_to_close: hazards closed (closed_at); on time when the
  local date of 销号时间 is on or before the 整改期限; late when after it; closed without a
  deadline (即查即改) is neither; mean working days from found to closed (hh_workdays);
- reinspected, reworked, reopened: hazards with a `pass`, `fail` or `reopen` step (its time);
  reworked (返工) when one of them is a `fail`, or a `reopen` (a resident said "not fixed"
  through their public report, or a leader reopened it on a 12345 call); reopened: those
  with a `reopen` step, the rework residents caused;
- returned: `return` steps (unit and person: who returned it);
- overdue_now: open hazards past a limit today (the service clock), month of that limit;
- rated, satisfied: public reports (随手拍) whose reporter rated the handling (rated_at; the
  latest rating of a report counts), satisfied when 4 or 5 of 5 (as the 12345 hotlines count
  满意 + 基本满意); placed in the grid cell of their hazard, else where they were made; unit
  and person of their hazard.

Rates: on_time_rate = on_time / (on_time + late), rework_rate = reworked / reinspected,
satisfaction_rate = satisfied / rated (None when there is nothing to divide by).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from layers.domain import clock
from layers.domain import vocabularies as status
from layers.query import params as p

GROUPINGS = ("grid", "unit", "person", "month")
OPEN = tuple(status.HAZARD_OPEN_STATUSES)
SATISFIED = 4  # of 5: 满意 and 基本满意


@dataclass(frozen=True)
class Figure:
    names: tuple[str, ...]  # the numbers it yields, in order
    select: tuple[str, ...]  # their SQL aggregates
    source: str  # FROM … (h is the hazard, g its grid cell, u its assignee)
    where: str
    date: str  # the timestamp or date that places a row in the period and its month
    unit: str
    person: str
    periodic: bool = True
    # Per number, the extra condition that picks its hazards for drill-down.
    drill: tuple[tuple[str, str], ...] = ()


HAZARD = (
    "layers_safetyhazard h LEFT JOIN layers_gridcell g ON g.id = h.grid_cell_id "
    "LEFT JOIN auth_user u ON u.id = h.assignee_id"
)
EVENT = f"layers_hazardevent e JOIN {HAZARD} ON h.id = e.hazard_id"
# A public report, its hazard (if any), and the grid cell of the hazard, else of the report.
REPORT = (
    "layers_publicreport r LEFT JOIN layers_safetyhazard h ON h.id = r.hazard_id "
    "LEFT JOIN layers_gridcell g ON g.id = coalesce(h.grid_cell_id, r.grid_cell_id) "
    "LEFT JOIN auth_user u ON u.id = h.assignee_id"
)
LOCAL = "AT TIME ZONE %(tz)s"
CLOSED_DAY = f"(h.closed_at {LOCAL})::date"

FIGURES: dict[str, Figure] = {
    "reported": Figure(
        ("reported",), ("count(*)",), HAZARD, "TRUE", "h.found_at", "h.responsible_unit",
        "u.username",
    ),
    "dispatched": Figure(
        ("dispatched",), ("count(DISTINCT e.hazard_id)",), EVENT, "e.action = 'assign'", "e.at",
        "e.data->>'responsible_unit'", "e.data->>'assignee'",
    ),
    "closed": Figure(
        ("closed", "on_time", "late", "mean_workdays_to_close"),
        (
            "count(*)",
            f"count(*) FILTER (WHERE h.deadline IS NOT NULL AND {CLOSED_DAY} <= h.deadline)",
            f"count(*) FILTER (WHERE h.deadline IS NOT NULL AND {CLOSED_DAY} > h.deadline)",
            f"round(avg(hh_workdays((h.found_at {LOCAL})::date, {CLOSED_DAY}))::numeric, 1)",
        ),
        HAZARD, "h.status = 'closed' AND h.closed_at IS NOT NULL", "h.closed_at",
        "h.responsible_unit", "u.username",
        drill=(
            ("on_time", f"h.deadline IS NOT NULL AND {CLOSED_DAY} <= h.deadline"),
            ("late", f"h.deadline IS NOT NULL AND {CLOSED_DAY} > h.deadline"),
        ),
    ),
    "reinspected": Figure(
        ("reinspected", "reworked", "reopened"),
        (
            "count(DISTINCT e.hazard_id)",
            "count(DISTINCT e.hazard_id) FILTER (WHERE e.action IN ('fail', 'reopen'))",
            "count(DISTINCT e.hazard_id) FILTER (WHERE e.action = 'reopen')",
        ),
        EVENT, "e.action IN ('pass', 'fail', 'reopen')", "e.at", "h.responsible_unit",
        "u.username",
        drill=(
            ("reworked", "e.action IN ('fail', 'reopen')"),
            ("reopened", "e.action = 'reopen'"),
        ),
    ),
    "returned": Figure(
        ("returned",), ("count(*)",), EVENT, "e.action = 'return'", "e.at", "e.data->>'unit'",
        "e.data->>'assignee'",
    ),
    "overdue_now": Figure(
        ("overdue_now",), ("count(*)",), HAZARD,
        "h.status = ANY(%(open)s) AND (h.deadline < %(today)s OR h.due_date < %(today)s)",
        "coalesce(h.due_date, h.deadline)", "h.responsible_unit", "u.username", periodic=False,
    ),
    "rated": Figure(
        ("rated", "satisfied"),
        ("count(*)", f"count(*) FILTER (WHERE r.rating >= {SATISFIED})"),
        REPORT, "r.rating IS NOT NULL AND r.rated_at IS NOT NULL", "r.rated_at",
        "h.responsible_unit", "u.username",
        drill=(("satisfied", f"r.rating >= {SATISFIED}"),),
    ),
}  # fmt: skip
RATES = ("on_time_rate", "rework_rate", "satisfaction_rate")
NUMBERS = tuple(n for f in FIGURES.values() for n in f.names if n != "mean_workdays_to_close")


def _key(figure: Figure, by: str | None) -> str:
    if by is None:
        return "''"
    if by == "grid":
        return "coalesce(g.code, '')"
    if by == "unit":
        return f"coalesce({figure.unit}, '')"
    if by == "person":
        return f"coalesce({figure.person}, '')"
    date = figure.date if figure.periodic else f"{figure.date}::timestamp"
    return f"coalesce(to_char({date} {LOCAL if figure.periodic else ''}, 'YYYY-MM'), '')"


def _where(figure: Figure) -> str:
    where = f"h.deleted_at IS NULL AND {figure.where}"
    if figure.periodic:
        where += f" AND ({figure.date} {LOCAL})::date BETWEEN %(start)s AND %(end)s"
    return where


def _params(start: dt.date, end: dt.date) -> dict:
    return {
        "tz": settings.TIME_ZONE,
        "start": start,
        "end": end,
        "today": clock.today(),
        "open": list(OPEN),
    }


def figures(by: str | None, start: dt.date, end: dt.date) -> dict[str, dict]:
    """{group key: {number: value}} for every figure (one statement each); by=None: totals."""
    out: dict[str, dict] = {}
    params = _params(start, end)
    with connection.cursor() as cursor:
        for figure in FIGURES.values():
            key = _key(figure, by)
            # Every fragment is a constant of this module; values travel as parameters.
            sql = (
                f"SELECT {key} AS k, {', '.join(figure.select)} FROM {figure.source} "  # noqa: S608
                f"WHERE {_where(figure)} GROUP BY 1"
            )
            cursor.execute(sql, params)
            for row in cursor.fetchall():
                values = out.setdefault(row[0], {})
                for name, value in zip(figure.names, row[1:], strict=True):
                    if name == "mean_workdays_to_close" and value is not None:
                        value = float(value)
                    values[name] = value
    for values in out.values():
        for name in (*NUMBERS, "mean_workdays_to_close"):
            values.setdefault(name, None if name == "mean_workdays_to_close" else 0)
        values["on_time_rate"] = _rate(values["on_time"], values["on_time"] + values["late"])
        values["rework_rate"] = _rate(values["reworked"], values["reinspected"])
        values["satisfaction_rate"] = _rate(values["satisfied"], values["rated"])
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def compute(by: str, start: dt.date, end: dt.date) -> dict:
    groups = figures(by, start, end)
    total = figures(None, start, end).get("")
    if total is None:
        total = dict.fromkeys(NUMBERS, 0)
        total.update(mean_workdays_to_close=None, **dict.fromkeys(RATES))
    return {
        "by": by,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "groups": [{"key": k, **v} for k, v in sorted(groups.items())],
        "total": total,
    }


def drill(number: str, by: str | None, key: str | None, start: dt.date, end: dt.date) -> list[int]:
    """The ids of the hazards behind one number of one group (or of the total)."""
    figure = next(f for f in FIGURES.values() if number in f.names)
    condition = dict(figure.drill).get(number)
    where = _where(figure)
    params = _params(start, end)
    if condition:
        where += f" AND {condition}"
    if by is not None:
        where += f" AND {_key(figure, by)} = %(key)s"
        params["key"] = key or ""
    sql = f"SELECT DISTINCT h.id FROM {figure.source} WHERE {where} ORDER BY h.id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last six months: from the first day of the month five months back to today."""
    today = today or clock.today()
    month = today.month - 5
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, 1), today


KPI_PARAMS = ("by", "from", "to")


class BadQuery(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(errors))
        self.errors = errors


def parse(params, allowed: tuple[str, ...] = KPI_PARAMS) -> tuple[str, dt.date, dt.date]:
    """(by, from, to) from a query, strictly; BadQuery names each bad parameter."""
    errors = {name: ["unknown parameter"] for name in sorted(set(params) - set(allowed))}
    start, end = default_period()
    by = "month"
    try:
        raw = p.single(params, "by")
        if raw is not None:
            by = p.choices("by", [raw], GROUPINGS)[0]
    except p.ParamError as exc:
        errors[exc.name] = [exc.message]
    days = {}
    for name in ("from", "to"):
        try:
            raw = p.single(params, name)
        except p.ParamError as exc:
            errors[exc.name] = [exc.message]
            continue
        if raw is None:
            continue
        try:
            if len(raw) != 10 or not raw.isascii():
                raise ValueError
            days[name] = dt.date.fromisoformat(raw)
        except ValueError:
            errors[name] = [f"expected a date YYYY-MM-DD, got {raw[:20]!r}"]
    start, end = days.get("from", start), days.get("to", end)
    if "from" not in errors and "to" not in errors:
        if start > end:
            errors["from"] = [f"after to ({end})"]
        elif (end - start).days > 3660:
            errors["from"] = ["the period is at most ten years"]
    if errors:
        raise BadQuery(errors)
    return by, start, end
