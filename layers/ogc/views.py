"""OGC API - Features (Part 1 Core + GeoJSON + OAS30, Part 2 CRS) at /ogc/, from the registry.

Collections are the layers the caller may read (same roles and fields as the REST API).
Items are encoded by PostGIS; numberMatched is an exact count bounded by OGC_MAX_COUNT (a
larger match omits it, as the standard allows, so counting never dominates a page).
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.contrib.gis.geos import Polygon
from django.db import connection
from django.db.models import Func, Max, Min
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from layers import registry
from layers.api import access, encode
from layers.ogc import crs as ogc_crs

GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000


class BadRequest(Exception):
    pass


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


def collection(request, collection_id: str):
    spec = _spec_or_none(request, collection_id)
    if spec is None:
        return _error(404, "NotFound", f"no collection {collection_id!r} for you")
    return _json(_collection_doc(request, spec))


def _numbers(name: str, raw: str) -> list[float]:
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise BadRequest(f"{name}: expected comma-separated numbers") from None
    return values


def _bbox_filter(params) -> Polygon | None:
    raw = params.get("bbox")
    if raw is None:
        if "bbox-crs" in params:
            raise BadRequest("bbox-crs: given without bbox")
        return None
    values = _numbers("bbox", raw)
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise BadRequest("bbox: expected 4 or 6 numbers")
    try:
        box_crs = ogc_crs.parse(params.get("bbox-crs", ogc_crs.CRS84))
    except ValueError as exc:
        raise BadRequest(f"bbox-crs: {exc}") from None
    if box_crs.flip:  # EPSG axis order: latitude/northing first
        values = [values[1], values[0], values[3], values[2]]
    minx, miny, maxx, maxy = values
    if minx > maxx or miny > maxy:
        raise BadRequest("bbox: lower corner must not exceed upper corner")
    if box_crs.srid in (4326, 4490):
        box = Polygon.from_bbox((minx, miny, maxx, maxy))
        box.srid = 4326
        return box
    # A projected box: densify its edges so they stay true once curved into lon/lat.
    steps = 16
    ring = (
        [(minx + (maxx - minx) * i / steps, miny) for i in range(steps)]
        + [(maxx, miny + (maxy - miny) * i / steps) for i in range(steps)]
        + [(maxx - (maxx - minx) * i / steps, maxy) for i in range(steps)]
        + [(minx, maxy - (maxy - miny) * i / steps) for i in range(steps)]
    )
    box = Polygon([*ring, ring[0]], srid=box_crs.srid)
    return box.transform(4326, clone=True)


def _datetime_filter(raw: str | None):
    """An instant or interval on the update time: 'T', 'T1/T2', '../T', 'T/..'."""
    if raw is None:
        return {}

    def moment(text: str, end: bool):
        if text in ("", ".."):
            return None
        parsed = parse_datetime(text)
        if parsed is None:
            day = parse_date(text)
            if day is None:
                raise BadRequest(f"datetime: cannot read {text!r}")
            parsed = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)

    if "/" in raw:
        start_text, _, end_text = raw.partition("/")
        start, end = moment(start_text, False), moment(end_text, True)
        if start is None and end is None:
            raise BadRequest("datetime: an interval needs at least one end")
        if start and end and start > end:
            raise BadRequest("datetime: start after end")
        out = {}
        if start:
            out["updated_at__gte"] = start
        if end:
            out["updated_at__lte"] = end
        return out
    instant = moment(raw, False)
    if instant is None:
        raise BadRequest("datetime: expected a date-time")
    if parse_datetime(raw) is None:  # a date: the whole day
        return {"updated_at__date": instant.date()}
    return {"updated_at": instant}


def _property_filters(spec, params) -> dict:
    out = {}
    for name, vocabulary in spec.vocabularies().items():
        if name in params:
            values = params[name].split(",")
            unknown = [v for v in values if v not in vocabulary.values]
            if unknown:
                raise BadRequest(f"{name}: unknown value(s) {unknown}")
            out[f"{name}__in"] = values
    return out


def _int_param(params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name}: expected an integer from {low} to {high}")
    return int(raw)


def item_params(spec) -> set[str]:
    return {"bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "f", *spec.vocabularies()}


def _output_crs(params) -> ogc_crs.OutputCrs:
    try:
        return ogc_crs.parse(params.get("crs", ogc_crs.CRS84))
    except ValueError as exc:
        raise BadRequest(f"crs: {exc}") from None


def _geometry(out: ogc_crs.OutputCrs):
    geom = Transform("geom", out.srid) if out.srid != 4326 else "geom"
    if out.flip:
        geom = FlipCoordinates(geom)
    return AsGeoJSON(geom, precision=out.precision)


def items(request, collection_id: str):
    spec = _spec_or_none(request, collection_id)
    if spec is None:
        return _error(404, "NotFound", f"no collection {collection_id!r} for you")
    params = request.GET
    unknown = sorted(set(params) - item_params(spec))
    if unknown:
        return _error(400, "InvalidParameterValue", f"unknown parameter(s): {', '.join(unknown)}")
    try:
        if params.get("f", "json") not in ("json", "geojson"):
            raise BadRequest("f: only json")
        out = _output_crs(params)
        limit = _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0, 10**9)
        queryset = spec.model.objects.all()
        box = _bbox_filter(params)
        if box is not None:
            queryset = queryset.filter(geom__intersects=box)
        queryset = queryset.filter(**_datetime_filter(params.get("datetime")))
        queryset = queryset.filter(**_property_filters(spec, params)).order_by("pk")
    except BadRequest as exc:
        return _error(400, "InvalidParameterValue", str(exc))
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


def item(request, collection_id: str, feature_id: str):
    spec = _spec_or_none(request, collection_id)
    if spec is None:
        return _error(404, "NotFound", f"no collection {collection_id!r} for you")
    unknown = sorted(set(request.GET) - {"crs", "f"})
    if unknown:
        return _error(400, "InvalidParameterValue", f"unknown parameter(s): {', '.join(unknown)}")
    try:
        out = _output_crs(request.GET)
    except BadRequest as exc:
        return _error(400, "InvalidParameterValue", str(exc))
    if not feature_id.isdigit() or int(feature_id) > 2**63 - 1:
        return _error(404, "NotFound", "no such feature")
    fields = access.output_fields(access.request_user(request), spec)
    text = encode.encode_feature(
        spec.model.objects.filter(pk=int(feature_id)), spec, fields, geometry=_geometry(out)
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
