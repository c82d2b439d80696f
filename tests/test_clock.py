"""The service clock: SERVICE_TODAY and SERVICE_CLOCK_OFFSET move "today" for the lifecycle."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from layers.domain import clock


def test_the_real_clock_when_nothing_is_set():
    with override_settings(SERVICE_TODAY="", SERVICE_CLOCK_OFFSET=""):
        assert clock.today() == timezone.localdate()
        assert not clock.is_moved()


def test_service_today_fixes_the_date_and_keeps_the_time_of_day():
    with override_settings(SERVICE_TODAY="2026-09-29", SERVICE_CLOCK_OFFSET=""):
        assert clock.today() == dt.date(2026, 9, 29)
        first, second = clock.now(), clock.now()
        assert first <= second
        assert timezone.localtime(first).time().hour == timezone.localtime().time().hour


@pytest.mark.parametrize(
    ("offset", "days"), [("3d", 3), ("-2d", -2), ("+48h", 2), ("172800", 2), ("2880m", 2)]
)
def test_an_offset_shifts_the_real_clock(offset, days):
    with override_settings(SERVICE_TODAY="2026-09-29", SERVICE_CLOCK_OFFSET=offset):
        assert clock.today() == dt.date(2026, 9, 29) + dt.timedelta(days=days)


@pytest.mark.parametrize("bad", ["3 days", "d", "1.5d", "--3d", "3w"])
def test_a_bad_offset_is_named(bad):
    with override_settings(SERVICE_CLOCK_OFFSET=bad), pytest.raises(clock.ClockSettingError) as e:
        clock.now()
    assert "SERVICE_CLOCK_OFFSET" in str(e.value)


@pytest.mark.parametrize("bad", ["2026-9-29", "tomorrow", "2026-02-30"])
def test_a_bad_today_is_named(bad):
    with override_settings(SERVICE_TODAY=bad), pytest.raises(clock.ClockSettingError) as e:
        clock.today()
    assert "SERVICE_TODAY" in str(e.value)


@pytest.mark.django_db
def test_overdue_follows_the_service_clock():
    from layers.domain.models import SafetyHazard

    hazard = SafetyHazard.objects.filter(status="assigned", deadline__isnull=False).first()
    day = hazard.deadline
    with override_settings(SERVICE_TODAY=day.isoformat()):
        assert not hazard.is_overdue
        assert not SafetyHazard.objects.filter(SafetyHazard.overdue_q(), pk=hazard.pk).exists()
    with override_settings(SERVICE_TODAY=(day + dt.timedelta(days=1)).isoformat()):
        assert hazard.is_overdue
        assert SafetyHazard.objects.filter(SafetyHazard.overdue_q(), pk=hazard.pk).exists()
