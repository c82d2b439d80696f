"""The tour's service worker (/tour/sw.js, scope /tour/): after the first visit over http(s)
the tour, every stop page, their assets, the embedded data and the photos open with no signal.

The worker precaches the pages and photos listed here; each page then sends it the same-origin
files it loaded (scripts, styles, icons), which the worker caches too. Pages are network first
(fresh when online), files cache first. file:// (the published tour) registers nothing.

The worker keeps only public answers (not `Cache-Control: private`/`no-store`; varying by
Cookie only when marked `public`), so a signed-in user's pages never reach the next user of the
same device. The tour's own answers to anonymous callers are marked public (`anonymous_public`).
"""

from __future__ import annotations

import hashlib

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from layers.compose.builder import script_json
from layers.domain.models import CulturalViewpoint

CACHE_PREFIX = "hehuachi-tour-"


def precache_urls() -> list[str]:
    """The tour, each stop page and each stop's photo."""
    urls = [reverse("tour")]
    for vp in CulturalViewpoint.objects.order_by("tour_order"):
        urls.append(reverse("tour-stop", args=[vp.tour_order]))
        if vp.photo:
            urls.append(vp.photo.url)
    return urls


def anonymous_public(request, response):
    """Mark an answer to an anonymous caller as the same for everyone (`public, no-cache`: any
    cache may keep it, revalidating), so the tour's service worker may keep it. For a caller
    with a session or Authorization header the security middleware makes it private again."""
    # The published tour renders with a bare request (no middleware): it has no caller.
    caller = getattr(request, "caller", None) or getattr(request, "user", None)
    if getattr(caller, "is_authenticated", False) or request.headers.get("Authorization"):
        return response
    if getattr(request, "static_site", None) is None:
        patch_cache_control(response, public=True, no_cache=True)
    return response


@require_GET
def service_worker(request):
    urls = precache_urls()
    latest = CulturalViewpoint.all_objects.order_by("-updated_at").values_list(
        "updated_at", flat=True
    )
    stamp = "|".join([*urls, str(latest.first() or "")])
    version = hashlib.sha256(stamp.encode()).hexdigest()[:12]
    body = render_to_string(
        "maps/tour-sw.js",
        {"cache": script_json(CACHE_PREFIX + version), "urls": script_json(urls)},
    )
    return HttpResponse(
        body,
        content_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": reverse("tour")},
    )
