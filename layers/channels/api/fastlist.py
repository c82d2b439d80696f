"""The REST list's common case without DRF's per-request machinery: a GET of a layer's page,
with at most bbox, page, page_size and count, by a caller who may read the layer.

It answers what LayerViewSet.list answers, byte for byte and header for header
(tests/test_fast_pages.py compares them), from the page's SQL compiled once per shape
(layers/query/pages.py). Everything else, and every request that would end in an error
(bad values, credentials, roles, throttling, content negotiation), is handed to the viewset
unchanged, so each error is DRF's own answer. Turned off with FAST_PAGES=0.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.db import router

from layers.auth import tokens
from layers.auth.caller import resolved
from layers.channels.api import filters
from layers.channels.api.listing import count_cap, geojson_response, list_body, offset_of
from layers.domain import clock, registry
from layers.query import access, counting, encode, pages, spatial
from layers.query import params as p

# The parameters of the compiled shapes; any other takes the viewset.
PARAMS = frozenset({"bbox", "page", "page_size", "count"})
# Accept values DRF answers with the list (its JSON and GeoJSON renderers match them).
ACCEPTED = frozenset({"*/*", "application/*", "application/json", "application/geo+json"})


def wrap(view, spec: registry.LayerSpec):
    """The list route's view: the compiled page where it applies, else the viewset's `view`."""
    actions = view.actions
    methods = [
        m.upper()
        for m in view.cls.http_method_names
        if m in actions or m == "options" or (m == "head" and "get" in actions)
    ]
    headers = {"Allow": ", ".join(methods)}
    if len(view.cls.renderer_classes) > 1:
        headers["Vary"] = "Accept"

    @wraps(view)
    def fast_or_viewset(request, *args, **kwargs):
        if request.method == "GET" and settings.FAST_PAGES:
            response = answer(request, spec, view.cls)
            if response is not None:
                for name, value in headers.items():
                    response[name] = value
                return response
        return view(request, *args, **kwargs)

    return fast_or_viewset


def _accepts(request) -> bool:
    raw = request.META.get("HTTP_ACCEPT")
    if not raw:
        return True
    return any(part.split(";")[0].strip() in ACCEPTED for part in raw.split(","))


def _caller(request):
    """The caller as DRF would authenticate them (a Token header first, else the session),
    or None where DRF must answer: another scheme, or a wrong token (which DRF then counts
    once towards the limits on guessing, geo_service/middleware/limits.py)."""
    forced = getattr(request, "_force_auth_user", None)
    if forced is not None:
        return forced  # DRF's test client (force_authenticate), which DRF's Request honours
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return resolved(request)  # the session's user, or anonymous
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "token" or not parts[1].isascii():
        return None
    found = tokens.valid_token(parts[1])
    if found is None:
        return None
    request.user = found[0]  # as DRF's Request sets it for the middleware after the view
    return found[0]


def answer(request, spec: registry.LayerSpec, viewset):
    """The page, or None for the viewset to answer."""
    params = request.GET
    if not set(params) <= PARAMS or not _accepts(request):
        return None
    if request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
        return None
    user = _caller(request)
    if user is None or not access.can_read(user, spec):
        return None
    try:
        if any(len(params.getlist(name)) != 1 or not params[name] for name in params):
            return None
        page_number, size = filters.paging(params)
        exact_wanted = filters.exact_count(params)
        box = spatial.bbox("bbox", params["bbox"]) if "bbox" in params else None
    except p.ParamError:
        return None
    if not user.is_authenticated and not all(
        t().allow_request(request, None) for t in viewset.throttle_classes
    ):
        return None
    fields = access.output_fields(user, spec)
    staff = access.is_staff_reader(user)
    may_see_deleted = access.can_see_deleted(user)
    shape = ("rest", spec.slug, fields, staff, may_see_deleted, box is not None, _day(spec))

    def build(bbox: str | None):
        queryset, _query = filters.apply_filters(
            spec.model.all_objects.all(),
            spec,
            {"bbox": bbox} if bbox else {},
            fields,
            may_see_deleted=may_see_deleted,
            staff=staff,
        )
        return encode.feature_rows(queryset, spec, fields), queryset

    compiled = pages.page_for(shape, spec, build, box)
    if compiled is None:
        return None
    db = router.db_for_read(spec.model)
    offset = offset_of(page_number, size)
    features, returned, generation = compiled.run(db, box, offset, size)
    match = compiled.counter(db, box, generation)
    total, exact = counting.list_total(match, offset, size, returned, count_cap(exact_wanted, size))
    body = list_body(request, page_number, size, total, exact, returned, features)
    return geojson_response(body)


def _day(spec: registry.LayerSpec):
    """Computed properties (a hazard's `overdue`) compare with the service clock's today,
    which the compiled statement holds as a value: it is part of the shape."""
    return clock.today() if spec.computed_properties else None
