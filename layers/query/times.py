"""Time instants and intervals, parsed strictly and the same way on every channel.

Grammar (ASCII only):

    date       YYYY-MM-DD
    date-time  YYYY-MM-DD('T'|'t'|' ')HH:MM[:SS[.fraction]][zone]
    zone       'Z' | 'z' | ('+'|'-'|' ')HH[:MM] | ('+'|'-'|' ')HHMM
    interval   start '/' end, either side a date, a date-time, '..' or empty (open)

A date-time without a zone is Asia/Shanghai time (UTC+8), REST and OGC alike. A space before an
offset is read as '+' (an unencoded '+' in a query string arrives as a space). Offsets are at
most ±18:00. Impossible dates (2026-13-01, 2026-02-30), year 0 and instants that leave years
1–9999 once converted to UTC (9999-12-31T23:00-05:00) are ParamErrors. Fractions beyond
microseconds are cut, not rounded.

CQL2 temporal literals (`TIMESTAMP('…')`, `DATE('…')`, `{"timestamp": …}`, `{"date": …}`) are
stricter: RFC 3339 only (rfc3339_date_time, rfc3339_date), a date-time with seconds and a zone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from layers.query.params import ParamError, _show

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
MAX_OFFSET = dt.timedelta(hours=18)

_MOMENT = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[Tt ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:[.,](?P<f>[0-9]{1,9}))?)?"
    r"(?P<zone>[Zz]|[+\- ](?P<oh>[0-9]{2})(?::?(?P<om>[0-9]{2}))?)?)?",
    re.ASCII,
)


@dataclass(frozen=True)
class Moment:
    """A parsed date or date-time: `start` (aware, UTC) and, for a date, the next day's start."""

    start: dt.datetime
    # A date: the next day's start (None after 9999-12-31: the day runs to the end of time).
    next: dt.datetime | None = None
    is_day: bool = False


@dataclass(frozen=True)
class Span:
    """A time range: start inclusive; end inclusive or exclusive; either may be open (None)."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    end_inclusive: bool = True

    def lookups(self, field: str) -> dict[str, dt.datetime]:
        out = {}
        if self.start is not None:
            out[f"{field}__gte"] = self.start
        if self.end is not None:
            out[f"{field}__{'lte' if self.end_inclusive else 'lt'}"] = self.end
        return out


def _utc(name: str, raw: str, value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise ParamError(name, f"{_show(raw)} is outside years 1–9999 in UTC") from None


def moment(name: str, raw: str) -> Moment:
    """A date (the whole day, Asia/Shanghai) or a date-time (an instant)."""
    match = _MOMENT.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise ParamError(name, f"expected an ISO 8601 date or date-time, got {_show(str(raw))}")
    g = match.groupdict()
    try:
        day = dt.date(int(g["y"]), int(g["mo"]), int(g["d"]))
    except ValueError:
        raise ParamError(name, f"no such date: {_show(raw)}") from None
    if g["h"] is None:
        start = dt.datetime.combine(day, dt.time.min, LOCAL_ZONE)
        try:
            following = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, LOCAL_ZONE)
        except OverflowError:  # 9999-12-31: the day runs to the end of time
            following = None
        start = _utc(name, raw, start)
        return Moment(start, _utc(name, raw, following) if following else None, is_day=True)
    hour, minute, second = int(g["h"]), int(g["mi"]), int(g["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ParamError(name, f"no such time of day: {_show(raw)}")
    micro = int((g["f"] or "0").ljust(6, "0")[:6])
    if g["zone"] is None:
        zone = LOCAL_ZONE
    elif g["zone"] in ("Z", "z"):
        zone = dt.UTC
    else:
        oh, om = int(g["oh"]), int(g["om"] or 0)
        offset = dt.timedelta(hours=oh, minutes=om)
        if om > 59 or offset > MAX_OFFSET:
            raise ParamError(name, f"no such UTC offset (at most ±18:00): {_show(raw)}")
        zone = dt.timezone(-offset if g["zone"][0] == "-" else offset)
    value = dt.datetime.combine(day, dt.time(hour, minute, second, micro), zone)
    return Moment(_utc(name, raw, value), None)


def instant_or_day(name: str, raw: str) -> Span:
    """An instant is itself; a date is its whole day in Asia/Shanghai."""
    m = moment(name, raw)
    if m.is_day:
        return Span(m.start, m.next, end_inclusive=False)
    return Span(m.start, m.start, end_inclusive=True)


def interval(name: str, raw: str) -> Span:
    """OGC `datetime`: an instant, a date, or 'a/b' with '..' or nothing for an open end.

    A date as the end includes that whole day.
    """
    if not isinstance(raw, str) or "/" not in raw:
        return instant_or_day(name, raw)
    start_text, _, end_text = raw.partition("/")
    if "/" in end_text:
        raise ParamError(name, f"expected one '/' in an interval, got {_show(raw)}")
    start = None if start_text in ("", "..") else moment(name, start_text)
    end = None if end_text in ("", "..") else moment(name, end_text)
    if start is None and end is None:
        raise ParamError(name, "an interval needs at least one end")
    if end is None:
        span = Span(start.start, None)
    elif end.is_day:
        span = Span(start.start if start else None, end.next, end_inclusive=False)
    else:
        span = Span(start.start if start else None, end.start, end_inclusive=True)
    if span.start and span.end and span.start > span.end:
        raise ParamError(name, "the interval starts after it ends")
    return span


# --- RFC 3339 (CQL2 temporal literals) ----------------------------------------------------------

_RFC3339_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_RFC3339_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)


def rfc3339_date(name: str, raw: str) -> dt.date:
    """An RFC 3339 full-date, YYYY-MM-DD, that exists (CQL2 `DATE('…')`, `{"date": …}`)."""
    if not isinstance(raw, str) or not _RFC3339_DATE.fullmatch(raw):
        raise ParamError(name, f"expected an RFC 3339 date (YYYY-MM-DD), got {_show(str(raw))}")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ParamError(name, f"no such date: {_show(raw)}") from None


def rfc3339_date_time(name: str, raw: str) -> dt.datetime:
    """An RFC 3339 date-time with seconds and a zone (Z or ±HH:MM), as an aware UTC datetime
    (CQL2 `TIMESTAMP('…')`, `{"timestamp": …}`). Nothing looser: no missing zone or seconds,
    no space for 'T', no basic format, no words ("tomorrow")."""
    if not isinstance(raw, str) or not _RFC3339_DATE_TIME.fullmatch(raw):
        raise ParamError(
            name,
            "expected an RFC 3339 date-time such as 2026-10-01T08:00:00Z or "
            f"2026-10-01T16:00:00+08:00, got {_show(str(raw))}",
        )
    return moment(name, raw).start
