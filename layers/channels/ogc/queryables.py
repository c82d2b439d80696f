"""OGC API - Features Part 3 queryables at /ogc/collections/{id}/queryables: the JSON Schema
of the properties `filter` and `sortby` may name, per caller (layers/query/cql.py)."""

from __future__ import annotations

from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from layers.auth.caller import gis_auth
from layers.channels.ogc import html as pages
from layers.channels.ogc.common import (
    bad_parameter,
    base_url,
    json_response,
    ogc_error,
    spec_or_none,
    wants_html,
)
from layers.query import cql
from layers.query import params as p


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_safe
def queryables(request, collection_id: str):
    """JSON Schema of the properties `filter` and `sortby` may name (Part 3)."""
    spec = spec_or_none(request, collection_id)
    if spec is None:
        return ogc_error(404, "NotFound", f"no collection {collection_id!r} for you")
    unknown = sorted(set(request.GET) - {"f"})
    if unknown:
        return ogc_error(
            400, "InvalidParameterValue", f"unknown parameter(s): {', '.join(unknown)}"
        )
    try:
        html = wants_html(request)
    except p.ParamError as exc:
        return bad_parameter(exc)
    href = f"{base_url(request)}/collections/{spec.slug}/queryables"
    schema = queryables_schema(request.caller, spec, href)
    if html:
        return pages.queryables(request, spec, schema)
    return json_response(schema, content_type="application/schema+json")


GEOMETRY_FORMATS = {
    "Point": "geometry-point",
    "MultiPoint": "geometry-multipoint",
    "LineString": "geometry-linestring",
    "MultiLineString": "geometry-multilinestring",
    "Polygon": "geometry-polygon",
    "MultiPolygon": "geometry-multipolygon",
}


def queryables_schema(user, spec, href: str) -> dict:
    properties: dict[str, dict] = {
        cql.GEOMETRY: {
            "title": "geometry",
            "format": GEOMETRY_FORMATS.get(spec.geometry_type, "geometry-any"),
            "x-ogc-role": "primary-geometry",
        }
    }
    for name, q in cql.queryables(user, spec).items():
        entry: dict = {"title": q.title}
        if q.kind in ("date", "date-time"):
            entry.update(type="string", format=q.kind)
        else:
            entry["type"] = q.kind
        if q.enum:
            vocabulary = spec.vocabularies()[name]
            entry["enum"] = list(q.enum)
            entry["description"] = "; ".join(
                f"{t.value}: {t.zh} / {t.en}" for t in vocabulary.terms
            )
        if name == "id":
            entry["x-ogc-role"] = "id"
        properties[name] = entry
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": href,
        "type": "object",
        "title": spec.title_zh,
        "description": f"{spec.title_zh} / {spec.title_en}",
        "properties": properties,
        "additionalProperties": False,
    }
