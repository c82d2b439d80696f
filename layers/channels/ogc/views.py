"""OGC API - Features at /ogc/, from the registry: Part 1 (Core, GeoJSON, OAS30, HTML), Part 2
(CRS) and OGC API - Tiles (tiles.py): the landing page, conformance and collections. Items,
queryables, CQL2, sortby, properties and Part 4 writes are in items.py.

Collections are the layers the caller may read (same roles and fields as the REST API). The
caller is the session user, or whoever an Authorization header names (Basic or Token,
layers/auth/machine.py). Items are encoded by PostGIS; numberMatched is given where counting
is cheap (items.py).
"""

from __future__ import annotations

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from layers.auth.caller import gis_auth
from layers.channels.ogc import html as pages
from layers.channels.ogc.common import (
    GEOJSON,
    bad_parameter,
    base_url,
    collections_of,
    json_response,
    ogc_error,
    spec_or_none,
    wants_html,
)
from layers.channels.ogc.tiles import CONFORMANCE as TILES
from layers.geo import crs as ogc_crs
from layers.query import documents
from layers.query import params as p

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    # sortby, as OGC API - Records defines it (Features has no sorting part yet).
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
]


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_safe
def landing(request):
    base = base_url(request)
    try:
        html = wants_html(request)
    except p.ParamError as exc:
        return bad_parameter(exc)
    doc = {
        "title": "荷花池街道地图服务 OGC API - Features",
        "description": "Hehuachi old-town layers (示意数据 illustrative sample data).",
        "links": [
            {"href": f"{base}", "rel": "self", "type": "application/json", "title": "this"},
            {
                "href": f"{base}/api",
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "title": "OpenAPI 3.0",
            },
            {
                "href": "/api/v1/docs/",
                "rel": "service-doc",
                "type": "text/html",
                "title": "REST API documentation",
            },
            {
                "href": f"{base}/conformance",
                "rel": "conformance",
                "type": "application/json",
                "title": "conformance classes",
            },
            {
                "href": f"{base}/collections",
                "rel": "data",
                "type": "application/json",
                "title": "collections",
            },
            {
                "href": f"{base}/tileMatrixSets",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                "type": "application/json",
                "title": "tile matrix sets",
            },
            {
                "href": f"{base}?f=html",
                "rel": "alternate",
                "type": "text/html",
                "title": "HTML",
            },
        ],
    }
    if html:
        return pages.landing(request, doc)
    return json_response(doc)


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_safe
def conformance(request):

    return json_response({"conformsTo": [*CONFORMANCE, *TILES]})


def _extent(spec) -> dict:
    box, (first, last) = documents.extent(spec)
    interval = [first.isoformat() if first else None, last.isoformat() if last else None]
    return {
        "spatial": {
            "bbox": [box or list(settings.SERVICE_AREA)],
            "crs": ogc_crs.CRS84,
        },
        "temporal": {
            "interval": [interval],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        },
    }


def _collection_doc(request, spec) -> dict:
    base = base_url(request)
    href = f"{base}/collections/{spec.slug}"
    return {
        "id": spec.slug,
        "title": spec.title_zh,
        "description": f"{spec.title_zh} / {spec.title_en}",
        "itemType": "feature",
        "extent": _extent(spec),
        "crs": ogc_crs.uris(),
        "storageCrs": ogc_crs.CRS84,
        "links": [
            {"href": href, "rel": "self", "type": "application/json", "title": spec.title_en},
            {
                "href": f"{href}?f=html",
                "rel": "alternate",
                "type": "text/html",
                "title": f"{spec.title_en} (HTML)",
            },
            {
                "href": f"{href}/items",
                "rel": "items",
                "type": GEOJSON,
                "title": f"{spec.title_en} (GeoJSON)",
            },
            {
                "href": f"{href}/items?f=html",
                "rel": "items",
                "type": "text/html",
                "title": f"{spec.title_en} (HTML)",
            },
            {
                "href": f"{href}/queryables",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "queryables",
            },
            {
                "href": f"{href}/tiles",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                "type": "application/json",
                "title": "vector tilesets",
            },
        ],
    }


def _collection_docs(request, specs) -> list[dict]:
    """The collections' documents, cached for every caller who reads the same layers at the
    same address until one of them changes (layers/query/documents.py)."""
    role = documents.role_key(base_url(request), [spec.slug for spec in specs])
    return documents.cached(
        "ogc-collections", specs, role, lambda: [_collection_doc(request, s) for s in specs]
    )


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_safe
def collections(request):
    base = base_url(request)
    try:
        html = wants_html(request)
    except p.ParamError as exc:
        return bad_parameter(exc)
    doc = {
        "links": [
            {"href": f"{base}/collections", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections?f=html", "rel": "alternate", "type": "text/html"},
        ],
        "collections": _collection_docs(request, collections_of(request)),
        "crs": ogc_crs.uris(),
    }
    if html:
        return pages.collections(request, doc)
    return json_response(doc)


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_safe
def collection(request, collection_id: str):
    spec = spec_or_none(request, collection_id)
    if spec is None:
        return ogc_error(404, "NotFound", f"no collection {collection_id!r} for you")
    try:
        html = wants_html(request)
    except p.ParamError as exc:
        return bad_parameter(exc)
    doc = _collection_docs(request, [spec])[0]
    if html:
        return pages.collection(request, spec, doc)
    return json_response(doc)
