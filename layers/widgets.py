"""Admin map widget: OpenLayers served from our static files, no external tiles by default."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.gis.forms.widgets import OpenLayersWidget
from django.core.cache import cache

REFERENCE_CACHE_KEY = "layers:widget-reference"


def reference_outlines() -> dict:
    """Community and grid outlines drawn under the edited geometry (the offline 'basemap')."""
    cached = cache.get(REFERENCE_CACHE_KEY)
    if cached is not None:
        return cached
    from layers.domain.models import Community, GridCell

    features = []
    for model, kind in ((GridCell, "grid"), (Community, "community")):
        for name, geom in model.objects.values_list("name", "geom"):
            features.append(
                {
                    "type": "Feature",
                    "properties": {"name": name, "kind": kind},
                    "geometry": json.loads(geom.simplify(0.00001).json),
                }
            )
    collection = {"type": "FeatureCollection", "features": features}
    cache.set(REFERENCE_CACHE_KEY, collection, 60)
    return collection


class LocalMapWidget(OpenLayersWidget):
    template_name = "layers/widgets/openlayers.html"
    map_srid = 3857

    class Media:
        extend = False
        css = {"all": ("vendor/ol/7.2.2/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/7.2.2/ol.js", "gis/js/OLMapWidget.js")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        from geo_service.middleware.security import current_nonce

        context["csp_nonce"] = current_nonce()  # for the widget's inline script (CSP)
        minx, miny, maxx, maxy = settings.SERVICE_AREA
        context.update(
            basemap=settings.ADMIN_BASEMAP,
            default_lon=(minx + maxx) / 2,
            default_lat=(miny + maxy) / 2,
            default_zoom=14,
            reference_json=json.dumps(reference_outlines(), ensure_ascii=False),
        )
        return context
