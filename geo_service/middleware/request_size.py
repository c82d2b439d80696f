"""Refusals in each channel's own words, and the query-string cap that uses them.

A query string longer than MAX_QUERY_STRING_BYTES (64 KiB) is answered 414 here, before anything
parses it: the OGC API's JSON exception on /ogc/, an OWS ExceptionReport on /wfs/, `{"detail"}`
on /api/ and /tiles/, plain text elsewhere. gunicorn's own request-line limit
(geo_service/gunicorn.conf.py, WEB_LIMIT_REQUEST_LINE, 128 KiB) lies above it, so a client meets
gunicorn's HTML 414 only past that outer bound; a CQL2 filter of 20,000 characters
(layers.query.cql.MAX_FILTER_LENGTH), percent-encoded, fits below it.

`refusal` is also how geo_service.middleware.limits answers 429 on /ogc/ and /wfs/. This module
imports nothing from layers (geo_service/middleware is below every layer).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse


def refusal(path: str, status: int, code: str, text: str, locator: str | None = None):
    """An error answer shaped as the channel of `path` shapes its own."""
    if path == "/ogc" or path.startswith("/ogc/"):
        description = f"{locator}: {text}" if locator else text
        response = JsonResponse(
            {"code": code, "description": description},
            status=status,
            json_dumps_params={"ensure_ascii": False},
        )
    elif path.startswith("/wfs/"):
        from gisserver.exceptions import WFSException

        response = WFSException(text, code=code, locator=locator, status_code=status).as_response()
    elif path.startswith(("/api/", "/tiles/")):
        response = JsonResponse({"detail": text}, status=status)
    else:
        response = HttpResponse(text, content_type="text/plain; charset=utf-8", status=status)
    return response


def _longest_parameter(query_string: str) -> str | None:
    longest, name = -1, None
    for pair in query_string.split("&"):
        if len(pair) > longest:
            longest, name = len(pair), pair.partition("=")[0][:40]
    return name or None


class QueryStringLimitMiddleware:
    """414 for a query string over settings.MAX_QUERY_STRING_BYTES, in the channel's words."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query_string = request.META.get("QUERY_STRING", "")
        limit = settings.MAX_QUERY_STRING_BYTES
        if len(query_string) > limit:
            path = request.path_info
            code = "OperationParsingFailed" if path.startswith("/wfs/") else "URITooLong"
            return refusal(
                path,
                414,
                code,
                f"the query string is {len(query_string)} bytes long, at most {limit}",
                locator=_longest_parameter(query_string),
            )
        return self.get_response(request)
