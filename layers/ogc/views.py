"""OGC API - Features (Part 1 Core + GeoJSON + OAS30, Part 2 CRS) at /ogc/, from the registry.

Collections are the layers the caller may read (same roles and fields as the REST API).
Items are encoded by PostGIS; numberMatched is an exact count bounded by OGC_MAX_COUNT (a
larger match omits it, as the standard allows, so counting never dominates a page).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.db import connection
from django.db.models import Func, Max, Min
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from layers import registry
from layers.query import access, encode, spatial, times
from layers.query import crs as ogc_crs
from layers.query import filters as qf
from layers.query import params as p

GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
MAX_OFFSET = 10**9


class FlipCoordinates(Func):
    function = "ST_FlipCoordinates"
    output_field = GeometryField()


def _json(data, status=200, content_type="application/json", **headers) -> HttpResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = content_type
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


def _error(status: int, code: str, description: str) -> HttpResponse:
    return _json({"code": code, "description": description}, status=status)


def _base(request) -> str:
    return request.build_absolute_uri("/ogc").rstrip("/")


def _collections(request) -> list[registry.LayerSpec]:
    return access.readable_layers(access.request_user(request))


def _spec_or_none(request, collection_id: str):
    for spec in _collections(request):
        if spec.slug == collection_id:
            return spec
    return None


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@require_safe
def landing(request):
    base = _base(request)
    return _json(
        {
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
            ],
        }
    )


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@require_safe
def conformance(request):
    return _json({"conformsTo": CONFORMANCE})


def _extent(spec) -> dict:
    from django.contrib.gis.db.models import Extent

    box = spec.model.objects.aggregate(e=Extent("geom"))["e"]
    times = spec.model.objects.aggregate(a=Min("updated_at"), b=Max("updated_at"))
    interval = [
        times["a"].isoformat() if times["a"] else None,
        times["b"].isoformat() if times["b"] else None,
    ]
    return {
        "spatial": {
            "bbox": [list(box) if box else list(settings.SERVICE_AREA)],
            "crs": ogc_crs.CRS84,
        },
        "temporal": {
            "interval": [interval],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        },
    }


def _collection_doc(request, spec) -> dict:
    base = _base(request)
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
                "href": f"{href}/items",
                "rel": "items",
                "type": GEOJSON,
                "title": f"{spec.title_en} (GeoJSON)",
            },
        ],
    }


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@require_safe
def collections(request):
    base = _base(request)
    return _json(
        {
            "links": [
                {"href": f"{base}/collections", "rel": "self", "type": "application/json"},
            ],
            "collections": [_collection_doc(request, spec) for spec in _collections(request)],
            "crs": ogc_crs.uris(),
        }
    )


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@require_safe
def collection(request, collection_id: str):
    spec = _spec_or_none(request, collection_id)
    if spec is None:
        return _error(404, "NotFound", f"no collection {collection_id!r} for you")
    return _json(_collection_doc(request, spec))


def _bbox_filter(params):
    """The bbox in its bbox-crs (default CRS84), as a lon/lat polygon; None without bbox."""
    raw = p.single(params, "bbox")
    raw_crs = p.single(params, "bbox-crs")
    if raw is None:
        if raw_crs is not None:
            raise p.ParamError("bbox-crs", "given without bbox")
        return None
    box_crs = _crs("bbox-crs", raw_crs)
    return spatial.bbox("bbox", raw, box_crs, heights=True)


def _property_filters(spec, params, *, staff: bool) -> dict[str, list[str]]:
    """The layer's vocabulary fields the caller may filter by: comma-separated values
    (repeating a parameter is the same)."""
    return {
        name: qf.vocabulary_values(spec, name, params.getlist(name))
        for name in qf.filterable_vocabularies(spec, staff=staff)
        if name in params
    }


def _int_param(params, name: str, default: int, low: int, high: int) -> int:
    raw = p.single(params, name)
    return default if raw is None else p.integer(name, raw, low=low, high=high)


def _format(params) -> None:
    raw = p.single(params, "f")
    if raw is not None and raw not in ("json", "geojson"):
        raise p.ParamError("f", f"only json, got {p._show(raw)}")


def item_params(spec, *, staff: bool = True) -> set[str]:
    """Query parameters of items; the public filters only by public fields (datetime, which
    OGC API Features Core requires, stays: when a public feature changed is not a secret)."""
    names = {"bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "f"}
    return names | set(qf.filterable_vocabularies(spec, staff=staff))


def _crs(name: str, raw: str | None) -> ogc_crs.Crs:
    if raw is None:
        return ogc_crs.STORAGE
    try:
        return ogc_crs.parse(p.text(name, raw))
    except ValueError as exc:
        raise p.ParamError(name, str(exc)) from None


def _output_crs(params) -> ogc_crs.Crs:
    return _crs("crs", p.single(params, "crs"))


def _bad(exc: p.ParamError) -> HttpResponse:
    return _error(400, "InvalidParameterValue", str(exc))


def _geometry(out: ogc_crs.Crs):
    geom = Transform("geom", out.srid) if out.srid != 4326 else "geom"
    if out.flip:
        geom = FlipCoordinates(geom)
    return AsGeoJSON(geom, precision=out.precision)


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@require_safe
def items(request, collection_id: str):
    spec = _spec_or_none(request, collection_id)
    if spec is None:
        return _error(404, "NotFound", f"no collection {collection_id!r} for you")
    params = request.GET
    staff = access.is_staff_reader(access.request_user(request))
    unknown = sorted(set(params) - item_params(spec, staff=staff))
    if unknown:
        return _error(400, "InvalidParameterValue", f"unknown parameter(s): {', '.join(unknown)}")
    try:
        _format(params)
        out = _output_crs(params)
        limit = _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0, MAX_OFFSET)
        queryset = spec.model.objects.all()
        box = _bbox_filter(params)
        if box is not None:
            queryset = queryset.filter(geom__intersects=box)
        raw_time = p.single(params, "datetime")
        if raw_time is not None:
            queryset = qf.by_time(queryset, times.interval("datetime", raw_time))
        queryset = qf.by_vocabularies(queryset, spec, _property_filters(spec, params, staff=staff))
        queryset = queryset.order_by("pk")
    except p.ParamError as exc:
        return _bad(exc)
    fields = access.output_fields(access.request_user(request), spec)
    features, returned = encode.encode_page(
        queryset[offset : offset + limit], spec, fields, geometry=_geometry(out)
    )
    matched = _bounded_count(queryset, offset, limit, returned)
    base = _base(request)
    self_url = f"{base}/collections/{spec.slug}/items"
    query = {k: v for k, v in params.items() if k != "offset"}
    links = [
        {
            "href": f"{self_url}?{urlencode({**query, 'offset': offset})}",
            "rel": "self",
            "type": GEOJSON,
        },
        {
            "href": f"{base}/collections/{spec.slug}",
            "rel": "collection",
            "type": "application/json",
        },
    ]
    more = returned == limit and (matched is None or offset + limit < matched)
    if more:
        links.append(
            {
                "href": f"{self_url}?{urlencode({**query, 'offset': offset + limit})}",
                "rel": "next",
                "type": GEOJSON,
            }
        )
    if offset > 0:
        links.append(
            {
                "href": f"{self_url}?{urlencode({**query, 'offset': max(0, offset - limit)})}",
                "rel": "prev",
                "type": GEOJSON,
            }
        )
    head = {
        "type": "FeatureCollection",
        "timeStamp": timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "numberReturned": returned,
        **({"numberMatched": matched} if matched is not None else {}),
        "links": links,
    }
    text = json.dumps(head, ensure_ascii=False)
    return HttpResponse(
        f'{text[:-1]}, "features": {features}}}',
        content_type=GEOJSON,
        headers={"Content-Crs": f"<{out.uri}>"},
    )


def _bounded_count(queryset, offset: int, limit: int, returned: int) -> int | None:
    """Exact count up to OGC_MAX_COUNT, else None (numberMatched is then left out).

    A short page tells the total for free. Otherwise the planner's estimate decides first:
    above the cap, counting would be wasted work, so none is done.
    """
    if returned < limit and (returned > 0 or offset == 0):
        return offset + returned
    cap = settings.OGC_MAX_COUNT
    sql, params = queryset.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        if plan[0]["Plan"]["Plan Rows"] > cap:
            return None
        cursor.execute(f"SELECT count(*) FROM ({sql} LIMIT {cap + 1}) t", params)  # noqa: S608
        count = cursor.fetchone()[0]
    return count if count <= cap else None


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@require_safe
def item(request, collection_id: str, feature_id: str):
    spec = _spec_or_none(request, collection_id)
    if spec is None:
        return _error(404, "NotFound", f"no collection {collection_id!r} for you")
    unknown = sorted(set(request.GET) - {"crs", "f"})
    if unknown:
        return _error(400, "InvalidParameterValue", f"unknown parameter(s): {', '.join(unknown)}")
    try:
        _format(request.GET)
        out = _output_crs(request.GET)
    except p.ParamError as exc:
        return _bad(exc)
    # Ids are ASCII integers within bigint; any other string names no feature.
    pk = p.identifier("featureId", feature_id)
    if pk is None:
        return _error(404, "NotFound", "no such feature")
    fields = access.output_fields(access.request_user(request), spec)
    text = encode.encode_feature(
        spec.model.objects.filter(pk=pk), spec, fields, geometry=_geometry(out)
    )
    if text is None:
        return _error(404, "NotFound", "no such feature")
    base = _base(request)
    feature = json.loads(text)
    feature["links"] = [
        {
            "href": f"{base}/collections/{spec.slug}/items/{feature_id}",
            "rel": "self",
            "type": GEOJSON,
        },
        {
            "href": f"{base}/collections/{spec.slug}",
            "rel": "collection",
            "type": "application/json",
        },
    ]
    return _json(feature, content_type=GEOJSON, Content_Crs=f"<{out.uri}>")
