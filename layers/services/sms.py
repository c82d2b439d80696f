"""Text messages (短信) through the operator's SMS gateway, when SMS_GATEWAY_URL is set.

The service speaks to no carrier itself: it POSTs each message as JSON to the gateway the
subdistrict already has (a 政务短信平台, or a small adapter in front of a cloud SMS service),
signed like the webhooks (layers/services/webhooks.py) with SMS_GATEWAY_SECRET:

    {"key": "<message key>", "to": "<phone number as the resident typed it>", "text": "…"}
    X-Hehuachi-Event: sms   X-Hehuachi-Delivery: <key>
    X-Hehuachi-Timestamp / X-Hehuachi-Signature: sha256=<HMAC(secret, timestamp + "." + body)>

Any 2xx means the gateway took it. Anything else raises SendFailed, and the job engine retries
(layers/jobs/tasks.py). No message is stored: `notifications.queue_sms(key)` queues only its
key, and when the job runs, the composer registered for the key's kind (the part before the
first ":") says to whom and what, or None when there is nothing to send any more (the contact
was erased, or the message went out already). So a phone number lives only where its owner's
record keeps it, and is gone with it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from layers.services import webhooks

log = logging.getLogger(__name__)


class SendFailed(Exception):
    pass


@dataclass(frozen=True)
class Message:
    to: str
    text: str
    # Called once the gateway has taken the message (records that it was sent).
    sent: Callable[[], None] = lambda: None


_composers: dict[str, Callable[[str], Message | None]] = {}


def register_composer(kind: str, compose: Callable[[str], Message | None]) -> None:
    """`compose(key)` for the keys "<kind>:…": the message to send now, or None."""
    _composers[kind] = compose


def send(key: str) -> bool:
    """Send the message named `key` now: True when the gateway took it, False when there is
    nothing to send (no gateway, no composer, nothing left); SendFailed otherwise."""
    url = getattr(settings, "SMS_GATEWAY_URL", "")
    compose = _composers.get(key.split(":", 1)[0])
    if not url or compose is None:
        return False
    message = compose(key)
    if message is None:
        return False
    body = json.dumps(
        {"key": key, "to": message.to, "text": message.text}, ensure_ascii=False, sort_keys=True
    ).encode()
    code, error = webhooks.post(
        url,
        settings.SMS_GATEWAY_SECRET,
        body,
        {"X-Hehuachi-Event": "sms", "X-Hehuachi-Delivery": key},
    )
    if code is None or not 200 <= code < 300:
        log.warning("text message %s: the gateway refused it: %s", key, error or code)
        raise SendFailed(f"text message {key}: {error or code}")
    message.sent()
    return True
