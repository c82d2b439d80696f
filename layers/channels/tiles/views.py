"""Mapbox vector tiles (MVT) from PostGIS: ST_AsMVT / ST_AsMVTGeom / ST_TileEnvelope.

One layer per URL (/tiles/<slug>/z/x/y.pbf), or several in one tile for the map pages
(/tiles/multi/z/x/y.pbf?layers=a,b). Same roles as the REST API. Buildings below z15 are blocks
(layers/query/mvt.py: generalized layers). ETags follow the layer's last
update, so an edit changes them at once; an empty tile answers 204. Tiles are cached by
(layers, z, x, y, role class) for the layers' generation (layers/query/tilecache.py).
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from geo_service.middleware import compression
from geo_service.middleware.compression import etag_matches
from layers.auth.caller import gis_auth
from layers.auth.machine import unauthorized
from layers.domain import registry
from layers.query import access, asof, params, tilecache
from layers.query.mvt import (
    generalized_property_names,
    is_generalized,
    render_tile,
    tile_properties,
    tile_property_names,
)

MVT = "application/vnd.mapbox-vector-tile"


def max_multi_layers() -> int:
    """At most this many layers in one multi-layer tile (default: every layer once)."""
    from django.conf import settings

    return getattr(settings, "TILE_MULTI_MAX_LAYERS", None) or len(registry.LAYERS)


def multi_layer_names(raw: str) -> list[str]:
    """`layers=a,b`: known slugs, each once, at most max_multi_layers() of them."""
    text = params.text("layers", raw, max_length=1000)
    names = [name for name in text.split(",") if name != ""]
    limit = max_multi_layers()
    if len(names) > limit:
        raise params.ParamError("layers", f"at most {limit} layers, got {len(names)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise params.ParamError("layers", f"each layer once; repeated: {', '.join(repeated)}")
    return params.choices("layers", names, registry.slugs())


class TileError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _check_tile(z: int, x: int, y: int) -> None:
    if not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise TileError(404, f"no tile {z}/{x}/{y}")


def _readable(request, slugs: list[str]):
    user = request.caller
    specs = []
    for slug in slugs:
        try:
            spec = registry.get(slug)
        except KeyError:
            raise TileError(404, f"no layer {slug!r}") from None
        if not access.can_read(user, spec):
            raise TileError(401 if not user.is_authenticated else 403, f"{slug}: not for you")
        specs.append(spec)
    return user, specs


def _past_tile(request, user, specs, z, x, y) -> HttpResponse:
    """A tile of the layers as they were (?as_of=, roles only): from history, not cached."""
    try:
        if not access.is_staff_reader(user):
            raise params.ParamError("as_of", "the history is for signed-in roles")
        at = asof.parse("as_of", params.single(request.GET, "as_of"))
    except params.ParamError as exc:
        return _bad_param(exc)
    data = render_tile(specs, user, z, x, y, at=at)
    headers = {"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}
    if not data:
        return HttpResponse(status=204, headers=headers)
    return HttpResponse(data, content_type=MVT, headers=headers)


def _tile_response(request, user, specs, z, x, y) -> HttpResponse:
    if "as_of" in request.GET:
        return _past_tile(request, user, specs, z, x, y)
    public = all(spec.is_public for spec in specs)
    names = [tile_property_names(spec, user, z) for spec in specs]
    cache_key = tilecache.key(
        tilecache.generation(specs, z), tilecache.role_class(specs, names), z, x, y
    )
    etag = '"' + cache_key.removeprefix("tile:")[:32] + '"'
    cache = "public, max-age=60" if public else "private, no-cache"
    headers = {"ETag": etag, "Cache-Control": cache, "Vary": "Authorization, Cookie"}
    if etag_matches(request, etag):
        return HttpResponse(status=304, headers=headers)
    data = tilecache.get(cache_key)
    if data is None:
        data = render_tile(specs, user, z, x, y)
        tilecache.put(cache_key, data)
    if not data:
        return HttpResponse(status=204, headers=headers)
    coding = compression.negotiate(request) if len(data) >= compression.MIN_BYTES else None
    if coding is None:
        return HttpResponse(data, content_type=MVT, headers=headers)
    # Compressed here, once per cached tile, not by the middleware on every request.
    response = HttpResponse(content_type=MVT, headers=headers)
    compression.set_encoded(response, tilecache.encoded(cache_key, coding, lambda: data), coding)
    return response


def _error(exc: TileError) -> JsonResponse:
    if exc.status == 401:
        return unauthorized(str(exc))  # with WWW-Authenticate: Basic / Token
    return JsonResponse({"detail": str(exc)}, status=exc.status)


def _bad_param(exc: params.ParamError) -> JsonResponse:
    """A bad query parameter: 400 naming it, like the REST API ({name: [message]})."""
    return JsonResponse({"detail": str(exc), exc.name: [exc.message]}, status=400)


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_GET
def layer_tile(request, slug: str, z: int, x: int, y: int):
    try:
        _check_tile(z, x, y)
        user, specs = _readable(request, [slug])
        spec = specs[0]
        if not spec.min_zoom <= z <= spec.max_zoom:
            raise TileError(404, f"{slug} has tiles from z{spec.min_zoom} to z{spec.max_zoom}")
        if "as_of" in request.GET and is_generalized(spec, z):
            # The blocks of the low zooms have no history.
            raise TileError(404, f"{slug} as it was has tiles from z{spec.generalized_below}")
    except TileError as exc:
        return _error(exc)
    return _tile_response(request, user, specs, z, x, y)


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_GET
def multi_tile(request, z: int, x: int, y: int):
    """Several layers in one tile: ?layers=a,b (default: every layer you may read)."""
    try:
        _check_tile(z, x, y)
        user = request.caller
        raw = params.single(request.GET, "layers")
        every = [s.slug for s in access.readable_layers(user)]
        slugs = multi_layer_names(raw) if raw else every
        user, specs = _readable(request, slugs)
    except TileError as exc:
        return _error(exc)
    except params.ParamError as exc:
        return _bad_param(exc)
    in_range = [s for s in specs if s.min_zoom <= z <= s.max_zoom]
    if "as_of" in request.GET:  # the blocks of the low zooms have no history
        in_range = [s for s in in_range if not is_generalized(s, z)]
    if not in_range:
        return HttpResponse(status=204)
    return _tile_response(request, user, in_range, z, x, y)


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@gis_auth
@require_GET
def tilejson(request, slug: str):
    try:
        user, (spec,) = _readable(request, [slug])
    except TileError as exc:
        return _error(exc)
    from django.conf import settings

    minx, miny, maxx, maxy = settings.SERVICE_AREA
    fields = dict.fromkeys(tile_properties(spec, user, spec.max_zoom), "String")
    description = f"{spec.title_zh} / {spec.title_en}"
    if spec.generalized is not None:
        # Below the detail zoom each feature is a block of features with their counts.
        fields |= dict.fromkeys(generalized_property_names(spec, user), "Number")
        fields[spec.status_field] = "String"
        description += (
            f"; z{spec.min_zoom}-z{spec.generalized_below - 1}: blocks (count per status),"
            f" each feature from z{spec.generalized_below}"
        )
    template = request.build_absolute_uri(f"/tiles/{spec.slug}/") + "{z}/{x}/{y}.pbf"
    return JsonResponse(
        {
            "tilejson": "3.0.0",
            "name": spec.slug,
            "description": description,
            "tiles": [template],
            "minzoom": spec.min_zoom,
            "maxzoom": spec.max_zoom,
            "bounds": [minx, miny, maxx, maxy],
            "center": [(minx + maxx) / 2, (miny + maxy) / 2, max(spec.min_zoom, 15)],
            "vector_layers": [
                {
                    "id": spec.slug,
                    "fields": fields,
                    "minzoom": spec.min_zoom,
                    "maxzoom": spec.max_zoom,
                }
            ],
        },
        json_dumps_params={"ensure_ascii": False},
    )
