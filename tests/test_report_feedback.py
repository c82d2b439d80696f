"""Public reports (随手拍): after the fix. "Not fixed" within the feedback window reopens the
hazard to re-inspection (rework), the window closes after 7 days, the rating feeds the
satisfaction rate; `reopen` is a lifecycle step of leaders and the public account only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from layers.domain.models import (
    HazardEvent,
    SafetyHazard,
)
from layers.services import reports, workflow
from tests.report_helpers import (  # noqa: F401 (fixtures: photos_removed, fresh_limits)
    clock_moved,
    fresh_limits,
    metadata_segments,
    photo,
    photos_removed,
    rates,
    run_to_closed,
    sent,
    smtp_server,
    steps_of,
    user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("photos_removed", "fresh_limits")]


def test_not_fixed_within_seven_days_reopens_to_reinspection_and_counts_as_rework():
    report = sent()
    hazard = reports.accept(report.pk, user("demo-editor"), {})
    run_to_closed(hazard.pk)
    report.refresh_from_db()
    closed_at = report.closed_at
    reopened = rates()[None]["reopened"]
    client = Client()
    # No photo, no note: refused, naming both.
    refused = client.post(f"/report/{report.code}/not-fixed/", {}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"note", "photo"}
    with clock_moved(days=6, hours=23):  # the service clock: the window's last hour
        response = client.post(
            f"/report/{report.code}/not-fixed/",
            {"note": "车又停回来了", "photo": photo("again.jpg")},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 200, response.content
    hazard.refresh_from_db()
    assert hazard.status == "reinspection" and hazard.closed_at is None
    reopen = hazard.events.get(action="reopen")
    assert (
        reopen.from_status == "closed"
        and report.code in reopen.note
        and "车又停回来了" in reopen.note
    )
    assert reopen.photos.count() == 1
    # Both timelines are written at the service clock's time.
    late = closed_at + dt.timedelta(days=6, hours=23)
    assert reopen.at >= late and report.events.get(kind="not_fixed").at >= late
    with clock_moved(days=7):  # the rates up to the service clock's today
        assert rates()[None]["reopened"] == reopened + 1  # the rework residents caused
    report.refresh_from_db()
    assert report.public_status == "handling" and report.closed_at is None
    assert steps_of(report)[-2:] == ["fixed", "handling"]
    assert reports.public_view(report)["steps"][-1]["note"]["en"].startswith("You said")
    # Closed again by an inspector (the next day): fixed again, and a new window opens.
    with clock_moved(days=8):
        workflow.perform(hazard.pk, "pass", user("demo-inspector"), {})
    report.refresh_from_db()
    assert report.closed_at > closed_at + dt.timedelta(days=7)
    assert steps_of(report) == ["received", "accepted", "handling", "fixed", "handling", "fixed"]


def test_feedback_after_seven_days_is_refused():
    report = sent()
    hazard = reports.accept(report.pk, user("demo-editor"), {})
    run_to_closed(hazard.pk, closing_photo=False)
    report.refresh_from_db()
    with clock_moved(days=7, minutes=1):
        with pytest.raises(reports.NotNow):
            reports.rate(report.code, 5, reports.Sender("192.0.2.11"))
        response = Client().post(
            f"/report/{report.code}/not-fixed/",
            {"note": "还在", "photo": photo()},
            HTTP_ACCEPT="application/json",
        )
        assert response.status_code == 409
        page = Client().get(f"/report/{report.code}/")
        assert b'id="hh-not-fixed-form"' not in page.content
    hazard.refresh_from_db()
    assert hazard.status == "closed"
    # Before the fix there is nothing to give feedback on.
    with pytest.raises(reports.NotNow):
        reports.rate(sent().code, 5, reports.Sender("192.0.2.11"))


def test_ratings_move_the_satisfaction_rate_of_the_grid_cell_where_leaders_read_it():
    before = rates()
    hazards = []
    for rating in (5, 2):
        report = sent()
        hazard = reports.accept(report.pk, user("demo-editor"), {})
        hazards.append(hazard.pk)
        run_to_closed(hazard.pk, closing_photo=False)
        client = Client()
        bad = client.post(
            f"/report/{report.code}/rate/", {"rating": "6"}, HTTP_ACCEPT="application/json"
        )
        assert bad.status_code == 400 and "rating" in bad.json()["errors"]
        ok = client.post(f"/report/{report.code}/rate/", {"rating": str(rating)})
        assert ok.status_code == 302
        again = client.post(
            f"/report/{report.code}/rate/", {"rating": "1"}, HTTP_ACCEPT="application/json"
        )
        assert again.status_code == 409
    after = rates()
    mine, was = after["HHC-01-02"], before.get("HHC-01-02", {})
    assert mine["rated"] == was.get("rated", 0) + 2
    assert mine["satisfied"] == was.get("satisfied", 0) + 1  # 5 is satisfied, 2 is not
    assert mine["satisfaction_rate"] == round(mine["satisfied"] / mine["rated"], 4)
    assert after.get("HHC-01-01") == before.get("HHC-01-01")  # another cell: unchanged
    assert after[None]["rated"] == before[None]["rated"] + 2
    # Where a leader reads the rates: the dashboard's table and the KPI API, per grid cell.
    leader = Client()
    leader.force_login(user("demo-editor"))
    page = leader.get("/dashboard/", {"by": "grid"}).content.decode()
    row = re.search(r'<tr data-key="HHC-01-02">.*?</tr>', page, re.S)
    assert row, "the grid cell's row of the rates"
    shown = re.search(r'data-col="satisfaction_rate">([^<]*)<', row.group(0)).group(1)
    assert shown == f"{mine['satisfaction_rate'] * 100:.0f}%"
    api = leader.get("/api/v1/hazards/kpis/", {"by": "grid"}).json()
    (group,) = [g for g in api["groups"] if g["key"] == "HHC-01-02"]
    assert (group["rated"], group["satisfaction_rate"]) == (
        mine["rated"],
        mine["satisfaction_rate"],
    )
    # Every number opens what it counts: the hazards of the satisfied ratings.
    listed = leader.get(
        "/dashboard/hazards/", {"number": "satisfied", "by": "grid", "key": "HHC-01-02"}
    )
    assert listed.status_code == 200
    assert f'data-id="{hazards[0]}"' in listed.content.decode()  # rated 5
    assert f'data-id="{hazards[1]}"' not in listed.content.decode()  # rated 2


def test_reopen_is_a_lifecycle_step_for_leaders_and_the_public_account_only():
    report = sent()
    hazard = reports.accept(report.pk, user("demo-editor"), {})
    run_to_closed(hazard.pk, closing_photo=False)
    with pytest.raises(workflow.NotPermitted):
        workflow.perform(hazard.pk, "reopen", user("demo-inspector"), {"note": "x"})
    with pytest.raises(workflow.InvalidInput):
        workflow.perform(hazard.pk, "reopen", user("demo-editor"), {})
    workflow.perform(hazard.pk, "reopen", user("demo-editor"), {"note": "12345热线来电：仍未整改"})
    assert SafetyHazard.objects.get(pk=hazard.pk).status == "reinspection"
    assert HazardEvent.objects.filter(hazard=hazard, action="reopen").count() == 1
    assert reports.public_actor().has_usable_password() is False
