"""Public reports (随手拍) in the admin: reports and their timelines read-only for the record,
hiding the one action (editors, with a reason, through the reports service), contacts shown to
editors only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from layers.domain.models import PublicReport, ReportContact, ReportEvent
from layers.domain.roles import INSPECTOR
from tests.conftest import make_user
from tests.report_helpers import (  # noqa: F401 (fixtures: photos_removed, fresh_limits)
    fresh_limits,
    photos_removed,
    sent,
    user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("photos_removed", "fresh_limits")]

REPORTS = "/admin/layers/publicreport/"
EVENTS = "/admin/layers/reportevent/"
CONTACTS = "/admin/layers/reportcontact/"
PHONE = "13900000009"


def signed_in(name_or_user) -> Client:
    client = Client()
    client.force_login(user(name_or_user) if isinstance(name_or_user, str) else name_or_user)
    return client


def test_editors_read_reports_their_timeline_and_contact_but_change_nothing():
    report = sent(contact=PHONE)
    editor = signed_in("demo-editor")
    listed = editor.get(REPORTS)
    assert listed.status_code == 200 and report.code in listed.content.decode()
    page = editor.get(f"{REPORTS}{report.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert report.description in html and PHONE in html  # the contact inline: editors
    assert f"{report.geom.x:.6f}" in html  # the place, as numbers
    assert 'name="_save"' not in html  # read-only
    assert editor.get(f"{REPORTS}add/").status_code == 403
    assert editor.post(f"{REPORTS}{report.pk}/change/", {"intake": "accepted"}).status_code == 403
    assert editor.post(f"{REPORTS}{report.pk}/delete/", {"post": "yes"}).status_code == 403
    report.refresh_from_db()
    assert report.intake == "new"
    event = ReportEvent.objects.get(report=report, kind="received")
    assert editor.get(f"{EVENTS}{event.pk}/change/").status_code == 200
    assert editor.post(f"{EVENTS}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    contacts = editor.get(CONTACTS)
    assert contacts.status_code == 200 and PHONE in contacts.content.decode()
    contact = ReportContact.objects.get(report=report)
    assert editor.post(f"{CONTACTS}{contact.pk}/change/", {"phone": "1"}).status_code == 403


def test_other_staff_never_see_a_contact():
    report = sent(contact=PHONE)
    staff = make_user("admin-inspector", INSPECTOR, staff=True)
    # Even with the model permissions granted by hand, the role rule holds.
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=("view_publicreport", "view_reportcontact"))
    )
    client = signed_in(staff)
    page = client.get(f"{REPORTS}{report.pk}/change/")
    assert page.status_code == 200 and PHONE not in page.content.decode()
    assert client.get(CONTACTS).status_code == 403
    assert "reportcontact" not in client.get("/admin/").content.decode()
    # Nor may they hide: the action is not offered.
    assert 'value="hide"' not in client.get(REPORTS).content.decode()


def test_hiding_from_the_admin_needs_a_reason_and_keeps_the_trail():
    report = sent()
    editor = signed_in("demo-editor")
    action = {"action": "hide", "_selected_action": [report.pk], "note": ""}
    refused = editor.post(REPORTS, action, follow=True)
    assert "note" in refused.content.decode()
    report.refresh_from_db()
    assert report.hidden_at is None
    editor.post(REPORTS, {**action, "note": "辱骂内容"}, follow=True)
    report = PublicReport.objects.get(pk=report.pk)
    assert report.hidden_at is not None and report.intake == "rejected"
    assert report.hidden_by == user("demo-editor") and report.description  # kept
    hidden = ReportEvent.objects.get(report=report, kind="hidden")
    assert hidden.data == {"note": "辱骂内容"}
