"""Print-quality maps: a PNG or an A4/A3 PDF of a selection of layers, rendered on the server.

geopandas draws the layers (projected to CGCS2000 / 3-degree Gauss-Krüger CM 120E, EPSG:4549, the
surveying institute's grid: metres on the paper) with matplotlib; no basemap is fetched. The sheet
has the title and subtitle, a legend from the registry's palettes (layers/domain/vocabularies.py),
a scale bar in metres, a north arrow, the date, the data note and the CRS.

Chinese text: Debian's fonts-noto-cjk (Noto Sans CJK SC, OpenType with CFF outlines).
matplotlib cannot embed CFF outlines as a TrueType (Type 42) font — the PDF it writes then
declares a TrueType font holding CFF data, which viewers reject — so PDFs embed the glyphs
as Type 3 fonts (pdf.fonttype 3): matplotlib subsets the used glyphs itself and writes a
ToUnicode map, so the text stays searchable and extractable (pdftotext finds the labels).

`render` is also the "render_map" job kind (layers/jobs/kinds/printing.py): the print
action on the map pages and `manage.py render_map` share `clean_params` and `render`.

Long because the sheet is one drawing: frame, layers, street labels, legend, scale bar and north
arrow share one set of axes, units and fonts; split, each part would take them all as arguments.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.db.models import Q

from layers.domain import pages, registry
from layers.geo import geometry as geo
from layers.query import access, filters, spatial
from layers.query import params as p

FONT_FAMILY = "Noto Sans CJK SC"
FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
)
PRINT_SRID = 4549
CRS_NOTE = "CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549)"
PAPERS_MM = {"A4": (210, 297), "A3": (297, 420)}
FORMATS = ("png", "pdf")
ORIENTATIONS = ("landscape", "portrait")
EXTENTS = ("bbox", "community", "grid", "site")
MAX_PNG_SIDE = 8000
UNSAFE_IN_NAMES = set('\\/:*?"<>|')
PNG_DPI = 150
# A sheet covers at most the service area and this margin around it (degrees).
BBOX_MARGIN = 0.01
# Boundary layers are drawn as outlines (as the map pages draw them).
OUTLINE_LAYERS = {
    layer.slug for page in pages.PAGES.values() for layer in page.layers if layer.outline
}


def clean_params(raw: dict, user=None) -> dict:
    """The client's values checked, each by its name; user None (a command) reads every layer."""
    allowed = [spec.slug for spec in registry.LAYERS if user is None or access.can_read(user, spec)]
    raw_layers = raw.get("layers")
    if isinstance(raw_layers, str):
        raw_layers = [raw_layers]
    if not isinstance(raw_layers, list) or not all(isinstance(v, str) for v in raw_layers):
        raise p.ParamError("layers", f"expected one or more of {allowed}")
    out: dict = {"layers": p.choices("layers", raw_layers, allowed)}
    given = [name for name in EXTENTS if raw.get(name) not in (None, "")]
    if len(given) != 1:
        raise p.ParamError("bbox", "give exactly one of bbox, community, grid or site")
    name = given[0]
    if name == "bbox":
        box = spatial.bbox("bbox", _text("bbox", raw["bbox"]))
        minx, miny, maxx, maxy = box.extent
        sx0, sy0, sx1, sy1 = settings.SERVICE_AREA
        if maxx < sx0 or minx > sx1 or maxy < sy0 or miny > sy1:
            raise p.ParamError("bbox", f"lies outside the service area {settings.SERVICE_AREA}")
        # A map zoomed far out shows more than there is: the sheet keeps to the service area
        # and a margin around it.
        m = BBOX_MARGIN
        minx, miny = max(minx, sx0 - m), max(miny, sy0 - m)
        maxx, maxy = min(maxx, sx1 + m), min(maxy, sy1 + m)
        out["bbox"] = [minx, miny, maxx, maxy]
    elif name == "site":
        out["site"] = _site(_text("site", raw["site"]), user).pk
    else:
        found = filters.boundary(name, _text(name, raw[name]))
        out[name] = found.code
    out["format"] = _one("format", raw.get("format", "pdf"), FORMATS)
    out["paper"] = _one("paper", raw.get("paper", "A4"), tuple(PAPERS_MM))
    out["orientation"] = _one("orientation", raw.get("orientation", "landscape"), ORIENTATIONS)
    out["title"] = p.text(
        "title", _text("title", raw.get("title") or "荷花池街道地图"), max_length=80
    )
    out["subtitle"] = p.text(
        "subtitle", _text("subtitle", raw.get("subtitle") or ""), max_length=120
    )
    if out["format"] == "png" and raw.get("size") not in (None, ""):
        w, _, h = _text("size", raw["size"]).lower().partition("x")
        out["size"] = [
            p.integer("size", w, low=200, high=MAX_PNG_SIDE),
            p.integer("size", h, low=200, high=MAX_PNG_SIDE),
        ]
    elif raw.get("size") not in (None, ""):
        raise p.ParamError("size", "only a PNG takes a pixel size (WIDTHxHEIGHT)")
    return out


def _site(raw: str, user=None):
    """A renovation site by id, reference or exact name (zh or en), that `user` may read."""
    spec = registry.get("renovation-sites")
    if user is not None and not access.can_read(user, spec):
        raise p.ParamError("site", "renovation sites are not for you")
    pk = p.identifier("site", raw)
    query = Q(ref=raw) | Q(name=raw) | Q(name_en=raw) | (Q(pk=pk) if pk else Q(pk__in=[]))
    found = spec.model.objects.filter(query).order_by("pk").first()
    if found is None:
        raise p.ParamError("site", f"no renovation site with id, reference or name {raw!r}")
    return found


def area_name(params: dict, lang: str = "zh") -> str:
    """The area a sheet shows, as a reader names it: a community, a grid cell or a site by
    name; "" for a drawn extent."""
    found = None
    if "site" in params:
        found = registry.get("renovation-sites").model.objects.filter(pk=params["site"]).first()
    for name in ("community", "grid"):
        if name in params:
            found = filters.boundary(name, params[name])
    if found is None:
        return ""
    return (found.name_en or found.name) if lang == "en" else found.name


def file_name(params: dict, today: date | None = None) -> str:
    """规划项目图-荷花池社区-2026-12-07.pdf: the title, the area and the day, safe for a disk."""
    parts = [params["title"], area_name(params), (today or date.today()).isoformat()]
    text = "-".join(part for part in parts if part)
    text = "".join("-" if ch in UNSAFE_IN_NAMES or ord(ch) < 32 else ch for ch in text)
    return f"{text.replace(' ', '-')[:120]}.{params['format']}"


def _text(name: str, value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return p.text(name, value)


def _one(name: str, value, allowed: tuple[str, ...]) -> str:
    return p.choices(name, [_text(name, value)], allowed)[0]


def extent_of(params: dict) -> tuple[Polygon, str]:
    """The area to draw (lon/lat) and its description for the sheet."""
    if "bbox" in params:
        box = Polygon.from_bbox(tuple(params["bbox"]))
        box.srid = geo.STORAGE_SRID
        return box, "bbox " + ", ".join(f"{v:.5f}" for v in params["bbox"])
    if "site" in params:
        site = registry.get("renovation-sites").model.objects.get(pk=params["site"])
        return site.geom, f"改造项目 {site.ref or site.pk} {site.name}"
    name = "community" if "community" in params else "grid"
    found = filters.boundary(name, params[name])
    label = "社区" if name == "community" else "网格"
    return found.geom, f"{label} {found.code} {found.name}"


def _setup_matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager

    known = {f.fname for f in font_manager.fontManager.ttflist}
    for path in FONT_FILES:
        if Path(path).exists() and path not in known:
            font_manager.fontManager.addfont(path)
    if not any(f.name == FONT_FAMILY for f in font_manager.fontManager.ttflist):
        raise RuntimeError(
            f"the CJK font {FONT_FAMILY!r} is missing: install Debian's fonts-noto-cjk"
        )
    matplotlib.rcParams.update(
        {
            "font.family": [FONT_FAMILY, "DejaVu Sans"],
            "pdf.fonttype": 3,
            "axes.unicode_minus": False,
        }
    )
    import matplotlib.pyplot as plt

    return plt


def _frame(spec, area: Polygon):
    """The live features of a layer in the area, as a GeoDataFrame in EPSG:4549."""
    import geopandas as gpd
    import shapely

    field = spec.color_by
    rows = spec.model.objects.filter(geom__intersects=area).values_list("geom", field)
    geoms, values = [], []
    for geom, value in rows.iterator(chunk_size=2000):
        geoms.append(shapely.from_wkb(bytes(geom.wkb)))
        values.append(value)
    frame = gpd.GeoDataFrame({"value": values}, geometry=geoms, crs=geo.STORAGE_SRID)
    return frame.to_crs(PRINT_SRID)


def _reference_frame(slug: str, area: Polygon):
    """A reference layer's live features near the area (its envelope and a margin), in
    EPSG:4549, with their names."""
    import geopandas as gpd
    import shapely

    spec = registry.get(slug)
    near = area.envelope.buffer(0.003)
    rows = spec.model.objects.filter(geom__intersects=near).values_list("geom", "name")
    geoms, names = [], []
    for geom, name in rows:
        geoms.append(shapely.from_wkb(bytes(geom.wkb)))
        names.append(name)
    frame = gpd.GeoDataFrame({"name": names}, geometry=geoms, crs=geo.STORAGE_SRID)
    return frame.to_crs(PRINT_SRID)


def _draw_reference(ax, area: Polygon) -> dict:
    """The offline basemap under the layers: water, streets (white on a paper ground) and
    landmarks; returns what to name once the sheet's extent is known."""
    water = _reference_frame("water", area)
    if len(water):
        water.plot(ax=ax, color="#aad3df", edgecolor="#9cc6d3", linewidth=0.3, zorder=0.2)
    streets = _reference_frame("streets", area)
    if len(streets):
        streets.plot(ax=ax, color="#9e9e9e", linewidth=2.6, zorder=0.3)
        streets.plot(ax=ax, color="#ffffff", linewidth=1.8, zorder=0.4)
    landmarks = _reference_frame("landmarks", area)
    if len(landmarks):
        landmarks.plot(ax=ax, color="#8d6e63", markersize=10, zorder=30)
    ax.set_facecolor("#f3f0ea")
    return {
        "streets": list(zip(streets["name"], streets.geometry, strict=True)),
        "landmarks": list(zip(landmarks["name"], landmarks.geometry, strict=True)),
    }


def _label_reference(ax, found: dict) -> None:
    """Street names along their longest segment inside the sheet, landmark names beside their
    dots; only those inside the map frame (the lists keep what was named)."""
    import shapely

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    frame = shapely.box(x0, y0, x1, y1)
    # A light box, not a path-effect halo: path effects turn text into outlines, and the
    # names must stay text in the PDF (searchable; pdftotext reads them).
    halo = {"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.6}
    named = []
    for name, line in found["streets"]:
        part = line.intersection(frame)
        if not name or part.is_empty:
            continue
        best = None
        for piece in getattr(part, "geoms", [part]):
            coords = list(getattr(piece, "coords", []))
            for a, b in zip(coords, coords[1:], strict=False):
                if best is None or math.dist(a, b) > best[0]:
                    best = (math.dist(a, b), a, b)
        if best is None or best[0] < (x1 - x0) * 0.04:
            continue
        _, a, b = best
        angle = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
        if angle > 90:
            angle -= 180
        elif angle < -90:
            angle += 180
        ax.text(
            (a[0] + b[0]) / 2, (a[1] + b[1]) / 2, name, rotation=angle, rotation_mode="anchor",
            ha="center", va="center", fontsize=6, color="#5d5548", zorder=31,
            bbox=halo, clip_on=True,
        )  # fmt: skip
        named.append(name)
    found["streets"] = named
    marks = []
    for name, point in found["landmarks"]:
        if not name or not frame.contains(point):
            continue
        ax.text(
            point.x, point.y, "  " + name, ha="left", va="center", fontsize=6, style="italic",
            color="#5d4037", zorder=31, bbox=halo, clip_on=True,
        )  # fmt: skip
        marks.append(name)
    found["landmarks"] = marks


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map's width."""
    target = span_m / 5
    power = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * power <= target:
            return step * power
    return power


def render(params: dict, out: Path, progress=None) -> dict:
    """Draw the sheet into `out`; the report (layers and feature counts, size, legend)."""
    progress = progress or (lambda **kw: None)
    plt = _setup_matplotlib()
    import geopandas as gpd
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    area, where = extent_of(params)
    specs = [registry.get(slug) for slug in params["layers"]]
    total = len(specs) + 2
    progress(done=0, total=total, message="reading layers", force=True)

    area_frame = gpd.GeoSeries.from_wkt([area.wkt], crs=geo.STORAGE_SRID).to_crs(PRINT_SRID)
    minx, miny, maxx, maxy = area_frame.total_bounds

    width_mm, height_mm = PAPERS_MM[params["paper"]]
    if params["orientation"] == "landscape":
        width_mm, height_mm = height_mm, width_mm
    if params.get("size"):
        w_px, h_px = params["size"]
        dpi = PNG_DPI
        fig = plt.figure(figsize=(w_px / dpi, h_px / dpi), dpi=dpi)
    else:
        dpi = PNG_DPI
        fig = plt.figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=dpi)

    ax = fig.add_axes([0.04, 0.12, 0.70, 0.74])
    counts: dict[str, int] = {}
    handles = []
    for i, spec in enumerate(specs):
        frame = _frame(spec, area)
        counts[spec.slug] = len(frame)
        vocabulary = spec.vocabularies()[spec.color_by]
        title = f"{spec.title_zh} {spec.title_en}"
        outline = spec.slug in OUTLINE_LAYERS
        if len(frame):
            if outline:
                frame.boundary.plot(ax=ax, color="#444444", linewidth=0.8, zorder=1 + i)
            else:
                colours = frame["value"].map(lambda v, voc=vocabulary: voc.color(v))
                kind = spec.geometry_type
                if kind.endswith("Point"):
                    frame.plot(
                        ax=ax,
                        color=colours,
                        markersize=18,
                        edgecolor="white",
                        linewidth=0.5,
                        zorder=10 + i,
                    )
                else:
                    frame.plot(
                        ax=ax,
                        color=colours,
                        edgecolor="#333333",
                        linewidth=0.3,
                        alpha=0.85,
                        zorder=2 + i,
                    )
        handles.append(Patch(facecolor="none", edgecolor="none", label=title))
        if outline:
            handles.append(Line2D([], [], color="#444444", linewidth=0.8, label="  边界 Boundary"))
        else:
            present = set(frame["value"]) if len(frame) else set()
            for term in vocabulary.terms:
                if term.value in present:
                    handles.append(
                        Patch(
                            facecolor=term.color,
                            edgecolor="#333333",
                            label=f"  {term.zh} {term.en}",
                        )
                    )
        progress(done=i + 1, message=f"drew {spec.slug}")

    named = _draw_reference(ax, area)

    # The extent, padded and widened to the map frame's shape (equal metres on both axes).
    pad = 0.03 * max(maxx - minx, maxy - miny)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    fig_w, fig_h = fig.get_size_inches()
    frame_ratio = (fig_h * 0.74) / (fig_w * 0.70)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w, half_h = (maxx - minx) / 2, (maxy - miny) / 2
    if half_h / half_w < frame_ratio:
        half_h = half_w * frame_ratio
    else:
        half_w = half_h / frame_ratio
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for side in ax.spines.values():
        side.set_linewidth(0.8)

    # Scale bar (metres: EPSG:4549 is metric) at the lower left, alternating segments.
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    bar_x, bar_y, bar_h = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0), 0.012 * (y1 - y0)
    for k in range(4):
        ax.add_patch(
            Rectangle(
                (bar_x + k * length / 4, bar_y),
                length / 4,
                bar_h,
                facecolor="black" if k % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=50,
            )
        )
    for pos, text in ((0, "0"), (length, f"{length:g} m")):
        ax.text(
            bar_x + pos, bar_y + 1.8 * bar_h, text, ha="center", va="bottom", fontsize=7, zorder=51
        )
    # North arrow: grid north of EPSG:4549 (convergence here is under 0.05°).
    ax.annotate(
        "",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.85),
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5},
        zorder=52,
    )
    ax.text(
        0.95,
        0.955,
        "北 N",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=9,
        fontweight="bold",
        zorder=52,
    )

    _label_reference(ax, named)  # once the extent is known: only names inside the frame
    fig.text(0.04, 0.95, params["title"], fontsize=18, fontweight="bold", va="top")
    # Default subtitle: the area's name and the day.
    subtitle = params["subtitle"] or " · ".join(
        x for x in (area_name(params), date.today().isoformat()) if x
    )
    fig.text(0.04, 0.905, subtitle, fontsize=11, va="top", color="#333333")
    legend = fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.76, 0.86),
        fontsize=7,
        frameon=False,
        title="图例 Legend",
        title_fontsize=9,
        alignment="left",
    )
    note = settings.DATA_NOTE
    footer = [
        f"日期 Date: {date.today().isoformat()}",
        f"坐标系 CRS: {CRS_NOTE}",
        f"范围 Extent: {where}",
    ]
    if note:
        footer.insert(1, f"数据说明 Data note: {note}")
    fig.text(0.04, 0.07, "    ".join(footer[:2]), fontsize=7, va="top")
    fig.text(0.04, 0.045, "    ".join(footer[2:]), fontsize=7, va="top")

    progress(done=len(specs) + 1, message="writing the file", force=True)
    out = Path(out)
    fig.savefig(out, format=params["format"], dpi=dpi, metadata=_metadata(params))
    plt.close(fig)
    progress(done=total, force=True)
    title_line = " · ".join(x for x in (params["title"], area_name(params)) if x)
    sheet = "横向" if params["orientation"] == "landscape" else "纵向"
    drawn = "，".join(f"{registry.get(s).title_zh} {n} 个" for s, n in counts.items() if n)
    report = {
        "lines": [
            f"{title_line}：{params['paper']} {sheet} {params['format'].upper()}",
            f"图上要素：{drawn or '无'}",
            f"标注街巷 {len(named['streets'])} 条、地标 {len(named['landmarks'])} 处",
        ],
        "file_name": file_name(params),
        "format": params["format"],
        "features": counts,
        "legend": [h.get_label().strip() for h in legend.legend_handles if h.get_label()],
        "extent": where,
        "crs": f"EPSG:{PRINT_SRID}",
    }
    if params["format"] == "png":
        report["pixels"] = [round(v) for v in fig.get_size_inches() * dpi]
    else:
        report["paper"] = f"{params['paper']} {params['orientation']}"
    return report


def _metadata(params: dict) -> dict:
    if params["format"] == "pdf":
        return {"Title": params["title"], "Creator": "Hehuachi map service"}
    return {"Title": params["title"]}
