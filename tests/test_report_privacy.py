"""Public reports (随手拍): privacy. A reporter's contact is read by editors only and erased
90 days after the report closed (by the command and by the periodic job)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import Client

from layers.domain.models import (
    PublicReport,
    ReportContact,
)
from layers.services import reports
from tests.report_helpers import (  # noqa: F401 (fixtures: photos_removed, fresh_limits)
    clock_moved,
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
    with clock_moved(days=89):
        call_command("erase_report_contacts")
    assert ReportContact.objects.filter(report=report).exists()
    with clock_moved(days=90, minutes=1):
        call_command("erase_report_contacts", "--dry-run")
        assert ReportContact.objects.filter(report=report).exists()
        call_command("erase_report_contacts")
    assert not ReportContact.objects.filter(report=report).exists()
    erased = report.events.get(kind="contact_erased")
    assert erased.at > closed + dt.timedelta(days=90)  # noted at the service clock's time
    assert not PublicReport.objects.filter(pk=report.pk, events__data__icontains="139").exists()


def test_the_periodic_job_erases_contacts():
    from layers.jobs import tasks

    report = sent(contact="someone@example.org")
    reports.reject(report.pk, user("demo-editor"), {"reason": "insufficient"})
    report.refresh_from_db()
    with clock_moved(days=91):
        tasks.erase_report_contacts(0)
    assert not ReportContact.objects.filter(report=report).exists()
