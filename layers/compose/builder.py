"""Compose a map page with folium from a MapPage: map, basemap, plugins, registry layers.

Layer data never passes through folium's popups or tooltips (which do not escape): each layer is
a small script calling hehuachi-map.js with a JSON config, escaped for a <script> context.

folium (with branca, jinja2 and the pandas it loads) is imported when a map is built: the
channels import this module for its configurations too, and a worker that serves only the API
and tiles never loads it (docs/benchmarks.md, "Light workers").

Long because one map page is one composition: the basemap and its GCJ-02 choice, the folium
elements, every registry layer's config with its labels and popups, the print areas and the
offline MBTiles settings read each other's parts; split, each file would import the others.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.gis.geos import LineString
from django.templatetags.static import static
from django.urls import reverse

from layers.compose import words
from layers.compose.assets import LOCATE_ICON, asset_url, use_vendored_assets
from layers.domain import labels, registry
from layers.domain.pages import MapLayer, MapPage
from layers.geo import geometry as geo
from layers.io import mbtiles as basemap
from layers.query import access, encode, people

if TYPE_CHECKING:
    import folium

WALKING_M_PER_MIN = 75  # 4.5 km/h


def script_json(value) -> str:
    """JSON that is safe inside a <script> element (no </script>, no HTML comment, no U+2028)."""
    text = json.dumps(value, ensure_ascii=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


@cache
def _elements():
    """(PageSetup, RegistryLayer): folium elements, defined on the first map built."""
    from branca.element import MacroElement
    from folium.elements import JSCSSMixin
    from jinja2 import Template

    class PageSetup(JSCSSMixin):
        """Our page script (and the libraries it needs), loaded after folium's own links."""

        _template = Template(
            """{% macro script(this, kwargs) %}
            window.hehuachi.setup({{ this._parent.get_name() }}, {{ this.config }});
            {% endmacro %}"""
        )

        def __init__(self, config: dict, *, cluster: bool, shift: bool, tiles: bool = False):
            super().__init__()
            self._name = "HehuachiSetup"
            self.config = script_json(config)
            self.default_js = []
            self.default_css = []
            if cluster:
                self.default_js.append(("markercluster", asset_url("markercluster_js")))
                self.default_css.append(("markercluster_css", asset_url("markercluster_css")))
                self.default_css.append(
                    ("markercluster_default", asset_url("markercluster_default_css"))
                )
            if tiles:
                self.default_js.append(("vectorgrid", asset_url("vectorgrid_js")))
            if shift:
                self.default_js.append(("gcj02", static("js/gcj02.js")))
            self.default_js.append(("hehuachi_map", static("js/hehuachi-map.js")))
            self.default_js.append(("hehuachi_labels", static("js/hehuachi-labels.js")))
            self.default_js.append(("hehuachi_where", static("js/hehuachi-where.js")))

    class RegistryLayer(MacroElement):
        """One registry layer, drawn by hehuachi-map.js from the API or embedded data."""

        _template = Template(
            """{% macro script(this, kwargs) %}
            window.hehuachi.addLayer({{ this._parent.get_name() }}, {{ this.config }});
            {% endmacro %}"""
        )

        def __init__(self, config: dict):
            super().__init__()
            self._name = "RegistryLayer"
            self.config = script_json(config)

    return PageSetup, RegistryLayer


def _field_labels(spec, names) -> list[dict]:
    """Popup rows: labels in both languages, and how a value reads: a linked feature by its
    name (with its page), a person by their name (never an id or a user name)."""
    from django.contrib.auth import get_user_model

    out = []
    for name in names:
        if name in spec.computed_labels:
            zh, en, kind = spec.computed_labels[name]
            out.append({"name": name, "zh": zh, "en": en, "kind": kind})
            continue
        field = spec.model._meta.get_field(name)
        row = {
            "name": name,
            "zh": labels.field_label(spec.model, name, "zh"),
            "en": labels.field_label(spec.model, name, "en"),
        }
        if field.many_to_one and field.related_model is get_user_model():
            row["user"] = True
        elif field.many_to_one and field.related_model in registry.MODELS:
            row["link"] = registry.for_model(field.related_model).slug
        out.append(row)
    return out


# Layers small enough that every page may carry their names (popups name a linked feature).
NAMED_LAYERS = ("communities", "grid-cells", "renovation-sites")


def page_links(user, lang: str) -> dict:
    """What popups need to name and link features: the feature page and API URL templates,
    the names of the small layers the user may read and, for roles, people's names."""
    names = {}
    for slug in NAMED_LAYERS:
        spec = registry.get(slug)
        if not access.can_read(user, spec) or "name" not in access.output_fields(user, spec):
            continue
        rows = spec.model.objects.values_list("pk", "name", "name_en")
        names[slug] = {pk: (en or zh) if lang == "en" else zh for pk, zh, en in rows}
    return {
        "feature_url": reverse("feature", args=["SLUG", 1]).replace("/SLUG/1/", "/{slug}/{id}/"),
        "api_url": reverse("api:layers").replace("/layers/", "/{slug}/{id}/"),
        "names": names,
        "users": people.names_by_username() if access.is_staff_reader(user) else {},
    }


def layer_config(layer: MapLayer, user) -> dict:
    spec = registry.get(layer.slug)
    shifted = basemap_name() == "amap"
    tile_template = reverse("tile", args=[spec.slug, 0, 0, 0]).replace(
        "/0/0/0.pbf", "/{z}/{x}/{y}.pbf"
    )
    visible = set(access.output_fields(user, spec))
    if visible and spec.computed_properties:
        visible |= set(spec.computed_properties())
    vocabularies = {
        name: {"name": v.name, "zh": v.zh, "en": v.en, "terms": v.legend()}
        for name, v in {**spec.vocabularies(), **spec.list_fields}.items()
        if name in visible
    }
    popup_names = spec.public_fields if not access.output_fields(user, spec) else spec.popup_fields
    popup_names = [n for n in popup_names if n in visible]
    title_zh, title_en = layer.title or (spec.title_zh, spec.title_en)
    tiled = layer.tiles and not shifted
    config = {
        "slug": spec.slug,
        "title_zh": title_zh,
        "title_en": title_en,
        "url": reverse(f"api:{spec.slug}-list"),
        "status_field": spec.status_field,
        # Features are filled with the colour of this field's term (the status by default).
        "color_field": spec.color_by,
        "vocabularies": vocabularies,
        "popup": _field_labels(spec, popup_names),
        # Tiles show a generalized layer (blocks of buildings) below its detail zoom; GeoJSON
        # has no blocks, so a layer read by viewport starts at the detail zoom.
        "min_zoom": spec.min_zoom if tiled else max(spec.min_zoom, spec.generalized_below),
        # From this zoom each feature is itself (and clickable); below, blocks let clicks through.
        "detail_zoom": max(spec.min_zoom, spec.generalized_below),
        # On a GCJ-02 basemap tiles cannot be shifted for display: viewport GeoJSON instead.
        "viewport": layer.viewport or (layer.tiles and shifted),
        "tiles": tile_template if tiled else None,
        "max_zoom": spec.max_zoom,
        "cluster": layer.cluster,
        "outline": layer.outline,
        "dash": layer.dash,
        "visible": layer.visible,
        "tint": layer.tint,
        "tint_source": layer.tint_source,
        "ring_field": layer.ring_field,
        "numbered": layer.numbered,
        "params": layer.params,
        "color": spec.status_vocabulary.terms[0].color,
        # Redrawn when the live-update process pushes a change (static/js/hehuachi-map.js).
        "live": spec.live and not layer.embed,
    }
    # The admin's change page opens for staff only (editors); others read the popup.
    if layer.detail and user.is_staff and access.can_edit(user, spec):
        meta = spec.model._meta
        config["detail_url"] = reverse(
            f"admin:{meta.app_label}_{meta.model_name}_change", args=[0]
        ).replace("/0/", "/{id}/")
    if layer.embed:
        config["data"] = json.loads(embedded_collection(spec, user))
    return config


def basemap_layers(user, *, embed: bool) -> list[dict]:
    """The reference layers (streets, water, landmarks) drawn under a map's features as the
    offline basemap: embedded on small public pages, else requested for the visible bbox."""
    out = []
    for spec in registry.LAYERS:
        if not spec.reference or not access.can_read(user, spec):
            continue
        layer = MapLayer(spec.slug, embed=embed, viewport=not embed)
        config = layer_config(layer, user)
        config["basemap"] = True
        out.append(config)
    return out


def nearest_config(page: MapPage, user, lang: str) -> list[dict]:
    """The page's "nearest" searches the user may run, each with the layer's nearest URL, k,
    and the field the user picks a value of, with its choices (the first is selected)."""
    out = []
    for nearest in page.nearest:
        spec = registry.get(nearest.slug)
        if not access.can_read(user, spec):
            continue
        config = {
            "slug": spec.slug,
            "url": reverse(f"api:{spec.slug}-nearest"),
            "k": nearest.k,
            "title": nearest.title[1] if lang == "en" else nearest.title[0],
            "choose": nearest.choose,
            "label": "",
            "choices": [],
            # The page embeds the layer: searched in the page, the position stays there.
            "local": any(layer.slug == spec.slug and layer.embed for layer in page.layers),
            "statuses": list(spec.nearest_statuses),
        }
        if nearest.choose:
            vocabulary = spec.vocabularies()[nearest.choose]
            config["label"] = vocabulary.en if lang == "en" else vocabulary.zh
            config["choices"] = [
                {
                    "value": t.value,
                    "label": t.en if lang == "en" else t.zh,
                    "selected": t.value == nearest.default,
                }
                for t in vocabulary.terms
            ]
        out.append(config)
    return out


def embedded_collection(spec, user) -> str:
    fields = access.output_fields(user, spec)
    features = encode.encode_features(spec.model.objects.all(), spec, fields)
    return f'{{"type": "FeatureCollection", "features": {features}}}'


def tour_route(spec_slug: str = "viewpoints") -> dict:
    """The walking route through the open and planned viewpoints in tour order, in metres."""
    spec = registry.get(spec_slug)
    points = [vp.geom for vp in spec.model.objects.order_by("tour_order")]
    if len(points) < 2:
        return {"coordinates": [], "length_m": 0, "minutes": 0}
    line = LineString([p.coords for p in points], srid=geo.STORAGE_SRID)
    length = geo.metric_length(line)
    return {
        "coordinates": [[round(y, 7), round(x, 7)] for x, y in line.coords],
        "length_m": round(length),
        "minutes": round(length / WALKING_M_PER_MIN),
    }


BASEMAPS = {
    "osm": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "© OpenStreetMap contributors",
    ),
    "tianditu": (
        "https://t{s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk={key}",
        "© 天地图 Tianditu",
    ),
    "amap": (
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
        "&x={x}&y={y}&z={z}",
        "© 高德地图 AMap (GCJ-02: our data is shifted for display)",
    ),
}


def basemap_name() -> str:
    name = getattr(settings, "MAP_BASEMAP", "none")
    if basemap.mbtiles_path() is not None:
        return "mbtiles"
    if name == "tianditu" and not getattr(settings, "TIANDITU_KEY", ""):
        return "none"
    return name if name in BASEMAPS else "none"


def mbtiles_config() -> dict:
    """The configured MBTiles package as the maps use it: XYZ URL, raster or vector, zooms."""
    meta = basemap.metadata()
    return {
        "url": reverse("basemap-tile", args=[0, 0, 0]).replace("/0/0/0", "/{z}/{x}/{y}"),
        "vector": basemap.is_vector(meta),
        "maxzoom": int(meta.get("maxzoom") or 18),
        "attribution": meta.get("attribution") or meta.get("name") or "MBTiles",
    }


def build_map(page: MapPage, user, *, extra: dict | None = None, show=()) -> folium.Map:
    """The page's folium map; the layers in `show` are switched on whatever their default."""
    import folium
    from folium import plugins

    PageSetup, RegistryLayer = _elements()  # noqa: N806 (classes)
    use_vendored_assets()
    minx, miny, maxx, maxy = settings.SERVICE_AREA
    centre = [31.7835, 119.9475]
    m = folium.Map(
        location=centre,
        zoom_start=page.zoom,
        tiles=None,
        control_scale=False,  # hehuachi-map.js adds a metric-only scale
        max_bounds=True,
        min_lat=miny,
        max_lat=maxy,
        min_lon=minx,
        max_lon=maxx,
        prefer_canvas=False,
        # Without a tile layer folium sets no maxZoom, and marker clustering refuses to start.
        maxZoom=20,
    )
    base = basemap_name()
    package = mbtiles_config() if base == "mbtiles" else None
    if package and not package["vector"]:
        folium.TileLayer(
            tiles=package["url"],
            attr=package["attribution"],
            name="mbtiles",
            min_zoom=0,
            max_native_zoom=package["maxzoom"],
            max_zoom=20,
        ).add_to(m)
    elif base not in ("none", "mbtiles"):
        url, attribution = BASEMAPS[base]
        url = url.replace("{key}", getattr(settings, "TIANDITU_KEY", ""))
        subdomains = "01234567" if base == "tianditu" else "1234"
        folium.TileLayer(
            tiles=url, attr=attribution, name=base, subdomains=subdomains, max_zoom=20
        ).add_to(m)
    PageSetup(
        {
            "page": page.slug,
            "shift": base == "amap",
            "basemap_tiles": package if package and package["vector"] else None,
            "control_words": words.control_words(),
            **page_links(user, (extra or {}).get("lang", "zh")),
            **(extra or {}),
        },
        cluster=any(layer.cluster for layer in page.layers),
        shift=base == "amap",
        tiles=any(layer.tiles for layer in page.layers) or bool(package and package["vector"]),
    ).add_to(m)
    # The controls speak the page's language (layers/compose/words.py).
    if page.measure:
        plugins.MeasureControl(
            position="topleft",
            primary_length_unit="meters",
            secondary_length_unit="kilometers",
            primary_area_unit="sqmeters",
            secondary_area_unit="hectares",
            units=words.measure_units(),
        ).add_to(m)
    if page.locate:
        plugins.LocateControl(
            auto_start=False, flyTo=True, strings=words.locate_strings(), **LOCATE_ICON
        ).add_to(m)
    plugins.Fullscreen(**words.fullscreen_options()).add_to(m)
    if base == "none":
        for config in basemap_layers(user, embed=page.embed_basemap):
            RegistryLayer(config).add_to(m)
    for layer in page.layers:
        config = layer_config(layer, user)
        if layer.slug in show:
            config["visible"] = True
        RegistryLayer(config).add_to(m)
    return m


# folium's map template adds a second viewport tag that forbids zooming the page (maximum-scale,
# user-scalable=no): our base template has the one viewport tag, which allows it (WCAG 1.4.4).
_FOLIUM_VIEWPORT = re.compile(r"<meta\s+name=\"viewport\"[^>]*>", re.IGNORECASE)


# How folium's templates call jQuery: $(`<div ...>`) in popups, $(document).ready(...).
JQUERY_CALL = re.compile(r"\$\(\s*[`'\"(a-zA-Z]")
# folium puts its script files in <head>, where each holds up the first paint until it has
# come and run (about 1 s on a phone over 4G for Leaflet and ours). They go to "scripts",
# which the templates place at the end of <body> just before the map's own script: the same
# order of execution, after the page's text and images are on screen.
_SCRIPT_FILE = re.compile(r"[ \t]*<script\b[^>]*\bsrc=[^>]*>\s*</script>\s*", re.IGNORECASE)


def render_parts(m: folium.Map) -> dict[str, str]:
    """folium's header (styles, style sheets), body, script files and script, to place into our
    own page template: the script files and the script at the end of <body>, in that order."""
    root = m.get_root()
    root.render()
    header = _FOLIUM_VIEWPORT.sub("", root.header.render())
    script = root.script.render()
    files = "".join(match.group(0) for match in _SCRIPT_FILE.finditer(header))
    if JQUERY_CALL.search(script):  # an element of folium's that needs jQuery (assets.py)
        files = f'<script src="{asset_url("jquery_js")}"></script>\n' + files
    return {
        "header": _SCRIPT_FILE.sub("", header),
        "html": root.html.render(),
        "scripts": files,
        "script": script,
    }
