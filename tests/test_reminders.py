"""The reminder pass, moved through days by the service clock: a reminder one working day
before the limit, 超期 after it, 挂牌督办 after the second limit; twice sends nothing twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from layers.domain.models import GridCell, HazardEvent, Notification, SafetyHazard
from layers.domain.roles import EDITOR, PLANNER
from layers.jobs import tasks
from layers.services import reminders, workflow
from tests.conftest import make_user
from tests.factories import make

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatched(db, settings):
    """An e-bike hazard dispatched on Tuesday 2026-09-29: due 2026-10-09 (3 working days, the
    National Day holiday skipped); escalated 3 working days later, on 2026-10-13 (Saturday
    10-10 is a make-up workday)."""
    settings.SERVICE_TODAY = "2026-09-29"
    cell = GridCell.objects.order_by("code").first()
    leader = make_user("r-leader", EDITOR, staff=True)
    unit = make_user("r-unit", PLANNER)
    hazard = make(
        SafetyHazard,
        name="楼道飞线充电",
        category="ebike",
        level="general",
        status="reported",
        geom=cell.geom.point_on_surface,
        found_at=dt.datetime(2026, 9, 28, 9, tzinfo=dt.UTC),
    )
    workflow.perform(
        hazard.pk, "assign", leader, {"responsible_unit": "物业", "assignee": "r-unit"}
    )
    hazard.refresh_from_db()
    assert hazard.deadline == dt.date(2026, 10, 9)
    return {"hazard": hazard, "leader": leader, "unit": unit}


def mine(lines, hazard):
    label = f" {hazard.ref or hazard.pk} {hazard.name}:"
    return [line for line in lines if label in line]


def notices(user, event, hazard=None):
    found = Notification.objects.filter(recipient=user, event=event)
    return found.filter(hazard=hazard) if hazard is not None else found


def test_nothing_while_the_limit_is_far(dispatched, settings):
    settings.SERVICE_TODAY = "2026-09-30"
    assert mine(reminders.run(), dispatched["hazard"]) == []


def test_a_reminder_one_working_day_before_once(dispatched, settings):
    settings.SERVICE_TODAY = "2026-10-08"  # Thursday; due Friday 10-09
    lines = mine(reminders.run(), dispatched["hazard"])
    assert [line.split()[0] for line in lines] == ["reminder"]
    assert notices(dispatched["unit"], "reminder").count() == 1
    assert mine(reminders.run(), dispatched["hazard"]) == []
    assert notices(dispatched["unit"], "reminder").count() == 1


def test_overdue_then_escalated_each_once(dispatched, settings):
    hazard, leader, unit = dispatched["hazard"], dispatched["leader"], dispatched["unit"]
    settings.SERVICE_TODAY = "2026-10-10"  # the make-up Saturday: one working day late
    assert [line.split()[0] for line in mine(reminders.run(), hazard)] == ["overdue"]
    hazard.refresh_from_db()
    assert hazard.overdue_since == dt.date(2026, 10, 10) and not hazard.supervised
    assert notices(leader, "overdue", hazard).count() == 1
    assert notices(unit, "overdue", hazard).count() == 1
    assert mine(reminders.run(), hazard) == []
    settings.SERVICE_TODAY = "2026-10-12"
    assert mine(reminders.run(), hazard) == []
    settings.SERVICE_TODAY = "2026-10-13"
    assert [line.split()[0] for line in mine(reminders.run(), hazard)] == ["escalated"]
    hazard.refresh_from_db()
    assert hazard.supervised
    assert notices(leader, "escalated", hazard).count() == 1
    timeline = [e["action"] for e in workflow.timeline(hazard)]
    assert timeline[-2:] == ["overdue", "escalate"]
    assert HazardEvent.objects.get(hazard=hazard, action="escalate").actor is None
    assert mine(reminders.run(), hazard) == []
    pairs = list(Notification.objects.filter(hazard=hazard).values_list("event", "recipient"))
    assert len(pairs) == len(set(pairs))  # one notice per event and person
    assert {e for e, _ in pairs} == {"assigned", "overdue", "escalated"}


def test_a_new_limit_clears_the_mark(dispatched, settings):
    hazard = dispatched["hazard"]
    settings.SERVICE_TODAY = "2026-10-12"
    reminders.run()
    workflow.perform(hazard.pk, "set_deadline", dispatched["leader"], {"deadline": "2026-10-20"})
    hazard.refresh_from_db()
    assert hazard.overdue_since is None and hazard.due_date == dt.date(2026, 10, 20)


def test_dry_run_changes_nothing(dispatched, settings, capsys):
    settings.SERVICE_TODAY = "2026-10-13"
    call_command("remind", "--dry-run")
    out = capsys.readouterr().out
    assert out.startswith("# 2026-10-13: would send")
    assert f"{dispatched['hazard'].pk} 楼道飞线充电" in out or "楼道飞线充电" in out
    hazard = SafetyHazard.objects.get(pk=dispatched["hazard"].pk)
    assert hazard.overdue_since is None and not hazard.supervised
    assert not Notification.objects.filter(hazard=hazard, event="overdue").exists()
    call_command("remind")
    assert "楼道飞线充电" in capsys.readouterr().out


def test_the_worker_runs_it_periodically():
    from procrastinate.contrib.django import app

    assert ("layers.remind", "remind") in app.periodic_registry.periodic_tasks
    assert tasks.remind.name == "layers.remind"
