"""The layer registry: one LayerSpec per layer, the single source of truth.

The admin, sample-data loading and `manage.py layers` are generated from it; the API, OGC API,
tiles, maps and import/export read the same specs. Slugs are a public contract (used in URLs).
Long because the LayerSpec and one declaration per layer are read together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from layers.domain import models
from layers.domain import vocabularies as status
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER

PUBLIC = "public"
INTERNAL = "internal"


@dataclass(frozen=True)
class LayerSpec:
    slug: str
    model: type[models.LayerFeature]
    title_zh: str
    title_en: str
    audience: str
    # Fields shown in popups and admin lists, in order.
    popup_fields: tuple[str, ...]
    # Vocabulary-backed fields a list can be filtered by (besides status).
    filter_fields: dict[str, status.Vocabulary] = field(default_factory=dict)
    # JSON list fields whose items come from a vocabulary (e.g. a park's facilities).
    list_fields: dict[str, status.Vocabulary] = field(default_factory=dict)
    # Fields anonymous users may see (public layers only); internal layers show them nothing.
    public_fields: tuple[str, ...] = ()
    # Free-text fields searched by `q` (besides name and name_en).
    search_fields: tuple[str, ...] = ()
    edit_roles: tuple[str, ...] = (EDITOR,)
    min_zoom: int = 12
    max_zoom: int = 20
    # Tile properties by zoom band, ((from_zoom, names), ...) in ascending zoom: a tile at zoom
    # z carries the id and the names of the last band starting at or below z (those the caller
    # may see; computed properties allowed). Low zooms carry only what the maps style by; a
    # click reads the rest from the API. Empty: the status and the colour field at every zoom.
    tile_fields: tuple[tuple[int, tuple[str, ...]], ...] = ()
    # Hook: a derived model drawn instead of the features below `generalized_below` (and for
    # a detailed tile over the size cap, TILE_MAX_BYTES): blocks of buildings at the low zooms
    # (layers/domain/models/generalized.py, rebuilt by a job when the layer changes).
    generalized: type | None = None
    generalized_below: int = 0
    # The natural key sample data and imports match rows on.
    natural_key: str = "ref"
    status_field: str = "status"
    # Hook: read-only properties computed in SQL (name -> ORM expression), e.g. hazards' overdue.
    computed_properties: Callable[[], dict] | None = None
    # Labels and JSON type of each computed property: name -> (zh, en, "boolean"|"integer"|...).
    computed_labels: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    # Hook: a module enforcing a lifecycle on this layer (status not writable as a field; steps
    # through perform(), a timeline, photos, who may create and edit). See
    # layers/services/workflow.py.
    workflow: str | None = None
    # Maps colour the features by this vocabulary field (default: the status).
    color_field: str | None = None
    # The statuses the nearest search (GET /api/v1/<slug>/nearest/) looks among unless the
    # caller names some with `status=`; empty: every status.
    nearest_statuses: tuple[str, ...] = ()
    # A reference layer (streets, water, landmarks): drawn under every map's features as the
    # offline basemap when MAP_BASEMAP=none (layers/compose/builder.py), not as an overlay.
    reference: bool = False
    # Pushed to open pages when it changes: every write tells PostgreSQL (NOTIFY, on commit;
    # layers/services/live.py) and the live-update process sends the features as each reader
    # may see them (Server-Sent Events, layers/channels/sse/). Maps showing it redraw it.
    live: bool = False

    @property
    def workflow_module(self):
        if self.workflow is None:
            return None
        import importlib

        return importlib.import_module(self.workflow)

    @property
    def geometry_type(self) -> str:
        """OGC name of the geometry type: Point, MultiPolygon, ..."""
        return self.model._meta.get_field("geom").geom_class.__name__

    @property
    def color_by(self) -> str:
        """The vocabulary field maps colour features by."""
        return self.color_field or self.status_field

    @property
    def status_vocabulary(self) -> status.Vocabulary:
        return self.model.status_vocabulary

    @property
    def is_public(self) -> bool:
        return self.audience == PUBLIC

    @property
    def read_roles(self) -> tuple[str, ...]:
        # Every role reads every layer; the public reads public layers (enforced by the API).
        return (PLANNER, INSPECTOR, EDITOR)

    @property
    def sample_path(self) -> Path:
        return Path(settings.BASE_DIR) / "fixtures" / f"{self.slug}.geojson"

    def title(self, lang: str = "zh") -> str:
        return self.title_en if lang.startswith("en") else self.title_zh

    def tile_fields_at(self, z: int) -> tuple[str, ...]:
        """The property names a tile at zoom z carries (before the caller's rights)."""
        bands = self.tile_fields or ((0, tuple(dict.fromkeys((self.status_field, self.color_by)))),)
        chosen = bands[0][1]
        for start, names in bands:
            if z >= start:
                chosen = names
        return chosen

    def vocabularies(self) -> dict[str, status.Vocabulary]:
        return {self.status_field: self.status_vocabulary, **self.filter_fields}


# Order matters: boundaries before what is derived from them (sample loading follows it).
LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        slug="communities",
        model=models.Community,
        title_zh="社区",
        title_en="Communities",
        audience=INTERNAL,
        popup_fields=("code", "name", "name_en", "status"),
        search_fields=("code",),
        natural_key="code",
        min_zoom=10,
    ),
    LayerSpec(
        slug="grid-cells",
        model=models.GridCell,
        title_zh="网格",
        title_en="Grid cells",
        audience=INTERNAL,
        popup_fields=("code", "name", "community", "worker", "status"),
        search_fields=("code",),
        natural_key="code",
        min_zoom=12,
    ),
    LayerSpec(
        slug="renovation-sites",
        model=models.RenovationSite,
        title_zh="改造项目",
        title_en="Renovation sites",
        audience=INTERNAL,
        popup_fields=(
            "name",
            "kind",
            "phase",
            "status",
            "progress",
            "households_total",
            "households_signed",
            "households_vacated",
            "buildings_count",
            "responsible_unit",
            "planned_end",
        ),
        filter_fields={"kind": status.RENOVATION_KIND, "phase": status.RENOVATION_PHASE},
        search_fields=("description", "description_en", "responsible_unit"),
        computed_properties=lambda: {"buildings_count": models.RenovationSite.buildings_count()},
        computed_labels={"buildings_count": ("涉及建筑", "Buildings affected", "integer")},
        edit_roles=(PLANNER, EDITOR),
        min_zoom=12,
    ),
    LayerSpec(
        slug="viewpoints",
        model=models.CulturalViewpoint,
        title_zh="大庙弄文化观景点",
        title_en="Damiaonong cultural viewpoints",
        audience=PUBLIC,
        popup_fields=("tour_order", "name", "name_en", "theme", "status", "opening_hours"),
        filter_fields={"theme": status.VIEWPOINT_THEME},
        public_fields=(
            "name",
            "name_en",
            "status",
            "theme",
            "description",
            "description_en",
            "tour_order",
            "photo",
            "opening_hours",
            "opening_hours_en",
        ),
        search_fields=("description", "description_en"),
        edit_roles=(PLANNER, EDITOR),
        min_zoom=13,
        # Few points: the tour's numbered labels need the order and the name at every zoom.
        tile_fields=((13, ("status", "theme", "tour_order", "name", "name_en")),),
    ),
    LayerSpec(
        slug="pocket-parks",
        model=models.PocketPark,
        title_zh="法治口袋公园",
        title_en="Rule-of-law pocket parks",
        audience=PUBLIC,
        popup_fields=("name", "name_en", "theme", "status", "area_m2", "facilities"),
        filter_fields={"theme": status.PARK_THEME},
        list_fields={"facilities": status.PARK_FACILITY},
        public_fields=(
            "name",
            "name_en",
            "status",
            "theme",
            "facilities",
            "description",
            "description_en",
            "area_m2",
        ),
        search_fields=("description", "description_en"),
        edit_roles=(PLANNER, EDITOR),
        min_zoom=13,
    ),
    LayerSpec(
        slug="buildings",
        model=models.Building,
        title_zh="建筑",
        title_en="Buildings",
        audience=INTERNAL,
        popup_fields=(
            "name",
            "address",
            "use",
            "floors",
            "year_built",
            "households",
            "structure",
            "heritage_protected",
            "status",
            "community",
            "renovation_site",
        ),
        filter_fields={"use": status.BUILDING_USE, "structure": status.BUILDING_STRUCTURE},
        search_fields=("address",),
        edit_roles=(PLANNER, EDITOR),
        min_zoom=12,
        # z12-z14: blocks of buildings (a footprint is a pixel or less there); z15 on: each one.
        generalized=models.BuildingBlock,
        generalized_below=15,
        # The planning map fills a building by its status, or tints it by its site's status.
        tile_fields=(
            (15, ("status", "renovation_site")),
            (18, ("status", "renovation_site", "name", "use", "floors")),
        ),
    ),
    LayerSpec(
        slug="hazards",
        model=models.SafetyHazard,
        title_zh="安全隐患",
        title_en="Safety hazards",
        audience=INTERNAL,
        popup_fields=(
            "name",
            "category",
            "level",
            "status",
            "deadline",
            "workdays_left",
            "responsible_unit",
            "assignee",
            "grid_cell",
            "community",
            "building",
        ),
        filter_fields={"category": status.HAZARD_CATEGORY, "level": status.HAZARD_LEVEL},
        search_fields=("description", "responsible_unit"),
        edit_roles=(INSPECTOR, EDITOR),
        computed_properties=lambda: {
            "overdue": models.SafetyHazard.overdue_expression(),
            "workdays_left": models.SafetyHazard.workdays_left_expression(),
        },
        # workdays_left: working days to the current step's limit; negative: overdue by so many.
        computed_labels={
            "overdue": ("逾期", "Overdue", "boolean"),
            "workdays_left": ("剩余工作日", "Working days left", "integer"),
        },
        workflow="layers.services.workflow",
        live=True,
        nearest_statuses=status.HAZARD_OPEN_STATUSES,
        min_zoom=14,
        # The inspection map: fill by status, ring by level, the overdue mark.
        tile_fields=(
            (14, ("status", "level", "overdue")),
            (17, ("status", "level", "overdue", "category", "name")),
        ),
    ),
    LayerSpec(
        slug="service-points",
        model=models.ServicePoint,
        title_zh="服务点位",
        title_en="Service points",
        audience=PUBLIC,
        popup_fields=(
            "name",
            "name_en",
            "kind",
            "status",
            "address",
            "opening_hours",
            "phone",
            "services",
            "community",
            "grid_cell",
        ),
        filter_fields={"kind": status.SERVICE_KIND},
        list_fields={"services": status.SERVICE_OFFERED},
        public_fields=(
            "name",
            "name_en",
            "status",
            "kind",
            "description",
            "description_en",
            "address",
            "opening_hours",
            "opening_hours_en",
            "phone",
            "services",
        ),
        search_fields=("description", "description_en", "address"),
        edit_roles=(PLANNER, EDITOR),
        color_field="kind",
        nearest_statuses=("open",),
        min_zoom=13,
        # A few dozen points: what the maps colour and label them by, at every zoom they show.
        tile_fields=((13, ("status", "kind", "name", "name_en")),),
    ),
    LayerSpec(
        slug="streets",
        model=models.Street,
        title_zh="街巷",
        title_en="Streets and lanes",
        audience=PUBLIC,
        popup_fields=("name", "name_en", "street_class", "status", "approximate", "note"),
        filter_fields={"street_class": status.STREET_CLASS},
        public_fields=(
            "name",
            "name_en",
            "status",
            "approximate",
            "note",
            "street_class",
        ),
        search_fields=("note",),
        color_field="street_class",
        reference=True,
        min_zoom=12,
        # The field map draws them from tiles: its style and its labels need these.
        tile_fields=((12, ("status", "street_class", "name", "name_en")),),
    ),
    LayerSpec(
        slug="water",
        model=models.Waterway,
        title_zh="水系",
        title_en="Water",
        audience=PUBLIC,
        popup_fields=("name", "name_en", "kind", "status", "approximate", "note"),
        filter_fields={"kind": status.WATER_KIND},
        public_fields=(
            "name",
            "name_en",
            "status",
            "approximate",
            "note",
            "kind",
        ),
        search_fields=("note",),
        color_field="kind",
        reference=True,
        min_zoom=12,
        # The field map draws them from tiles: its style and its labels need these.
        tile_fields=((12, ("status", "kind", "name", "name_en")),),
    ),
    LayerSpec(
        slug="landmarks",
        model=models.Landmark,
        title_zh="地标",
        title_en="Landmarks",
        audience=PUBLIC,
        popup_fields=("name", "name_en", "kind", "status", "approximate", "note"),
        filter_fields={"kind": status.LANDMARK_KIND},
        public_fields=(
            "name",
            "name_en",
            "status",
            "approximate",
            "note",
            "kind",
        ),
        search_fields=("note",),
        color_field="kind",
        reference=True,
        min_zoom=12,
        # The field map draws them from tiles: its style and its labels need these.
        tile_fields=((12, ("status", "kind", "name", "name_en")),),
    ),
)

_BY_SLUG = {spec.slug: spec for spec in LAYERS}
_BY_MODEL = {spec.model: spec for spec in LAYERS}
MODELS = frozenset(_BY_MODEL)


def get(slug: str) -> LayerSpec:
    """The spec of a layer slug; KeyError if there is none."""
    return _BY_SLUG[slug]


def for_model(model) -> LayerSpec:
    return _BY_MODEL[model if isinstance(model, type) else type(model)]


def slugs() -> tuple[str, ...]:
    return tuple(_BY_SLUG)
