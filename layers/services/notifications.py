"""Notifications: one service, four channels.

`notify(event, hazard, recipients, key=...)` stores one notice per recipient in the in-app
inbox, mails it when SMTP is configured (EMAIL_HOST) and the user has an address and wants
mail, and queues one signed webhook delivery per receiver that wants the event
(layers/services/webhooks.py posts them from the job engine, with retries). Every notice has a
key: a notice already stored, mailed or queued under its key is never sent again, so the
reminder pass may run as often as it likes.

`queue_event(event, key, payload)` queues a webhook event whose payload the caller chose
field by field (the public reports' status changes carry public fields only), and
`queue_sms(key)` hands a text message to the SMS gateway (layers/services/sms.py, when
SMS_GATEWAY_URL is set) through the job engine; the caller's registered composer writes the
text when it is sent, so no phone number is copied into a queue.

Users choose which events reach them (NotificationSetting). Mail and webhooks go out after the
transaction commits; a failing mail server or receiver never undoes or blocks the step that
caused the notice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from layers.domain import clock
from layers.domain.roles import EDITOR
from layers.domain.vocabularies import NOTICE_EVENT

log = logging.getLogger(__name__)

# Who posts queued webhook deliveries: the job engine registers itself here at start-up
# (layers/jobs/tasks.py), so this service imports no job code. Called with a delivery id.
_webhook_dispatchers: list[Callable[[int], None]] = []
# Who sends queued text messages: the job engine too, called with the message's key.
_sms_dispatchers: list[Callable[[str], None]] = []


def register_webhook_dispatcher(dispatch: Callable[[int], None]) -> None:
    if dispatch not in _webhook_dispatchers:
        _webhook_dispatchers.append(dispatch)


def register_sms_dispatcher(dispatch: Callable[[str], None]) -> None:
    if dispatch not in _sms_dispatchers:
        _sms_dispatchers.append(dispatch)


def leaders():
    """The leaders (editors) told of returns, overdue hazards and escalations."""
    return get_user_model().objects.filter(groups__name=EDITOR, is_active=True).distinct()


def email_configured() -> bool:
    return bool(getattr(settings, "EMAIL_HOST", ""))


def wants(user, event: str) -> tuple[bool, bool]:
    """(in the inbox, by email) for `user` and `event`, from their settings."""
    from layers.domain.models import NotificationSetting

    setting = NotificationSetting.objects.filter(user=user).first()
    if setting is None:
        return True, True
    if event in (setting.events_off or []):
        return False, False
    return True, setting.email


def hazard_link(hazard) -> str:
    return f"/field/?hazard={hazard.pk}"


def link_of(notice) -> str:
    """Where a notice leads: its own link, else its hazard in the field view, else the inbox."""
    if notice.link:
        return notice.link
    return hazard_link(notice.hazard) if notice.hazard_id else "/inbox/"


def notify(
    event: str,
    hazard,
    recipients: Iterable,
    *,
    key: str,
    title: str,
    body: str = "",
    link: str = "",
    about: dict | None = None,
) -> list:
    """Store (and mail) the notice for each recipient who wants it, and queue it for the
    webhook receivers; returns the notices stored now (none for a key already used).

    `link`: where the notice leads when it is about no hazard (a path of this site);
    `about`: more of the payload the webhook receivers get (e.g. {"report": {...}})."""
    from layers.domain.models import Notification

    if event not in NOTICE_EVENT.values:
        raise ValueError(f"unknown notice event {event!r}")
    created = []
    seen: set[int] = set()
    for user in recipients:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        inbox, email = wants(user, event)
        if not inbox:
            continue
        user_key = f"{key}:u{user.pk}"
        if Notification.objects.filter(key=user_key).exists():
            continue
        try:
            with transaction.atomic():
                notice = Notification.objects.create(
                    recipient=user,
                    key=user_key,
                    event=event,
                    hazard=hazard,
                    title=title,
                    body=body,
                    link=link,
                )
        except IntegrityError:  # a concurrent pass stored it first
            continue
        created.append(notice)
        if email and user.email and email_configured():
            transaction.on_commit(lambda pk=notice.pk: send_email(pk))
    queue_webhooks(event, hazard, key=key, title=title, body=body, about=about)
    return created


def send_email(notice_id: int) -> bool:
    """Mail one stored notice (once: emailed_at is set); errors are recorded, not raised."""
    from django.core.mail import EmailMessage

    from layers.domain.models import Notification

    notice = Notification.objects.select_related("recipient").filter(pk=notice_id).first()
    if notice is None or notice.emailed_at is not None:
        return False
    text = f"{notice.body}\n\n{site_url(link_of(notice))}\n"
    message = EmailMessage(
        subject=f"{settings.EMAIL_SUBJECT_PREFIX}{notice.title}",
        body=text,
        to=[notice.recipient.email],
    )
    message.extra_headers["X-Hehuachi-Notice"] = notice.key
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 (any mail failure is recorded, never raised)
        log.warning("notice %s: mail failed: %s", notice.key, exc)
        Notification.objects.filter(pk=notice.pk).update(email_error=str(exc)[:300])
        return False
    Notification.objects.filter(pk=notice.pk).update(emailed_at=clock.now(), email_error="")
    return True


def site_url(path: str) -> str:
    """An absolute link to a path of this site, as its users reach it (SITE_URL)."""
    return settings.SITE_URL.rstrip("/") + path


def queue_webhooks(
    event: str, hazard, *, key: str, title: str, body: str, about: dict | None = None
) -> list:
    """A staff notice for the webhook receivers (with the hazard's record): see queue_event."""
    payload = {
        "title": title,
        "body": body,
        "hazard": _hazard_payload(hazard) if hazard is not None else None,
        **(about or {}),
    }
    return queue_event(event, key=key, payload=payload)


def queue_event(event: str, *, key: str, payload: dict) -> list:
    """One delivery of {"event", "key", "at", **payload} per receiver that wants `event`, once
    per key (a key already queued is never queued again); posted after commit."""
    from layers.domain.models import WebhookDelivery, WebhookEndpoint

    if event not in NOTICE_EVENT.values:
        raise ValueError(f"unknown notice event {event!r}")
    queued = []
    body = {**payload, "event": event, "key": key, "at": clock.now().isoformat()}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    for endpoint in WebhookEndpoint.objects.filter(active=True):
        if not endpoint.wants(event):
            continue
        delivery, made = WebhookDelivery.objects.get_or_create(
            endpoint=endpoint, key=key, defaults={"event": event, "body": text}
        )
        if made:
            queued.append(delivery)
            transaction.on_commit(lambda pk=delivery.pk: dispatch_webhook(pk))
    return queued


def dispatch_webhook(delivery_id: int) -> None:
    for dispatch in _webhook_dispatchers:
        try:
            dispatch(delivery_id)
        except Exception as exc:  # noqa: BLE001 (the delivery stays pending; the log shows it)
            log.warning("webhook delivery %s not queued: %s", delivery_id, exc)


def sms_configured() -> bool:
    return bool(getattr(settings, "SMS_GATEWAY_URL", ""))


def queue_sms(key: str) -> bool:
    """Queue the text message named `key` for the job engine after commit (when an SMS gateway
    is configured); the sender asks the composer registered for the key's kind for the number
    and the text at sending time (layers/services/sms.py). Returns whether it was queued."""
    if not sms_configured():
        return False

    def dispatch():
        for send in _sms_dispatchers:
            try:
                send(key)
            except Exception as exc:  # noqa: BLE001 (a queue failure never undoes the step)
                log.warning("text message %s not queued: %s", key, exc)

    transaction.on_commit(dispatch)
    return True


def _hazard_payload(hazard) -> dict:
    return {
        "id": hazard.pk,
        "ref": hazard.ref,
        "name": hazard.name,
        "category": hazard.category,
        "level": hazard.level,
        "status": hazard.status,
        "deadline": hazard.deadline.isoformat() if hazard.deadline else None,
        "due_date": hazard.due_date.isoformat() if hazard.due_date else None,
        "responsible_unit": hazard.responsible_unit,
        "supervised": hazard.supervised,
    }


# --- what the lifecycle's steps tell ----------------------------------------------------------


def on_step(hazard, event) -> None:
    """The notices a step gives rise to (called by the workflow inside its transaction)."""
    name = hazard.name
    if event.action == "assign" and hazard.assignee_id:
        notify(
            "assigned",
            hazard,
            [hazard.assignee],
            key=f"assigned:h{hazard.pk}:e{event.pk}",
            title=f"交办：{name}",
            body=f"责任单位 {hazard.responsible_unit}，整改期限 {hazard.deadline}。",
        )
    elif event.action == "return":
        reason = event.data.get("reason", "")
        notify(
            "returned",
            hazard,
            leaders(),
            key=f"returned:h{hazard.pk}:e{event.pk}",
            title=f"退回：{name}",
            body=f"{event.data.get('unit', '')} 退回（{reason}）：{event.note}",
        )
    elif event.action == "fail" and hazard.assignee_id:
        notify(
            "reinspection_failed",
            hazard,
            [hazard.assignee],
            key=f"reinspection_failed:h{hazard.pk}:e{event.pk}",
            title=f"复查不通过：{name}",
            body=event.note,
        )


def inbox(user, *, unread_only: bool = False):
    from layers.domain.models import Notification

    notices = Notification.objects.filter(recipient=user).select_related("hazard")
    return notices.filter(read_at__isnull=True) if unread_only else notices


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return inbox(user, unread_only=True).count()


def mark_read(user, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notices read (all when `ids` is None); returns how many changed."""
    notices = inbox(user, unread_only=True)
    if ids is not None:
        notices = notices.filter(pk__in=list(ids))
    return notices.update(read_at=clock.now())


def save_setting(user, events_off: list[str], email: bool) -> None:
    from layers.domain.models import NotificationSetting

    unknown = sorted(set(events_off) - set(NOTICE_EVENT.values))
    if unknown:
        raise ValueError(f"unknown events: {unknown}")
    NotificationSetting.objects.update_or_create(
        user=user, defaults={"events_off": sorted(set(events_off)), "email": email}
    )
