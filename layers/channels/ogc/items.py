"""OGC API - Features items at /ogc/collections/{id}/items[/{featureId}]: Part 1 items, Part 2
(CRS), Part 3's CQL2 filter (its queryables: queryables.py), sortby and properties, and Part 4
writes (write.py). A bbox-and-paging page comes from SQL compiled once per shape
(layers/query/pages.py). Every parameter is parsed strictly by the shared parsers
(layers/query/) before it reaches SQL; items are encoded by PostGIS; numberMatched is given
where it is cheap, the exact count within the page's budget (layers/query/counting.py), and left
out otherwise, as the standard allows.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.db import router
from django.db.models import Func
from django.http import HttpResponse, QueryDict
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from layers.auth.caller import gis_auth
from layers.channels.ogc import html as pages
from layers.channels.ogc import write
from layers.channels.ogc.common import (
    GEOJSON,
    bad_parameter,
    base_url,
    json_response,
    ogc_error,
    spec_or_none,
    wants_html,
)
from layers.domain import clock
from layers.geo import crs as ogc_crs
from layers.query import access, asof, counting, cql, encode, spatial, times
from layers.query import filters as qf
from layers.query import pages as compiled_pages
from layers.query import params as p

FILTER_LANGS = ("cql2-text", "cql2-json")
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
MAX_OFFSET = 10**9


class FlipCoordinates(Func):
    function = "ST_FlipCoordinates"
    output_field = GeometryField()


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


def item_params(spec, *, staff: bool = True) -> set[str]:
    """Query parameters of items; the public filters only by public fields (datetime, which
    OGC API Features Core requires, stays: when a public feature changed is not a secret)."""
    names = {"bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "f"}
    names |= {"filter", "filter-lang", "filter-crs", "sortby", "properties"}
    if staff:
        names.add("as_of")  # the collection as it was then (query/asof.py): roles only
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


def _geometry(out: ogc_crs.Crs):
    geom = Transform("geom", out.srid) if out.srid != 4326 else "geom"
    if out.flip:
        geom = FlipCoordinates(geom)
    return AsGeoJSON(geom, precision=out.precision)


def _filter_params(request, spec, params):
    """The queryset filtered by bbox, datetime, vocabularies and a CQL2 `filter`."""
    user = request.caller
    raw_as_of = p.single(params, "as_of")
    if raw_as_of is not None:
        queryset = asof.features(spec, asof.parse("as_of", raw_as_of)).filter(
            deleted_at__isnull=True
        )
    else:
        queryset = spec.model.objects.all()
    box = _bbox_filter(params)
    if box is not None:
        queryset = queryset.filter(geom__intersects=box)
    raw_time = p.single(params, "datetime")
    if raw_time is not None:
        queryset = qf.by_time(queryset, times.interval("datetime", raw_time))
    staff = access.is_staff_reader(user)
    queryset = qf.by_vocabularies(queryset, spec, _property_filters(spec, params, staff=staff))
    raw_filter = p.single(params, "filter")
    lang = p.single(params, "filter-lang")
    filter_crs = _crs("filter-crs", p.single(params, "filter-crs"))
    if lang is not None and lang not in FILTER_LANGS:
        raise p.ParamError("filter-lang", f"use one of {', '.join(FILTER_LANGS)}")
    if raw_filter is None:
        for name in ("filter-lang", "filter-crs"):
            if name in params:
                raise p.ParamError(name, "given without filter")
    else:
        fields = cql.queryables(user, spec)
        queryset = queryset.filter(cql.to_q(raw_filter, lang or "cql2-text", fields, filter_crs))
    return queryset


def _sortby(request, spec, params) -> list[str]:
    """`sortby=name,-floors` (+ or nothing: ascending) over the queryables; id breaks ties."""
    raw = p.single(params, "sortby")
    if raw is None:
        return ["pk"]
    fields = cql.queryables(request.caller, spec)
    allowed = {name: q.lookup for name, q in fields.items()} | {"id": "pk"}
    terms = [term.strip().lstrip("+") for term in p.text("sortby", raw).split(",")]
    order = []
    for term, original in zip(terms, raw.split(","), strict=True):
        descending = term.startswith("-")
        name = term[1:] if descending else term
        if name not in allowed:
            raise p.ParamError(
                "sortby", f"cannot sort by {p._show(original)}; sortables: {sorted(allowed)}"
            )
        if any(o.lstrip("-") == allowed[name] for o in order):
            raise p.ParamError("sortby", f"{name!r} is named twice")
        order.append(("-" if descending else "") + allowed[name])
    return order if "pk" in {o.lstrip("-") for o in order} else [*order, "pk"]


def _properties(request, spec, params) -> tuple[tuple[str, ...], bool]:
    """The properties to return (`properties=a,b`): visible fields, computed ones on request."""
    fields = access.output_fields(request.caller, spec)
    computed = tuple(spec.computed_labels) if fields else ()
    raw = p.single(params, "properties")
    if raw is None:
        return fields, True
    wanted = [name for name in p.text("properties", raw, max_length=2000).split(",") if name]
    unknown = [name for name in wanted if name not in fields and name not in computed]
    if unknown:
        raise p.ParamError(
            "properties",
            f"unknown propert{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(p._show(n) for n in unknown[:5])}; available: {[*fields, *computed]}",
        )
    return tuple(n for n in fields if n in wanted), any(n in wanted for n in computed)


# The shapes whose SQL is compiled once (layers/query/pages.py): a bbox and paging.
FAST_PARAMS = frozenset({"bbox", "bbox-crs", "crs", "limit", "offset", "f"})


def _compiled(request, spec, params, out, fields, computed):
    """(the compiled page of this shape, the bbox) for the common items request."""
    box = _bbox_filter(params)
    day = clock.today() if spec.computed_properties and computed else None
    shape = ("ogc", spec.slug, fields, computed, out.uri, out.srid, out.flip, box is not None, day)

    def build(bbox: str | None):
        match = _filter_params(request, spec, QueryDict(urlencode({"bbox": bbox} if bbox else {})))
        match = match.order_by("pk")
        rows = encode.feature_rows(match, spec, fields, geometry=_geometry(out), computed=computed)
        return rows, match

    return compiled_pages.page_for(shape, spec, build, box), box


@csrf_exempt  # POST is authenticated per request (Basic/Token; session with DRF's CSRF check)
@gis_auth
@require_http_methods(["GET", "HEAD", "POST"])
def items(request, collection_id: str):
    spec = spec_or_none(request, collection_id)
    if spec is None:
        return ogc_error(404, "NotFound", f"no collection {collection_id!r} for you")
    if request.method == "POST":
        return write.write(request, spec, "create")
    params = request.GET
    staff = access.is_staff_reader(request.caller)
    unknown = sorted(set(params) - item_params(spec, staff=staff))
    if unknown:
        return ogc_error(
            400, "InvalidParameterValue", f"unknown parameter(s): {', '.join(unknown)}"
        )
    try:
        html = wants_html(request)
        out = _output_crs(params)
        limit = _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0, MAX_OFFSET)
        order = _sortby(request, spec, params)
        past = "as_of" in params
        compiled = None
        if not html and set(params) <= FAST_PARAMS and settings.FAST_PAGES:
            fields, computed = _properties(request, spec, params)  # no `properties`: all
            compiled, box = _compiled(request, spec, params, out, fields, computed)
        if compiled is None:
            queryset = _filter_params(request, spec, params).order_by(
                *(asof.ordering(order) if past else order)
            )
            fields, computed = _properties(request, spec, params)
    except p.ParamError as exc:
        return bad_parameter(exc)
    if compiled is not None:
        db = router.db_for_read(spec.model)
        features, returned, generation = compiled.run(db, box, offset, limit)
        matched = counting.matched(compiled.counter(db, box, generation), offset, limit, returned)
    else:
        features, returned = encode.encode_page(
            queryset[offset : offset + limit],
            spec,
            fields,
            geometry=_geometry(out),
            computed=computed and not past,
            key="id" if past else "pk",
        )
        matched = counting.matched(queryset, offset, limit, returned)
    base = base_url(request)
    self_url = f"{base}/collections/{spec.slug}/items"
    query = {k: v for k, v in params.items() if k not in ("offset", "f")}
    links = [
        {
            "href": f"{self_url}?{urlencode({**query, 'offset': offset})}",
            "rel": "self" if not html else "alternate",
            "type": GEOJSON,
            "title": "GeoJSON",
        },
        {
            "href": f"{self_url}?{urlencode({**query, 'offset': offset, 'f': 'html'})}",
            "rel": "alternate" if not html else "self",
            "type": "text/html",
            "title": "HTML",
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
    body = f'{text[:-1]}, "features": {features}}}'
    if html:
        return pages.items(request, spec, json.loads(body), offset=offset, limit=limit)
    return HttpResponse(body, content_type=GEOJSON, headers={"Content-Crs": f"<{out.uri}>"})


@csrf_exempt  # writes are authenticated per request (Basic/Token; session with CSRF check)
@gis_auth
@require_http_methods(["GET", "HEAD", "PUT", "PATCH", "DELETE"])
def item(request, collection_id: str, feature_id: str):
    spec = spec_or_none(request, collection_id)
    if spec is None:
        return ogc_error(404, "NotFound", f"no collection {collection_id!r} for you")
    # Ids are ASCII integers within bigint; any other string names no feature.
    pk = p.identifier("featureId", feature_id)
    if pk is None:
        return ogc_error(404, "NotFound", "no such feature")
    if request.method not in ("GET", "HEAD"):
        action = {"PUT": "update", "PATCH": "partial_update", "DELETE": "destroy"}
        return write.write(request, spec, action[request.method], pk)
    unknown = sorted(set(request.GET) - {"crs", "f", "properties"})
    if unknown:
        return ogc_error(
            400, "InvalidParameterValue", f"unknown parameter(s): {', '.join(unknown)}"
        )
    try:
        html = wants_html(request)
        out = _output_crs(request.GET)
        fields, computed = _properties(request, spec, request.GET)
    except p.ParamError as exc:
        return bad_parameter(exc)
    text = encode.encode_feature(
        spec.model.objects.filter(pk=pk),
        spec,
        fields,
        geometry=_geometry(out),
        computed=computed,
    )
    if text is None:
        return ogc_error(404, "NotFound", "no such feature")
    base = base_url(request)
    feature = json.loads(text)
    href = f"{base}/collections/{spec.slug}/items/{feature_id}"
    feature["links"] = [
        {"href": href, "rel": "self" if not html else "alternate", "type": GEOJSON},
        {"href": f"{href}?f=html", "rel": "alternate" if not html else "self", "type": "text/html"},
        {
            "href": f"{base}/collections/{spec.slug}",
            "rel": "collection",
            "type": "application/json",
        },
    ]
    if html:
        return pages.item(request, spec, feature)
    headers = {"Content_Crs": f"<{out.uri}>"}
    if access.can_edit(request.caller, spec):
        # The ETag Part 4 writes send back in If-Match (the same as the REST API's).
        version = spec.model.objects.values_list("version", flat=True).get(pk=pk)
        headers["ETag"] = f'"{version}"'
    return json_response(feature, content_type=GEOJSON, **headers)
