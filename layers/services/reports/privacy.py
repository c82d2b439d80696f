"""Erasing what is kept only for a while: a reporter's contact, REPORT_CONTACT_RETENTION_DAYS
after the report closed (fixed or not accepted), counted on the service clock. Run daily by a
periodic job (layers/jobs/tasks.py) and by `manage.py erase_report_contacts`."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from layers.domain import clock


def expired_contacts(now: dt.datetime | None = None):
    from layers.domain.models import ReportContact

    now = now or clock.now()
    cutoff = now - dt.timedelta(days=settings.REPORT_CONTACT_RETENTION_DAYS)
    return ReportContact.objects.filter(report__closed_at__lt=cutoff)


def erase_expired_contacts(now: dt.datetime | None = None, *, dry_run: bool = False) -> int:
    """Delete the contacts of reports closed longer than the retention; each erasure is noted
    in the report's timeline (without the contact). Returns how many were (or would be) erased."""
    from layers.domain.models import ReportEvent

    with transaction.atomic():
        found = list(expired_contacts(now).select_for_update().select_related("report"))
        if dry_run:
            return len(found)
        at = clock.now()
        ReportEvent.objects.bulk_create(
            [ReportEvent(report=c.report, kind="contact_erased", at=at) for c in found]
        )
        for contact in found:
            contact.delete()
    return len(found)
