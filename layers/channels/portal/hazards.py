"""The hazard pages: the grid worker's phone view (/field/) and the dashboard (/dashboard/).

The field page is a client of the API (steps, timeline, photos, duplicates, creation); it gets
its task list from `field_tasks` (the workflow's `tasks`, as JSON). The dashboard's figures are
computed in SQL by layers.query.dashboard. Business rules stay in layers.services.workflow.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from layers.channels.portal import nav
from layers.compose import builder
from layers.domain import vocabularies as status
from layers.domain.models import GridCell
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER, roles_of
from layers.query import dashboard as figures
from layers.query import people
from layers.services import workflow

FIELD_ROLES = (INSPECTOR, EDITOR)
DASHBOARD_ROLES = (PLANNER, INSPECTOR, EDITOR)


def _gate(request, roles):
    """None when the user may open the page; else the sign-in redirect (anonymous) or 403."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not roles_of(request.user) & set(roles):
        raise PermissionDenied("Your role may not open this page.")
    return None


def _terms(vocabulary) -> list[dict]:
    return [
        {"value": t.value, "label": nav.pick((t.zh, t.en)), "color": t.color}
        for t in vocabulary.terms
    ]


def _task(hazard, today) -> dict:
    overdue_days = (today - hazard.deadline).days if hazard.is_overdue else 0
    return {
        "id": hazard.pk,
        "name": hazard.name,
        "description": hazard.description,
        "category": hazard.category,
        "level": hazard.level,
        "status": hazard.status,
        "deadline": hazard.deadline.isoformat() if hazard.deadline else None,
        "overdue_days": overdue_days,
        "supervised": hazard.supervised,
        "grid": hazard.grid_cell.code if hazard.grid_cell else None,
        "assignee": hazard.assignee.username if hazard.assignee else None,
        "responsible_unit": hazard.responsible_unit,
        "version": hazard.version,
        "lon": round(hazard.geom.x, 7),
        "lat": round(hazard.geom.y, 7),
    }


@never_cache
def field_tasks(request):
    """My tasks as JSON, in the order the page lists them (overdue first, then by deadline)."""
    denied = _gate(request, FIELD_ROLES)
    if denied:
        return JsonResponse({"detail": "sign in"}, status=401)
    today = timezone.localdate()
    return JsonResponse({"tasks": [_task(h, today) for h in workflow.tasks(request.user)]})


def _field_strings() -> dict:
    """The page script's words, in the active language."""
    return {
        "noTasks": _("No open tasks."),
        "overdue": _("overdue {n} d"),
        "deadline": _("deadline {d}"),
        "noDeadline": _("no deadline"),
        "supervised": _("formal supervision"),
        "timeline": _("Timeline"),
        "steps": _("Record a step"),
        "noSteps": _("Nothing for you to do on this hazard now."),
        "save": _("Save"),
        "cancel": _("Cancel"),
        "saved": _("Saved."),
        "failed": _("Not saved:"),
        "yes": _("yes"),
        "no": _("no"),
        "required": _("(required)"),
        "photosUploading": _("Uploading photos…"),
        "located": _("Location set: {lon}, {lat}"),
        "noLocation": _("Set the location first: use my location or tap the map."),
        "geoFailed": _("Your location is not available: tap the map instead."),
        "checking": _("Checking for hazards already reported nearby…"),
        "duplicates": _(
            "Open hazards of the same category within {r} m: is yours one of them? "
            "If so, do not report it again."
        ),
        "noDuplicates": _("No open hazard of this category nearby."),
        "reportAnyway": _("It is a different hazard: report it"),
        "reported": _("Reported: hazard {id}."),
        "distance": _("{m} m"),
        "by": _("by"),
        "input": {
            "note": _("Note"),
            "responsible_unit": _("Responsible unit"),
            "assignee": _("Assignee (user name)"),
            "deadline": _("Deadline"),
            "reason": _("Reason"),
            "duplicate_of": _("Duplicate of hazard no."),
            "until": _("Extend until"),
            "approve": _("Approve"),
            "on": _("Under formal supervision"),
            "photos": _("Photos"),
        },
    }


@never_cache
def field(request):
    """The grid worker's phone view: my tasks, a small map, the timeline, steps, reporting."""
    denied = _gate(request, FIELD_ROLES)
    if denied:
        return denied
    user = request.user
    my_cells = list(GridCell.objects.filter(worker=user).order_by("code"))
    cells = GridCell.objects.order_by("code")
    outlines = [
        {"code": c.code, "mine": c in my_cells, "geojson": json.loads(c.geom.geojson)}
        for c in cells
    ]
    lang = nav.lang()
    actions = {
        name: {
            "label": a.en if lang == "en" else a.zh,
            "inputs": workflow.step_inputs(name),
        }
        for name, a in workflow.ACTIONS.items()
    }
    config = {
        "lang": lang,
        # The offline basemap (reference layers) under the tasks, unless another basemap is set.
        "basemap": builder.basemap_layers(user, embed=False)
        if builder.basemap_name() == "none"
        else [],
        "timeZone": settings.TIME_ZONE,
        "user": user.get_username(),
        # People by their names in the timeline and the tasks, never by their user names.
        "people": people.names_by_username(),
        "urls": {
            "tasks": reverse("field-tasks"),
            "hazards": reverse("api:hazards-list"),
            "duplicates": reverse("api:hazards-duplicates"),
        },
        "actions": actions,
        "statuses": _terms(status.HAZARD_STATUS),
        "levels": _terms(status.HAZARD_LEVEL),
        "categories": _terms(status.HAZARD_CATEGORY),
        "reasons": _terms(status.HAZARD_REJECT_REASON),
        "cells": outlines,
        "strings": _field_strings(),
    }
    context = {
        "page_title": nav.pick(("网格员工作台", "Grid worker")),
        "nav_active": "field",
        "config": config,
        "categories": config["categories"],
        "levels": config["levels"],
        "my_cells": my_cells,
    }
    return render(request, "hazards/field.html", context)


@never_cache
def dashboard(request):
    """Figures for leaders and planners, each computed in SQL (layers.query.dashboard)."""
    denied = _gate(request, DASHBOARD_ROLES)
    if denied:
        return denied
    lang = nav.lang()
    data = figures.compute(lang)
    context = {
        "page_title": nav.pick(("隐患看板", "Hazard dashboard")),
        "nav_active": "dashboard",
        "d": data,
        "ledger_url": reverse("api:hazards-ledger"),
        "choropleth": figures.choropleth_svg(data["cells"]),
        "trend": figures.trend_svg(data["weeks"]),
    }
    return render(request, "hazards/dashboard.html", context)
