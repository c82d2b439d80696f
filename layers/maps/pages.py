"""The map pages, declared like layers: which registry layers each page draws, and how."""

from __future__ import annotations

from dataclasses import dataclass, field

from layers.roles import EDITOR, INSPECTOR, PLANNER


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
    ),
    filters=(("renovation-sites", "phase"), ("renovation-sites", "kind")),
    measure=True,
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
    ),
    filters=(("hazards", "category"), ("hazards", "status"), ("hazards", "grid")),
    measure=True,
    locate=True,
)

TOUR = MapPage(
    slug="tour",
    title_zh="大庙弄文化游览图",
    title_en="Damiaonong cultural tour",
    roles=(),
    layers=(
        MapLayer("pocket-parks", embed=True),
        MapLayer("viewpoints", embed=True, numbered="tour_order"),
    ),
    zoom=16,
)

PAGES = {page.slug: page for page in (PLANNING, INSPECTION, TOUR)}
