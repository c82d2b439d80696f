"""GeoJSON request bodies (application/geo+json) parse as JSON."""

from rest_framework.parsers import JSONParser


class GeoJSONParser(JSONParser):
    media_type = "application/geo+json"
