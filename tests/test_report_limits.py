"""Public reports (随手拍): the acceptance limit (受理时限) comes from the time-limit table
(TimeLimit.accept_days), counted in working days on the Chinese calendar from the service
clock, and a report left unanswered comes up in the reminder pass: reminded, marked late,
escalated, once each. Intake decisions are stamped with the service clock."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from layers.domain import clock
from layers.domain.models import Notification, TimeLimit
from layers.services import reminders, reports
from tests.report_helpers import (  # noqa: F401 (fixtures: photos_removed, fresh_limits)
    fresh_limits,
    photos_removed,
    sent,
    user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("photos_removed", "fresh_limits")]


def test_the_answer_is_promised_by_the_time_limit_table_in_chinese_working_days(settings):
    settings.SERVICE_TODAY = "2026-09-30"  # the day before the National Day holiday
    before_holiday = sent(address="192.0.2.21")
    assert clock.local_date(before_holiday.received_at) == dt.date(2026, 9, 30)
    # One working day (the table's default for e-bikes): after the holiday, not on 1 October.
    assert before_holiday.accept_due == dt.date(2026, 10, 8)
    view = reports.public_view(before_holiday)
    assert view["promised"] == {"what": "answer", "by": "2026-10-08"}
    page = Client().get(f"/report/{before_holiday.code}/").content.decode()
    assert "2026-10-08" in page

    settings.SERVICE_TODAY = "2026-10-09"  # a Friday: the next working day is a make-up Saturday
    assert sent(address="192.0.2.22").accept_due == dt.date(2026, 10, 10)
    # Editors change the table: new reports get the new limit, promises made stay.
    TimeLimit.objects.filter(category="ebike", level="general").update(accept_days=2)
    assert sent(address="192.0.2.23").accept_due == dt.date(2026, 10, 12)
    before_holiday.refresh_from_db()
    assert before_holiday.accept_due == dt.date(2026, 10, 8)
    # No limit in the table: nothing promised, nothing reminded.
    TimeLimit.objects.filter(category="ebike", level="general").update(accept_days=None)
    unlimited = sent(address="192.0.2.24")
    assert unlimited.accept_due is None and reports.public_view(unlimited)["promised"] is None
    assert not [p for p in reminders.plan() if p.report_id == unlimited.pk]


def _late_on_the_card() -> str:
    client = Client()
    client.force_login(user("grid-02"))
    home = client.get("/").content.decode()
    found = re.search(r'data-figure="2"><strong>(\d+)</strong><span>其中超过答复时间', home)
    assert found, "the intake card's second figure"
    return found.group(1)


def _mine(lines: list[str], report) -> list[str]:
    return [line for line in lines if report.code in line]


def test_an_unanswered_report_is_reminded_marked_late_and_escalated_once_each(settings):
    settings.SERVICE_TODAY = "2026-09-30"
    report = sent(address="192.0.2.31")  # in HHC-01-02, grid-02's cell; due 2026-10-08
    answered = sent(address="192.0.2.32")
    reports.reject(answered.pk, user("demo-editor"), {"reason": "insufficient"})

    # Due within one working day: the leaders and the cell's inspector are reminded.
    assert _mine(reminders.run(), report) == [
        f"reminder  随手拍 {report.code}: 受理期限 2026-10-08"
    ]
    notices = Notification.objects.filter(key__startswith=f"report_reminder:r{report.pk}:")
    assert {"demo-editor", "grid-02"} <= {n.recipient.username for n in notices}
    assert {n.link for n in notices} == {f"/reports/intake/#report-{report.code}"}
    assert _mine(reminders.run(), report) == []  # once
    assert _mine(reminders.run(), answered) == []

    # The day after the limit (the holiday does not count): 超期, marked and told once.
    settings.SERVICE_TODAY = "2026-10-09"
    assert _mine(reminders.run(), report) == [
        f"overdue   随手拍 {report.code}: 受理期限 2026-10-08"
    ]
    report.refresh_from_db()
    assert report.overdue_since == dt.date(2026, 10, 9) and report.escalated_on is None
    assert report.events.filter(kind="overdue").count() == 1
    late = Notification.objects.filter(key__startswith=f"report_overdue:r{report.pk}:")
    assert "grid-02" in {n.recipient.username for n in late}
    assert _mine(reminders.run(), report) == []
    # Those who take it in see the limit and the mark: the intake page and the API's queue.
    editor = Client()
    editor.force_login(user("demo-editor"))
    queue = editor.get("/api/v1/reports/", {"status": "new"}).json()["results"]
    (item,) = [i for i in queue if i["code"] == report.code]
    assert (item["accept_due"], item["overdue_since"]) == ("2026-10-08", "2026-10-09")
    intake = editor.get("/reports/intake/").content.decode()
    assert 'data-accept-due="2026-10-08" class="hh-alert"' in intake
    # The intake card counts it past the answer time on the service clock's today.
    assert _late_on_the_card() == "1"
    settings.SERVICE_TODAY = "2026-10-08"
    assert _late_on_the_card() == "0"
    settings.SERVICE_TODAY = "2026-10-09"

    # escalate_days (3 for e-bikes) working days past the limit: escalated to the leaders.
    settings.SERVICE_TODAY = "2026-10-10"  # the make-up Saturday: 2 working days past
    assert _mine(reminders.run(), report) == []
    settings.SERVICE_TODAY = "2026-10-12"
    assert _mine(reminders.run(), report) == [f"escalated 随手拍 {report.code}: 超期未受理，督办"]
    report.refresh_from_db()
    assert report.escalated_on == dt.date(2026, 10, 12)
    assert [e.kind for e in report.events.all()] == ["received", "overdue", "escalated"]
    assert Notification.objects.filter(
        key__startswith=f"report_escalated:r{report.pk}:", recipient__username="demo-editor"
    ).exists()
    assert _mine(reminders.run(), report) == []

    # Answered: it leaves the pass; the decision carries the service clock's time.
    reports.accept(report.pk, user("demo-editor"), {})
    report.refresh_from_db()
    assert clock.local_date(report.decided_at) == dt.date(2026, 10, 12)
    settings.SERVICE_TODAY = "2026-10-20"
    assert [p for p in reminders.plan() if p.report_id == report.pk] == []


def test_the_dry_run_lists_the_report_and_changes_nothing(settings):
    settings.SERVICE_TODAY = "2026-09-30"
    report = sent(address="192.0.2.41")
    settings.SERVICE_TODAY = "2026-10-09"
    assert _mine(reminders.run(dry_run=True), report) == [
        f"overdue   随手拍 {report.code}: 受理期限 2026-10-08"
    ]
    report.refresh_from_db()
    assert report.overdue_since is None
    assert not Notification.objects.filter(key__contains=f":r{report.pk}:").exists()
