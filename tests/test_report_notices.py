"""Public reports (随手拍): each change of public status is announced once through the case
loop's notification service: a signed webhook event with public fields only (a real HTTP
receiver checks the signature), and a text message through the SMS gateway (a real HTTP
gateway) to the reporter's phone, written when sent, never twice and never after erasure."""

from __future__ import annotations

import json

import pytest

from layers.domain.models import ReportContact, ReportEvent, WebhookDelivery, WebhookEndpoint
from layers.jobs import tasks
from layers.services import notifications, reports, sms, webhooks
from tests.report_helpers import (  # noqa: F401 (fixtures: photos_removed, fresh_limits)
    fresh_limits,
    photos_removed,
    run_to_closed,
    sent,
    user,
)
from tests.servers import Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("photos_removed", "fresh_limits")]

PHONE = "137 0000 0002"


def _headers(request) -> dict:
    return {k.lower(): v for k, v in request["headers"].items()}


def _a_report_run_to_fixed(contact=PHONE):
    """Sent with a contact, accepted with an internal name, run to closed: three changes of
    public status (accepted, being handled, fixed); `start` and `rectify` change none."""
    report = sent(contact=contact)
    hazard = reports.accept(report.pk, user("demo-editor"), {"name": "内部名称：3号楼东侧"})
    run_to_closed(hazard.pk)
    report.refresh_from_db()
    hazard.refresh_from_db()
    return report, hazard


def test_each_public_status_change_is_one_signed_webhook_event_with_public_fields_only(
    django_capture_on_commit_callbacks,
):
    with Receiver(200) as receiver:
        city = WebhookEndpoint.objects.create(
            name="city-12345", url=receiver.url, secret="s3cret", events=["report_status"]
        )
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            report, hazard = _a_report_run_to_fixed()
        deliveries = list(WebhookDelivery.objects.filter(endpoint=city).order_by("pk"))
        assert [d.event for d in deliveries] == ["report_status"] * 3
        assert callbacks  # posted after commit (by the job engine); here by hand
        for delivery in deliveries:
            assert webhooks.deliver(delivery.pk) is True
        # Derived again without a change: nothing more is queued (exactly one per change).
        assert reports.refresh(report) is False
        assert WebhookDelivery.objects.filter(endpoint=city).count() == 3
        received = list(receiver.received)
    payloads = []
    for request in received:
        headers = _headers(request)
        assert headers["x-hehuachi-event"] == "report_status"
        assert webhooks.verify(
            "s3cret",
            headers["x-hehuachi-timestamp"],
            request["body"],
            headers["x-hehuachi-signature"],
        )
        assert not webhooks.verify(
            "wrong",
            headers["x-hehuachi-timestamp"],
            request["body"],
            headers["x-hehuachi-signature"],
        )
        payloads.append(json.loads(request["body"]))
    assert [p["report"]["status"]["value"] for p in payloads] == ["accepted", "handling", "fixed"]
    assert [p["report"]["previous"] for p in payloads] == ["received", "accepted", "handling"]
    for payload in payloads:
        assert set(payload) == {"event", "key", "at", "report"}
        assert set(payload["report"]) == {"code", "status", "previous", "since", "url"}
        assert payload["report"]["code"] == report.code
        assert payload["report"]["url"].endswith(f"/report/{report.code}/")
    assert payloads[-1]["report"]["since"] == report.closed_at.isoformat()
    # Nothing of the staff record, nor the contact, reaches the receiver.
    text = b"".join(r["body"] for r in received).decode()
    internal = [hazard.name, hazard.responsible_unit, "grid-02", "demo-editor", "13700000002",
                PHONE, hazard.grid_cell.code, "王经理"]  # fmt: skip
    assert [s for s in internal if s in text] == []
    # Nor the hazard's id, as a value anywhere (as a substring, "76" may be in a timestamp).
    scalars = list(_values(payloads))
    assert hazard.pk not in scalars and str(hazard.pk) not in scalars


def _values(node):
    """Every scalar in a JSON document."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _values(value)
    elif isinstance(node, list):
        for value in node:
            yield from _values(value)
    else:
        yield node


def test_staff_receivers_of_every_event_get_the_public_event_too():
    WebhookEndpoint.objects.create(name="all", url="http://127.0.0.1:9/", secret="k")
    report = sent()
    reports.accept(report.pk, user("demo-editor"), {})
    keys = list(WebhookDelivery.objects.filter(event="report_status").values_list("key", flat=True))
    (event,) = ReportEvent.objects.filter(report=report, kind="status")
    assert keys == [f"report_status:r{report.pk}:e{event.pk}"]


@pytest.fixture
def gateway(settings):
    """A real HTTP SMS gateway, configured; the keys the job engine would be handed."""
    keys: list[str] = []
    notifications.register_sms_dispatcher(keys.append)
    with Receiver(200) as receiver:
        settings.SMS_GATEWAY_URL = receiver.url
        settings.SMS_GATEWAY_SECRET = "gateway-secret-2026"
        yield receiver, keys
    notifications._sms_dispatchers.remove(keys.append)


def test_the_reporter_gets_one_text_message_per_change_through_the_gateway(
    gateway, django_capture_on_commit_callbacks
):
    receiver, keys = gateway
    with django_capture_on_commit_callbacks(execute=True):
        report, _hazard = _a_report_run_to_fixed()
    assert len(keys) == 3 and all(key.startswith("report:") for key in keys)
    for key in keys:
        assert sms.send(key) is True
    assert sms.send(keys[-1]) is False  # sent already: a retried job sends nothing twice
    assert len(receiver.received) == 3
    messages = []
    for request in receiver.received:
        headers = _headers(request)
        assert headers["x-hehuachi-event"] == "sms"
        assert webhooks.verify(
            "gateway-secret-2026",
            headers["x-hehuachi-timestamp"],
            request["body"],
            headers["x-hehuachi-signature"],
        )
        messages.append(json.loads(request["body"]))
    assert {m["to"] for m in messages} == {PHONE}
    assert [m["key"] for m in messages] == keys
    assert all(report.code in m["text"] for m in messages)
    assert "已受理" in messages[0]["text"] and "已解决" in messages[-1]["text"]
    assert "7 天内" in messages[-1]["text"]  # the feedback window
    notified = ReportEvent.objects.filter(report=report, kind="notified", data__channel="sms")
    assert notified.count() == 3
    assert not ReportEvent.objects.filter(report=report, data__icontains="0002").exists()


def test_a_refusing_gateway_is_retried_and_an_erased_contact_gets_nothing(
    gateway, django_capture_on_commit_callbacks
):
    receiver, keys = gateway
    with django_capture_on_commit_callbacks(execute=True):
        report = sent(contact=PHONE)
        reports.accept(report.pk, user("demo-editor"), {})
    (key,) = keys
    receiver.status = 503
    with pytest.raises(sms.SendFailed):
        sms.send(key)
    strategy = tasks.send_sms.retry_strategy
    assert strategy.max_attempts >= 2 and sms.SendFailed in strategy.retry_exceptions
    assert not ReportEvent.objects.filter(report=report, kind="notified").exists()
    ReportContact.objects.filter(report=report).delete()
    receiver.status = 200
    assert sms.send(key) is False
    assert len(receiver.received) == 1  # only the refused attempt


def test_no_gateway_no_text_message_and_email_only_contacts_get_none(
    settings, django_capture_on_commit_callbacks
):
    keys: list[str] = []
    notifications.register_sms_dispatcher(keys.append)
    try:
        settings.SMS_GATEWAY_URL = ""
        with django_capture_on_commit_callbacks(execute=True):
            reports.accept(sent(contact=PHONE).pk, user("demo-editor"), {})
        assert keys == []
        settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/"
        with django_capture_on_commit_callbacks(execute=True):
            reports.accept(sent(contact="a@example.org").pk, user("demo-editor"), {})
            reports.accept(sent(contact=PHONE).pk, user("demo-editor"), {})
        assert len(keys) == 1  # the phone only
    finally:
        notifications._sms_dispatchers.remove(keys.append)


@pytest.mark.parametrize(
    ("url", "secret", "ids"),
    [
        ("", "", []),
        ("https://sms.example.org/send", "k" * 16, []),
        ("ftp://sms.example.org/send", "k" * 16, ["geo_service.E002"]),
        ("https://operator@sms.example.org/send", "k" * 16, ["geo_service.E002"]),
        ("https://sms.example.org/send", "short", ["geo_service.E003"]),
        ("sms.example.org", "", ["geo_service.E002", "geo_service.E003"]),
    ],
)
def test_the_gateway_settings_are_checked_before_serving(settings, url, secret, ids):
    from geo_service.checks import sms_gateway_configured

    settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_SECRET = url, secret
    assert [error.id for error in sms_gateway_configured(None)] == ids
