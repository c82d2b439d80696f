"""The tour's stop pages: /tour/stops/<n>/ (n is the viewpoint's tour_order), one per viewpoint,
with its photo, zh/en text, opening hours, a small map and the walk to the previous and next
stops. The published tour writes the same pages as stop-<n>.html (publish_tour)."""

from __future__ import annotations

import math

from django.contrib.gis.geos import LineString
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from layers.channels.maps.offline import anonymous_public
from layers.compose import builder
from layers.domain import registry
from layers.domain import vocabularies as status
from layers.domain.models import CulturalViewpoint
from layers.domain.pages import STOP
from layers.geo import geometry as geo


def walk(a: CulturalViewpoint, b: CulturalViewpoint) -> dict:
    """The walk between two stops along the tour's route (a straight leg), metres and minutes."""
    metres = geo.metric_length(LineString([a.geom.coords, b.geom.coords], srid=geo.STORAGE_SRID))
    return {
        "metres": round(metres),
        "minutes": max(1, math.ceil(metres / builder.WALKING_M_PER_MIN)),
    }


def stop_url(n: int, static_site: str | None, lang: str) -> str:
    """The page of stop n: the server's short URL, or the published site's file."""
    if static_site is None:
        return reverse("tour-stop", args=[n])
    return f"stop-{n}-en.html" if lang == "en" else f"stop-{n}.html"


def tour_url(static_site: str | None, lang: str) -> str:
    if static_site is None:
        return reverse("tour")
    return "en.html" if lang == "en" else "index.html"


def stop(request, n: int):
    from layers.channels.maps.views import _pick, current_lang

    stops = list(CulturalViewpoint.objects.order_by("tour_order", "pk"))
    index = next((i for i, vp in enumerate(stops) if vp.tour_order == n), None)
    if index is None:
        raise Http404(f"No tour stop {n}.")
    here = stops[index]
    lang = current_lang()
    static_site = getattr(request, "static_site", None)

    def neighbour(i: int) -> dict | None:
        if not 0 <= i < len(stops):
            return None
        other = stops[i]
        return {
            "n": other.tour_order,
            "name": _pick(other.name, other.name_en or other.name, lang),
            "url": stop_url(other.tour_order, static_site, lang),
            **walk(here, other),
        }

    spec = registry.get("viewpoints")
    m = builder.build_map(
        STOP,
        request.user,
        extra={
            "lang": lang,
            "nearest": [],
            "centre": [here.geom.y, here.geom.x],
            "current": n,
            "route": builder.tour_route(),
            "stop_url": stop_url(0, static_site, lang).replace("0", "{n}"),
        },
    )
    path = reverse("tour-stop", args=[n])
    response = render(
        request,
        "maps/stop.html",
        {
            "page": STOP,
            "lang": lang,
            "stop": here,
            "name": _pick(here.name, here.name_en or here.name, lang),
            "other_name": _pick(here.name_en, here.name, lang),
            "description": _pick(here.description, here.description_en or here.description, lang),
            "hours": _pick(here.opening_hours, here.opening_hours_en or here.opening_hours, lang),
            "theme": status.VIEWPOINT_THEME.label(here.theme, lang),
            "state": spec.status_vocabulary.label(here.status, lang),
            "previous": neighbour(index - 1),
            "next": neighbour(index + 1),
            "count": len(stops),
            "tour_url": tour_url(static_site, lang),
            "share_url": request.build_absolute_uri(path) if static_site is None else "",
            "page_title": _pick(STOP.title_zh, STOP.title_en, lang) + f" {n}",
            "nav_active": "tour",
            "clean_header": True,
            "parts": builder.render_parts(m),
            "static_site": static_site,
            "other_language_file": static_site,
        },
    )
    return anonymous_public(request, response)
