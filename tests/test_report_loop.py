"""Public reports (随手拍), after sending: intake (reach, accept / link / reject / hide), the
public status following the hazard's lifecycle, telling the reporter by email (a real SMTP
server), "not fixed" within the feedback window (the clock moved, never slept), the rating and
the satisfaction rate, and the contact erased 90 days after closing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, override_settings

from layers.domain.models import (
    GridCell,
    HazardEvent,
    PublicReport,
    ReportContact,
    ReportEvent,
    SafetyHazard,
)
from layers.query import reports as kpi
from layers.services import photos, reports, workflow
from tests.factories import make
from tests.report_helpers import metadata_segments, new_files_removed, phone_jpeg, smtp_server

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def photos_removed():
    from django.conf import settings

    with new_files_removed(settings.PRIVATE_MEDIA_ROOT):
        yield


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


def user(name):
    return get_user_model().objects.get(username=name)


def photo(name="p.jpg"):
    return SimpleUploadedFile(name, phone_jpeg((640, 480)), content_type="image/jpeg")


def sent(contact="", cell="HHC-01-02", category="ebike", photos_=1, address="192.0.2.10"):
    p = GridCell.objects.get(code=cell).geom.point_on_surface
    data = {
        "category": category,
        "description": "楼道里有人飞线充电",
        "lon": str(p.x),
        "lat": str(p.y),
    }
    if contact:
        data["contact"] = contact
    return reports.submit(data, [photo() for _ in range(photos_)], reports.Sender(address))


def steps_of(report) -> list[str]:
    report.refresh_from_db()
    return [s["value"] for s in reports.public_view(report)["steps"]]


def run_to_closed(hazard_pk, *, closing_photo=True):
    """assign → start → rectify → pass, as the sample users would."""
    editor, worker, inspector = user("demo-editor"), user("grid-02"), user("demo-inspector")
    workflow.perform(
        hazard_pk, "assign", editor, {"responsible_unit": "北大街物业", "assignee": "grid-02"}
    )
    workflow.perform(hazard_pk, "start", worker, {"note": "内部：联系了物业王经理"})
    workflow.perform(hazard_pk, "rectify", worker, {"note": "已清理，王经理签字"})
    ids = []
    if closing_photo:
        hazard = SafetyHazard.objects.get(pk=hazard_pk)
        ids = [photos.store(hazard, photo("fixed.jpg"), inspector)[0].pk]
    workflow.perform(hazard_pk, "pass", inspector, {"photos": ids, "note": "复查合格"})


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


def test_the_public_status_follows_the_lifecycle_and_the_reporter_is_emailed(
    django_capture_on_commit_callbacks,
):
    with (
        smtp_server() as (inbox, port),
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            PUBLIC_BASE_URL="https://map.example.org",
        ),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            report = sent(contact="reporter@example.org")
            hazard = reports.accept(report.pk, user("demo-editor"), {})
            run_to_closed(hazard.pk)
        assert steps_of(report) == ["received", "accepted", "handling", "fixed"]
        view = reports.public_view(report)
        assert view["status"]["value"] == "fixed" and len(view["closing_photos"]) == 1
        assert view["feedback"]["open"] is True
        mails = inbox.to("reporter@example.org")
        subjects = [m["Subject"] for m in mails]
        assert len(mails) == 3, subjects  # accepted, being handled, fixed
        fixed = mails[-1]
        assert "已解决" in fixed["Subject"] and report.code in fixed["Subject"]
        assert f"https://map.example.org/report/{report.code}/" in fixed.get_content()
        notified = ReportEvent.objects.filter(report=report, kind="notified").count()
        assert notified == 3
    # The closing photo is served for this report only, and the page shows every step.
    client = Client()
    page = client.get(f"/report/{report.code}/")
    assert page.status_code == 200
    for word in ("已收到", "已受理", "处理中", "已解决"):
        assert word in page.content.decode()
    url = f"/report/{report.code}/photos/{view['closing_photos'][0]}.jpg"
    image = client.get(url)
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    other = sent()
    assert (
        client.get(f"/report/{other.code}/photos/{view['closing_photos'][0]}.jpg").status_code
        == 404
    )


def test_not_fixed_within_seven_days_reopens_to_reinspection_and_counts_as_rework():
    report = sent()
    hazard = reports.accept(report.pk, user("demo-editor"), {})
    run_to_closed(hazard.pk)
    report.refresh_from_db()
    closed_at = report.closed_at
    rework = kpi.rework()
    client = Client()
    # No photo, no note: refused, naming both.
    refused = client.post(f"/report/{report.code}/not-fixed/", {}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"note", "photo"}
    with time_machine.travel(closed_at + dt.timedelta(days=6, hours=23)):
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
    assert kpi.rework() == rework + 1
    report.refresh_from_db()
    assert report.public_status == "handling" and report.closed_at is None
    assert steps_of(report)[-2:] == ["fixed", "handling"]
    assert reports.public_view(report)["steps"][-1]["note"]["en"].startswith("You said")
    # Closed again by an inspector (the next day): fixed again, and a new window opens.
    with time_machine.travel(closed_at + dt.timedelta(days=8)):
        workflow.perform(hazard.pk, "pass", user("demo-inspector"), {})
    report.refresh_from_db()
    assert report.closed_at > closed_at + dt.timedelta(days=7)
    assert steps_of(report) == ["received", "accepted", "handling", "fixed", "handling", "fixed"]


def test_feedback_after_seven_days_is_refused():
    report = sent()
    hazard = reports.accept(report.pk, user("demo-editor"), {})
    run_to_closed(hazard.pk, closing_photo=False)
    report.refresh_from_db()
    with time_machine.travel(report.closed_at + dt.timedelta(days=7, minutes=1)):
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


def test_ratings_move_the_satisfaction_rate_of_the_grid_cell():
    cell = GridCell.objects.get(code="HHC-01-02")
    before = kpi.satisfaction(cell)
    elsewhere = kpi.satisfaction(GridCell.objects.get(code="HHC-01-01"))
    ratings = []
    for rating in (5, 2):
        report = sent()
        hazard = reports.accept(report.pk, user("demo-editor"), {})
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
        ratings.append(rating)
    after = kpi.satisfaction(cell)
    assert after["rated"] == before["rated"] + 2
    assert after["satisfied"] == before["satisfied"] + 1
    assert after["rate"] == pytest.approx(after["satisfied"] / after["rated"])
    assert kpi.satisfaction(GridCell.objects.get(code="HHC-01-01")) == elsewhere
    assert kpi.satisfaction_by_cell()[cell.pk] == after


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


def test_not_accepted_with_a_reason_and_the_contact_erased_after_90_days():
    report = sent(contact="13912345678")
    client = Client()
    client.force_login(user("demo-editor"))
    page = client.get("/reports/intake/")
    assert b"13912345678" in page.content  # editors read the contact
    client.post(
        "/reports/intake/",
        {
            "action": "reject",
            "report": report.pk,
            "reason": "not_found",
            "public_note": "现场已核实，车辆已移走",
        },
    )
    report.refresh_from_db()
    assert report.intake == "rejected" and report.public_status == "not_accepted"
    view = reports.public_view(report)
    assert (
        view["reason"]["value"] == "not_found"
        and view["reason"]["note"] == "现场已核实，车辆已移走"
    )
    public = Client().get(f"/report/{report.code}/").content.decode()
    assert "现场未发现所反映的问题" in public and "13912345678" not in public
    closed = report.closed_at
    with time_machine.travel(closed + dt.timedelta(days=89)):
        call_command("erase_report_contacts")
    assert ReportContact.objects.filter(report=report).exists()
    with time_machine.travel(closed + dt.timedelta(days=90, minutes=1)):
        call_command("erase_report_contacts", "--dry-run")
        assert ReportContact.objects.filter(report=report).exists()
        call_command("erase_report_contacts")
    assert not ReportContact.objects.filter(report=report).exists()
    assert report.events.filter(kind="contact_erased").count() == 1
    assert not PublicReport.objects.filter(pk=report.pk, events__data__icontains="139").exists()


def test_the_periodic_job_erases_contacts():
    from layers.jobs import tasks

    report = sent(contact="someone@example.org")
    reports.reject(report.pk, user("demo-editor"), {"reason": "insufficient"})
    report.refresh_from_db()
    with time_machine.travel(report.closed_at + dt.timedelta(days=91)):
        tasks.erase_report_contacts(0)
    assert not ReportContact.objects.filter(report=report).exists()


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


def _strings(value) -> set[str]:
    out = set()
    if isinstance(value, dict):
        for item in value.values():
            out |= _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            out |= _strings(item)
    elif isinstance(value, str) and len(value) >= 2:
        out.add(value)
    return out


def test_the_status_page_and_api_reveal_no_internal_field():
    """Everything the staff record holds (the hazard's names, description, unit, people, grid
    cell, community, building, every step's note and data, the contact) is absent from what
    the public reads; only the category (the reporter's own choice) and the promised date are
    shared on purpose."""
    report = sent(contact="13700000001")
    hazard = reports.accept(report.pk, user("demo-editor"), {"name": "内部名称：3号楼东侧"})
    editor, worker = user("demo-editor"), user("grid-02")
    workflow.perform(
        hazard.pk,
        "assign",
        editor,
        {"responsible_unit": "北大街物业公司", "assignee": "grid-02", "note": "内部：请王经理处理"},
    )
    workflow.perform(hazard.pk, "start", worker, {"note": "联系了住户李某"})
    hazard.refresh_from_db()
    record = {
        "name": hazard.name,
        "description": hazard.description,
        "responsible_unit": hazard.responsible_unit,
        "people": [u.username for u in (hazard.reporter, hazard.assignee, editor, worker)],
        "names": [editor.get_full_name(), worker.get_full_name()],
        "cell": [hazard.grid_cell.code, hazard.grid_cell.name],
        "community": [hazard.community.code, hazard.community.name] if hazard.community else [],
        "building": [hazard.building.name] if hazard.building else [],
        "events": [[e.note, json.dumps(e.data, ensure_ascii=False)] for e in hazard.events.all()],
        "contact": ReportContact.objects.get(report=report).phone,
        "ids": [f"/hazards/{hazard.pk}", f'"hazard": {hazard.pk}'],
    }
    secrets = {s for s in _strings(record) if s.strip() and s not in ("{}",)}
    assert len(secrets) > 10
    api = Client().get(f"/api/v1/reports/{report.code}/")
    page = Client().get(f"/report/{report.code}/")
    for text in (api.content.decode(), page.content.decode()):
        leaked = sorted(s for s in secrets if s in text)
        assert leaked == [], leaked
    assert set(api.json()) == {
        "code",
        "category",
        "status",
        "since",
        "received_at",
        "steps",
        "promised",
        "reason",
        "closing_photos",
        "feedback",
    }
    assert api.json()["status"]["value"] == "handling"
    # The check can fail: the description the reporter wrote is in the staff record.
    assert hazard.description in _strings(record)


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
