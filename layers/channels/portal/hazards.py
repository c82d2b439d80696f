"""The hazard pages: the grid worker's phone view (/field/) and the dashboard (/dashboard/).

The field page is a client of the API (steps, timeline, photos, duplicates, creation); it gets
its task list from `field_tasks` (the workflow's `tasks`, as JSON). The dashboard's figures are
computed in SQL by layers.query.dashboard. Business rules stay in layers.services.workflow.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from layers.auth import pages
from layers.channels.portal import field_app, nav, rates
from layers.compose import builder, words
from layers.domain import clock
from layers.domain import vocabularies as status
from layers.domain.models import GridCell
from layers.query import dashboard as figures
from layers.query import people
from layers.services import workflow


def _terms(vocabulary) -> list[dict]:
    return [
        {"value": t.value, "label": nav.pick((t.zh, t.en)), "color": t.color}
        for t in vocabulary.terms
    ]


def _task(hazard, today) -> dict:
    overdue_days = hazard.overdue_days(today)
    return {
        "id": hazard.pk,
        "name": hazard.name,
        "description": hazard.description,
        "category": hazard.category,
        "level": hazard.level,
        "status": hazard.status,
        "deadline": hazard.deadline.isoformat() if hazard.deadline else None,
        "overdue_days": overdue_days,
        "workdays_left": hazard.workdays_left,
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
    denied = pages.check(request, "field")
    if denied:
        return JsonResponse({"detail": "sign in"}, status=401)
    today = clock.today()
    return JsonResponse({"tasks": [_task(h, today) for h in workflow.tasks(request.user)]})


def _field_strings() -> dict:
    """The page script's words, in the active language."""
    return {
        "noTasks": _("No open tasks."),
        "overdue": _("overdue {n} d"),
        "deadline": _("deadline {d}"),
        "noDeadline": _("no deadline"),
        "workdaysLeft": _("{n} working days left"),
        "workdaysOver": _("overdue {n} working days"),
        "dueToday": _("due today"),
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
        "queued": _("Saved on this phone: it is sent when the network returns."),
        "offline": {
            "lastSynced": _("Last synced: {t}"),
            "neverSynced": _("Not saved for offline use yet."),
            "measuring": _("Measuring what to save for offline use…"),
            "size": _("Save for offline use: {size} ({n} files, the map down to zoom {z})."),
            "saved": _("Saved for offline use: {n} files, {size}."),
            "savedFailed": _("{n} could not be saved."),
            "planFailed": _("Could not measure what to save."),
            "offlineNow": _("Offline: showing what this phone saved."),
            "noWorker": _("This browser cannot work offline:"),
            "progress": _("{i} of {n}"),
            "progressPhoto": _("{i} of {n}, photo {p} of {m}"),
            "retrying": _("Not sent yet ({why}); trying again shortly."),
            "allSent": _("Everything is sent."),
            "entryStep": _("{action} on {name} ({n} photos)"),
            "entryReport": _("New report: {name} ({n} photos)"),
            "yours": _("Yours:"),
            "yoursText": _("{action}, recorded on version {v}"),
            "server": _("On the server now:"),
            "serverText": _("{status}, version {v}; possible steps: {allowed}"),
            "serverUnknown": _("not known (no network)"),
            "dupAtSync": _("The server knows open hazards of this category nearby:"),
            "reapply": _("Apply again"),
            "reportAnyway": _("Report it anyway"),
            "discard": _("Discard"),
            "discardConfirm": _("Discard “{what}” for good?"),
            "pending": _("waiting to be sent"),
            "state": {
                "pending": _("waiting to be sent"),
                "conflict": _("conflict: your decision is needed"),
                "failed": _("refused: your decision is needed"),
            },
        },
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


def _tiled(configs: list[dict]) -> list[dict]:
    """The reference layers drawn from /tiles/ (fixed URLs a service worker can keep)."""
    for config in configs:
        config["viewport"] = False
        config["tiles"] = reverse("tile", args=[config["slug"], 0, 0, 0]).replace(
            "/0/0/0.pbf", "/{z}/{x}/{y}.pbf"
        )
    return configs


def _probe_hazard(user, my_cells):
    """A hazard in the worker's first cell, assigned to them: which steps they may take at
    all (the offline page offers those; the server decides when the step is sent)."""
    from layers.domain.models import SafetyHazard

    cell = my_cells[0] if my_cells else None
    return SafetyHazard(grid_cell=cell, assignee=user, level="general")


@never_cache
def field(request):
    """The grid worker's phone view: my tasks, a small map, the timeline, steps, reporting."""
    denied = pages.check(request, "field")
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
    probe = _probe_hazard(user, my_cells)
    actions = {
        name: {
            "label": a.en if lang == "en" else a.zh,
            "inputs": workflow.step_inputs(name),
            # Offline, the page offers the steps of the status a pending step leads to.
            "sources": list(a.sources),
            "target": a.target,
            "mine": a.may(user, probe) is None,
        }
        for name, a in workflow.ACTIONS.items()
    }
    config = {
        "lang": lang,
        # The offline basemap (reference layers) under the tasks, unless another basemap is set.
        # As vector tiles, so the field app can keep them for offline use (field_app.py).
        "basemap": _tiled(builder.basemap_layers(user, embed=False))
        if builder.basemap_name() == "none"
        else [],
        "mbtiles": builder.mbtiles_config() if builder.basemap_name() == "mbtiles" else None,
        # Leaflet's own words (zoom buttons) in the page's language.
        "control_words": words.control_words(),
        "userKey": field_app.user_key(user),
        "duplicateRadius": settings.HAZARD_DUPLICATE_RADIUS_M,
        "timeZone": settings.TIME_ZONE,
        "user": user.get_username(),
        # People by their names in the timeline and the tasks, never by their user names.
        "people": people.names_by_username(),
        "urls": {
            "tasks": reverse("field-tasks"),
            "hazards": reverse("api:hazards-list"),
            "duplicates": reverse("api:hazards-duplicates"),
            "page": reverse("field"),
            "sw": reverse("field-sw"),
            "offline": reverse("field-offline"),
        },
        "actions": actions,
        "statuses": _terms(status.HAZARD_STATUS),
        "levels": _terms(status.HAZARD_LEVEL),
        "categories": _terms(status.HAZARD_CATEGORY),
        "reasons": _terms(status.HAZARD_REJECT_REASON),
        "returnReasons": _terms(status.HAZARD_RETURN_REASON),
        "cells": outlines,
        # Live updates concern this worker when a hazard lies in one of these cells.
        "myCells": [c.pk for c in my_cells],
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
    denied = pages.check(request, "dashboard")
    if denied:
        return denied
    lang = nav.lang()
    try:
        kpi = rates.context(request.GET)
    except rates.kpis.BadQuery as exc:
        return HttpResponseBadRequest("; ".join(f"{k}: {v[0]}" for k, v in exc.errors.items()))
    data = figures.compute(lang)
    cells = data["cells"]
    for row in data["overdue"]:
        row["url"] = rates.hazard_url(request.user, row["id"])
    context = {
        "page_title": nav.pick(("隐患看板", "Hazard dashboard")),
        "nav_active": "dashboard",
        "d": data,
        "kpi": kpi,
        "ledger_url": reverse("api:hazards-ledger"),
        # A ledger too large for one request is prepared as a job (a page with progress).
        "ledger_job_url": reverse("hazard-ledger-job"),
        "ledger_direct": data["totals"]["total"] <= settings.LEDGER_DIRECT_ROWS,
        "choropleth": figures.choropleth_svg(
            cells,
            link=reverse("dashboard-hazards"),
            title=_("Open hazards per grid cell"),
            desc=_("%(figures)s. The same figures are in the table below.")
            % {"figures": "; ".join(f"{c['code']} {c['name']}: {c['open']}" for c in cells)},
        ),
        "trend": _trend(data["weeks"]),
        # For static/js/dashboard-live.js: the changed hazards' status words and pages.
        "live_dashboard": {
            "statuses": _terms(status.HAZARD_STATUS),
            "featureUrl": reverse("feature", args=["hazards", 0]).replace("/0/", "/{id}/"),
            "timeZone": settings.TIME_ZONE,
        },
    }
    return render(request, "hazards/dashboard.html", context)


def _trend(weeks: list[dict]) -> str:
    """The weekly chart, named and told in words (found and closed each week)."""
    if not weeks:
        return ""
    series = {"found": _("found"), "closed": _("closed")}
    said = "; ".join(
        f"{w['week']:%m-%d} " + ", ".join(f"{series[k]} {w[k]}" for k in series) for w in weeks
    )
    desc = _(
        "Week by week from %(first)s to %(last)s: %(found)s found and %(closed)s closed in all. "
        "%(weeks)s."
    ) % {
        "first": f"{weeks[0]['week']:%Y-%m-%d}",
        "last": f"{weeks[-1]['week']:%Y-%m-%d}",
        "found": sum(w["found"] for w in weeks),
        "closed": sum(w["closed"] for w in weeks),
        "weeks": said,
    }
    return figures.trend_svg(
        weeks, title=_("Hazards found and closed per week"), desc=desc, series=series
    )


@never_cache
def hazard_list(request):
    """The hazards behind one number of the dashboard (layers/channels/portal/rates.py)."""
    denied = pages.check(request, "dashboard")
    if denied:
        return denied
    try:
        found = rates.drill_context(request.user, request.GET)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    context = {
        "page_title": nav.pick(("隐患清单", "Hazards")),
        "nav_active": "dashboard",
        **found,
    }
    return render(request, "hazards/list.html", context)
