"""Working days on the calendar of mainland China: weekends off, public holidays off, and the
make-up workdays (调休) on. The holidays come from the maintained `chinesecalendar` package
(the State Council's yearly notice, published each autumn); past the last year it knows, the
calendar falls back to weekends only, and /readyz warns (see `readiness`).

The database holds the same exceptions (table layers_calendarday, kept in step by `sync`) for
the SQL function hh_workdays(a, b) that the rates and the API's time left use.

Counting rule (one for Python and SQL): `between(a, b)` counts the working days d with
a < d <= b, negative when b is before a; `add(start, n)` is the n-th working day after start.
"""

from __future__ import annotations

import datetime as dt
import functools

ONE_DAY = dt.timedelta(days=1)


@functools.cache
def _tables() -> tuple[dict[dt.date, str], dict[dt.date, str]]:
    from chinese_calendar import constants

    return dict(constants.holidays), dict(constants.workdays)


def known_until() -> int:
    """The last year whose holidays the calendar package knows."""
    holidays, workdays = _tables()
    return max(d.year for d in (*holidays, *workdays))


def is_workday(day: dt.date) -> bool:
    holidays, workdays = _tables()
    if day in workdays:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def add(start: dt.date, n: int) -> dt.date:
    """The n-th working day after `start` (n >= 0; 0 is `start` itself)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    while n > 0:
        day += ONE_DAY
        if is_workday(day):
            n -= 1
    return day


def between(a: dt.date, b: dt.date) -> int:
    """Working days d with a < d <= b; negative (the days from b to a) when b < a."""
    if b < a:
        return -between(b, a)
    count, day = 0, a
    while day < b:
        day += ONE_DAY
        count += is_workday(day)
    return count


def exceptions() -> list[tuple[dt.date, bool, str]]:
    """The days that differ from the weekend rule: (day, is a workday, name)."""
    holidays, workdays = _tables()
    out = [(d, False, name) for d, name in holidays.items() if d.weekday() < 5]
    out += [(d, True, name) for d, name in workdays.items() if d.weekday() >= 5]
    return sorted(out)


def sync(connection=None) -> int:
    """Write the exceptions into layers_calendarday (idempotent); returns the rows written."""
    from django.db import connection as default

    rows = exceptions()
    with (connection or default).cursor() as cursor:
        cursor.execute("DELETE FROM layers_calendarday")
        cursor.executemany(
            "INSERT INTO layers_calendarday (day, workday, name) VALUES (%s, %s, %s)", rows
        )
    return len(rows)


def readiness(today: dt.date | None = None) -> dict:
    """For /readyz: ok always (weekends still count), with a warning when today or the next
    60 days fall past the last year the holiday package knows."""
    from layers.domain import clock

    today = today or clock.today()
    last = known_until()
    body: dict = {"ok": True, "known_until": last}
    if (today + dt.timedelta(days=60)).year > last:
        body["warning"] = (
            f"the holiday calendar (chinesecalendar) knows years up to {last}: deadlines after "
            f"that count weekends only; upgrade the package when the State Council publishes "
            f"the next year's holidays"
        )
    return body
