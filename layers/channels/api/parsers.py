"""GeoJSON bodies: application/geo+json is accepted as JSON, and may be asked for.

Bodies are read by layers.query.params.load_json: nesting bounded, no NaN/Infinity, no NUL.
Every ParamError (a parameter or body value the shared parsers refuse) is a 400 naming it.
"""

import codecs

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from layers.query.params import ParamError, load_json


class BoundedJSONParser(JSONParser):
    """JSON with the shared contract: depth ≤ MAX_JSON_DEPTH, no NaN/Infinity, no NUL."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding") or settings.DEFAULT_CHARSET
        try:
            utf8 = codecs.lookup(encoding).name == "utf-8"
        except LookupError:
            utf8 = False
        if not utf8:  # JSON is UTF-8 (RFC 8259); other "charsets" include zlib and hex
            raise exceptions.ValidationError({"body": [f"JSON must be UTF-8, not {encoding!r}"]})
        try:
            text = stream.read().decode("utf-8") if stream is not None else ""
        except UnicodeDecodeError as exc:
            raise exceptions.ValidationError({"body": [f"not UTF-8 text: {exc}"]}) from None
        try:
            return load_json(text)
        except ParamError as exc:
            raise exceptions.ValidationError({exc.name: [exc.message]}) from None


class GeoJSONParser(BoundedJSONParser):
    media_type = "application/geo+json"


class GeoJSONRenderer(JSONRenderer):
    """Lets clients ask for application/geo+json (lists and features are GeoJSON already)."""

    media_type = "application/geo+json"
    format = "geojson"


class JSONErrorsMixin:
    """Errors are application/json whatever the client accepted (they are not GeoJSON), and a
    ParamError from the shared parsers is a 400 naming the parameter."""

    def handle_exception(self, exc):
        if isinstance(exc, ParamError):
            exc = exceptions.ValidationError({exc.name: [exc.message]})
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400 and hasattr(response, "accepted_renderer"):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = "application/json"
        return response
