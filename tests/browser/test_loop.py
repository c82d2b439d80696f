"""A week of the hazard loop in Chromium, on the service's own clock (issue 23, "Done when").

Every person signs in through the site's form. The server runs with SERVICE_TODAY in its
environment, and "today" moves by starting it again with another date, never by sleeping; the
reminder pass runs as `manage.py remind` on the moved clock (the same pass the worker's periodic
task runs). Mail goes to a real SMTP server (aiosmtpd) in this process.

1. grid-01 reports a hazard (Tuesday 2026-09-29);
2. the leader dispatches it: the default deadline skips the National Day holiday (10-09);
3. the unit returns it with a reason; 4. the leader dispatches it again;
5. the clock runs out (10-08: reminder; 10-13: 超期 and 挂牌督办);
6. the reminder and the escalation are in the inbox and in the mail;
7. it is rectified, fails re-inspection, passes the second time;
8. the rates of its grid cell and unit show one rework and one late closure.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from layers.domain import models
from tests.browser.conftest import _tabs
from tests.conftest import start_server
from tests.servers import SMTPServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parent.parent.parent
MARK = "闭环测试"
PHONE = {"width": 390, "height": 844}
UNIT_WRONG = "钟楼区住房和城乡建设局"
UNIT = "荷花池街道平安办"
PERIOD = "from=2026-09-29&to=2026-10-31"


@pytest.fixture(scope="module")
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture(scope="module")
def cleanup(django_db_setup, django_db_blocker):
    """Removes this module's hazards, and undoes what the reminder pass did to the sample
    hazards (marks, timeline entries, notices), so the session's other tests see them as
    loaded."""
    with django_db_blocker.unblock():
        marks = {
            h["pk"]: h
            for h in models.SafetyHazard.all_objects.values("pk", "overdue_since", "supervised")
        }
        last_event = models.HazardEvent.objects.order_by("-pk").values_list("pk", flat=True)[:1]
        last_event = last_event[0] if last_event else 0
    yield
    with django_db_blocker.unblock():
        hazards = models.SafetyHazard.all_objects.filter(name__startswith=MARK)
        pks = list(hazards.values_list("pk", flat=True))
        hazards.delete()
        models.SafetyHazard.history.filter(id__in=pks).delete()
        models.HazardEvent.objects.filter(pk__gt=last_event).delete()
        models.Notification.objects.all().delete()
        for pk, before in marks.items():
            models.SafetyHazard.all_objects.filter(pk=pk).exclude(
                overdue_since=before["overdue_since"], supervised=before["supervised"]
            ).update(overdue_since=before["overdue_since"], supervised=before["supervised"])


class Day:
    """The app served on a given day of the service clock, with mail to the test's server."""

    def __init__(self, browser, django_db_blocker, smtp, day: str):
        self.env = {
            "SERVICE_TODAY": day,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
        }
        self.server = start_server(django_db_blocker, **self.env)
        self.base = next(self.server)
        self.make, self.tabs = _tabs(browser, self.base)

    def close(self):
        errors = [e for tab in self.tabs for e in tab.errors]
        for tab in self.tabs:
            tab.close()
        for _ in self.server:
            pass
        assert errors == [], errors


def remind(smtp, day: str) -> str:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SERVICE_TODAY": day,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "remind"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def open_field(tab, hazard_pk: int | None = None):
    tab.open("/field/" + (f"?hazard={hazard_pk}" if hazard_pk else ""))
    tab.page.wait_for_function("window.hehuachiField && window.hehuachiField.loaded >= 1")
    if hazard_pk:
        tab.page.wait_for_function(
            f"window.hehuachiField.selected === {hazard_pk} && window.hehuachiField.selectedReady"
        )


def record_step(tab, action: str, **inputs):
    tab.page.click(f'#hh-actions [data-action="{action}"]')
    for name, value in inputs.items():
        selector = f"#hh-step-{name}"
        if tab.page.locator(selector).evaluate("e => e.tagName") == "SELECT":
            tab.page.select_option(selector, value)
        else:
            tab.page.fill(selector, value)
    tab.page.click("#hh-step-save")
    tab.page.wait_for_selector("#hh-step-result.hh-ok, #hh-step-result.hh-error")
    result = tab.page.locator("#hh-step-result")
    assert "hh-ok" in (result.get_attribute("class") or ""), result.inner_text()
    tab.page.wait_for_function("window.hehuachiField.selectedReady")


def rate(tab, by: str, key: str, column: str) -> int:
    tab.open(f"/dashboard/?by={by}&{PERIOD}")
    cell = tab.page.locator(f'#hh-rates-table tr[data-key="{key}"] td[data-col="{column}"]')
    return int(cell.inner_text())


def test_a_week_of_the_hazard_loop(browser, django_db_blocker, smtp, cleanup):
    cell = models.GridCell.objects.get(code="HHC-01-01")
    point = cell.geom.point_on_surface
    name = f"{MARK} {uuid.uuid4().hex[:6]} 楼道飞线充电"

    # --- Tuesday 2026-09-29 -----------------------------------------------------------------
    day = Day(browser, django_db_blocker, smtp, "2026-09-29")
    try:
        # 1. The grid worker reports it from the phone view.
        worker = day.make(
            "grid-01",
            viewport=PHONE,
            geolocation={"longitude": point.x, "latitude": point.y, "accuracy": 5},
            permissions=["geolocation"],
        )
        open_field(worker)
        worker.page.click("#hh-report summary")
        worker.page.click("#hh-locate")
        worker.page.wait_for_function("window.hehuachiField.reportPoint !== null")
        worker.page.fill("#hh-r-name", name)
        worker.page.select_option("#hh-r-category", "ebike")
        worker.page.select_option("#hh-r-level", "general")
        worker.page.fill("#hh-r-description", "楼道内拉线给电动车充电")
        worker.page.click("#hh-r-submit")
        worker.page.wait_for_selector(
            "#hh-r-result.hh-ok, #hh-r-result.hh-error, #hh-dup-warning:not([hidden])"
        )
        if worker.page.locator("#hh-dup-warning").is_visible():
            worker.page.click("#hh-r-confirm")
            worker.page.wait_for_selector("#hh-r-result.hh-ok, #hh-r-result.hh-error")
        assert "hh-ok" in worker.page.locator("#hh-r-result").get_attribute("class")
        hazard = models.SafetyHazard.objects.get(name=name)
        assert hazard.status == "reported"
        assert timezone.localdate(hazard.found_at) == dt.date(2026, 9, 29)  # the service's clock

        # 2. The leader dispatches it; the default deadline skips the holiday.
        leader = day.make("demo-editor")
        open_field(leader, hazard.pk)
        record_step(leader, "assign", responsible_unit=UNIT_WRONG, assignee="grid-02")
        hazard.refresh_from_db()
        assert hazard.deadline == dt.date(2026, 10, 9)  # 3 working days; 10-01..07 off
        assert "2026-10-09" in leader.page.locator("#hh-task-meta").inner_text()
        assert "剩余 3 个工作日" in leader.page.locator("#hh-task-meta").inner_text()

        # 3. The unit returns it with a reason.
        unit = day.make("grid-02", viewport=PHONE)
        open_field(unit, hazard.pk)
        record_step(unit, "return", reason="not_our_duty", note="应由平安办处理")
        hazard.refresh_from_db()
        assert hazard.status == "reported" and hazard.assignee is None
        returned = unit.page.locator('#hh-timeline li[data-action="return"]')
        assert "不属于本单位职责" in returned.inner_text()

        # 4. The leader dispatches it again, to the right unit.
        open_field(leader, hazard.pk)
        record_step(leader, "assign", responsible_unit=UNIT, assignee="grid-03")
        hazard.refresh_from_db()
        assert hazard.status == "assigned" and hazard.deadline == dt.date(2026, 10, 9)
        leader.open("/inbox/")
        assert (
            leader.page.locator(
                f'#hh-inbox tr[data-event="returned"][data-hazard="{hazard.pk}"]'
            ).count()
            == 1
        )
    finally:
        day.close()

    # 5. The clock runs: the day before the limit, then past it and past the second limit.
    assert name in remind(smtp, "2026-10-08")  # reminder
    out = remind(smtp, "2026-10-13")
    assert f"overdue   {hazard.pk} {name}" in out and f"escalated {hazard.pk} {name}" in out
    assert name not in remind(smtp, "2026-10-13").split("\n", 1)[1]  # nothing twice
    hazard.refresh_from_db()
    assert hazard.overdue_since == dt.date(2026, 10, 13) and hazard.supervised

    # --- Tuesday 2026-10-13 -----------------------------------------------------------------
    day = Day(browser, django_db_blocker, smtp, "2026-10-13")
    try:
        # 6. In the inbox and in the mail.
        assignee = day.make("grid-03", viewport=PHONE)
        assert int(assignee.page.locator("#hh-unread-count").inner_text()) >= 4
        assignee.open("/inbox/")
        events = assignee.page.eval_on_selector_all(
            f'#hh-inbox tr[data-hazard="{hazard.pk}"]', "rows => rows.map(r => r.dataset.event)"
        )
        assert sorted(events) == ["assigned", "escalated", "overdue", "reminder"]
        mails = [
            text
            for text, to in zip(smtp.sink.texts(), smtp.sink.recipients, strict=True)
            if to == ["grid-03@example.com"] and name in text
        ]
        assert any("期限将至" in m for m in mails) and any("挂牌督办" in m for m in mails)
        assert len(mails) == 4  # assigned, reminder, overdue, escalated: once each
        # The inbox links to the hazard; the timeline shows 超期 and 挂牌督办.
        with assignee.page.expect_navigation():
            assignee.page.click(
                f'#hh-inbox tr[data-event="escalated"][data-hazard="{hazard.pk}"] a.hh-inbox-link'
            )
        assignee.page.wait_for_function(
            f"window.hehuachiField && window.hehuachiField.selected === {hazard.pk} "
            "&& window.hehuachiField.selectedReady"
        )
        assert assignee.page.locator('#hh-timeline li[data-action="escalate"]').count() == 1
        assert "超期" in assignee.page.locator("#hh-task-meta").inner_text()

        # 7. Rectified, fails re-inspection, passes the second time.
        record_step(assignee, "start")
        record_step(assignee, "rectify", note="已拆除飞线")
        inspector = day.make("demo-inspector", viewport=PHONE)
        open_field(inspector, hazard.pk)
        record_step(inspector, "fail", note="仍有飞线")
        open_field(assignee, hazard.pk)
        record_step(assignee, "rectify", note="已设置集中充电点")
        open_field(inspector, hazard.pk)
        record_step(inspector, "pass", note="复查合格")
        hazard.refresh_from_db()
        assert hazard.status == "closed"
        assert timezone.localdate(hazard.closed_at) == dt.date(2026, 10, 13)

        # 8. The rates of its grid cell and its unit: one rework, one late closure.
        leader = day.make("demo-editor")
        for by, key in (("grid", cell.code), ("unit", UNIT)):
            assert rate(leader, by, key, "reworked") == 1, by
            assert rate(leader, by, key, "late") == 1, by
        # The late number drills down to this hazard.
        with leader.page.expect_navigation():
            leader.page.click(f'#hh-rates-table tr[data-key="{UNIT}"] td[data-col="late"] a')
        assert leader.page.locator(f'#hh-list tr[data-id="{hazard.pk}"]').count() == 1
        assert rate(leader, "unit", UNIT_WRONG, "returned") >= 1
    finally:
        day.close()
