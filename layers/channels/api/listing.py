"""What the REST list writes, shared by the viewset (views.py) and the compiled pages
(fastlist.py), so both write the same bytes: the GeoJSON response, the counts and links."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse

from layers.query import counting

GEOJSON = "application/geo+json"


def geojson_response(text: str, status: int = 200, **headers) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type=GEOJSON)
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


def list_body(request, page, size, total, exact, returned, features: str) -> str:
    """The list's GeoJSON text: counts, next/previous links and the features PostGIS encoded
    (the viewset's ORM path and the compiled one write the same bytes)."""
    more = offset_of(page, size) + size < total if exact else returned == size
    links = {
        "next": _page_url(request, page + 1) if more else None,
        "previous": _page_url(request, page - 1) if page > 1 else None,
    }
    head = json.dumps({"type": "FeatureCollection", "count": total, "count_exact": exact, **links})
    return f'{head[:-1]}, "features": {features}}}'


def count_cap(exact_wanted: bool, size: int) -> int:
    return settings.API_EXACT_COUNT if exact_wanted else counting.cheap_cap(size)


def offset_of(page: int, size: int) -> int:
    return (page - 1) * size


def _page_url(request, page: int) -> str:
    params = request.GET.copy()
    params["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
