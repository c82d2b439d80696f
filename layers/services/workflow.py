"""The hazard lifecycle (排查→上报→交办→整改→复查→销号), enforced on every channel.

Long because the ACTIONS table and the steps it names are one state machine read on one screen;
the case-loop work (issue 23) splits its inputs and clock out.

Plain functions, no views: the REST API, the admin, the grid worker's page and imports all call
`perform`, which checks the state graph (layers.domain.vocabularies.HAZARD_STATUS.transitions),
who may act, and the inputs each step needs, then writes the hazard through
layers.services.editing (version, history, derived links) and one HazardEvent for the timeline
(全程留痕), in one transaction.

Who may do what:
- leaders (the editor role) assign, set and extend deadlines, approve extensions, reject, and
  put major hazards under formal supervision (挂牌督办);
- inspectors report, start and record rectification, re-inspect, close on the spot (即查即改)
  and mark duplicates, on the hazards they reach: a grid worker (an inspector who looks after
  grid cells) reaches the hazards in their own cells and those assigned to them, nothing else;
  an inspector with no cell (a subdistrict safety officer) reaches every hazard;
- the assignee starts work, records the rectification and asks for more time;
- the re-inspection is done by someone other than who recorded the rectification;
- who did something is always the signed-in user, never a value a client sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from layers.domain import registry, roles
from layers.domain import vocabularies as status
from layers.domain.roles import EDITOR, INSPECTOR, roles_of
from layers.services import editing

NOTE_MAX = 2000
# The lifecycle's record on the hazard: set by steps only, except by a trusted load of existing
# records (the sample data, `load_sample_data`), which takes them as they stand in the source.
RECORD_FIELDS = (
    "status",
    "deadline",
    "closed_at",
    "responsible_unit",
    "reporter",
    "assignee",
    "reject_reason",
)


class WorkflowError(Exception):
    http_status = 400


class IllegalTransition(WorkflowError):
    """The action does not start from the hazard's status (409, naming what is allowed)."""

    http_status = 409

    def __init__(self, action: str, current: str, allowed: list[str]):
        self.action, self.current, self.allowed = action, current, allowed
        names = ", ".join(allowed) or "none (the hazard is finished)"
        super().__init__(
            f"'{action}' is not possible from status '{current}'; allowed from here: {names}"
        )


class NotPermitted(WorkflowError):
    http_status = 403


class InvalidInput(WorkflowError):
    """Bad or missing inputs: errors maps each field to its messages (400)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


# --- who ------------------------------------------------------------------------------------


def grid_cells_of(user):
    from layers.domain.models import GridCell

    cached = getattr(user, "_grid_cell_ids", None)
    if cached is None:
        cached = (
            frozenset(GridCell.objects.filter(worker=user).values_list("pk", flat=True))
            if user.is_authenticated
            else frozenset()
        )
        user._grid_cell_ids = cached
    return cached


def is_grid_worker(user) -> bool:
    return INSPECTOR in roles_of(user) and bool(grid_cells_of(user))


def reach_q(user) -> Q:
    """The hazards `user` may work on as an inspector (see the module docstring)."""
    roles = roles_of(user)
    if EDITOR in roles:
        return Q()
    if INSPECTOR in roles:
        cells = grid_cells_of(user)
        if not cells:
            return Q()
        return Q(grid_cell__in=cells) | Q(assignee=user)
    if user.is_authenticated:
        return Q(assignee=user)
    return Q(pk__in=[])


def reaches(user, hazard) -> bool:
    roles = roles_of(user)
    if EDITOR in roles:
        return True
    if hazard.assignee_id is not None and hazard.assignee_id == getattr(user, "pk", None):
        return True
    if INSPECTOR in roles:
        cells = grid_cells_of(user)
        return not cells or hazard.grid_cell_id in cells
    return False


def _leader(user, hazard) -> str | None:
    return None if roles.is_leader(user) else "only a leader (editor) may do this"


def _inspector(user, hazard) -> str | None:
    roles = roles_of(user)
    if EDITOR in roles:
        return None
    if INSPECTOR not in roles:
        return "only an inspector or a leader may do this"
    if not reaches(user, hazard):
        return "the hazard is outside your grid cells and not assigned to you"
    return None


def _assignee_or_inspector(user, hazard) -> str | None:
    if hazard.assignee_id is not None and hazard.assignee_id == user.pk:
        return None
    roles = roles_of(user)
    if INSPECTOR in roles and reaches(user, hazard):
        return None
    return "only the assignee or an inspector of this grid may do this"


def _leader_or_public(user, hazard) -> str | None:
    """Reopening: a leader, or the public-report channel's own account (roles.is_public_actor),
    which acts for a resident who says a closed hazard is not fixed (docs/REPORTS.md)."""
    if roles.is_leader(user) or roles.is_public_actor(user):
        return None
    return "only a leader, or a resident through their report, may reopen a closed hazard"


def _reinspector(user, hazard) -> str | None:
    refused = _inspector(user, hazard)
    if refused:
        return refused
    if hazard.rectified_by_id is not None and hazard.rectified_by_id == user.pk:
        return "the re-inspection must be done by someone other than who recorded the rectification"
    return None


# --- inputs ---------------------------------------------------------------------------------


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


def default_deadline(level: str, start: dt.date | None = None) -> dt.date:
    """The deadline a leader gets by default when assigning (HAZARD_DEADLINE_DAYS by level)."""
    days = settings.HAZARD_DEADLINE_DAYS[level]
    return (start or timezone.localdate()) + dt.timedelta(days=days)


# --- the steps ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    name: str
    zh: str
    en: str
    sources: tuple[str, ...]
    # The status it leads to; None keeps the status (deadlines, supervision).
    target: str | None
    may: Callable[[object, object], str | None]
    needs_photo: bool = False


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("report", "上报", "Report", ("found",), "reported", _inspector),
        Action("assign", "交办", "Assign", ("reported",), "assigned", _leader),
        Action("start", "开始整改", "Start rectification", ("assigned",), "rectifying",
               _assignee_or_inspector),
        Action("rectify", "整改完成", "Record rectification", ("rectifying",), "reinspection",
               _assignee_or_inspector),
        Action("pass", "复查通过·销号", "Pass re-inspection (close)", ("reinspection",),
               "closed", _reinspector),
        Action("fail", "复查不通过", "Fail re-inspection", ("reinspection",), "rectifying",
               _reinspector),
        Action("fix_on_spot", "即查即改", "Fixed on the spot", ("found",), "closed",
               _inspector, needs_photo=True),
        Action("reject", "不予立案", "Reject",
               ("found", "reported", "assigned", "rectifying", "reinspection"), "rejected",
               _leader),
        Action("mark_duplicate", "标记重复", "Mark as duplicate",
               ("found", "reported", "assigned", "rectifying", "reinspection"), "rejected",
               _inspector),
        Action("set_deadline", "设定期限", "Set deadline",
               ("reported", "assigned", "rectifying", "reinspection"), None, _leader),
        Action("request_extension", "申请延期", "Request extension",
               ("assigned", "rectifying"), None, _assignee_or_inspector),
        Action("decide_extension", "审批延期", "Decide extension",
               ("assigned", "rectifying", "reinspection"), None, _leader),
        Action("supervise", "挂牌督办", "Formal supervision",
               ("found", "reported", "assigned", "rectifying", "reinspection"), None, _leader),
        # 随手拍: the resident says it is not fixed (within 7 days of closing); counts as rework.
        Action("reopen", "群众反映未整改", "Reopen: reported not fixed", ("closed",),
               "reinspection", _leader_or_public),
    )
}  # fmt: skip


# The inputs each step takes (beyond the optional photos), for forms that record a step: the
# grid worker's page and the admin action. `_inputs` below is what checks them.
STEP_INPUTS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    # action: ((name, kind, required), …); kind is text, date, user, reason, hazard or bool.
    "report": (("note", "text", False),),
    "assign": (
        ("responsible_unit", "text", True),
        ("assignee", "user", True),
        ("deadline", "date", False),
        ("note", "text", False),
    ),
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
    "reopen": (("note", "text", True),),
}


def step_inputs(action_name: str) -> list[dict]:
    """The inputs of a step as dicts: name, kind, required; photos say whether one is needed."""
    action = ACTIONS[action_name]
    out = [{"name": n, "kind": k, "required": r} for n, k, r in STEP_INPUTS[action_name]]
    out.append({"name": "photos", "kind": "photos", "required": action.needs_photo})
    return out


def tasks(user):
    """The open hazards `user` works on (their reach), overdue first, then by deadline (none
    last), then the oldest found first."""
    from django.db.models import F

    from layers.domain.models import SafetyHazard

    return (
        SafetyHazard.objects.filter(reach_q(user), status__in=status.HAZARD_OPEN_STATUSES)
        .annotate(overdue=SafetyHazard.overdue_expression())
        .select_related("grid_cell", "assignee")
        .order_by("-overdue", F("deadline").asc(nulls_last=True), "found_at", "pk")
    )


def legal_actions(hazard) -> list[str]:
    """Actions that can start from the hazard's status (whoever does them)."""
    return [a.name for a in ACTIONS.values() if hazard.status in a.sources]


def allowed_actions(hazard, user) -> list[str]:
    """Actions `user` may do now on `hazard`."""
    if not getattr(user, "is_authenticated", False):
        return []
    out = []
    for name in legal_actions(hazard):
        action = ACTIONS[name]
        if action.may(user, hazard) is None and _state_ok(action, hazard) is None:
            out.append(name)
    return out


def _state_ok(action: Action, hazard) -> str | None:
    """Conditions beyond the status: what a step presupposes about the hazard."""
    if action.name == "fix_on_spot" and hazard.level != "general":
        return "only a general hazard (一般隐患) can be fixed on the spot; report a major one"
    if action.name == "decide_extension" and hazard.extension_until is None:
        return "there is no pending extension request"
    return None


def _inputs(action: Action, hazard, data: dict, user) -> tuple[dict, dict, str]:
    """(hazard field values, event data, note) for the step, or InvalidInput."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    event: dict = {}
    note_required = action.name in {"rectify", "fail", "reject", "request_extension", "reopen"}
    note = _text(data, "note", errors, required=note_required)
    today = timezone.localdate()
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
            deadline = default_deadline(hazard.level, today)
            event["deadline_default"] = True
        if deadline is not None and deadline < found:
            errors["deadline"] = [f"before the hazard was found ({found})"]
        if not errors:
            values.update(responsible_unit=unit, assignee=assignee, deadline=deadline)
            event.update(responsible_unit=unit, assignee=assignee.username, deadline=str(deadline))
    elif action.name == "rectify":
        values.update(rectified_by=user, rectified_at=timezone.now())
    elif action.name in {"pass", "fail"}:
        values["reinspected_at"] = timezone.now()
        if action.name == "fail":
            values.update(rectified_by=None, rectified_at=None)
    elif action.name == "reopen":
        # Back to re-inspection: the rectification stands to be checked again (by someone
        # other than who recorded it), the closing re-inspection no longer holds.
        values["reinspected_at"] = None
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
        for listener in _AFTER_STEP:
            listener(hazard, event)
    return hazard, event


# Called after every step, inside its transaction, with (hazard, event): the services that
# follow a hazard register here (the public reports, layers/services/reports/), so this module
# names none of them. Registered from AppConfig.ready().
_AFTER_STEP: list[Callable[[object, object], None]] = []


def after_step(listener: Callable[[object, object], None]):
    """Register `listener(hazard, event)` to run after every step (once per listener)."""
    if listener not in _AFTER_STEP:
        _AFTER_STEP.append(listener)
    return listener


def record_creation(hazard, user) -> None:
    """The first timeline entry of a new hazard: found (排查发现) by its reporter."""
    from layers.domain.models import HazardEvent

    HazardEvent.objects.create(
        hazard=hazard, action="found", from_status="", to_status=hazard.status, actor=user
    )


def may_create_at(user, hazard) -> str | None:
    """Why `user` may not report a hazard where `hazard` lies (derived grid cell), or None."""
    roles = roles_of(user)
    if EDITOR in roles:
        return None
    if INSPECTOR not in roles:
        return "only inspectors and leaders report hazards"
    cells = grid_cells_of(user)
    if cells and hazard.grid_cell_id not in cells:
        return "the location is outside your grid cells"
    return None


def may_edit(user, hazard) -> str | None:
    """Why `user` may not edit the hazard's plain fields (description, place, …), or None."""
    roles = roles_of(user)
    if EDITOR in roles:
        return None
    if INSPECTOR in roles and reaches(user, hazard):
        if hazard.status in status.HAZARD_CLOSED_STATUSES:
            return "a closed or rejected hazard is on the record; a leader may correct it"
        return None
    return "the hazard is outside your grid cells and not assigned to you"


def timeline(hazard) -> list[dict]:
    """Every step, oldest first, with who, when, the note and the photos."""
    out = []
    events = hazard.events.select_related("actor").prefetch_related("photos")
    for event in events:
        action = ACTIONS.get(event.action)
        out.append(
            {
                "id": event.pk,
                "action": event.action,
                "label_zh": action.zh if action else "排查发现",
                "label_en": action.en if action else "Found",
                "from_status": event.from_status or None,
                "to_status": event.to_status,
                "user": event.actor.username,
                "at": event.at.isoformat(),
                "note": event.note,
                "data": event.data,
                "photos": [photo_urls(p) for p in event.photos.all()],
            }
        )
    return out


def photo_urls(photo) -> dict:
    from django.urls import reverse

    return {
        "id": photo.pk,
        "url": reverse("hazard-photo", args=[photo.pk, "full"]),
        "thumbnail": reverse("hazard-photo", args=[photo.pk, "thumb"]),
        "width": photo.width,
        "height": photo.height,
    }


def server_values(user) -> dict:
    """Fields of a new hazard that the server sets, never the client: who reported it."""
    return {"reporter": user, "status": "found"}


def nearby_duplicates(category: str, point, *, exclude=None, radius_m: float | None = None):
    """Open hazards of `category` within `radius_m` metres of `point` (WGS84), nearest first,
    measured on the spheroid; the index narrows the search first."""
    import math

    from django.db.models import FloatField
    from django.db.models.expressions import RawSQL

    from layers.domain.models import SafetyHazard

    radius = settings.HAZARD_DUPLICATE_RADIUS_M if radius_m is None else radius_m
    # The index narrows by a box in degrees a little larger than the circle; the exact distance
    # is then measured on the spheroid (geography), in metres.
    degrees = radius / (111_320.0 * max(math.cos(math.radians(point.y)), 0.01)) * 1.2
    metres = RawSQL(
        "ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)",
        (point.x, point.y),
        output_field=FloatField(),
    )
    found = (
        SafetyHazard.objects.filter(
            category=category,
            status__in=status.HAZARD_OPEN_STATUSES,
            geom__dwithin=(point, degrees),
        )
        .annotate(distance_m=metres)
        .filter(distance_m__lte=radius)
    )
    if exclude is not None:
        found = found.exclude(pk=exclude)
    return [
        {"id": h.pk, "name": h.name, "status": h.status, "distance_m": round(h.distance_m, 1)}
        for h in found.order_by("distance_m", "pk")
    ]
