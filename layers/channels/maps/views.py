"""Map page views: the planners' project map, the inspectors' hazard map, the public tour."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from layers.auth import pages
from layers.channels.maps import offline
from layers.compose import builder
from layers.compose.legend import legend
from layers.domain import registry
from layers.domain.models import GridCell
from layers.domain.pages import INSPECTION, PLANNING, TOUR, MapPage
from layers.query import access, params, spatial


def current_lang() -> str:
    """'en' or 'zh': which of each zh/en pair the page shows (Django's active language)."""
    return "en" if (translation.get_language() or "").startswith("en") else "zh"


def _pick(zh: str, en: str, lang: str) -> str:
    return en if lang == "en" else zh


def filters(page: MapPage, lang: str) -> list[dict]:
    out = []
    for slug, field in page.filters:
        spec = registry.get(slug)
        if field == "grid":
            choices = [
                (g.code, f"{g.code} {_pick(g.name, g.name_en or g.name, lang)}")
                for g in GridCell.objects.order_by("code")
            ]
            label = _("Grid cell")
        else:
            vocabulary = spec.vocabularies()[field]
            choices = [(t.value, _pick(t.zh, t.en, lang)) for t in vocabulary.terms]
            label = _pick(vocabulary.zh, vocabulary.en, lang)
        out.append({"slug": slug, "field": field, "label": label, "choices": choices})
    return out


def print_areas(user, lang: str) -> list[dict]:
    """What the print form may print besides the current view: communities, grid cells and
    renovation sites the user may read, by name (value "community:<code>", ...)."""
    out = []
    for slug, kind, key in (
        ("communities", "community", "code"),
        ("grid-cells", "grid", "code"),
        ("renovation-sites", "site", "pk"),
    ):
        spec = registry.get(slug)
        if not access.can_read(user, spec):
            continue
        rows = spec.model.objects.order_by("name").values_list(key, "name", "name_en")
        out.append(
            {
                "label": spec.title(lang),
                "options": [(f"{kind}:{k}", _pick(zh, en or zh, lang)) for k, zh, en in rows],
            }
        )
    return out


def live_layers(page: MapPage, user) -> list[str]:
    """The page's layers that the live-update process pushes to this user."""
    specs = [registry.get(layer.slug) for layer in page.layers if not layer.embed]
    return [spec.slug for spec in specs if spec.live and access.can_read(user, spec)]


def opening_view(request, page: MapPage) -> tuple[dict, tuple[str, ...]]:
    """`?fit=minx,miny,maxx,maxy` (lon/lat) and `?show=<layer>[,<layer>]`: the view a link
    opens the map on (an import's rows, zoomed to them) and the layers it switches on (of this
    page's, those the user may read). ParamError names the parameter."""
    extra, show = {}, ()
    raw = request.GET.get("fit")
    if raw is not None:
        minx, miny, maxx, maxy = spatial.bbox("fit", raw).extent
        ax, ay, bx, by = settings.SERVICE_AREA
        if maxx < ax or minx > bx or maxy < ay or miny > by:
            raise params.ParamError(
                "fit", f"outside the service area {list(settings.SERVICE_AREA)}"
            )
        extra["fit"] = [[miny, minx], [maxy, maxx]]
    raw = request.GET.get("show")
    if raw is not None:
        readable = [
            layer.slug
            for layer in page.layers
            if access.can_read(request.user, registry.get(layer.slug))
        ]
        show = tuple(params.choices("show", [params.text("show", raw)], readable))
    return extra, show


def _page(request, page: MapPage, extra: dict | None = None, template="maps/page.html", **context):
    denied = pages.check(request, page.slug)
    if denied:
        return denied
    lang = current_lang()
    # The published tour has no server behind it: no nearest search there.
    static_site = getattr(request, "static_site", None) is not None
    nearest = [] if static_site else builder.nearest_config(page, request.user, lang)
    try:
        opening, show = opening_view(request, page) if not static_site else ({}, ())
    except params.ParamError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    m = builder.build_map(
        page,
        request.user,
        # The published tour has no feature pages: its popups link to none.
        extra={
            "lang": lang,
            "nearest": nearest,
            "static_site": static_site,
            **opening,
            **(extra or {}),
        },
        show=show,
    )
    response = render(
        request,
        template,
        {
            "page": page,
            "lang": lang,
            "page_title": _pick(page.title_zh, page.title_en, lang),
            "nav_active": page.slug,
            # The public tour keeps a clean header: product, title, language.
            "clean_header": not page.roles,
            "parts": builder.render_parts(m),
            "legend": legend(page, request.user, lang),
            "filters": filters(page, lang),
            "static_site": static_site,
            "nearest": nearest,
            "other_language_file": getattr(request, "static_site", None),
            "print_areas": print_areas(request.user, lang) if page.printable else [],
            # Pages showing a live layer the user may read update themselves (SSE).
            "live_layers": [] if static_site else live_layers(page, request.user),
            **context,
        },
    )
    # The vendored measure control (leaflet-measure 3.1.0) compiles its templates with
    # new Function(): the pages that offer it allow eval (geo_service/middleware/security.py).
    response.csp_unsafe_eval = bool(page.measure)
    return response


def planning(request):
    return _page(request, PLANNING)


def inspection(request):
    my_grids = []
    if request.user.is_authenticated:
        my_grids = list(GridCell.objects.filter(worker=request.user).order_by("code"))
    extra = {}
    if my_grids:
        minx, miny, maxx, maxy = my_grids[0].geom.extent
        extra["my_grid"] = {
            "code": my_grids[0].code,
            "bounds": [[miny, minx], [maxy, maxx]],
            "geojson": json.loads(my_grids[0].geom.geojson),  # highlighted when chosen
        }
    return _page(
        request, INSPECTION, extra=extra, template="maps/inspection.html", my_grids=my_grids
    )


def tour(request):
    route = builder.tour_route()
    static_site = getattr(request, "static_site", None)
    if static_site is None:
        stop_url = reverse("tour-stop", args=[0]).replace("/0/", "/{n}/")
    else:
        stop_url = "stop-{n}-en.html" if current_lang() == "en" else "stop-{n}.html"
    response = _page(
        request,
        TOUR,
        extra={"route": route, "stop_url": stop_url, "where": "viewpoints"},
        template="maps/tour.html",
        route=route,
    )
    return offline.anonymous_public(request, response)
