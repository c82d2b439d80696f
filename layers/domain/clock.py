"""The service's clock: what "now" and "today" are for the hazard lifecycle, its deadlines,
reminders, overdue checks and rates.

Everything that decides by the date reads it here, never from `timezone.now()` directly, so a
test (or a rehearsal of next week's reminders) moves "today" through the service's own
settings instead of sleeping:

- SERVICE_TODAY = "YYYY-MM-DD": today is that date; the time of day stays the real one (so
  steps taken one after another keep their order);
- SERVICE_CLOCK_OFFSET = a signed duration ("3d", "-2d", "36h", "90m", "3600" seconds) added
  to the real clock.

Both are read from the environment by settings (geo_service/settings.py) and from settings when
used, so `override_settings` moves the clock of a test, and a server started with the variable
in its environment runs on the moved clock. Both empty: the real clock.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.utils import timezone

_OFFSET = re.compile(r"^([+-]?)(\d{1,7})([dhms]?)$")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 1}


class ClockSettingError(ValueError):
    """SERVICE_TODAY or SERVICE_CLOCK_OFFSET is not what the clock understands."""


def parse_offset(text: str) -> dt.timedelta:
    match = _OFFSET.match(text.strip())
    if not match:
        raise ClockSettingError(
            f"SERVICE_CLOCK_OFFSET={text!r}: expected a signed number with d, h, m or s "
            "(e.g. 3d, -36h, 3600)"
        )
    sign, number, unit = match.groups()
    seconds = int(number) * _UNITS[unit]
    return dt.timedelta(seconds=-seconds if sign == "-" else seconds)


def parse_today(text: str) -> dt.date:
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ClockSettingError(f"SERVICE_TODAY={text!r}: expected a date YYYY-MM-DD") from None


def _setting(name: str) -> str:
    return (getattr(settings, name, "") or "").strip()


def is_moved() -> bool:
    return bool(_setting("SERVICE_TODAY") or _setting("SERVICE_CLOCK_OFFSET"))


def now() -> dt.datetime:
    """The service's current time (aware, UTC like timezone.now())."""
    real = timezone.now()
    fixed = _setting("SERVICE_TODAY")
    if fixed:
        day = parse_today(fixed)
        local = timezone.localtime(real)
        real = local.replace(year=day.year, month=day.month, day=day.day)
    offset = _setting("SERVICE_CLOCK_OFFSET")
    if offset:
        real = real + parse_offset(offset)
    return real


def today() -> dt.date:
    """The service's date in its time zone (TIME_ZONE)."""
    return timezone.localdate(now())


def local_date(value: dt.datetime) -> dt.date:
    return timezone.localdate(value)


def describe() -> dict:
    """What the clock says and why, for /readyz."""
    return {
        "today": today().isoformat(),
        "moved": is_moved(),
        "service_today": _setting("SERVICE_TODAY") or None,
        "offset": _setting("SERVICE_CLOCK_OFFSET") or None,
    }
