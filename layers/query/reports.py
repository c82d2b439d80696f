"""Figures of the public reports for the KPIs (counted in SQL): the satisfaction rate of the
reporters who rated the handling, and the rework residents caused by saying "not fixed".

A rated report counts where its hazard lies (the hazard's grid cell), else where the report
was made. Its latest rating counts (a report reopened and fixed again may be rated again).
Satisfied means 4 or 5 of 5, as the 12345 hotlines count 满意 + 基本满意.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Avg, Count, Q
from django.db.models.functions import Coalesce

SATISFIED = 4


def _rated(since: dt.datetime | None = None, until: dt.datetime | None = None):
    from layers.domain.models import PublicReport

    found = PublicReport.objects.filter(rating__isnull=False).annotate(
        cell=Coalesce("hazard__grid_cell", "grid_cell")
    )
    if since is not None:
        found = found.filter(rated_at__gte=since)
    if until is not None:
        found = found.filter(rated_at__lt=until)
    return found


def _figures(row: dict) -> dict:
    rated, satisfied = row["rated"], row["satisfied"]
    return {
        "rated": rated,
        "satisfied": satisfied,
        "rate": round(satisfied / rated, 4) if rated else None,
        "mean": round(float(row["mean"]), 2) if row["mean"] is not None else None,
    }


AGGREGATES = {
    "rated": Count("pk"),
    "satisfied": Count("pk", filter=Q(rating__gte=SATISFIED)),
    "mean": Avg("rating"),
}


def satisfaction(grid_cell=None, *, since=None, until=None) -> dict:
    """{rated, satisfied, rate (satisfied / rated, None when nobody rated), mean} for the
    whole subdistrict or one grid cell (a GridCell or its id), optionally by rating time."""
    found = _rated(since, until)
    if grid_cell is not None:
        found = found.filter(cell=getattr(grid_cell, "pk", grid_cell))
    return _figures(found.aggregate(**AGGREGATES))


def satisfaction_by_cell(*, since=None, until=None) -> dict[int | None, dict]:
    """The same per grid cell id (None: reports outside every cell)."""
    rows = _rated(since, until).values("cell").order_by("cell").annotate(**AGGREGATES)
    return {row["cell"]: _figures(row) for row in rows}


def rework(*, since=None, until=None) -> int:
    """Hazards reopened because a resident said "not fixed" (the `reopen` step)."""
    from layers.domain.models import HazardEvent

    found = HazardEvent.objects.filter(action="reopen")
    if since is not None:
        found = found.filter(at__gte=since)
    if until is not None:
        found = found.filter(at__lt=until)
    return found.count()
