"""What the lifecycle shows: my tasks, a timeline, nearby duplicates."""

from __future__ import annotations

from django.conf import settings

from layers.domain import vocabularies as status
from layers.services.workflow.actions import ACTIONS
from layers.services.workflow.reach import reach_q


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


# Timeline entries that are not steps: the creation, and what the reminder pass records.
OTHER_EVENTS = {
    "found": ("排查发现", "Found"),
    "overdue": ("超期", "Overdue"),
    "escalate": ("挂牌督办（超期升级）", "Formal supervision (escalated)"),
}
REASONS = {"return": status.HAZARD_RETURN_REASON, "reject": status.HAZARD_REJECT_REASON}


def timeline(hazard) -> list[dict]:
    """Every step, oldest first, with who, when, the note and the photos."""
    out = []
    events = hazard.events.select_related("actor").prefetch_related("photos")
    for event in events:
        action = ACTIONS.get(event.action)
        zh, en = (action.zh, action.en) if action else OTHER_EVENTS.get(event.action, ("", ""))
        entry = {
            "id": event.pk,
            "action": event.action,
            "label_zh": zh or event.action,
            "label_en": en or event.action,
            "from_status": event.from_status or None,
            "to_status": event.to_status,
            # System entries (the reminder pass) have no actor.
            "user": event.actor.username if event.actor_id else None,
            "at": event.at.isoformat(),
            "note": event.note,
            "data": event.data,
            "photos": [photo_urls(p) for p in event.photos.all()],
        }
        reason = event.data.get("reason") if isinstance(event.data, dict) else None
        vocabulary = REASONS.get(event.action)
        if reason and vocabulary and reason in vocabulary.values:
            entry["reason_zh"] = vocabulary.label(reason, "zh")
            entry["reason_en"] = vocabulary.label(reason, "en")
        out.append(entry)
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
