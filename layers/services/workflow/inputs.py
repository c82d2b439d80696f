"""The inputs each step takes, as DRF serializers (one per step, so the OpenAPI document
describes each step's body), and the rules that check them against the hazard before anything
is written.

Every value is parsed strictly: text is text (no numbers taken as text, no NUL), dates are
YYYY-MM-DD, flags are true/false (JSON or the words), ids are whole numbers; each refusal names
its field (400).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers

from layers.domain import clock
from layers.domain import vocabularies as status
from layers.services.workflow import deadlines
from layers.services.workflow.actions import ACTIONS, Action
from layers.services.workflow.duplicates import original_of
from layers.services.workflow.errors import InvalidInput

NOTE_MAX = 2000


# --- strict fields ----------------------------------------------------------------------------


class Text(serializers.CharField):
    """Text only (a number is not taken as text); blank or null is empty when optional."""

    kind = "text"

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", NOTE_MAX)
        if not kwargs.get("required", True):
            kwargs.setdefault("allow_blank", True)
            kwargs.setdefault("allow_null", True)
            kwargs.setdefault("default", "")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)

    def validate_empty_values(self, data):
        if data is None and not self.required:
            return True, ""
        return super().validate_empty_values(data)


class Day(serializers.DateField):
    """A date written YYYY-MM-DD, nothing else."""

    kind = "date"
    default_error_messages = {"invalid": "expected a date YYYY-MM-DD"}

    def to_internal_value(self, value):
        if not isinstance(value, str) or len(value) != 10 or not value.isascii():
            self.fail("invalid")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail("invalid")


class Flag(serializers.BooleanField):
    """true or false (JSON booleans, or the words)."""

    kind = "bool"
    default_error_messages = {"invalid": "expected true or false"}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if data in ("true", "false"):
            return data == "true"
        self.fail("invalid")


class Username(serializers.CharField):
    """The user name of an active user."""

    kind = "user"

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        name = super().to_internal_value(data)
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise serializers.ValidationError(f"no active user {name!r}")
        return user


class HazardId(serializers.IntegerField):
    """The id of a hazard: a whole number (JSON number or digits), never a flag."""

    kind = "hazard"

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        if isinstance(data, str) and (not data.isascii() or not data.isdigit() or len(data) > 18):
            self.fail("invalid")
        return super().to_internal_value(data)


class Reason(serializers.ChoiceField):
    kind = "reason"

    def __init__(self, vocabulary, kind: str = "reason", **kwargs):
        super().__init__(choices=list(vocabulary.values), **kwargs)
        self.kind = kind

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=str(data)[:40])
        return super().to_internal_value(data)


# --- one serializer per step ------------------------------------------------------------------


class StepInput(serializers.Serializer):
    """A step's body: `action` names it; photos are ids of the caller's uploads (attached by
    perform); `note` goes on the timeline."""

    action = serializers.CharField(help_text="The step: see the lifecycle table.")
    note = Text(required=False)
    photos = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="Ids of your uploaded photos."
    )


class NoteRequiredInput(StepInput):
    note = Text()


class AssignInput(StepInput):
    responsible_unit = Text(max_length=200)
    assignee = Username(help_text="The user name of who carries out the work.")
    deadline = Day(required=False, help_text="Default: the rectify limit in working days.")


class ReturnInput(StepInput):
    reason = Reason(status.HAZARD_RETURN_REASON, kind="return_reason")

    def validate(self, attrs):
        if attrs.get("reason") == "other" and not attrs.get("note"):
            raise serializers.ValidationError({"note": ["required when the reason is 'other'"]})
        return attrs


class RejectInput(NoteRequiredInput):
    reason = Reason(status.HAZARD_REJECT_REASON)


class MarkDuplicateInput(StepInput):
    duplicate_of = HazardId(help_text="The id of the hazard this one repeats.")


class SetDeadlineInput(StepInput):
    deadline = Day()


class RequestExtensionInput(NoteRequiredInput):
    until = Day()


class DecideExtensionInput(StepInput):
    approve = Flag()


class SuperviseInput(StepInput):
    on = Flag()
    deadline = Day(required=False)


SERIALIZERS: dict[str, type[StepInput]] = {
    "report": StepInput,
    "assign": AssignInput,
    "return": ReturnInput,
    "start": StepInput,
    "rectify": NoteRequiredInput,
    "pass": StepInput,
    "fail": NoteRequiredInput,
    "fix_on_spot": StepInput,
    "reject": RejectInput,
    "mark_duplicate": MarkDuplicateInput,
    "set_deadline": SetDeadlineInput,
    "request_extension": RequestExtensionInput,
    "decide_extension": DecideExtensionInput,
    "supervise": SuperviseInput,
}
assert set(SERIALIZERS) == set(ACTIONS), "every step has its inputs"


def _fields(action_name: str) -> list[tuple[str, str, bool]]:
    fields = SERIALIZERS[action_name]().fields
    out = [
        (name, getattr(f, "kind", "text"), f.required)
        for name, f in fields.items()
        if name not in ("action", "photos", "note")
    ]
    return [*out, ("note", "text", fields["note"].required)]


# The inputs each step takes (beyond the optional photos), for forms that record a step: the
# grid worker's page and the admin action; read from the serializers.
STEP_INPUTS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    name: tuple(_fields(name)) for name in SERIALIZERS
}


def step_inputs(action_name: str) -> list[dict]:
    """The inputs of a step as dicts: name, kind, required; photos say whether one is needed."""
    action = ACTIONS[action_name]
    out = [{"name": n, "kind": k, "required": r} for n, k, r in STEP_INPUTS[action_name]]
    out.append({"name": "photos", "kind": "photos", "required": action.needs_photo})
    return out


def parse(action_name: str, data: dict) -> dict:
    """The step's inputs, validated (InvalidInput names each bad field)."""
    body = {k: v for k, v in data.items() if k != "photos"}
    body["action"] = action_name
    serializer = SERIALIZERS[action_name](data=body)
    if not serializer.is_valid():
        raise InvalidInput(
            {name: [str(m) for m in messages] for name, messages in _flat(serializer.errors)}
        )
    return serializer.validated_data


def _flat(errors) -> list[tuple[str, list]]:
    out = []
    for name, messages in errors.items():
        if isinstance(messages, dict):
            messages = [m for ms in messages.values() for m in ms]
        out.append((name, list(messages)))
    return out


# --- the rules against the hazard ---------------------------------------------------------------


def _inputs(action: Action, hazard, data: dict, user) -> tuple[dict, dict, str]:
    """(hazard field values, event data, note) for the step, or InvalidInput."""
    v = parse(action.name, data)
    note = (v.get("note") or "").strip()
    errors: dict[str, list[str]] = {}
    values: dict = {}
    event: dict = {}
    today = clock.today()
    found = timezone.localdate(hazard.found_at) if hazard.found_at else today
    name = action.name

    if name == "assign":
        deadline = v.get("deadline")
        if deadline is None:
            deadline = deadlines.default_deadline(hazard, today)
            event["deadline_default"] = True
        if deadline < found:
            errors["deadline"] = [f"before the hazard was found ({found})"]
        unit, assignee = v["responsible_unit"].strip(), v["assignee"]
        values.update(responsible_unit=unit, assignee=assignee, deadline=deadline)
        event.update(responsible_unit=unit, assignee=assignee.username, deadline=str(deadline))
    elif name == "return":
        # Back to the dispatch queue; the unit and the assignee stay on the timeline (the
        # returns are counted per unit from the events).
        values.update(responsible_unit="", assignee=None, deadline=None, extension_until=None)
        event.update(
            reason=v["reason"],
            unit=hazard.responsible_unit,
            assignee=hazard.assignee.username if hazard.assignee else "",
            deadline=str(hazard.deadline or ""),
        )
    elif name == "rectify":
        values.update(rectified_by=user, rectified_at=clock.now())
    elif name in ("pass", "fail"):
        values["reinspected_at"] = clock.now()
        if name == "fail":
            values.update(rectified_by=None, rectified_at=None)
    elif name == "reject":
        values["reject_reason"] = event["reason"] = v["reason"]
    elif name == "mark_duplicate":
        original = original_of(hazard, v["duplicate_of"], errors)
        if original is not None:
            values.update(reject_reason="duplicate", duplicate_of=original)
            event["duplicate_of"] = original.pk
    elif name == "set_deadline":
        deadline = v["deadline"]
        if deadline < found:
            errors["deadline"] = [f"before the hazard was found ({found})"]
        values.update(deadline=deadline, extension_until=None)
        event.update(deadline=str(deadline), previous=str(hazard.deadline or ""))
    elif name == "request_extension":
        until = v["until"]
        if hazard.deadline is not None and until <= hazard.deadline:
            errors["until"] = [f"must be after the current deadline ({hazard.deadline})"]
        if until < today:
            errors["until"] = ["must not be in the past"]
        values["extension_until"] = until
        event.update(until=str(until), deadline=str(hazard.deadline or ""))
    elif name == "decide_extension":
        approve = v["approve"]
        event.update(approve=approve, until=str(hazard.extension_until))
        if approve:
            values["deadline"] = hazard.extension_until
            event["previous"] = str(hazard.deadline or "")
        values["extension_until"] = None
    elif name == "supervise":
        on, deadline = v["on"], v.get("deadline")
        if on and hazard.level != "major":
            errors["on"] = ["only a major hazard (重大隐患) is put under formal supervision"]
        if on and deadline is None and not hazard.deadline:
            errors["deadline"] = ["required for this step (YYYY-MM-DD)"]
        if deadline is not None and deadline < found:
            errors["deadline"] = [f"before the hazard was found ({found})"]
        values["supervised"] = event["on"] = on
        if deadline is not None:
            values["deadline"] = deadline
            event["deadline"] = str(deadline)
    if errors:
        raise InvalidInput(errors)
    return values, event, note


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
