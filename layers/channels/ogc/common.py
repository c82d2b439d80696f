"""What every /ogc/ view shares: JSON answers, OGC exceptions, the base URL and the
collections the caller may read (so that views.py and tiles.py need not import each other)."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse

from layers.domain import registry
from layers.query import access
from layers.query import params as p

GEOJSON = "application/geo+json"


def json_response(data, status=200, content_type="application/json", **headers) -> HttpResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = content_type
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


def ogc_error(status: int, code: str, description: str) -> HttpResponse:
    return json_response({"code": code, "description": description}, status=status)


def base_url(request) -> str:
    return request.build_absolute_uri("/ogc").rstrip("/")


def collections_of(request) -> list[registry.LayerSpec]:
    return access.readable_layers(request.caller)


def spec_or_none(request, collection_id: str):
    for spec in collections_of(request):
        if spec.slug == collection_id:
            return spec
    return None


def unknown_parameters(names: list[str]) -> HttpResponse:
    return ogc_error(400, "InvalidParameterValue", f"unknown parameter(s): {', '.join(names)}")


def wants_html(request) -> bool:
    """Whether to answer HTML: f=html, or a browser's Accept without f (else JSON)."""
    raw = p.single(request.GET, "f")
    if raw is not None and raw not in ("json", "geojson", "html"):
        raise p.ParamError("f", f"json or html, got {p._show(raw)}")
    if raw is not None:
        return raw == "html"
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "json" not in accept


def bad_parameter(exc: p.ParamError) -> HttpResponse:
    return ogc_error(400, "InvalidParameterValue", str(exc))
