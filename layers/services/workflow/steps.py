"""Taking a step: one transaction writing the hazard and its timeline entry."""

from __future__ import annotations

from django.db import transaction

from layers.domain import registry
from layers.services import editing, notifications
from layers.services.workflow import deadlines
from layers.services.workflow.actions import ACTIONS, _state_ok, allowed_actions
from layers.services.workflow.errors import IllegalTransition, InvalidInput, NotPermitted
from layers.services.workflow.inputs import _inputs, _photos


def perform(hazard_pk: int, action_name: str, user, data: dict | None = None, *, seen=None):
    """Do one step on a hazard for `user`; returns (hazard, event). Raises WorkflowError
    (IllegalTransition 409, NotPermitted 403, InvalidInput 400), editing.Missing (404) or
    editing.StaleVersion (412 when `seen`, the version the caller saw, is stale)."""
    from layers.domain.models import HazardEvent

    data = data or {}
    if not isinstance(data, dict):
        raise InvalidInput({"body": ["expected a JSON object"]})
    action = ACTIONS.get(action_name) if isinstance(action_name, str) else None
    if action is None:
        raise InvalidInput({"action": [f"one of {', '.join(ACTIONS)}"]})
    if not getattr(user, "is_authenticated", False):
        raise NotPermitted("sign in to work on hazards")
    spec = registry.get("hazards")
    with transaction.atomic():
        hazard = editing.lock(spec, hazard_pk)
        if seen is not None and not editing.is_current(hazard, seen):
            raise editing.StaleVersion(hazard.version)
        if hazard.status not in action.sources:
            raise IllegalTransition(action.name, hazard.status, allowed_actions(hazard, user))
        refused = action.may(user, hazard)
        if refused:
            raise NotPermitted(refused)
        refused = _state_ok(action, hazard)
        if refused:
            raise IllegalTransition(action.name, hazard.status, allowed_actions(hazard, user))
        values, event_data, note = _inputs(action, hazard, data, user)
        photos = _photos(hazard, data.get("photos"), user)
        if action.needs_photo and not photos:
            raise InvalidInput({"photos": ["a photo of the fixed hazard is required"]})
        before = hazard.status
        if action.target is not None:
            values["status"] = action.target
        values.update(deadlines.step_due(action.name, hazard, values))
        editing.update(hazard, values, user)
        event = HazardEvent.objects.create(
            hazard=hazard,
            action=action.name,
            from_status=before,
            to_status=hazard.status,
            actor=user,
            note=note,
            data=event_data,
        )
        for photo in photos:
            photo.event = event
            photo.save(update_fields=["event"])
        notifications.on_step(hazard, event)
    return hazard, event


def record_creation(hazard, user) -> None:
    """The first timeline entry of a new hazard: found (排查发现) by its reporter."""
    from layers.domain.models import HazardEvent

    HazardEvent.objects.create(
        hazard=hazard, action="found", from_status="", to_status=hazard.status, actor=user
    )


def server_values(user) -> dict:
    """Fields of a new hazard that the server sets, never the client: who reported it."""
    return {"reporter": user, "status": "found"}
