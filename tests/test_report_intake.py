"""Public reports (随手拍): intake by the subdistrict. Who sees new reports (editors, the
cell's inspectors), accept (a hazard is created and reported), link to a known hazard (and
follow it to its original), and hide offensive reports keeping the trail."""

from __future__ import annotations

import pytest
from django.test import Client

from layers.domain.models import (
    GridCell,
    SafetyHazard,
)
from layers.services import reports, workflow
from tests.factories import make
from tests.report_helpers import (  # noqa: F401 (fixtures: photos_removed, fresh_limits)
    fresh_limits,
    metadata_segments,
    photo,
    photos_removed,
    run_to_closed,
    sent,
    smtp_server,
    steps_of,
    user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("photos_removed", "fresh_limits")]


def test_new_reports_reach_editors_and_the_cells_inspectors_only():
    report = sent()
    in_queue = lambda name: report in reports.queue(user(name))  # noqa: E731
    assert in_queue("demo-editor") and in_queue("grid-02")  # the cell's worker
    assert in_queue("demo-inspector")  # an inspector without a cell reaches every cell
    assert not in_queue("grid-01")
    with pytest.raises(reports.Forbidden):
        reports.queue(user("demo-planner"))
    with pytest.raises(reports.NotFound):
        reports.accept(report.pk, user("grid-01"), {})
    client = Client()
    client.force_login(user("grid-02"))
    page = client.get("/reports/intake/")
    assert page.status_code == 200 and report.code.encode() in page.content
    assert b"data-contact" not in page.content  # contacts: editors only
    home = client.get("/")
    assert b'data-card="report-intake"' in home.content
    client.force_login(user("demo-planner"))
    assert client.get("/reports/intake/").status_code == 403


def test_accepting_creates_a_reported_hazard_with_the_photos_and_the_report_follows_it():
    report = sent(contact="reporter@example.org")
    client = Client()
    client.force_login(user("grid-02"))
    response = client.post(
        "/reports/intake/", {"action": "accept", "report": report.pk, "level": "general"}
    )
    assert response.status_code == 302
    report.refresh_from_db()
    hazard = report.hazard
    assert report.intake == "accepted" and report.decided_by == user("grid-02")
    assert hazard.status == "reported" and hazard.category == "ebike"
    assert hazard.grid_cell.code == "HHC-01-02" and hazard.reporter == user("grid-02")
    assert hazard.found_at == report.received_at
    step = hazard.events.get(action="report")
    assert report.code in step.note
    (copy,) = step.photos.all()
    assert metadata_segments(copy.image.read()) == []
    assert steps_of(report) == ["received", "accepted"]
    assert report.public_status == "accepted"
    # A second decision is refused; so is a bad level.
    with pytest.raises(reports.NotNow):
        reports.reject(report.pk, user("demo-editor"), {"reason": "not_hazard"})
    with pytest.raises(reports.Invalid) as bad:
        reports.accept(sent().pk, user("demo-editor"), {"level": "huge"})
    assert "level" in bad.value.errors


def test_linking_follows_the_existing_hazard_and_then_its_original():
    cell = GridCell.objects.get(code="HHC-01-02")
    p = cell.geom.point_on_surface
    original = make(
        SafetyHazard, name="原隐患", category="ebike", level="general", geom=p, status="rectifying"
    )
    copy = make(
        SafetyHazard, name="重复", category="ebike", level="general", geom=p, status="reported"
    )
    report = sent()
    assert [h.pk for h in reports.candidates(report, user("demo-editor"))][:2] in (
        [original.pk, copy.pk],
        [copy.pk, original.pk],
    )
    reports.link(report.pk, user("demo-editor"), str(copy.pk))
    report.refresh_from_db()
    assert report.linked_as_duplicate and steps_of(report) == ["received", "accepted"]
    workflow.perform(copy.pk, "mark_duplicate", user("demo-editor"), {"duplicate_of": original.pk})
    report.refresh_from_db()
    assert report.public_status == "handling"  # the original is being rectified
    with pytest.raises(reports.Invalid):
        reports.link(sent().pk, user("demo-editor"), "abc")


def test_editors_hide_offensive_reports_keeping_the_trail():
    report = sent()
    with pytest.raises(reports.Forbidden):
        reports.hide(report.pk, user("grid-02"), {"note": "x"})
    with pytest.raises(reports.Invalid):
        reports.hide(report.pk, user("demo-editor"), {"note": ""})
    reports.hide(report.pk, user("demo-editor"), {"note": "辱骂内容"})
    report.refresh_from_db()
    assert report.hidden_at is not None and report.intake == "rejected"
    assert report.reject_reason == "inappropriate" and report.description  # kept
    assert [e.kind for e in report.events.all()][:3] == ["received", "hidden", "rejected"]
    assert report not in reports.queue(user("demo-editor"), None)
    assert report in reports.queue(user("demo-editor"), None, hidden=True)
    near = reports.nearby(report.category, report.geom.x, report.geom.y)
    assert [i for i in near if i["status"] == "received"] == []  # hidden: not listed
    assert reports.public_view(report)["reason"]["value"] == "inappropriate"
