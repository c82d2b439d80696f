"""Exactly-once writes for clients that retry: the `Idempotency-Key` header (IETF httpapi
draft "The Idempotency-Key HTTP Header Field").

A phone that sent a photo or a step and lost the answer sends the same request again with the
same key. The first successful answer is stored with the key, in the transaction of the write
itself, and every repeat gets that answer back (`Idempotent-Replayed: true`) without running the
write again. So either the write and its stored answer both commit, or neither does.

- A key belongs to one caller; it is looked up with the method, the path, `If-Match` and the
  body's content (a fingerprint). The same key with another request: 422.
- Two requests with the same key at the same time: the second is answered 409 at once
  (`code: idempotency_in_progress`, `Retry-After: 1`), as the draft says, rather than holding a
  server thread while the first finishes; the client retries and then gets the stored answer.
- Only successful answers (2xx) are stored. A refused request applied nothing (its
  transaction is rolled back), so sending it again, with the same key, runs it again.
- Keys are kept IDEMPOTENCY_KEY_DAYS days (`purge`, run by a periodic job); an older key is new.
- Without the header a request runs as before (the header is optional).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone

from layers.query.params import ParamError

HEADER = "Idempotency-Key"
# A structured-field string ("…", printable ASCII without `"` and `\`) as the draft has it,
# or, as many clients send it, the same characters bare (no quotes, no spaces, no commas).
_QUOTED = re.compile(r'"([\x20\x21\x23-\x5b\x5d-\x7e]{1,255})"', re.ASCII)
_BARE = re.compile(r"[A-Za-z0-9._~:+/=-]{1,255}", re.ASCII)
KEPT_HEADERS = ("Content-Type", "ETag", "Location")


class InProgress(Exception):
    """Another request with this key is being processed (409)."""


class KeyReused(Exception):
    """The key was first used with a different request (422)."""


def parse_key(raw: str) -> str:
    """The key of an `Idempotency-Key` header value; ParamError naming the header otherwise."""
    match = _QUOTED.fullmatch(raw) or _BARE.fullmatch(raw)
    if match is None:
        raise ParamError(
            HEADER,
            'expected a quoted string of 1-255 printable ASCII characters ("…", no \\ or ")',
        )
    return match.group(1) if match.re is _QUOTED else match.group(0)


def fingerprint(method: str, path: str, if_match: str | None, parts) -> str:
    """sha256 over the request's method, path, If-Match and body parts (bytes, in order)."""
    digest = hashlib.sha256()
    for piece in (method.encode(), path.encode(), (if_match or "").encode()):
        digest.update(len(piece).to_bytes(8, "big") + piece)
    for piece in parts:
        digest.update(len(piece).to_bytes(8, "big") + piece)
    return digest.hexdigest()


def expiry() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=settings.IDEMPOTENCY_KEY_DAYS)


def purge() -> int:
    """Forget the keys older than IDEMPOTENCY_KEY_DAYS; returns how many."""
    from layers.domain.models import IdempotencyKey

    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expiry()).delete()
    return deleted


def _claim_row(user, key: str) -> None:
    """Make sure the key's row exists and is committed, so a concurrent request finds it and
    its lock. (Inside a caller's transaction, as in tests, it is simply part of that.)"""
    from layers.domain.models import IdempotencyKey

    table = IdempotencyKey._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, key, method, path, fingerprint, headers, body,"  # noqa: S608 (our table's name)
            " created_at) VALUES (%s, %s, '', '', '', '{}', '', %s)"
            " ON CONFLICT (user_id, key) DO NOTHING",
            [user.pk, key, timezone.now()],
        )


def run(user, key: str, method: str, path: str, print_: str, produce: Callable[[], tuple]):
    """The answer (status, headers, body, replayed) to a request with `key`: the stored one for
    a repeat, else what `produce()` answers, stored if it succeeded. Raises InProgress or
    KeyReused."""
    from layers.domain.models import IdempotencyKey

    _claim_row(user, key)
    with transaction.atomic():
        try:
            row = IdempotencyKey.objects.select_for_update(nowait=True).get(user=user, key=key)
        except DatabaseError:  # the row is locked: its first request is still running
            raise InProgress() from None
        if row.status is not None and row.created_at < expiry():
            row.status = None  # an expired key not yet purged is a new key
            row.created_at = timezone.now()
        if row.status is not None:
            if row.fingerprint != print_:
                raise KeyReused()
            return row.status, dict(row.headers), bytes(row.body), True
        status, headers, body = produce()
        if 200 <= status < 300:
            row.method, row.path, row.fingerprint = method, path[:400], print_
            row.status, row.headers, row.body = status, headers, body
            row.answered_at = timezone.now()
            row.save()
        else:
            # Nothing of a refused request is kept, the key row as it was either.
            transaction.set_rollback(True)
        return status, headers, body, False


# --- HTTP ---------------------------------------------------------------------------------


def _error(status: int, body: dict, **headers) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _body_parts(request) -> list[bytes] | None:
    """The body as fingerprint parts: a JSON or other body as its bytes; a multipart form as
    its fields and files' contents (the boundary changes on every retry). None when the body is
    too large to read here (the view refuses it)."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/form-data"):
        parts = []
        for name in sorted(request.POST):
            for value in request.POST.getlist(name):
                parts.append(f"field {name}={value}".encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                digest = hashlib.sha256()
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
                parts.append(f"file {name}={upload.name}:{digest.hexdigest()}".encode())
        return parts
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > settings.API_MAX_BODY_BYTES:
        return None
    return [request.body]


def respond(request, view: Callable[[], HttpResponse]) -> HttpResponse:
    """Run `view` (a write) under the request's Idempotency-Key, if it has one and the caller
    is signed in; the answer of a repeat is the stored one."""
    raw = request.headers.get(HEADER)
    user = request.caller
    if raw is None or not user.is_authenticated:
        return view()
    try:
        key = parse_key(raw)
    except ParamError as exc:
        return _error(400, {exc.name: [exc.message]})
    parts = _body_parts(request)
    if parts is None:
        return view()
    print_ = fingerprint(request.method, request.path, request.headers.get("If-Match"), parts)

    def produce():
        response = view()
        if hasattr(response, "render") and callable(response.render):
            response.render()
        kept = {h: response[h] for h in KEPT_HEADERS if response.has_header(h)}
        produce.response = response
        return response.status_code, kept, response.content

    try:
        status, headers, body, replayed = run(
            user, key, request.method, request.path, print_, produce
        )
    except InProgress:
        return _error(
            409,
            {
                "detail": "A request with this Idempotency-Key is still being processed; "
                "send it again in a moment.",
                "code": "idempotency_in_progress",
            },
            Retry_After="1",
        )
    except KeyReused:
        return _error(
            422,
            {
                HEADER: [
                    "this key was first used with a different request (method, path, "
                    "If-Match or body); use a new key for a new request"
                ],
                "code": "idempotency_key_reused",
            },
        )
    if not replayed:
        return produce.response
    response = HttpResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response
