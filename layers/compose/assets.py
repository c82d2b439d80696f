"""Point folium at our vendored copies in static/vendor/ instead of its CDNs.

folium 0.20 loads Leaflet, jQuery, Bootstrap, Font Awesome and every plugin from jsdelivr,
cdnjs, code.jquery.com and netdna; the map pages must work offline on the intranet (PITFALLS.md).
folium (which loads pandas) is imported when a map is built, not when this module is.
"""

from __future__ import annotations

from functools import cache

from django.templatetags.static import static

# Paths under STATIC_URL (give them to {% static %} / static()), one entry per file a page may
# link to. Versions match folium 0.20's defaults except where docs/VENDORED.md says otherwise.
ASSETS: dict[str, str] = {
    "leaflet_js": "vendor/leaflet/1.9.4/leaflet.js",
    "leaflet_css": "vendor/leaflet/1.9.4/leaflet.css",
    "jquery_js": "vendor/jquery/3.7.1/jquery.min.js",
    "markercluster_js": "vendor/leaflet.markercluster/1.5.3/leaflet.markercluster.js",
    "markercluster_css": "vendor/leaflet.markercluster/1.5.3/MarkerCluster.css",
    "markercluster_default_css": "vendor/leaflet.markercluster/1.5.3/MarkerCluster.Default.css",
    "locatecontrol_js": "vendor/leaflet.locatecontrol/0.66.2/L.Control.Locate.min.js",
    "locatecontrol_css": "vendor/leaflet.locatecontrol/0.66.2/L.Control.Locate.min.css",
    "measure_js": "vendor/leaflet-measure/3.1.0/leaflet-measure.js",
    "measure_css": "vendor/leaflet-measure/3.1.0/leaflet-measure.css",
    "fullscreen_js": "vendor/leaflet.fullscreen/3.0.0/Control.FullScreen.js",
    "fullscreen_css": "vendor/leaflet.fullscreen/3.0.0/Control.FullScreen.css",
    # Draws our MVT tiles; its own license is "Beerware" (package.json beside it).
    "vectorgrid_js": "vendor/leaflet.vectorgrid/1.3.0/Leaflet.VectorGrid.bundled.min.js",
}


# class -> (default_js, default_css) as (folium's link name, ASSETS key). The names are folium's
# own, so the header still de-duplicates a file that two elements ask for.
#
# folium.Map: only Leaflet is kept.
# - jQuery is linked only by a map whose script calls it (builder.render_parts, JQUERY_CALL):
#   folium's Popup template calls $(`...`) for every popup (Marker(popup=...),
#   MarkerCluster(popups=...)) and Map.keep_in_front() emits $(document).ready(...); without it
#   the first popup would throw a ReferenceError that stops the rest of folium's script. Our
#   pages draw their layers and popups in static/js/hehuachi-map.js and call none of it: 28 KB
#   and its start-up saved on a phone (issue 28).
# - DROPPED: bootstrap js/css, glyphicons (Bootstrap 3), awesome-markers js/css and
#   leaflet.awesome.rotate css. No template of Map, MarkerCluster, LocateControl, MeasureControl
#   or Fullscreen uses them; they serve only folium.Icon (L.AwesomeMarkers), which we do not use:
#   use L.divIcon / folium.DivIcon, folium.CustomIcon with a static image, or CircleMarker.
# - Font Awesome is DROPPED everywhere: leaflet.locatecontrol 0.66.2 draws its button with
#   "fa fa-map-marker" / "fa fa-spinner fa-spin" by default, but builder.py gives it our own
#   icon classes (LOCATE_ICON, drawn in CSS by static/css/hehuachi-map.css). Its 19 KB of CSS
#   and 147 KB of webfont for one button cost a phone on 4G about a second (issue 28,
#   docs/benchmarks.md "Lighthouse").
@cache
def _links() -> dict[type, tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    import folium
    from folium import plugins

    return {
        folium.Map: (
            [("leaflet", "leaflet_js")],
            [("leaflet_css", "leaflet_css")],
        ),
        plugins.MarkerCluster: (
            [("markerclusterjs", "markercluster_js")],
            [
                ("markerclustercss", "markercluster_css"),
                ("markerclusterdefaultcss", "markercluster_default_css"),
            ],
        ),
        plugins.LocateControl: (
            [("Control_locate_min_js", "locatecontrol_js")],
            [("Control_locate_min_css", "locatecontrol_css")],
        ),
        plugins.MeasureControl: (
            [("leaflet_measure_js", "measure_js")],
            [("leaflet_measure_css", "measure_css")],
        ),
        plugins.Fullscreen: (
            [("Control.Fullscreen.js", "fullscreen_js")],
            [("Control.FullScreen.css", "fullscreen_css")],
        ),
    }


# The locate button's icon classes (instead of Font Awesome's): a ring and a dot, turning while
# the phone looks for its position.
LOCATE_ICON = {"icon": "hh-locate-icon", "iconLoading": "hh-locate-icon hh-locate-busy"}


def asset_url(key: str) -> str:
    """The URL of one vendored file (hashed name under the manifest storage)."""
    return static(ASSETS[key])


def use_vendored_assets() -> None:
    """Make folium.Map and the plugins we use link to static/vendor/ instead of CDNs.

    Idempotent and cheap: call it before building each map (not at import or in AppConfig.ready:
    under the manifest storage static() needs the manifest, which collectstatic itself writes).
    Fresh lists are assigned to the classes, never mutated: folium's add_js_link/add_css_link
    mutate the class-level lists, and Map.default_js is folium.folium._default_js itself.
    """
    for cls, (js, css) in _links().items():
        cls.default_js = [(name, asset_url(key)) for name, key in js]
        cls.default_css = [(name, asset_url(key)) for name, key in css]
