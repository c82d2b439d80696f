"""What "mark as duplicate" may link to: an open hazard, or one closed at most
HAZARD_DUPLICATE_RECENT_DAYS ago, of the same category, within the duplicate radius
(HAZARD_DUPLICATE_RADIUS_M, measured on the spheroid). No closing by the back door."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from layers.domain import clock


def original_of(hazard, pk: int, errors):
    """The hazard `hazard` repeats, if it may be linked (see the module docstring)."""
    from layers.domain.models import SafetyHazard

    text = str(pk)
    original = SafetyHazard.objects.filter(pk=pk).first()
    if original is None:
        errors["duplicate_of"] = [f"no hazard {text}"]
    elif original.pk == hazard.pk:
        errors["duplicate_of"] = ["a hazard cannot duplicate itself"]
    elif original.status == "rejected":
        errors["duplicate_of"] = [f"hazard {text} is itself rejected; link to the original"]
    elif original.category != hazard.category:
        errors["duplicate_of"] = [f"hazard {text} is of another category ({original.category})"]
    elif original.status == "closed" and (
        original.closed_at is None
        or original.closed_at
        < clock.now() - dt.timedelta(days=settings.HAZARD_DUPLICATE_RECENT_DAYS)
    ):
        errors["duplicate_of"] = [
            f"hazard {text} was closed more than {settings.HAZARD_DUPLICATE_RECENT_DAYS} days "
            "ago: a hazard found again is a new one"
        ]
    elif _distance_m(hazard, original) > settings.HAZARD_DUPLICATE_RADIUS_M:
        errors["duplicate_of"] = [
            f"hazard {text} is {_distance_m(hazard, original):.0f} m away, beyond the duplicate "
            f"radius ({settings.HAZARD_DUPLICATE_RADIUS_M:g} m)"
        ]
    else:
        return original
    return None


def RECENT_DAYS() -> int:  # noqa: N802 (reads like the setting it is)
    return settings.HAZARD_DUPLICATE_RECENT_DAYS


def _distance_m(a, b) -> float:
    """Metres between two hazards, on the spheroid."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Distance(ST_GeomFromEWKB(%s)::geography, ST_GeomFromEWKB(%s)::geography)",
            [bytes(a.geom.ewkb), bytes(b.geom.ewkb)],
        )
        return float(cursor.fetchone()[0])
