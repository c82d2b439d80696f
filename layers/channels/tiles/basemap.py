"""GET /basemap/{z}/{x}/{y}: the tiles of the configured offline package (layers/io/mbtiles.py)."""

from __future__ import annotations

import hashlib

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from layers.io.mbtiles import (
    CONTENT_TYPES,
    MAX_ZOOM,
    is_vector,
    mbtiles_path,
    metadata,
    read_tile,
    tile_format,
)


def _bad(name: str, message: str) -> JsonResponse:
    return JsonResponse({"detail": message, name: [message]}, status=400)


@csrf_exempt  # read-only: any other method is 405, not a CSRF 403
@require_GET
def tile(request, z: int, x: int, y: int):
    """GET /basemap/{z}/{x}/{y}: one tile of the configured MBTiles file."""
    path = mbtiles_path()
    if path is None:
        return JsonResponse({"detail": "No tile package is configured (MAP_BASEMAP)."}, status=404)
    if z > MAX_ZOOM:
        return _bad("z", f"z must be between 0 and {MAX_ZOOM}.")
    if x >= 1 << z:
        return _bad("x", f"x must be below {1 << z} at zoom {z}.")
    if y >= 1 << z:
        return _bad("y", f"y must be below {1 << z} at zoom {z}.")
    meta = metadata(path)
    data = read_tile(path, z, x, y)
    headers = {"Cache-Control": "public, max-age=86400", "Access-Control-Allow-Origin": "*"}
    if data is None:
        return HttpResponse(status=404, headers=headers)
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers["ETag"] = etag
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return HttpResponse(status=304, headers=headers)
    if is_vector(meta) and data[:2] == b"\x1f\x8b":
        headers["Content-Encoding"] = "gzip"  # vector tiles are usually stored gzipped
    content_type = CONTENT_TYPES.get(tile_format(meta), "application/octet-stream")
    return HttpResponse(data, content_type=content_type, headers=headers)
