"""Feature writes as every channel makes them (REST /api/v1/, OGC API - Features Part 4):
the body checked against the layer's write schema, then create, update, delete or restore
through the editing service in one transaction, proving the version the writer saw.

Raises Invalid (400, errors by field), editing.Missing (404), editing.Refused (403: the
lifecycle says no) and editing.StaleVersion (412). Who may write a layer at all is the
channel's first question (layers/query/access.py), before anything here runs.
"""

from __future__ import annotations

from django.db import transaction

from layers.domain import registry
from layers.geo.geometry import STORAGE_SRID
from layers.services import editing
from layers.services.validation import write_serializer_for


class Invalid(Exception):
    """The body breaks the layer's rules; `errors` maps each field to its messages."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


def _validated(spec, data, *, instance=None, partial=False, srid=STORAGE_SRID) -> dict:
    serializer = write_serializer_for(spec)(
        instance, data=data, partial=partial, context={"input_srid": srid}
    )
    if not serializer.is_valid():
        raise Invalid(serializer.errors)
    return dict(serializer.validated_data)


def create(spec: registry.LayerSpec, data, user, *, srid: int = STORAGE_SRID):
    values = _validated(spec, data, srid=srid)
    with transaction.atomic():
        # A lifecycle's refusal leaves the block: the transaction is rolled back.
        return editing.create_as(spec, values, user)


def update(
    spec: registry.LayerSpec,
    pk: int,
    data,
    user,
    *,
    seen: int,
    partial: bool,
    srid: int = STORAGE_SRID,
):
    with transaction.atomic():
        obj = editing.lock(spec, pk)
        editing.check_edit(spec, obj, user)
        # A bad body is 400 whatever its version.
        values = _validated(spec, data, instance=obj, partial=partial, srid=srid)
        editing.check_version(obj, seen)
        # The lifecycle's rules (who may edit, where a grid worker may move it) are the editing
        # service's; a refusal leaves the block, so the write is rolled back (403).
        obj = editing.update_as(spec, obj, values, user)
    return obj


def delete(spec: registry.LayerSpec, pk: int, user, *, seen: int):
    with transaction.atomic():
        obj = editing.lock_for_edit(spec, pk, seen)
        editing.check_edit(spec, obj, user)
        editing.soft_delete(obj, user)
    return obj


def restore(spec: registry.LayerSpec, pk: int, user, *, seen: int):
    with transaction.atomic():
        obj = editing.lock_for_edit(spec, pk, seen, deleted=True)
        editing.restore(obj, user)
    return obj
