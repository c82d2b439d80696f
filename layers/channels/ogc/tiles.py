"""OGC API - Tiles over the service's vector tiles (layers/channels/tiles/views.py,
layers/query/mvt.py).

One tile matrix set, WebMercatorQuad (the tiles are ST_TileEnvelope's, EPSG:3857); per
collection one vector tileset whose tile URL template is the existing /tiles/<slug>/z/x/y.pbf
(`{tileMatrix}/{tileCol}/{tileRow}`: same roles, ETags, 204 for an empty tile); TileJSON stays
at /tiles/<slug>.json. The channels stay apart: nothing here imports layers.channels.tiles.views.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from layers.auth.caller import gis_auth
from layers.channels.ogc.common import base_url, json_response, ogc_error, spec_or_none

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
ORIGIN = 20037508.3427892
MAX_ZOOM = 22
TEMPLATE = "{tileMatrix}/{tileCol}/{tileRow}.pbf"  # /tiles/<slug>/z/x/y.pbf
MVT = "application/vnd.mapbox-vector-tile"
TILES_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
SCHEME_REL = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"


def matrix(z: int) -> dict:
    size = 2**z
    cell = 2 * ORIGIN / 256 / size
    return {
        "id": str(z),
        "scaleDenominator": cell / 0.00028,
        "cellSize": cell,
        "cornerOfOrigin": "topLeft",
        "pointOfOrigin": [-ORIGIN, ORIGIN],
        "tileWidth": 256,
        "tileHeight": 256,
        "matrixWidth": size,
        "matrixHeight": size,
    }


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(col, 0), n - 1), min(max(row, 0), n - 1)


def limits(spec) -> list[dict]:
    """The tiles covering the service area at each zoom the layer has tiles for."""
    minx, miny, maxx, maxy = settings.SERVICE_AREA
    out = []
    for z in range(spec.min_zoom, spec.max_zoom + 1):
        min_col, min_row = _tile_of(minx, maxy, z)
        max_col, max_row = _tile_of(maxx, miny, z)
        out.append(
            {
                "tileMatrix": str(z),
                "minTileRow": min_row,
                "maxTileRow": max_row,
                "minTileCol": min_col,
                "maxTileCol": max_col,
            }
        )
    return out


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_safe
def tile_matrix_sets(request):
    base = base_url(request)
    return json_response(
        {
            "tileMatrixSets": [
                {
                    "id": TMS_ID,
                    "title": "Google Maps Compatible for the World",
                    "uri": TMS_URI,
                    "crs": WEB_MERCATOR,
                    "links": [
                        {
                            "href": f"{base}/tileMatrixSets/{TMS_ID}",
                            "rel": SCHEME_REL,
                            "type": "application/json",
                        }
                    ],
                }
            ]
        }
    )


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_safe
def tile_matrix_set(request, tms: str):
    if tms != TMS_ID:
        return ogc_error(404, "NotFound", f"no tile matrix set {tms!r}; only {TMS_ID}")
    return json_response(
        {
            "id": TMS_ID,
            "title": "Google Maps Compatible for the World",
            "uri": TMS_URI,
            "crs": WEB_MERCATOR,
            "orderedAxes": ["X", "Y"],
            "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
            "tileMatrices": [matrix(z) for z in range(MAX_ZOOM + 1)],
        }
    )


def _tileset_links(request, spec) -> list[dict]:
    base = base_url(request)
    href = f"{base}/collections/{spec.slug}/tiles/{TMS_ID}"
    return [
        {"href": href, "rel": "self", "type": "application/json", "title": spec.title_en},
        {
            "href": f"{base}/tileMatrixSets/{TMS_ID}",
            "rel": SCHEME_REL,
            "type": "application/json",
        },
        {
            "href": request.build_absolute_uri(f"/tiles/{spec.slug}/") + TEMPLATE,
            "rel": "item",
            "type": MVT,
            "templated": True,
            "title": "Mapbox vector tile",
        },
        {
            "href": request.build_absolute_uri(f"/tiles/{spec.slug}.json"),
            "rel": "describedby",
            "type": "application/json",
            "title": "TileJSON",
        },
        {
            "href": f"{base}/collections/{spec.slug}",
            "rel": "collection",
            "type": "application/json",
        },
    ]


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_safe
def tilesets(request, collection_id: str):
    spec = spec_or_none(request, collection_id)
    if spec is None:
        return ogc_error(404, "NotFound", f"no collection {collection_id!r} for you")
    base = base_url(request)
    return json_response(
        {
            "links": [
                {
                    "href": f"{base}/collections/{spec.slug}/tiles",
                    "rel": "self",
                    "type": "application/json",
                }
            ],
            "tilesets": [
                {
                    "title": f"{spec.title_zh} / {spec.title_en}",
                    "dataType": "vector",
                    "crs": WEB_MERCATOR,
                    "tileMatrixSetURI": TMS_URI,
                    "links": _tileset_links(request, spec),
                }
            ],
        }
    )


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_safe
def tileset(request, collection_id: str, tms: str):
    spec = spec_or_none(request, collection_id)
    if spec is None:
        return ogc_error(404, "NotFound", f"no collection {collection_id!r} for you")
    if tms != TMS_ID:
        return ogc_error(404, "NotFound", f"no tile matrix set {tms!r}; only {TMS_ID}")
    dimension = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1}
    return json_response(
        {
            "title": f"{spec.title_zh} / {spec.title_en}",
            "dataType": "vector",
            "crs": WEB_MERCATOR,
            "tileMatrixSetURI": TMS_URI,
            "tileMatrixSetLimits": limits(spec),
            "layers": [
                {
                    "id": spec.slug,
                    "title": spec.title_en,
                    "dataType": "vector",
                    "geometryDimension": dimension.get(spec.geometry_type, 2),
                    "minTileMatrix": str(spec.min_zoom),
                    "maxTileMatrix": str(spec.max_zoom),
                }
            ],
            "links": _tileset_links(request, spec),
        }
    )
