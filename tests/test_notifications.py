"""Notifications: the inbox (page, header count, API, mark read), each user's choices, mail
through a real SMTP server (aiosmtpd), signed webhooks to a real HTTP receiver with a delivery
log, and keys that make every notice go out once."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from layers.domain.models import (
    GridCell,
    Notification,
    SafetyHazard,
    WebhookDelivery,
    WebhookEndpoint,
)
from layers.domain.roles import EDITOR, PLANNER
from layers.jobs import tasks
from layers.services import notifications, webhooks, workflow
from tests.conftest import make_user
from tests.factories import make
from tests.servers import Receiver, SMTPServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def loop(db, settings):
    settings.SERVICE_TODAY = "2026-09-29"
    cell = GridCell.objects.order_by("code").first()
    leader = make_user("n-leader", EDITOR, staff=True)
    unit = make_user("n-unit", PLANNER)
    unit.email = "unit@example.com"
    unit.save()
    hazard = make(
        SafetyHazard,
        name="楼道飞线充电",
        category="ebike",
        level="general",
        status="reported",
        geom=cell.geom.point_on_surface,
        found_at=dt.datetime(2026, 9, 28, 9, tzinfo=dt.UTC),
    )
    return {"hazard": hazard, "leader": leader, "unit": unit}


def assign(loop):
    return workflow.perform(
        loop["hazard"].pk,
        "assign",
        loop["leader"],
        {"responsible_unit": "物业公司", "assignee": loop["unit"].username},
    )


def test_assigning_tells_the_assignee_once(loop):
    _hazard, event = assign(loop)
    notices = list(Notification.objects.filter(recipient=loop["unit"]))
    assert [n.event for n in notices] == ["assigned"]
    assert notices[0].hazard_id == loop["hazard"].pk and "楼道飞线充电" in notices[0].title
    # The same key again: nothing new.
    notifications.on_step(loop["hazard"], event)
    assert Notification.objects.filter(recipient=loop["unit"]).count() == 1


def test_a_return_tells_the_leaders(loop):
    assign(loop)
    workflow.perform(loop["hazard"].pk, "return", loop["unit"], {"reason": "not_our_duty"})
    told = Notification.objects.filter(event="returned")
    assert loop["leader"].pk in set(told.values_list("recipient", flat=True))


def test_users_choose_which_events_reach_them(loop):
    notifications.save_setting(loop["unit"], ["assigned"], email=True)
    assign(loop)
    assert not Notification.objects.filter(recipient=loop["unit"]).exists()
    with pytest.raises(ValueError):
        notifications.save_setting(loop["unit"], ["no-such-event"], email=True)


def test_the_api_lists_my_notices_and_marks_them_read(loop):
    assign(loop)
    client = APIClient()
    client.force_authenticate(loop["unit"])
    body = client.get("/api/v1/notifications/?unread=true").json()
    assert body["unread"] == 1 and len(body["results"]) == 1
    notice = body["results"][0]
    assert notice["hazard"] == loop["hazard"].pk and notice["link"].endswith(
        f"?hazard={loop['hazard'].pk}"
    )
    assert client.post(f"/api/v1/notifications/{notice['id']}/read/").json()["read"] is True
    assert client.get("/api/v1/notifications/?unread=true").json()["results"] == []
    assert len(client.get("/api/v1/notifications/").json()["results"]) == 1
    # Someone else's notice is not found.
    other = APIClient()
    other.force_authenticate(loop["leader"])
    assert other.post(f"/api/v1/notifications/{notice['id']}/read/").status_code == 404


@pytest.mark.parametrize(
    ("query", "name"), [("unread=maybe", "unread"), ("limit=0", "limit"), ("page=2", "page")]
)
def test_the_api_refuses_bad_parameters(loop, query, name):
    client = APIClient()
    client.force_authenticate(loop["unit"])
    response = client.get(f"/api/v1/notifications/?{query}")
    assert response.status_code == 400 and name in response.json()


def test_the_api_needs_a_user():
    assert APIClient().get("/api/v1/notifications/").status_code in (401, 403)


def test_the_inbox_page_and_the_header_count(loop, client):
    assign(loop)
    client.force_login(loop["unit"])
    page = client.get("/inbox/").content.decode()
    assert 'id="hh-unread-count">1<' in page and "楼道飞线充电" in page
    notice = Notification.objects.get(recipient=loop["unit"])
    assert client.post(f"/inbox/{notice.pk}/read/").status_code == 302
    page = client.get("/inbox/").content.decode()
    assert 'id="hh-unread-count"' not in page
    client.post("/inbox/settings/", {"events": ["reminder", "overdue"]})
    setting = loop["unit"].notification_setting
    assert "assigned" in setting.events_off and setting.email is False
    assert client.post("/inbox/settings/", {"events": ["bogus"]}).status_code == 400


def test_mail_goes_through_a_real_smtp_server_once(loop, django_capture_on_commit_callbacks):
    with (
        SMTPServer() as smtp,
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=smtp.port,
        ),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            _hazard, event = assign(loop)
        with django_capture_on_commit_callbacks(execute=True):
            notifications.on_step(loop["hazard"], event)  # the same notice: no second mail
        assert smtp.sink.recipients == [["unit@example.com"]]
        assert "楼道飞线充电" in smtp.sink.texts()[0]
    notice = Notification.objects.get(recipient=loop["unit"])
    assert notice.emailed_at is not None


def test_no_smtp_configured_no_mail_and_the_step_goes_ahead(
    loop, django_capture_on_commit_callbacks
):
    with override_settings(EMAIL_HOST=""), django_capture_on_commit_callbacks(execute=True):
        assign(loop)
    assert Notification.objects.get(recipient=loop["unit"]).emailed_at is None


def test_a_dead_mail_server_is_recorded_not_raised(loop, django_capture_on_commit_callbacks):
    from tests.servers import free_port

    with (
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=free_port(),
            EMAIL_TIMEOUT=2,
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        hazard, _event = assign(loop)
    assert hazard.status == "assigned"
    notice = Notification.objects.get(recipient=loop["unit"])
    assert notice.emailed_at is None and notice.email_error


# --- webhooks ---------------------------------------------------------------------------------


def test_webhooks_are_signed_and_logged(loop, django_capture_on_commit_callbacks):
    with Receiver(200) as receiver:
        endpoint = WebhookEndpoint.objects.create(
            name="city", url=receiver.url, secret="s3cret", events=["assigned"]
        )
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assign(loop)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert delivery.status == "pending" and callbacks  # queued after commit
        assert webhooks.deliver(delivery.pk) is True
        (request,) = receiver.received
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-hehuachi-event"] == "assigned"
    assert webhooks.verify(
        "s3cret", headers["x-hehuachi-timestamp"], request["body"], headers["x-hehuachi-signature"]
    )
    assert not webhooks.verify(
        "other", headers["x-hehuachi-timestamp"], request["body"], headers["x-hehuachi-signature"]
    )
    payload = json.loads(request["body"])
    assert payload["hazard"]["id"] == loop["hazard"].pk and payload["key"] == delivery.key
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    # Delivered once: another call posts nothing.
    assert webhooks.deliver(delivery.pk) is True


def test_a_failing_receiver_is_retried_then_failed_and_never_blocks_a_step(loop, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    with Receiver(500) as receiver:
        WebhookEndpoint.objects.create(name="bot", url=receiver.url, secret="k")
        hazard, _event = assign(loop)  # the step succeeds whatever the receiver does
        assert hazard.status == "assigned"
        delivery = WebhookDelivery.objects.get(event="assigned")
        with pytest.raises(webhooks.DeliveryFailed):
            webhooks.deliver(delivery.pk)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "pending",
            1,
            500,
        )
        with pytest.raises(webhooks.DeliveryFailed):
            webhooks.deliver(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == "failed" and len(receiver.received) == 2
    # The job engine retries a failed attempt.
    strategy = tasks.deliver_webhook.retry_strategy
    assert strategy.max_attempts >= 2 and webhooks.DeliveryFailed in strategy.retry_exceptions


def test_a_broken_dispatcher_does_not_undo_the_step(loop, django_capture_on_commit_callbacks):
    def broken(pk):
        raise RuntimeError("queue down")

    notifications.register_webhook_dispatcher(broken)
    try:
        WebhookEndpoint.objects.create(name="x", url="http://127.0.0.1:9/", secret="k")
        with django_capture_on_commit_callbacks(execute=True):
            hazard, _event = assign(loop)
        assert SafetyHazard.objects.get(pk=hazard.pk).status == "assigned"
    finally:
        notifications._webhook_dispatchers.remove(broken)
