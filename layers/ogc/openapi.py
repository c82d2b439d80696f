"""The OpenAPI 3.0 document of /ogc/: every path, parameter and status code it uses."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from layers.ogc.views import DEFAULT_LIMIT, GEOJSON, MAX_LIMIT, MAX_OFFSET
from layers.query import access
from layers.query import crs as ogc_crs


def _param(name, schema, description, *, where="query", required=False, **extra) -> dict:
    return {
        "name": name,
        "in": where,
        "required": required,
        "schema": schema,
        "description": description,
        **extra,
    }


CRS_SCHEMA = {"type": "string", "format": "uri", "enum": ogc_crs.uris()}
COMMON = {
    "bbox": _param(
        "bbox",
        {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        "minx,miny,maxx,maxy (or 6 numbers with heights) in bbox-crs (default CRS84)",
        style="form",
        explode=False,
    ),
    "bbox-crs": _param("bbox-crs", CRS_SCHEMA, "CRS of bbox"),
    "crs": _param("crs", CRS_SCHEMA, "CRS of the response geometries (default CRS84)"),
    "limit": _param(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "features per page",
        style="form",
        explode=False,
    ),
    "offset": _param(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        "skip this many",
    ),
    "datetime": _param(
        "datetime", {"type": "string"}, "update time: instant, interval a/b, open ends '..'"
    ),
    "f": _param("f", {"type": "string", "enum": ["json"]}, "format"),
}
ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
        }
    }
}
JSON_OK = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}


def _responses(ok: dict, *codes: int) -> dict:
    texts = {400: "invalid or unknown parameter", 404: "not found"}
    out = {"200": ok}
    for code in codes:
        out[str(code)] = {"description": texts[code], "content": ERROR}
    return out


def build(specs) -> dict:
    geojson_ok = {
        "description": "GeoJSON",
        "headers": {"Content-Crs": {"schema": {"type": "string"}}},
        "content": {GEOJSON: {"schema": {"type": "object"}}},
    }
    paths = {
        "/": {
            "get": {
                "summary": "Landing page",
                "operationId": "landing",
                "responses": _responses(JSON_OK),
            }
        },
        "/conformance": {
            "get": {
                "summary": "Conformance classes",
                "operationId": "conformance",
                "responses": _responses(JSON_OK),
            }
        },
        "/api": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": _responses(JSON_OK),
            }
        },
        "/collections": {
            "get": {
                "summary": "Collections",
                "operationId": "collections",
                "responses": _responses(JSON_OK),
            }
        },
    }
    for spec in specs:
        op = spec.slug.replace("-", "_")
        filters = [
            _param(
                name,
                {"type": "string", "enum": list(v.values)},
                f"{v.zh} / {v.en} (comma-separate several)",
            )
            for name, v in spec.vocabularies().items()
        ]
        paths[f"/collections/{spec.slug}"] = {
            "get": {
                "summary": spec.title_en,
                "operationId": f"{op}_collection",
                "responses": _responses(JSON_OK, 404),
            }
        }
        paths[f"/collections/{spec.slug}/items"] = {
            "get": {
                "summary": f"{spec.title_en}: features",
                "operationId": f"{op}_items",
                "parameters": [*COMMON.values(), *filters],
                "responses": _responses(geojson_ok, 400, 404),
            }
        }
        paths[f"/collections/{spec.slug}/items/{{featureId}}"] = {
            "get": {
                "summary": f"{spec.title_en}: one feature",
                "operationId": f"{op}_item",
                "parameters": [
                    _param(
                        "featureId", {"type": "string"}, "feature id", where="path", required=True
                    ),
                    COMMON["crs"],
                    COMMON["f"],
                ],
                "responses": _responses(geojson_ok, 400, 404),
            }
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": "荷花池街道地图服务 OGC API - Features", "version": "1.0.0"},
        "servers": [{"url": "/ogc"}],
        "paths": paths,
    }


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@require_safe
def document(request):
    specs = access.readable_layers(access.request_user(request))
    response = JsonResponse(build(specs), json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/vnd.oai.openapi+json;version=3.0"
    return response
