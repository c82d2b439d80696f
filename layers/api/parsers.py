"""GeoJSON bodies: application/geo+json is accepted as JSON, and may be asked for."""

from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer


class GeoJSONParser(JSONParser):
    media_type = "application/geo+json"


class GeoJSONRenderer(JSONRenderer):
    """Lets clients ask for application/geo+json (lists and features are GeoJSON already)."""

    media_type = "application/geo+json"
    format = "geojson"


class JSONErrorsMixin:
    """Errors are application/json whatever the client accepted (they are not GeoJSON)."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400 and hasattr(response, "accepted_renderer"):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = "application/json"
        return response
