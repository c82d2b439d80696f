"""OGC API - Features Part 4 (create, replace, update, delete) through the REST API's write path.

A write on /ogc/collections/{id}/items[/{featureId}] is handed to the layer's REST endpoint
(/api/v1/<slug>/[<id>/], resolved by URL; layers/channels/api/views.py): the same roles (edit_roles),
the same serializer and model validation (400 naming the field), layers.services.editing (history,
derived links, versions), the hazard lifecycle of layers/services/workflow.py (status not writable;
steps go through /api/v1/), ETag / If-Match with 412 on a stale edit and 428 without a
precondition. Only the answers change to what Part 4 says: a create answers 201 with
Location, the others keep the REST bodies.
"""

from __future__ import annotations

import io
import json

from django.urls import resolve, reverse

from layers.domain import registry
from layers.auth.machine import CHALLENGE
from layers.query import access

# Written by every save; a client sends back what it read, stale or not: always ignored.
BOOKKEEPING = {"created_at", "updated_at", "created_by", "updated_by", "deleted_at"}


def _drop_read_only(request, spec: registry.LayerSpec, pk: int) -> None:
    """Forget the read-only properties a client sends back as it read them.

    A GIS client replaces a feature with what it read: audit fields (created_at, updated_by,
    ...), files, deleted_at and computed properties come back unchanged. They are not
    writable; the REST API refuses them. Here the bookkeeping is dropped, and any other
    read-only property when it equals the stored value (the version stays: it proves what was
    read). A changed one is kept, so the REST validation refuses it (e.g. a hazard's status,
    which only the lifecycle changes).
    Anything else is left to the REST validation (a bad body is its 400).
    """
    from django.conf import settings

    from layers.query.params import ParamError, load_json

    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > settings.API_MAX_BODY_BYTES:
        return
    try:
        document = load_json(request.body.decode("utf-8"))
    except (ParamError, UnicodeDecodeError):
        return
    properties = document.get("properties") if isinstance(document, dict) else None
    if not isinstance(properties, dict):
        return

    visible = set(access.output_fields(request.user, spec)) | set(spec.computed_labels)
    read_only = visible - set(access.writable_fields(spec)) - {"version"}
    sent = read_only & set(properties)
    if not sent:
        return
    from layers.query import encode

    text = encode.encode_feature(
        spec.model.objects.filter(pk=pk), spec, tuple(visible - set(spec.computed_labels))
    )
    stored = json.loads(text)["properties"] if text else {}
    same = {name for name in sent if name in stored and stored[name] == properties[name]}
    same |= sent & BOOKKEEPING
    document["properties"] = {k: v for k, v in properties.items() if k not in same}
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    request._body = body
    request._stream = io.BytesIO(body)
    request.META["CONTENT_LENGTH"] = str(len(body))


def dispatch(request, spec: registry.LayerSpec, action: str, pk: int | None = None):
    if request.method in ("PUT", "PATCH"):
        _drop_read_only(request, spec, pk)
    if getattr(request, "gis_header_user", None) is not None:
        # Signed in by an Authorization header (Basic / Token), not a cookie: no CSRF check.
        request._dont_enforce_csrf_checks = True
    # The REST endpoint, found by URL (the channels import each other's code nowhere).
    path = reverse(
        f"api:{spec.slug}-{'detail' if pk is not None else 'list'}",
        kwargs=({"pk": pk} if pk is not None else None),
    )
    match = resolve(path)
    response = match.func(request, *match.args, **match.kwargs)
    if response.status_code == 401:
        response["WWW-Authenticate"] = f"{CHALLENGE}, Token"
    if action == "create" and response.status_code == 201:
        created = json.loads(response.content)
        base = request.build_absolute_uri("/ogc").rstrip("/")
        response["Location"] = f"{base}/collections/{spec.slug}/items/{created['id']}"
    return response
