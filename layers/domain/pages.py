"""The map pages, declared like layers: which registry layers each page draws, and how."""

from __future__ import annotations

from dataclasses import dataclass, field

from layers.domain import registry
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER


@dataclass(frozen=True)
class MapLayer:
    slug: str
    # Fetch by the visible bbox as the map moves; else once for the whole area.
    viewport: bool = False
    # Draw from our vector tiles (/tiles/<slug>/…): layers too large even for viewport GeoJSON.
    tiles: bool = False
    cluster: bool = False
    outline: bool = False
    dash: str | None = None
    visible: bool = True
    # Colour this layer by the status of the feature of another layer it lies in.
    tint: dict | None = None
    tint_source: bool = False
    # Point layers: ring colour from this vocabulary field (e.g. hazard level).
    ring_field: str | None = None
    # Popups link to the admin change page.
    detail: bool = False
    # Embed the layer's (public) data in the page instead of fetching it (small public layers).
    embed: bool = False
    numbered: str | None = None
    params: dict = field(default_factory=dict)
    # The name in the layer switcher when the page calls the layer something else (zh, en).
    title: tuple[str, str] | None = None


@dataclass(frozen=True)
class Nearest:
    """A "nearest" panel: the k nearest features of a layer to where the user is (locate) or
    clicks, with their distances, from the layer's generic /api/v1/<slug>/nearest/."""

    slug: str
    title: tuple[str, str]
    k: int = 5
    # A vocabulary field of the layer the user picks a value of (e.g. the kind of service).
    choose: str | None = None
    default: str | None = None


@dataclass(frozen=True)
class MapPage:
    slug: str
    title_zh: str
    title_en: str
    roles: tuple[str, ...]  # empty: public
    layers: tuple[MapLayer, ...]
    # (layer slug, field) pairs offered as filters above the map.
    filters: tuple[tuple[str, str], ...] = ()
    measure: bool = False
    locate: bool = False
    zoom: int = 15
    # "Nearest" searches offered in the side panel (the first is selected; the user may switch).
    nearest: tuple[Nearest, ...] = ()
    # A "print" action: a render_map job of the page's layers over the visible extent.
    printable: bool = False
    # The reference layers (the offline basemap) embedded in the page (small public pages and
    # the published tour) instead of requested for the visible bbox.
    embed_basemap: bool = False
    # A date control: the page's layers as they were on a day (as_of, from history).
    history: bool = False


PLANNING = MapPage(
    slug="planning",
    title_zh="规划项目图",
    title_en="Planning map",
    roles=(PLANNER, EDITOR),
    layers=(
        MapLayer("communities", outline=True),
        MapLayer("grid-cells", outline=True, dash="4 4", visible=False),
        MapLayer("renovation-sites", tint_source=True, detail=True),
        MapLayer(
            "buildings",
            tiles=True,
            tint={"via": "renovation_site", "layer": "renovation-sites"},
            detail=True,
        ),
        MapLayer("pocket-parks", detail=True),
        MapLayer("service-points", visible=False, ring_field="status", detail=True),
    ),
    filters=(("renovation-sites", "phase"), ("renovation-sites", "kind")),
    measure=True,
    printable=True,
    history=True,
)

INSPECTION = MapPage(
    slug="inspection",
    title_zh="安全隐患巡查图",
    title_en="Hazard inspection map",
    roles=(INSPECTOR, EDITOR),
    layers=(
        MapLayer("communities", outline=True),
        MapLayer("grid-cells", outline=True, dash="4 4"),
        MapLayer("hazards", viewport=True, cluster=True, ring_field="level", detail=True),
        MapLayer("service-points", visible=False, ring_field="status", detail=True),
    ),
    filters=(("hazards", "category"), ("hazards", "status"), ("hazards", "grid")),
    measure=True,
    locate=True,
    printable=True,
    history=True,
    nearest=(
        Nearest("hazards", ("最近的未销号隐患", "Nearest open hazards"), k=10),
        Nearest(
            "service-points",
            ("最近的服务点", "Nearest service points"),
            k=5,
            choose="kind",
            default="grid_station",
        ),
    ),
)

TOUR = MapPage(
    slug="tour",
    title_zh="大庙弄文化游览图",
    title_en="Damiaonong cultural tour",
    roles=(),
    layers=(
        MapLayer("pocket-parks", embed=True),
        MapLayer("viewpoints", embed=True, numbered="tour_order"),
        MapLayer(
            "service-points",
            embed=True,
            visible=False,
            ring_field="status",
            title=("附近服务", "Nearby services"),
        ),
    ),
    zoom=16,
    locate=True,
    embed_basemap=True,
    nearest=(
        Nearest(
            "service-points",
            ("找最近的服务点", "Find the nearest service point"),
            k=3,
            choose="kind",
            default="elderly_care",
        ),
    ),
)

# A stop page of the tour (/tour/stops/<n>/): a small map around one viewpoint.
STOP = MapPage(
    slug="stop",
    title_zh="游览站点",
    title_en="Tour stop",
    roles=(),
    layers=(MapLayer("viewpoints", embed=True, numbered="tour_order"),),
    zoom=17,
    embed_basemap=True,
)

# The anonymous home page's overview: every public layer of the registry, embedded.
HOME = MapPage(
    slug="home",
    title_zh="公共图层总览",
    title_en="Public layers at a glance",
    roles=(),
    layers=tuple(
        MapLayer(spec.slug, embed=True)
        for spec in registry.LAYERS
        if spec.is_public and not spec.reference
    ),
    zoom=15,
    embed_basemap=True,
)

PAGES = {page.slug: page for page in (PLANNING, INSPECTION, TOUR, STOP, HOME)}

# The small map of a feature's own page (/features/<layer>/<id>/): the offline basemap and the
# feature itself, drawn from the page's configuration (no layer of its own).
FEATURE = MapPage(
    slug="feature",
    title_zh="要素",
    title_en="Feature",
    roles=(),
    layers=(),
    zoom=17,
    embed_basemap=True,
)
