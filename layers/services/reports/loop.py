"""Closing the loop: the report follows its hazard, the reporter is told when its public status
changes, and after the fix they may say "not fixed" (the hazard reopens to re-inspection) or
rate the handling from 1 to 5 (the satisfaction rate of the KPIs, layers/query/kpis.py).

`public_status_changed` is the one place a change of public status is announced, once per
change, through the case loop's notification service: a signed webhook event `report_status`
carrying public fields only, an SMS to the reporter's phone (SMS_GATEWAY_URL) and an email to
their address (EMAIL_HOST), each where configured.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from layers.domain import clock, roles
from layers.domain import vocabularies as status
from layers.services import notifications, sms, workflow
from layers.services.reports import status as public
from layers.services.reports.errors import Invalid, NotNow
from layers.services.reports.submit import Sender, find, process_photo, store_photo

log = logging.getLogger(__name__)
NOTE_MAX = 500


def refresh(report) -> bool:
    """Derive the report's public status again; when it changed, store it (and since when,
    and when it closed) and announce it. Returns whether it changed."""
    from layers.domain.models import PublicReport, ReportEvent

    # What was announced last, read under a lock: a stale copy of the report never announces
    # the same change twice.
    stored = (
        PublicReport.objects.select_for_update()
        .filter(pk=report.pk)
        .values("public_status", "public_status_at")
        .get()
    )
    report.public_status, report.public_status_at = (
        stored["public_status"],
        stored["public_status_at"],
    )
    derived = public.derive(report)
    if derived.status == report.public_status and report.public_status_at == derived.since:
        return False
    previous = report.public_status
    report.public_status = derived.status
    report.public_status_at = derived.since
    report.closed_at = derived.since if derived.status in public.FINAL else None
    report.save(update_fields=["public_status", "public_status_at", "closed_at"])
    if derived.status == previous:
        return False  # the same status again (a new "since"): nothing to announce
    event = ReportEvent.objects.create(
        report=report,
        kind="status",
        at=derived.since,
        public_status=derived.status,
        data={"from": previous},
    )
    public_status_changed(report, previous, event)
    return True


def followers(hazard):
    """The reports that follow `hazard`: its own and those of hazards marked its duplicates."""
    from layers.domain.models import PublicReport, SafetyHazard

    ids = {hazard.pk}
    frontier = {hazard.pk}
    for _ in range(public.MAX_CHAIN):
        frontier = (
            set(
                SafetyHazard.all_objects.filter(duplicate_of__in=frontier).values_list(
                    "pk", flat=True
                )
            )
            - ids
        )
        if not frontier:
            break
        ids |= frontier
    return PublicReport.objects.filter(hazard__in=ids, intake="accepted")


def hazard_stepped(hazard, event) -> None:
    """After every lifecycle step (workflow.after_step): the reports that follow the hazard
    take their public status from it."""
    for report in followers(hazard).select_related("hazard"):
        refresh(report)


def public_status_changed(report, previous: str, event) -> None:
    """THE announcement of a new public status (from `previous` to report.public_status, the
    `status` entry `event` of the report's timeline). Each goes out once (keyed by `event`):

    - the webhook event `report_status` to every receiver that wants it, with public fields
      only (`public_event`): nothing internal, no contact;
    - an SMS to the reporter's phone, when an SMS gateway is configured (`text_message`);
    - an email to the reporter's address, when SMTP is configured (EMAIL_HOST).
    The reporter's contact is read when sending; what was sent is noted as `notified`."""
    from layers.domain.models import ReportContact

    notifications.queue_event(
        "report_status",
        key=f"report_status:r{report.pk}:e{event.pk}",
        payload={"report": public_event(report, previous)},
    )
    contact = ReportContact.objects.filter(report=report).first()
    if contact is None:
        return
    if contact.phone:
        notifications.queue_sms(f"report:{event.pk}")
    if contact.email and notifications.email_configured():
        _email(report, contact.email, event)


def public_event(report, previous: str) -> dict:
    """What a webhook receiver learns of a change of public status: the tracking code, the
    status now and before, since when, and the public status page."""
    term = status.REPORT_PUBLIC_STATUS.term(report.public_status)
    return {
        "code": report.code,
        "status": {"value": report.public_status, "zh": term.zh, "en": term.en},
        "previous": previous,
        "since": report.public_status_at.isoformat(),
        "url": status_url(report),
    }


def status_url(report) -> str:
    return notifications.site_url(reverse("report-status", args=[report.code]))


def _notified(report, event, channel: str) -> None:
    from layers.domain.models import ReportEvent

    ReportEvent.objects.create(
        report=report,
        kind="notified",
        public_status=event.public_status,
        data={"channel": channel, "for": event.pk},
    )


def _email(report, address: str, event) -> None:
    term = status.REPORT_PUBLIC_STATUS.term(event.public_status)
    link = status_url(report)
    subject = f"【荷花池街道】您反映的问题：{term.zh} · {term.en} ({report.code})"
    body = (
        f"您的随手拍（查询码 {report.code}）现在的办理状态：{term.zh}。\n"
        f"查看详情：{link}\n\n"
        f"Your report (code {report.code}) is now: {term.en}.\nSee it here: {link}\n"
    )
    if event.public_status == "fixed":
        body += (
            f"\n如果问题仍未解决，请在 {settings.REPORT_FEEDBACK_DAYS} 天内在上面的页面告诉我们。\n"
            f"If it is not fixed, tell us on that page within {settings.REPORT_FEEDBACK_DAYS} "
            "days.\n"
        )
    code, event_pk = report.code, event.pk

    def send():
        from layers.domain.models import ReportEvent

        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        except OSError as exc:  # the mail server is away: the status page still tells
            log.warning("report %s: email not sent: %s", code, exc)
            return
        sent = ReportEvent.objects.select_related("report").filter(pk=event_pk).first()
        if sent is not None:
            _notified(sent.report, sent, "email")

    transaction.on_commit(send)


def text_message(key: str):
    """The SMS composer for the keys "report:<status event id>" (layers/services/sms.py): the
    reporter's phone and the text of that change, or None when there is no phone any more
    (erased) or it was sent already."""
    from layers.domain.models import ReportContact, ReportEvent

    raw = key.partition(":")[2]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    event = ReportEvent.objects.select_related("report").filter(pk=int(raw), kind="status").first()
    if event is None:
        return None
    report = event.report
    if report.events.filter(kind="notified", data__channel="sms", data__for=event.pk).exists():
        return None
    contact = ReportContact.objects.filter(report=report).exclude(phone="").first()
    if contact is None:
        return None
    term = status.REPORT_PUBLIC_STATUS.term(event.public_status)
    text = f"【荷花池街道】您反映的问题（查询码 {report.code}）：{term.zh}。"
    text += f"详情：{status_url(report)}"
    if event.public_status == "fixed":
        text += f" 如仍未解决，请在 {settings.REPORT_FEEDBACK_DAYS} 天内在该页面反馈。"
    return sms.Message(contact.phone, text, lambda: _notified(report, event, "sms"))


def public_actor():
    """The account that acts for residents in a hazard's timeline (no password, no role)."""
    user, made = get_user_model().objects.get_or_create(
        username=roles.PUBLIC_ACTOR,
        defaults={"is_active": False, "first_name": "群众随手拍", "last_name": ""},
    )
    if made:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _feedback_report(code, sender: Sender):
    report = find(code, sender)
    until = public.feedback_until(report)
    if until is None:
        raise NotNow("feedback is possible once the problem is reported fixed")
    if clock.now() > until:
        raise NotNow(f"feedback was possible until {timezone.localtime(until):%Y-%m-%d %H:%M}")
    return report


def not_fixed(code, note, upload, sender: Sender):
    """The reporter says the fixed problem is still there, with a photo: the hazard reopens to
    re-inspection (the `reopen` step, counted as rework), with the note and the photo on its
    timeline. Returns the report (now being handled again)."""
    from layers.domain.models import HazardPhoto, ReportEvent

    report = _feedback_report(code, sender)
    errors: dict[str, list[str]] = {}
    text = note.strip() if isinstance(note, str) else ""
    if not text:
        errors["note"] = ["say in a few words what is still wrong"]
    elif len(text) > NOTE_MAX or any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        errors["note"] = [f"at most {NOTE_MAX} characters, no control characters"]
    if upload is None:
        errors["photo"] = ["a photo of what is still wrong is needed"]
    if errors:
        raise Invalid(errors)
    processed = process_photo(upload)
    hazard = public.derive(report).hazard
    actor = public_actor()
    with transaction.atomic():
        mine = store_photo(report, processed, "not_fixed")
        copy = HazardPhoto(hazard=hazard, uploaded_by=actor)
        copy.image.save(processed.image.name, processed.image, save=False)
        copy.thumbnail.save(processed.thumbnail.name, processed.thumbnail, save=False)
        copy.save()
        workflow.perform(
            hazard.pk,
            "reopen",
            actor,
            {"note": f"群众反映未整改（随手拍 {report.code}）：{text}", "photos": [copy.pk]},
        )
        ReportEvent.objects.create(report=report, kind="not_fixed", data={"photo": mine.pk})
        report.refresh_from_db()
        refresh(report)
    return report


def rate(code, rating, sender: Sender):
    """The reporter rates the handling 1–5 (once per fix, within the feedback window)."""
    from layers.domain.models import ReportEvent

    report = _feedback_report(code, sender)
    value = rating
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 1:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise Invalid({"rating": ["a whole number from 1 to 5"]})
    if report.rated_at is not None and report.rated_at >= report.closed_at:
        raise NotNow("you have rated this already")
    now = clock.now()
    with transaction.atomic():
        report.rating, report.rated_at = value, now
        report.save(update_fields=["rating", "rated_at"])
        ReportEvent.objects.create(report=report, kind="rated", at=now, data={"rating": value})
    return report
