"""Browsable HTML of /ogc/ (f=html or a browser's Accept): the site's base page and header,
zh/en, tables of the same documents the JSON answers carry, a small Leaflet map (vendored) for
items, and links to the GeoJSON. No data is fetched by the page: it is written into it."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _

from layers.domain.language import pick
from layers.query import access


def _title(spec) -> str:
    return pick((spec.title_zh, spec.title_en))


def _page(request, kind: str, title: str, **context):
    return render(
        request,
        "ogc/page.html",
        {"kind": kind, "page_title": title, "nav_active": "ogc", **context},
    )


def landing(request, doc: dict):
    specs = access.readable_layers(request.caller)
    layers = [{"slug": s.slug, "title": _title(s), "public": s.is_public} for s in specs]
    return _page(request, "landing", _("OGC API"), doc=doc, layers=layers)


def collections(request, doc: dict):
    return _page(request, "collections", _("Collections"), doc=doc)


def collection(request, spec, doc: dict):
    return _page(request, "collection", _title(spec), doc=doc, spec=spec)


def items(request, spec, doc: dict, *, offset: int, limit: int):
    fields = _columns(doc["features"])
    rows = [
        {"id": f["id"], "values": [f["properties"].get(name) for name in fields]}
        for f in doc["features"]
    ]
    return _page(
        request,
        "items",
        _title(spec),
        doc=doc,
        spec=spec,
        fields=fields,
        rows=rows,
        offset=offset,
        limit=limit,
        features={"type": "FeatureCollection", "features": doc["features"]},
    )


def item(request, spec, feature: dict):
    return _page(
        request,
        "item",
        f"{_title(spec)} · {feature['id']}",
        spec=spec,
        feature=feature,
        properties=list(feature["properties"].items()),
        features={"type": "FeatureCollection", "features": [feature]},
    )


def queryables(request, spec, schema: dict):
    label = _("Queryables")
    return _page(request, "queryables", f"{_title(spec)} · {label}", spec=spec, schema=schema)


def _columns(features: list[dict]) -> list[str]:
    names: dict[str, None] = {}
    for feature in features:
        names.update(dict.fromkeys(feature["properties"]))
    return list(names)
