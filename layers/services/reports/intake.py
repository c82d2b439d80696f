"""Intake by the subdistrict: the queue of new reports, and the decisions on each.

Editors see every report; an inspector sees the reports in their grid cells (every cell when
they look after none, as for hazards). A decision is one of:
- accept: a hazard is created through the feature services as the deciding user (validated,
  with derived links and history), with the reporter's photos, and reported (上报) at once;
- link: the report joins an existing hazard (a duplicate of something already known);
- reject: not accepted, with a reason (and optionally a note) the reporter reads;
- hide (editors): offensive content leaves the queue and the public lists; the report, its
  photos and every decision stay in its timeline (ReportEvent) for the record.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.db.models import Count, Q

from layers.domain import clock, registry, roles
from layers.domain import vocabularies as status
from layers.services import editing, features, workflow
from layers.services.reports.errors import Forbidden, Invalid, NotFound, NotNow
from layers.services.reports.loop import refresh
from layers.services.workflow.inputs import NOTE_MAX as STEP_NOTE_MAX

NAME_MAX = 200
NOTE_MAX = 500


def reach_q(user) -> Q:
    """The reports `user` takes in (see the module docstring)."""
    if roles.is_leader(user):
        return Q()
    if not roles.can_take_reports(user):
        return Q(pk__in=[])
    cells = workflow.grid_cells_of(user)
    return Q(grid_cell__in=cells) if cells else Q()


def queue(user, intake: str | None = "new", *, hidden: bool = False):
    """The reports in `user`'s reach, oldest first (`intake` None: every decision)."""
    from layers.domain.models import PublicReport

    if not roles.can_take_reports(user):
        raise Forbidden("only editors and inspectors take in reports")
    found = PublicReport.objects.filter(reach_q(user))
    if intake is not None:
        found = found.filter(intake=intake)
    if hidden and not roles.can_hide_reports(user):
        raise Forbidden("only editors see hidden reports")
    found = found.filter(hidden_at__isnull=not hidden)
    return (
        found.annotate(supporters=Count("supports"))
        .select_related("grid_cell")
        .prefetch_related("photos")
        .order_by("received_at", "pk")
    )


def candidates(report, user) -> list:
    """Open hazards of the report's category within REPORT_NEARBY_RADIUS_M in `user`'s reach,
    nearest first: what the report may repeat (for "link")."""
    from django.conf import settings

    from layers.domain.models import SafetyHazard
    from layers.query import spatial

    found = SafetyHazard.objects.filter(
        workflow.reach_q(user),
        category=report.category,
        status__in=status.HAZARD_OPEN_STATUSES,
    )
    near = spatial.near(found, report.geom.x, report.geom.y, settings.REPORT_NEARBY_RADIUS_M)
    found = list(near.order_by("_distance_m", "pk")[:10])
    for hazard in found:
        hazard.metres = round(hazard._distance_m)
    return found


def _report_for(user, pk, *, new_only: bool = True):
    from layers.domain.models import PublicReport

    if not roles.can_take_reports(user):
        raise Forbidden("only editors and inspectors take in reports")
    report = (
        PublicReport.objects.select_for_update(of=("self",)).filter(reach_q(user), pk=pk).first()
    )
    if report is None:
        raise NotFound("no such report in your reach")
    if new_only and report.intake != "new":
        raise NotNow(f"the report has been decided already ({report.get_intake_display()})")
    if new_only and report.hidden_at is not None:
        raise NotNow("the report is hidden")
    return report


def _decided(report, user, intake: str, kind: str, data: dict) -> None:
    from layers.domain.models import ReportEvent

    now = clock.now()
    report.intake, report.decided_at, report.decided_by = intake, now, user
    report.save(update_fields=["intake", "decided_at", "decided_by", "hazard",
                               "linked_as_duplicate", "reject_reason", "public_note"])  # fmt: skip
    ReportEvent.objects.create(report=report, kind=kind, at=now, actor=user, data=data)


def accept(pk, user, data: dict):
    """Accept a new report: a hazard is created from it (name, level) and reported; returns the
    hazard. Invalid names the field; Forbidden / NotFound / NotNow as the rules say."""
    name = _text(data, "name", NAME_MAX, required=False)
    level = data.get("level") or "general"
    if level not in status.HAZARD_LEVEL.values:
        raise Invalid({"level": [f"one of {', '.join(status.HAZARD_LEVEL.values)}"]})
    spec = registry.get("hazards")
    with transaction.atomic():
        report = _report_for(user, pk)
        label = status.HAZARD_CATEGORY.label(report.category)
        feature = {
            "type": "Feature",
            "geometry": json.loads(report.geom.geojson),
            "properties": {
                "name": name or f"{label}（群众随手拍 {report.code}）",
                "category": report.category,
                "level": level,
                "description": report.description,
                "found_at": report.received_at.isoformat(),
            },
        }
        try:
            hazard = features.create(spec, feature, user)
        except features.Invalid as exc:
            raise Invalid({k: [str(m) for m in v] for k, v in dict(exc.errors).items()}) from None
        except editing.Refused as exc:
            raise Forbidden(str(exc)) from None
        copies = []
        for photo in report.photos.filter(kind="report"):
            copies.append(_copy_photo(photo, hazard, user).pk)
        report.hazard = hazard
        _decided(report, user, "accepted", "accepted", {"hazard": hazard.pk})
        note = f"群众随手拍 {report.code}：{report.description}"[:STEP_NOTE_MAX]
        workflow.perform(hazard.pk, "report", user, {"note": note, "photos": copies})
        refresh(report)
    return hazard


def _copy_photo(photo, hazard, user):
    """The reporter's photo (already re-encoded) as a photo of the hazard's report step."""
    from django.core.files.base import ContentFile

    from layers.domain.models import HazardPhoto

    copy = HazardPhoto(hazard=hazard, uploaded_by=user)
    for field, source in ((copy.image, photo.image), (copy.thumbnail, photo.thumbnail)):
        name = source.name.rsplit("/", 1)[-1]
        with source.open("rb") as handle:
            # A named file: the image field reads its dimensions from it.
            field.save(name, ContentFile(handle.read(), name=name), save=False)
    copy.save()
    return copy


def link(pk, user, hazard_id):
    """The report repeats a hazard already known: it joins it (and follows it from now)."""
    from layers.domain.models import SafetyHazard

    raw = str(hazard_id).strip() if isinstance(hazard_id, (int, str)) else ""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise Invalid({"hazard": ["the number of an existing hazard"]})
    with transaction.atomic():
        report = _report_for(user, pk)
        hazard = SafetyHazard.objects.filter(workflow.reach_q(user), pk=int(raw)).first()
        if hazard is None:
            raise Invalid({"hazard": [f"no hazard {raw} in your reach"]})
        if hazard.status == "rejected":
            raise Invalid({"hazard": [f"hazard {raw} was rejected; link to the original"]})
        report.hazard, report.linked_as_duplicate = hazard, True
        _decided(report, user, "accepted", "linked", {"hazard": hazard.pk})
        refresh(report)
    return hazard


def reject(pk, user, data: dict):
    """Not accepted, with a reason the reporter reads (and an optional note written for them)."""
    reason = data.get("reason")
    if reason not in status.REPORT_REJECT_REASON.values:
        raise Invalid({"reason": [f"one of {', '.join(status.REPORT_REJECT_REASON.values)}"]})
    note = _text(data, "public_note", NOTE_MAX, required=False)
    with transaction.atomic():
        report = _report_for(user, pk)
        report.reject_reason, report.public_note = reason, note
        _decided(report, user, "rejected", "rejected", {"reason": reason})
        refresh(report)
    return report


def hide(pk, user, data: dict):
    """Hide a report with offensive content (editors): a new one is also not accepted (reason
    "inappropriate"); the content and the trail stay for the record."""
    from layers.domain.models import ReportEvent

    if not roles.can_hide_reports(user):
        raise Forbidden("only editors hide reports")
    note = _text(data, "note", NOTE_MAX, required=True)
    with transaction.atomic():
        report = _report_for(user, pk, new_only=False)
        if report.hidden_at is not None:
            raise NotNow("the report is hidden already")
        now = clock.now()
        report.hidden_at, report.hidden_by = now, user
        report.save(update_fields=["hidden_at", "hidden_by"])
        ReportEvent.objects.create(report=report, kind="hidden", at=now, actor=user,
                                   data={"note": note})  # fmt: skip
        if report.intake == "new":
            report.reject_reason = "inappropriate"
            _decided(report, user, "rejected", "rejected", {"reason": "inappropriate"})
        refresh(report)
    return report


def _text(data: dict, name: str, limit: int, *, required: bool) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid({name: ["expected text"]})
    value = value.strip()
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise Invalid({name: ["no control characters"]})
    if len(value) > limit:
        raise Invalid({name: [f"at most {limit} characters"]})
    if required and not value:
        raise Invalid({name: ["required"]})
    return value
