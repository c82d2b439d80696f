"""The grid worker's installable field app: the web app manifest, the service worker (scope
/field/) and the list of what it keeps for working offline, with its size.

What the worker keeps (`offline_plan`): the page and its files, the worker's tasks with each
one's timeline and steps, and the reference layers' vector tiles (and the MBTiles basemap when
one is configured) over the worker's grid cells, from the layers' first zoom down to z18.
Everything it keeps is in caches named by the user (`user_key`), so one user's data never
answers another's requests on a shared phone; signing out clears them (Clear-Site-Data).
"""

from __future__ import annotations

import hashlib
import json
import math
import os

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache

from layers.auth import pages
from layers.compose import builder
from layers.domain import registry
from layers.domain.models import GridCell
from layers.io import mbtiles
from layers.query import access, mvt, tilecache
from layers.services import workflow

CACHE_PREFIX = "hehuachi-field-"
MAX_ZOOM = 18
# The lowest zoom kept offline (the field map opens on the worker's cells, about z16).
MIN_ZOOM = 14
# At most this many tile positions per layer (an inspector who reaches the whole subdistrict).
MAX_TILES = 400

# The page's own files (static/), kept with the page.
APP_FILES = (
    "vendor/leaflet/1.9.4/leaflet.css",
    "vendor/leaflet/1.9.4/leaflet.js",
    "vendor/leaflet.vectorgrid/1.3.0/Leaflet.VectorGrid.bundled.min.js",
    "vendor/idb/8.0.4/umd.js",
    "css/site.css",
    "css/field.css",
    "css/hehuachi-basemap.css",
    "js/hehuachi-map.js",
    "js/hehuachi-labels.js",
    "js/field.js",
    "js/outbox.js",
    "js/field-offline.js",
    "js/live.js",
    "js/signout.js",
    "js/header.js",
    "img/favicon.svg",
    "img/favicon.ico",
    "img/icon-180.png",
)


def user_key(user) -> str:
    """An opaque, stable name for the user's caches and outbox (not their id or name)."""
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:field:{user.pk}".encode()).hexdigest()
    return digest[:16]


def app_urls() -> list[str]:
    return [reverse("field"), reverse("field-manifest"), *(static(name) for name in APP_FILES)]


def _app_bytes() -> int:
    total = 0
    for name in APP_FILES:
        found = finders.find(name)
        if found:
            total += os.path.getsize(found)
    return total


def _tile_range(extent, z: int) -> tuple[int, int, int, int]:
    minx, miny, maxx, maxy = extent

    def xy(lon, lat):
        n = 2**z
        x = int((lon + 180.0) / 360.0 * n)
        rad = math.radians(lat)
        y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n)
        return min(max(x, 0), n - 1), min(max(y, 0), n - 1)

    x0, y0 = xy(minx, maxy)
    x1, y1 = xy(maxx, miny)
    return x0, y0, x1, y1


def tiles_over(extent, min_zoom: int, max_zoom: int = MAX_ZOOM) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    for z in range(min_zoom, max_zoom + 1):
        x0, y0, x1, y1 = _tile_range(extent, z)
        tiles = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        if len(out) + len(tiles) > MAX_TILES:
            break
        out.extend(tiles)
    return out


def _extent(user):
    """The bounding box of the worker's cells (else of every cell: who reaches every hazard)."""
    cells = GridCell.objects.filter(worker=user)
    if not cells.exists():
        cells = GridCell.objects.all()
    boxes = [c.geom.extent for c in cells]
    if not boxes:
        return None
    pad = 0.0005  # about 50 m: the streets just outside the cell's edge
    return (
        min(b[0] for b in boxes) - pad,
        min(b[1] for b in boxes) - pad,
        max(b[2] for b in boxes) + pad,
        max(b[3] for b in boxes) + pad,
    )


def _vector_tiles(user, extent) -> tuple[list[str], int]:
    """The reference layers' tiles over `extent` and their size (rendered once, then cached
    by the tile cache, so the download that follows costs no more)."""
    urls, size = [], 0
    for spec in registry.LAYERS:
        if not spec.reference or not access.can_read(user, spec):
            continue
        template = reverse("tile", args=[spec.slug, 0, 0, 0])
        for z, x, y in tiles_over(extent, max(spec.min_zoom or 0, MIN_ZOOM)):
            names = [list(mvt.tile_properties(spec, user, z))]
            cache_key = tilecache.key(
                tilecache.generation([spec]), tilecache.role_class([spec], names), z, x, y
            )
            data = tilecache.get(cache_key)
            if data is None:
                data = mvt.render_tile([spec], user, z, x, y)
                tilecache.put(cache_key, data)
            urls.append(template.replace("/0/0/0.pbf", f"/{z}/{x}/{y}.pbf"))
            size += len(data)
    return urls, size


def _basemap_tiles(extent) -> tuple[list[str], int]:
    """The MBTiles basemap's tiles over `extent`, when a package is configured."""
    path = mbtiles.mbtiles_path()
    if path is None:
        return [], 0
    urls, size = [], 0
    top = min(MAX_ZOOM, int(mbtiles.metadata(path).get("maxzoom") or MAX_ZOOM))
    for z, x, y in tiles_over(extent, MIN_ZOOM, top):
        data = mbtiles.read_tile(path, z, x, y)
        if data is not None:
            urls.append(reverse("basemap-tile", args=[z, x, y]))
            size += len(data)
    return urls, size


def _task_urls(user) -> tuple[list[str], int]:
    hazards = reverse("api:hazards-list")
    urls = [reverse("field-tasks")]
    size = 0
    for hazard in workflow.tasks(user):
        urls.append(f"{hazards}{hazard.pk}/timeline/")
        urls.append(f"{hazards}{hazard.pk}/transitions/")
        size += len(json.dumps(workflow.timeline(hazard), ensure_ascii=False).encode()) + 600
    return urls, size + 400 * (len(urls) // 2 + 1)


@never_cache
def offline_plan(request):
    """GET /field/offline.json: what the field app keeps for offline work, by group, with the
    bytes of each group, so the page can say how much it will download before it does."""
    denied = pages.check(request, "field")
    if denied:
        return JsonResponse({"detail": "sign in"}, status=401)
    user = request.user
    extent = _extent(user)
    groups = [{"name": "app", "urls": app_urls(), "bytes": _app_bytes()}]
    tasks, tasks_bytes = _task_urls(user)
    groups.append({"name": "tasks", "urls": tasks, "bytes": tasks_bytes})
    if extent is not None:
        tiles, tiles_bytes = _vector_tiles(user, extent)
        base, base_bytes = _basemap_tiles(extent)
        groups.append({"name": "map", "urls": base + tiles, "bytes": base_bytes + tiles_bytes})
    return JsonResponse(
        {
            "user": user_key(user),
            "zooms": [MIN_ZOOM, MAX_ZOOM],
            "groups": groups,
            "bytes": sum(g["bytes"] for g in groups),
            "count": sum(len(g["urls"]) for g in groups),
        }
    )


@never_cache
def service_worker(request):
    """GET /field/sw.js: the field app's worker, for the signed-in user (their cache names)."""
    denied = pages.check(request, "field")
    if denied:
        return HttpResponse("/* sign in */", status=401, content_type="text/javascript")
    app = app_urls()
    version = hashlib.sha256("|".join(app).encode()).hexdigest()[:12]
    key = user_key(request.user)
    config = {
        "prefix": CACHE_PREFIX,
        "user": key,
        "app": f"{CACHE_PREFIX}{key}-app-{version}",
        "data": f"{CACHE_PREFIX}{key}-data",
        "appUrls": app,
        "page": reverse("field"),
        "static": settings.STATIC_URL,
        "tilePrefixes": ["/tiles/", reverse("basemap-tile", args=[0, 0, 0]).split("0/0/0")[0]],
    }
    body = "const CONFIG = " + builder.script_json(config) + ";\n"
    with open(finders.find("js/field-sw.js"), encoding="utf-8") as source:
        body += source.read()
    return HttpResponse(
        body,
        content_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache, private", "Service-Worker-Allowed": reverse("field")},
    )


def manifest(request):
    """GET /field/manifest.webmanifest: installs /field/ as an app on the phone's home screen."""
    body = {
        "name": "荷花池 网格员工作台 · Hehuachi grid worker",
        "short_name": "网格员",
        "start_url": reverse("field"),
        "scope": reverse("field"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#243b55",
        "icons": [
            {"src": static("img/icon-180.png"), "sizes": "180x180", "type": "image/png"},
            {"src": static("img/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), content_type="application/manifest+json"
    )
    response["Cache-Control"] = "public, max-age=3600"
    return response
