"""The OpenAPI 3.0 document of /ogc/: every path, parameter and status code it uses (Features
Parts 1-4, Tiles), for the collections the caller may read."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from layers.channels.ogc.common import GEOJSON
from layers.channels.ogc.items import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from layers.geo import crs as ogc_crs
from layers.query import access


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
    "f": _param("f", {"type": "string", "enum": ["json", "html"]}, "format (default: JSON)"),
    "as_of": _param(
        "as_of",
        {"type": "string"},
        "roles only: the collection as it was at this date (as that day ended) or date-time, "
        "from its history; never the future",
    ),
    "filter": _param(
        "filter",
        {"type": "string"},
        "CQL2 filter over the queryables (Part 3): comparisons, LIKE, BETWEEN, IN, IS NULL, "
        "AND/OR/NOT, S_INTERSECTS/S_WITHIN/... with WKT, GeoJSON or BBOX(...)",
    ),
    "filter-lang": _param(
        "filter-lang", {"type": "string", "enum": ["cql2-text", "cql2-json"]}, "filter language"
    ),
    "filter-crs": _param("filter-crs", CRS_SCHEMA, "CRS of the filter's geometries"),
    "sortby": _param(
        "sortby",
        {"type": "array", "items": {"type": "string"}},
        "queryables to sort by, -name for descending (id breaks ties)",
        style="form",
        explode=False,
    ),
    "properties": _param(
        "properties",
        {"type": "array", "items": {"type": "string"}},
        "only these properties",
        style="form",
        explode=False,
    ),
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
STRING = {"schema": {"type": "string"}}
TMS_PARAM = _param(
    "tileMatrixSetId",
    {"type": "string", "enum": ["WebMercatorQuad"]},
    "tile matrix set",
    where="path",
    required=True,
)
IF_MATCH = _param(
    "If-Match",
    {"type": "string"},
    'the ETag you read, e.g. "3" (or send the version property)',
    where="header",
)
FEATURE_BODY = {
    "required": True,
    "content": {
        "application/geo+json": {"schema": {"type": "object"}},
        "application/json": {"schema": {"type": "object"}},
    },
}


def _responses(ok: dict, *codes: int, status: str = "200") -> dict:
    texts = {
        400: "invalid or unknown parameter, or an invalid feature (naming the field)",
        401: "sign in: HTTP Basic (HTTPS) or an API token",
        403: "your role may not do this",
        404: "not found",
        412: "the feature changed since you read it (ETag)",
        428: "send If-Match with the ETag you read",
    }
    out = {status: ok}
    for code in codes:
        out[str(code)] = {"description": texts[code], "content": ERROR}
    return out


def _document_html(paths: dict) -> None:
    """Every read that takes `f` (f=html, or a browser's Accept) may answer an HTML page."""
    for operations in paths.values():
        get = operations.get("get")
        if get and COMMON["f"] in get.get("parameters", ()):
            ok = get["responses"].get("200", {})  # may be shared (JSON_OK): copied, not changed
            html = {"text/html": {"schema": {"type": "string"}}}
            get["responses"]["200"] = {**ok, "content": {**ok.get("content", {}), **html}}


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
        "/tileMatrixSets": {
            "get": {
                "summary": "Tile matrix sets",
                "operationId": "tile_matrix_sets",
                "responses": _responses(JSON_OK),
            }
        },
        "/tileMatrixSets/{tileMatrixSetId}": {
            "get": {
                "summary": "A tile matrix set (WebMercatorQuad)",
                "operationId": "tile_matrix_set",
                "parameters": [TMS_PARAM],
                "responses": _responses(JSON_OK, 404),
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
        paths[f"/collections/{spec.slug}/queryables"] = {
            "get": {
                "summary": f"{spec.title_en}: queryables (JSON Schema)",
                "operationId": f"{op}_queryables",
                "parameters": [COMMON["f"]],
                "responses": _responses(
                    {
                        "description": "JSON Schema",
                        "content": {"application/schema+json": {"schema": {"type": "object"}}},
                    },
                    400,
                    404,
                ),
            }
        }
        paths[f"/collections/{spec.slug}/tiles"] = {
            "get": {
                "summary": f"{spec.title_en}: vector tilesets",
                "operationId": f"{op}_tilesets",
                "responses": _responses(JSON_OK, 404),
            }
        }
        paths[f"/collections/{spec.slug}/tiles/{{tileMatrixSetId}}"] = {
            "get": {
                "summary": f"{spec.title_en}: tileset metadata",
                "operationId": f"{op}_tileset",
                "parameters": [TMS_PARAM],
                "responses": _responses(JSON_OK, 404),
            }
        }
        items_path = {
            "get": {
                "summary": f"{spec.title_en}: features",
                "operationId": f"{op}_items",
                "parameters": [*COMMON.values(), *filters],
                "responses": _responses(geojson_ok, 400, 404),
            }
        }
        if spec.edit_roles:
            items_path["post"] = {
                "summary": f"{spec.title_en}: create a feature (Part 4; roles: "
                f"{', '.join(spec.edit_roles)})",
                "operationId": f"{op}_create",
                "requestBody": FEATURE_BODY,
                "responses": _responses(
                    {"description": "created", "headers": {"Location": STRING, "ETag": STRING}},
                    400,
                    401,
                    403,
                    404,
                    status="201",
                ),
            }
        paths[f"/collections/{spec.slug}/items"] = items_path
        feature_id = _param(
            "featureId", {"type": "string"}, "feature id", where="path", required=True
        )
        written = {"description": "GeoJSON", "headers": {"ETag": STRING}}
        paths[f"/collections/{spec.slug}/items/{{featureId}}"] = {
            "parameters": [feature_id],
            "get": {
                "summary": f"{spec.title_en}: one feature",
                "operationId": f"{op}_item",
                "parameters": [COMMON["crs"], COMMON["f"], COMMON["properties"]],
                "responses": _responses(geojson_ok, 400, 404),
            },
            "put": {
                "summary": f"{spec.title_en}: replace (Part 4)",
                "operationId": f"{op}_replace",
                "parameters": [IF_MATCH],
                "requestBody": FEATURE_BODY,
                "responses": _responses(written, 400, 401, 403, 404, 412, 428),
            },
            "patch": {
                "summary": f"{spec.title_en}: update some properties (Part 4)",
                "operationId": f"{op}_update",
                "parameters": [IF_MATCH],
                "requestBody": FEATURE_BODY,
                "responses": _responses(written, 400, 401, 403, 404, 412, 428),
            },
            "delete": {
                "summary": f"{spec.title_en}: delete (soft; Part 4)",
                "operationId": f"{op}_delete",
                "parameters": [IF_MATCH],
                "responses": _responses(
                    {"description": "deleted"}, 401, 403, 404, 412, 428, status="204"
                ),
            },
        }
    _document_html(paths)
    return {
        "openapi": "3.0.3",
        "info": {"title": "荷花池街道地图服务 OGC API - Features", "version": "1.0.0"},
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "over HTTPS"},
                "token": {"type": "apiKey", "in": "header", "name": "Authorization"},
            }
        },
        "security": [{}, {"basic": []}, {"token": []}],
        "servers": [{"url": "/ogc"}],
        "paths": paths,
    }


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@require_safe
def document(request):
    specs = access.readable_layers(request.caller)
    response = JsonResponse(build(specs), json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/vnd.oai.openapi+json;version=3.0"
    return response
