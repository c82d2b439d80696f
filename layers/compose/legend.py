"""A map page's legend: per layer the terms of the vocabulary it is coloured by (and its ring
vocabulary), with their colours, in the page's language. Shared by the map pages and the home
page's overview map."""

from __future__ import annotations

from layers.domain import registry
from layers.domain.pages import MapPage
from layers.query import access


def _pick(zh: str, en: str, lang: str) -> str:
    return en if lang == "en" else zh


def legend(page: MapPage, user, lang: str) -> list[dict]:
    """Per layer, the status vocabulary (and ring vocabulary) with colours, for the side panel."""
    out = []
    for layer in page.layers:
        spec = registry.get(layer.slug)
        if layer.outline or not access.can_read(user, spec):
            continue
        # A tinted layer is coloured by the other layer's statuses (its legend shows them).
        vocabularies = [] if layer.tint else [spec.vocabularies()[spec.color_by]]
        if layer.ring_field:
            vocabularies.append(spec.vocabularies()[layer.ring_field])
        entry = {
            "slug": spec.slug,
            "title": _pick(*layer.title, lang) if layer.title else spec.title(lang),
            "vocabularies": [
                {
                    "name": v.name,
                    "terms": [
                        {"value": t.value, "color": t.color, "label": _pick(t.zh, t.en, lang)}
                        for t in v.terms
                    ],
                }
                for v in vocabularies
            ],
        }
        if layer.tint:
            entry["tinted_by"] = registry.get(layer.tint["layer"]).title(lang)
        out.append(entry)
    return out
