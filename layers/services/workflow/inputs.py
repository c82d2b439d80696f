"""The inputs each step takes, checked before anything is written."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from layers.domain import clock
from layers.domain import vocabularies as status
from layers.services.workflow import deadlines
from layers.services.workflow.actions import ACTIONS, Action
from layers.services.workflow.errors import InvalidInput

NOTE_MAX = 2000


def _text(data, name, errors, *, required: bool, limit: int = NOTE_MAX) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = ["expected text"]
        return ""
    value = value.strip()
    if "\x00" in value:
        errors[name] = ["must not contain NUL characters"]
    elif len(value) > limit:
        errors[name] = [f"at most {limit} characters"]
    elif required and not value:
        errors[name] = ["required for this step"]
    return value


def _date(data, name, errors, *, required: bool) -> dt.date | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            errors[name] = ["required for this step (YYYY-MM-DD)"]
        return None
    if not isinstance(value, str) or len(value) != 10 or not value.isascii():
        errors[name] = ["expected a date YYYY-MM-DD"]
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors[name] = [f"{value!r} is not a date"]
        return None


def _bool(data, name, errors) -> bool | None:
    value = data.get(name)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    errors[name] = ["expected true or false"]
    return None


# The inputs each step takes (beyond the optional photos), for forms that record a step: the
# grid worker's page and the admin action. `_inputs` below is what checks them.
STEP_INPUTS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    # action: ((name, kind, required), …); kind is text, date, user, reason,
    # return_reason, hazard or bool.
    "report": (("note", "text", False),),
    "assign": (
        ("responsible_unit", "text", True),
        ("assignee", "user", True),
        ("deadline", "date", False),
        ("note", "text", False),
    ),
    "return": (("reason", "return_reason", True), ("note", "text", False)),
    "start": (("note", "text", False),),
    "rectify": (("note", "text", True),),
    "pass": (("note", "text", False),),
    "fail": (("note", "text", True),),
    "fix_on_spot": (("note", "text", False),),
    "reject": (("reason", "reason", True), ("note", "text", True)),
    "mark_duplicate": (("duplicate_of", "hazard", True), ("note", "text", False)),
    "set_deadline": (("deadline", "date", True), ("note", "text", False)),
    "request_extension": (("until", "date", True), ("note", "text", True)),
    "decide_extension": (("approve", "bool", True), ("note", "text", False)),
    "supervise": (("on", "bool", True), ("deadline", "date", False), ("note", "text", False)),
}


def step_inputs(action_name: str) -> list[dict]:
    """The inputs of a step as dicts: name, kind, required; photos say whether one is needed."""
    action = ACTIONS[action_name]
    out = [{"name": n, "kind": k, "required": r} for n, k, r in STEP_INPUTS[action_name]]
    out.append({"name": "photos", "kind": "photos", "required": action.needs_photo})
    return out


def _inputs(action: Action, hazard, data: dict, user) -> tuple[dict, dict, str]:
    """(hazard field values, event data, note) for the step, or InvalidInput."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    event: dict = {}
    note_required = action.name in {"rectify", "fail", "reject", "request_extension"}
    note = _text(data, "note", errors, required=note_required)
    today = clock.today()
    found = timezone.localdate(hazard.found_at) if hazard.found_at else today

    if action.name == "assign":
        unit = _text(data, "responsible_unit", errors, required=True, limit=200)
        username = data.get("assignee")
        assignee = None
        if not isinstance(username, str) or not username.strip():
            errors["assignee"] = ["required: the user name of who carries out the work"]
        else:
            assignee = (
                get_user_model().objects.filter(username=username.strip(), is_active=True).first()
            )
            if assignee is None:
                errors["assignee"] = [f"no active user {username.strip()!r}"]
        deadline = _date(data, "deadline", errors, required=False)
        if deadline is None and "deadline" not in errors:
            deadline = deadlines.default_deadline(hazard, today)
            event["deadline_default"] = True
        if deadline is not None and deadline < found:
            errors["deadline"] = [f"before the hazard was found ({found})"]
        if not errors:
            values.update(responsible_unit=unit, assignee=assignee, deadline=deadline)
            event.update(responsible_unit=unit, assignee=assignee.username, deadline=str(deadline))
    elif action.name == "return":
        reason = data.get("reason")
        if reason not in status.HAZARD_RETURN_REASON.values:
            errors["reason"] = [f"one of {', '.join(status.HAZARD_RETURN_REASON.values)}"]
        elif reason == "other" and not note:
            errors.setdefault("note", ["required: say why, when the reason is 'other'"])
        else:
            # Back to the dispatch queue; the unit and the assignee stay on the timeline (the
            # returns are counted per unit from the events).
            values.update(responsible_unit="", assignee=None, deadline=None, extension_until=None)
            event.update(
                reason=reason,
                unit=hazard.responsible_unit,
                assignee=hazard.assignee.username if hazard.assignee else "",
                deadline=str(hazard.deadline or ""),
            )
    elif action.name == "rectify":
        values.update(rectified_by=user, rectified_at=clock.now())
    elif action.name in {"pass", "fail"}:
        values["reinspected_at"] = clock.now()
        if action.name == "fail":
            values.update(rectified_by=None, rectified_at=None)
    elif action.name == "reject":
        reason = data.get("reason")
        if reason not in status.HAZARD_REJECT_REASON.values:
            errors["reason"] = [f"one of {', '.join(status.HAZARD_REJECT_REASON.values)}"]
        else:
            values["reject_reason"] = reason
            event["reason"] = reason
    elif action.name == "mark_duplicate":
        original = _original(hazard, data.get("duplicate_of"), errors)
        if original is not None:
            values.update(reject_reason="duplicate", duplicate_of=original)
            event["duplicate_of"] = original.pk
    elif action.name == "set_deadline":
        deadline = _date(data, "deadline", errors, required=True)
        if deadline is not None and deadline < found:
            errors["deadline"] = [f"before the hazard was found ({found})"]
        if deadline is not None and not errors:
            values.update(deadline=deadline, extension_until=None)
            event.update(deadline=str(deadline), previous=str(hazard.deadline or ""))
    elif action.name == "request_extension":
        until = _date(data, "until", errors, required=True)
        if until is not None and hazard.deadline is not None and until <= hazard.deadline:
            errors["until"] = [f"must be after the current deadline ({hazard.deadline})"]
        if until is not None and until < today:
            errors["until"] = ["must not be in the past"]
        if until is not None and "until" not in errors:
            values["extension_until"] = until
            event.update(until=str(until), deadline=str(hazard.deadline or ""))
    elif action.name == "decide_extension":
        approve = _bool(data, "approve", errors)
        if approve is not None:
            event.update(approve=approve, until=str(hazard.extension_until))
            if approve:
                values["deadline"] = hazard.extension_until
                event["previous"] = str(hazard.deadline or "")
            values["extension_until"] = None
    elif action.name == "supervise":
        on = _bool(data, "on", errors)
        if on and hazard.level != "major":
            errors["on"] = ["only a major hazard (重大隐患) is put under formal supervision"]
        deadline = _date(data, "deadline", errors, required=bool(on) and not hazard.deadline)
        if deadline is not None and deadline < found:
            errors["deadline"] = [f"before the hazard was found ({found})"]
        if on is not None and "on" not in errors:
            values["supervised"] = on
            event["on"] = on
            if deadline is not None:
                values["deadline"] = deadline
                event["deadline"] = str(deadline)
    if errors:
        raise InvalidInput(errors)
    return values, event, note


def _original(hazard, raw, errors):
    from layers.domain.models import SafetyHazard

    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).isascii():
        errors["duplicate_of"] = ["required: the id of the hazard this one repeats"]
        return None
    text = str(raw)
    if not text.isdigit() or len(text) > 18:
        errors["duplicate_of"] = ["expected a hazard id"]
        return None
    original = SafetyHazard.objects.filter(pk=int(text)).first()
    if original is None:
        errors["duplicate_of"] = [f"no hazard {text}"]
    elif original.pk == hazard.pk:
        errors["duplicate_of"] = ["a hazard cannot duplicate itself"]
    elif original.status == "rejected":
        errors["duplicate_of"] = [f"hazard {text} is itself rejected; link to the original"]
    else:
        return original
    return None


def _photos(hazard, ids, user) -> list:
    """The caller's own photos of this hazard not yet attached to a step."""
    from layers.domain.models import HazardPhoto

    if ids in (None, ""):
        return []
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise InvalidInput({"photos": ["expected a list of photo ids"]})
    if len(ids) > settings.HAZARD_MAX_PHOTOS_PER_STEP:
        raise InvalidInput({"photos": [f"at most {settings.HAZARD_MAX_PHOTOS_PER_STEP}"]})
    photos = list(
        HazardPhoto.objects.filter(pk__in=ids, hazard=hazard, uploaded_by=user, event=None)
    )
    missing = sorted(set(ids) - {p.pk for p in photos})
    if missing:
        raise InvalidInput({"photos": [f"not your unattached photos of this hazard: {missing}"]})
    return photos
