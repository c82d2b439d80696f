"""Signed webhook deliveries: POST the notice's JSON to the receiver with

    X-Hehuachi-Event: <event>
    X-Hehuachi-Delivery: <the notice's key>
    X-Hehuachi-Timestamp: <unix seconds>
    X-Hehuachi-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The receiver recomputes the signature over the timestamp and the raw body and refuses old
timestamps (replays). Any 2xx answer delivers; anything else (an error status, a refused
connection, a timeout) is an attempt recorded in the delivery log and raised, so the job engine
retries it (layers/jobs/tasks.py) up to WEBHOOK_MAX_ATTEMPTS, then the delivery is failed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.db.models import F

from layers.domain import clock


class DeliveryFailed(Exception):
    pass


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def post(url: str, secret: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    """One signed POST of a JSON `body`: (the HTTP status or None, an error text or "")."""
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 (an editor's or the operator's http(s) URL)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "hehuachi-webhooks/1",
            **headers,
            "X-Hehuachi-Timestamp": timestamp,
            "X-Hehuachi-Signature": sign(secret, timestamp, body),
        },
    )
    code, error = None, ""
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT) as response:  # noqa: S310
            code = response.status
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    return code, error


def deliver(delivery_id: int) -> bool:
    """One attempt; True when delivered (or nothing left to do), DeliveryFailed otherwise."""
    from layers.domain.models import WebhookDelivery

    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.PENDING:
        return True
    code, error = post(
        delivery.endpoint.url,
        delivery.endpoint.secret,
        delivery.body.encode(),
        {"X-Hehuachi-Event": delivery.event, "X-Hehuachi-Delivery": delivery.key},
    )
    attempts = delivery.attempts + 1
    if code is not None and 200 <= code < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.DELIVERED,
            attempts=F("attempts") + 1,
            last_status_code=code,
            last_error="",
            delivered_at=clock.now(),
        )
        return True
    final = attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.FAILED if final else WebhookDelivery.PENDING,
        attempts=F("attempts") + 1,
        last_status_code=code,
        last_error=error or f"HTTP {code}",
    )
    raise DeliveryFailed(f"delivery {delivery.pk} attempt {attempts}: {error or code}")
