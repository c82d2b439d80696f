"""OGC API - Features Part 4 (create, replace, update, delete) on the same services as REST.

A write on /ogc/collections/{id}/items[/{featureId}] is checked as every write is: the layer's
edit roles (layers/query/access.py), its write schema and model rules (400 naming the field),
the hazard lifecycle (status not writable; steps go through /api/v1/), the version the writer
saw (ETag / If-Match: 412 when stale, 428 without one), and written by layers/services/
features.py (history, derived links, versions). The answers are the REST ones, except that a
create answers 201 with Location, as Part 4 says.

Callers signed in by a cookie pass the CSRF check as on every form; callers that sign each
request (Authorization: Basic or Token, resolved once by layers/auth/caller.py) need none.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware

from layers.auth.machine import CHALLENGE
from layers.domain import registry
from layers.geo import geometry as geo
from layers.query import access, encode, versions
from layers.query.params import ParamError, load_json
from layers.services import editing, features

GEOJSON = "application/geo+json"
BODY_TYPES = ("application/json", "application/geo+json")
# Written by every save; a client sends back what it read, stale or not: always ignored.
BOOKKEEPING = {"created_at", "updated_at", "created_by", "updated_by", "deleted_at"}


def _answer(body: dict, status: int, **headers) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    for key, value in headers.items():
        response[key] = value
    return response


def _csrf_refused(request) -> str | None:
    """The CSRF check of a cookie-signed-in writer (as Django's forms and DRF's session
    authentication make it); None when it passes."""
    check = CsrfViewMiddleware(lambda _request: None)
    check.process_request(request)
    refused = check.process_view(request, None, (), {})
    return None if refused is None else "CSRF Failed: send the csrftoken cookie's value."


def _body(request):
    """The request's JSON document (bounded in size and depth, no NaN or NUL)."""
    content_type = request.content_type or ""
    if not content_type:
        return {}  # as DRF reads a body with no type: empty (the validation names what is missing)
    if content_type not in BODY_TYPES:
        raise _Refusal(415, {"detail": f'Unsupported media type "{content_type}" in request.'})
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > settings.API_MAX_BODY_BYTES:
        message = f"request body larger than {settings.API_MAX_BODY_BYTES} bytes"
        raise _Refusal(400, {"body": [message]})
    try:
        return load_json(request.body.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Refusal(400, {"body": ["the body is not UTF-8"]}) from None
    except ParamError as exc:
        raise _Refusal(400, {exc.name: [exc.message]}) from None


class _Refusal(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(status)
        self.status, self.body = status, body


def _without_read_only(document, user, spec: registry.LayerSpec, pk: int):
    """Forget the read-only properties a client sends back as it read them.

    A GIS client replaces a feature with what it read: audit fields (created_at, updated_by,
    ...), files, deleted_at and computed properties come back unchanged. They are not
    writable. The bookkeeping is dropped, and any other read-only property when it equals the
    stored value (the version stays: it proves what was read). A changed one is kept, so the
    validation refuses it (e.g. a hazard's status, which only the lifecycle changes).
    """
    properties = document.get("properties") if isinstance(document, dict) else None
    if not isinstance(properties, dict):
        return document
    visible = set(access.output_fields(user, spec)) | set(spec.computed_labels)
    read_only = visible - set(access.writable_fields(spec)) - {"version"}
    sent = read_only & set(properties)
    if not sent:
        return document
    text = encode.encode_feature(
        spec.model.objects.filter(pk=pk), spec, tuple(visible - set(spec.computed_labels))
    )
    stored = json.loads(text)["properties"] if text else {}
    same = {name for name in sent if name in stored and stored[name] == properties[name]}
    same |= sent & BOOKKEEPING
    return {**document, "properties": {k: v for k, v in properties.items() if k not in same}}


def _input_srid(request) -> int:
    raw = request.GET.get("crs")
    if raw is None:
        return geo.STORAGE_SRID
    try:
        return geo.parse_srid(raw)
    except ValueError as exc:
        raise _Refusal(400, {"crs": [str(exc)]}) from None


def _seen(request, document) -> int:
    try:
        seen = versions.seen_version(request.headers.get("If-Match"), document)
    except ParamError as exc:
        raise _Refusal(400, {exc.name: [exc.message]}) from None
    if seen is None:
        detail = "Send If-Match with the ETag you saw, or the version property."
        raise _Refusal(428, {"detail": detail})
    return seen


def _feature(spec: registry.LayerSpec, user, obj, status: int) -> HttpResponse:
    text = encode.encode_feature(
        spec.model.all_objects.filter(pk=obj.pk), spec, access.output_fields(user, spec)
    )
    response = HttpResponse(text, status=status, content_type=GEOJSON)
    response["ETag"] = versions.etag_for(obj.version)
    return response


def _check_caller(request, spec: registry.LayerSpec) -> None:
    user = request.user
    if not access.can_edit(user, spec):
        if not user.is_authenticated:
            detail = "Authentication credentials were not provided."
            raise _Refusal(401, {"detail": detail})
        raise _Refusal(403, {"detail": "Your role may not do this on this layer."})
    if request.header_user is None:
        refused = _csrf_refused(request)
        if refused:
            raise _Refusal(403, {"detail": refused})


def write(request, spec: registry.LayerSpec, action: str, pk: int | None = None):
    """Answer a Part 4 request: `action` is create, update, partial_update or destroy."""
    user = request.user
    try:
        _check_caller(request, spec)
        if action == "destroy":
            obj = features.delete(spec, pk, user, seen=_seen(request, None))
            response = HttpResponse(status=204)
            response["ETag"] = versions.etag_for(obj.version)
            return response
        document = _body(request)
        srid = _input_srid(request)
        if action == "create":
            obj = features.create(spec, document, user, srid=srid)
            response = _feature(spec, user, obj, 201)
            base = request.build_absolute_uri("/ogc").rstrip("/")
            response["Location"] = f"{base}/collections/{spec.slug}/items/{obj.pk}"
            return response
        document = _without_read_only(document, user, spec, pk)
        obj = features.update(
            spec,
            pk,
            document,
            user,
            seen=_seen(request, document),
            partial=action == "partial_update",
            srid=srid,
        )
        return _feature(spec, user, obj, 200)
    except _Refusal as refusal:
        headers = {"WWW-Authenticate": f"{CHALLENGE}, Token"} if refusal.status == 401 else {}
        return _answer(refusal.body, refusal.status, **headers)
    except features.Invalid as exc:
        return _answer(exc.errors, 400)
    except editing.StaleVersion as exc:
        body = {
            "detail": "The feature changed since you read it; nothing was saved. "
            "Read it again and reapply your change.",
            "current_version": exc.current,
        }
        return _answer(body, 412, ETag=versions.etag_for(exc.current))
    except editing.Missing:
        return _answer({"detail": "Not found."}, 404)
    except editing.Refused as exc:
        return _answer({"detail": str(exc)}, 403)
