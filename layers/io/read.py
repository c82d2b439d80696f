"""Read a file into a table of rows: attribute columns, shapely geometries and the file's CRS.

GeoJSON, GeoPackage, Shapefile (a folder extracted from a zip by `safety`, or a .shp), KML, DXF
go through pyogrio; CSV and XLSX through pandas, with the geometry in lon/lat columns or a WKT
column. Only local paths the service made itself are opened (never a /vsi* path from a user).
pandas, pyogrio (which loads geopandas) and shapely are imported where a file is read, so that a
web worker that never reads one does not load them (docs/benchmarks.md, "Light workers").

Long because every format has its reader here, twice over for the large ones: whole (`read`,
for the page's first look and small files) and in chunks (`open_source`, for imports of any
size), sharing the per-format row and geometry code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from layers.io.cells import restore

if TYPE_CHECKING:
    import pandas as pd
    import pyproj

FORMATS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".zip": "zipped Shapefile",
    ".csv": "CSV",
    ".xlsx": "XLSX",
    ".kml": "KML",
    ".dxf": "DXF",
}
LON_NAMES = ("lon", "lng", "longitude", "x", "经度", "easting", "东坐标")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "northing", "北坐标")
WKT_NAMES = ("wkt", "geometry", "geom", "几何")
# A spreadsheet's CRS column (as our exports write it): EPSG:4549, gcj02, … (the whitelist).
CRS_NAMES = ("crs", "坐标系")
# DXF columns that describe the drawing, not the feature.
DXF_COLUMNS = ("Layer", "PaperSpace", "SubClasses", "Linetype", "EntityHandle", "Text")


class ReadError(ValueError):
    """The file cannot be read as a table of features; the message says why."""


@dataclass
class Table:
    columns: list[str]
    rows: list[dict]
    geoms: np.ndarray
    crs: pyproj.CRS | None = None
    # Per row, a problem with its geometry found while reading (row index -> reason).
    geometry_errors: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # The CRS a spreadsheet names in its crs column (parsed against the whitelist, never GDAL).
    declared: str | None = None
    # The index of the first row in the file (a chunk of a file read in chunks: `open_source`).
    start: int = 0


def _plain(value):
    """numpy / pandas scalars as plain Python; missing values as None."""
    import pandas as pd

    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, str) and value.strip() == "":
        return None
    return value


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    return [{c: _plain(v) for c, v in zip(columns, values, strict=True)}
            for values in frame[columns].itertuples(index=False, name=None)]  # fmt: skip


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _csv_options() -> dict:
    return {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig"}


def _spreadsheet(path: Path) -> Table:
    import pandas as pd

    if path.suffix.lower() == ".csv":
        try:
            frame = pd.read_csv(path, **_csv_options())
        except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise ReadError(f"cannot read the CSV file: {exc}") from None
    else:
        try:
            frame = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
        except Exception as exc:  # noqa: BLE001 - a damaged workbook fails anywhere in openpyxl
            # (BadZipFile, KeyError for a missing part, XML errors, TypeError…): the file's fault.
            raise ReadError(
                f"not a readable XLSX workbook (damaged, or not Excel 2007+): {exc}"
            ) from None
    return _sheet_table(frame)


def _sheet_table(frame: pd.DataFrame, start: int = 0) -> Table:
    """The rows of a spreadsheet's frame (all text), or of a chunk of it starting at `start`."""
    import shapely

    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    frame = frame.map(restore)  # text our exports marked as text (layers/io/cells.py)
    geoms = np.full(len(frame), None, dtype=object)
    errors: dict[int, str] = {}
    lon, lat, wkt = _find(columns, LON_NAMES), _find(columns, LAT_NAMES), _find(columns, WKT_NAMES)
    if lon and lat:
        used = [lon, lat]
        for i, (x, y) in enumerate(zip(frame[lon], frame[lat], strict=True)):
            try:
                xf, yf = float(x), float(y)
            except ValueError:
                errors[i] = f"{lon}/{lat}: not numbers ({x!r}, {y!r})"
                continue
            if not (np.isfinite(xf) and np.isfinite(yf)):
                errors[i] = f"{lon}/{lat}: not finite"
                continue
            geoms[i] = shapely.Point(xf, yf)
    elif wkt:
        used = [wkt]
        for i, text in enumerate(frame[wkt]):
            try:
                geoms[i] = shapely.from_wkt(text)
            except shapely.errors.GEOSException as exc:
                errors[i] = f"{wkt}: not WKT ({exc})"
    else:
        raise ReadError(
            "no geometry columns: give lon and lat columns (lon/lng/经度, lat/纬度, or x/y) "
            "or a WKT column (wkt/geometry)"
        )
    declared = None
    crs_column = _find(columns, CRS_NAMES)
    if crs_column:
        used.append(crs_column)
        values = sorted({v.strip() for v in frame[crs_column] if v.strip()})
        if len(values) > 1:
            raise ReadError(f"{crs_column}: one CRS per file, found {', '.join(values[:5])}")
        declared = values[0] if values else None
    attrs = [c for c in columns if c not in used]
    return Table(attrs, _rows(frame, attrs), geoms, None, errors, declared=declared, start=start)


def layer_names(path: Path) -> list[str]:
    import pyogrio

    try:
        return [str(row[0]) for row in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        raise ReadError(f"cannot open the file: {exc}") from None


def _ogr(path: Path, layer: str | None) -> pd.DataFrame:
    import pyogrio

    names = layer_names(path)
    if layer is None and len(names) > 1 and path.suffix.lower() in (".gpkg", ".kml"):
        raise ReadError(f"the file has several layers ({', '.join(names)}); choose one")
    if layer is not None and layer not in names and path.suffix.lower() != ".dxf":
        raise ReadError(f"no layer {layer!r} in the file; it has {', '.join(names)}")
    try:
        return pyogrio.read_dataframe(
            path, layer=None if path.suffix.lower() == ".dxf" else layer, encoding=None
        )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise ReadError(f"cannot read the file: {exc}") from None


def _dxf(frame: pd.DataFrame, cad_layer: str | None) -> Table:
    """Features of one CAD layer; each TEXT entity of that layer names the feature it lies in
    (polygons) or at (points), and is not a feature itself."""
    import shapely

    cad_layers = sorted({str(v) for v in frame["Layer"].dropna()})
    if not cad_layers:
        raise ReadError("the drawing has no entities")
    if cad_layer is None:
        if len(cad_layers) != 1:
            raise ReadError(f"choose the CAD layer: the drawing has {', '.join(cad_layers)}")
        cad_layer = cad_layers[0]
    if cad_layer not in cad_layers:
        raise ReadError(f"no CAD layer {cad_layer!r}; the drawing has {', '.join(cad_layers)}")
    frame = frame[frame["Layer"] == cad_layer].reset_index(drop=True)
    geoms = frame.geometry.to_numpy()
    kinds = frame["SubClasses"].fillna("").astype(str)
    is_text = kinds.str.contains("AcDbText|AcDbMText").to_numpy() & frame["Text"].notna().to_numpy()
    # Closed polylines come as rings: shapes are polygons when the ring is closed.
    shapes = []
    for geom in geoms[~is_text]:
        if geom is not None and geom.geom_type == "LineString" and geom.is_closed:
            geom = shapely.Polygon(geom.coords)
        shapes.append(geom)
    labels = list(zip(geoms[is_text], frame["Text"][is_text], strict=True))
    names: list[str | None] = [None] * len(shapes)
    point_layer = all(s is not None and s.geom_type == "Point" for s in shapes)
    if point_layer and not shapes:  # text only: each label is a named point
        shapes = [g for g, _ in labels]
        names = [str(t) for _, t in labels]
    else:
        for point, text in labels:
            for i, shape in enumerate(shapes):
                near = shape.distance(point) < 1e-6 if point_layer else shape.covers(point)
                if names[i] is None and near:
                    names[i] = str(text)
                    break
    rows = [{"name": n} for n in names]
    note = f"CAD layer {cad_layer}; {len(labels)} text labels read as names"
    return Table(["name"], rows, np.asarray(shapes, dtype=object), None, notes=[note])


def read(path: Path, *, layer: str | None = None, shown: str | None = None) -> Table:
    """The rows of `path` (a file or an extracted shapefile folder); `layer` names a GPKG/KML
    layer or the CAD layer of a DXF. Errors name the file as `shown` (the name the user gave
    it), never the folder the service keeps it in."""
    path = Path(path).absolute()
    try:
        return _read(path, layer)
    except ReadError as exc:
        text, name = scrub_paths(str(exc), path, shown), shown or path.name
        raise ReadError(text if name in text else f"{name}: {text}") from None


def scrub_paths(message: str, path: Path | None = None, shown: str | None = None) -> str:
    """`message` without the server's paths: `path` (the file a reader opened) reads as
    `shown`, a file inside its folder (a shapefile's member) by its own name, and any other
    absolute path by its last part."""
    if path is not None:
        path = Path(path)
        name = shown or path.name
        is_dir = path.is_dir() or not path.suffix  # a shapefile's extracted folder
        folder = path if is_dir else path.parent
        if not is_dir:
            message = message.replace(str(path), name)
        message = re.sub(
            re.escape(str(folder)) + r"/([^\s:'\",;]+)",
            lambda m: PurePosixPath(m.group(1)).name,
            message,
        )
        message = message.replace(str(folder), name)
    return _ABSOLUTE.sub(r"\1", message)


# An absolute path of two or more parts (not inside a URL): replaced by its last part.
_ABSOLUTE = re.compile(r"(?<![\w.:/])/(?:[^/\s:'\",;]+/)+([^/\s:'\",;]+)")


def _read(path: Path, layer: str | None) -> Table:
    import pyogrio
    import pyproj

    if "/vsi" in str(path).lower():  # never a GDAL virtual file system path
        raise ReadError("GDAL virtual paths (/vsi…) are not opened")
    suffix = path.suffix.lower()
    if path.is_dir():
        shapefiles = sorted(path.rglob("*.shp"))
        if len(shapefiles) != 1:
            raise ReadError(f"the archive must hold one .shp file, it holds {len(shapefiles)}")
        path, suffix = shapefiles[0], ".shp"
    if suffix not in FORMATS or suffix == ".zip":
        raise ReadError(f"unsupported file type {suffix!r}; use {', '.join(FORMATS)}")
    if suffix in (".csv", ".xlsx"):
        return _spreadsheet(path)
    if suffix == ".dxf":
        # Drawings of AutoCAD 2007 (AC1021) and later are UTF-8 whatever $DWGCODEPAGE says.
        version = _DXF_VERSION.search(_head(path, 65536))
        utf8 = version is not None and int(version.group(1)) >= 1021
        pyogrio.set_gdal_config_options(
            {"DXF_CLOSED_LINE_AS_POLYGON": "FALSE", "DXF_ENCODING": "UTF-8" if utf8 else None}
        )
    frame = _ogr(path, layer)
    if suffix == ".dxf":
        table = _dxf(frame, layer)
        found = _DXF_PROJECT.search(_head(path, 65536))
        table.declared = found.group(1).strip() if found else None
        return table
    declared = _geojson_crs_name(path) if suffix in (".geojson", ".json") else None
    crs = pyproj.CRS.from_user_input(frame.crs) if frame.crs is not None else None
    if suffix == ".shp" and not path.with_suffix(".prj").exists():
        crs = None
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    if suffix == ".kml":
        columns = [c for c in columns if frame[c].notna().any()]  # KML's many empty columns
    return Table(columns, _rows(frame, columns), frame.geometry.to_numpy(), crs, declared=declared)


@dataclass
class Source:
    """A file opened to be read in chunks (`open_source`): its columns, its number of rows,
    the CRS it declares, and `chunks(size)`, the Tables of at most `size` rows in file order
    (each with its `start`), so an import holds one chunk in memory, whatever the file's size.
    The first chunk is read when the source is opened (`first`: the CRS is guessed from it)."""

    columns: list[str]
    total: int
    crs: pyproj.CRS | None
    first: Table
    declared: str | None = None
    notes: list[str] = field(default_factory=list)
    # (start, size) -> the Table of rows start .. start + size - 1 (empty past the end)
    _next: object = None
    # The first chunk was read with this size (`chunks` then starts after it).
    _first_size: int = 0

    def chunks(self, size: int):
        yield self.first
        start = len(self.first.rows)
        if self._next is None or len(self.first.rows) < self._first_size:
            return
        while start < self.total or self.total < 0:
            table = self._next(start, size)
            if not table.rows:
                return
            if table.declared != self.declared and table.declared is not None:
                shown = ", ".join(sorted(v for v in (self.declared, table.declared) if v))
                raise ReadError(f"crs: one CRS per file, found {shown}")
            yield table
            start += len(table.rows)


def open_source(
    path: Path, *, layer: str | None = None, shown: str | None = None, size: int = 5000
) -> Source:
    """`path` opened for reading in chunks of `size` rows (the first one read now). GeoJSON,
    GeoPackage and Shapefile are read `size` features at a time through pyogrio
    (skip_features / max_features); CSV through pandas' chunks. XLSX, KML and DXF are read
    whole (one chunk): a workbook's, a placemark file's or a drawing's rows are read together.
    Errors name the file as `shown`, as `read` does."""
    path = Path(path).absolute()
    try:
        return _open_source(path, layer, size)
    except ReadError as exc:
        text, name = scrub_paths(str(exc), path, shown), shown or path.name
        raise ReadError(text if name in text else f"{name}: {text}") from None


def _whole(table: Table) -> Source:
    return Source(table.columns, len(table.rows), table.crs, table, table.declared, table.notes)


def _open_source(path: Path, layer: str | None, size: int) -> Source:
    import pyogrio
    import pyproj

    if "/vsi" in str(path).lower():  # never a GDAL virtual file system path
        raise ReadError("GDAL virtual paths (/vsi…) are not opened")
    suffix = path.suffix.lower()
    target = path
    if path.is_dir():
        shapefiles = sorted(path.rglob("*.shp"))
        if len(shapefiles) != 1:
            raise ReadError(f"the archive must hold one .shp file, it holds {len(shapefiles)}")
        target, suffix = shapefiles[0], ".shp"
    if suffix == ".csv":
        return _csv_source(target, size)
    if suffix not in (".geojson", ".json", ".gpkg", ".shp"):
        return _whole(_read(path, layer))  # XLSX, KML, DXF; and the refusals of the rest
    names = layer_names(target)
    if layer is None and len(names) > 1 and suffix == ".gpkg":
        raise ReadError(f"the file has several layers ({', '.join(names)}); choose one")
    if layer is not None and layer not in names:
        raise ReadError(f"no layer {layer!r} in the file; it has {', '.join(names)}")
    try:
        info = pyogrio.read_info(target, layer=layer, encoding=None, force_feature_count=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise ReadError(f"cannot read the file: {exc}") from None
    crs = pyproj.CRS.from_user_input(info["crs"]) if info.get("crs") else None
    if suffix == ".shp" and not target.with_suffix(".prj").exists():
        crs = None
    declared = _geojson_crs_name(target) if suffix in (".geojson", ".json") else None

    def chunk(start: int, count: int) -> Table:
        try:
            frame = pyogrio.read_dataframe(
                target, layer=layer, encoding=None, skip_features=start, max_features=count
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
            raise ReadError(f"cannot read the file: {exc}") from None
        columns = [str(c) for c in frame.columns if c != frame.geometry.name]
        geoms = frame.geometry.to_numpy()
        return Table(columns, _rows(frame, columns), geoms, crs, declared=declared, start=start)

    first = chunk(0, size)
    total = int(info["features"])
    return Source(first.columns, total, crs, first, declared, [], chunk, size)


def _csv_source(path: Path, size: int) -> Source:
    import csv

    import pandas as pd

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            # Records, not lines (a quoted value may hold a line break); blank lines are
            # skipped, as pandas skips them.
            total = max(sum(1 for record in csv.reader(handle) if record) - 1, 0)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReadError(f"cannot read the CSV file: {exc}") from None
    state: dict = {}

    def frames():
        try:
            yield from pd.read_csv(path, chunksize=size, **_csv_options())
        except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise ReadError(f"cannot read the CSV file: {exc}") from None

    def chunk(start: int, count: int) -> Table:
        reader = state.setdefault("reader", frames())
        frame = next(reader, None)
        if frame is None and "columns" in state:
            return Table(state["columns"], [], np.empty(0, dtype=object), start=start)
        if frame is None:  # a header and no rows: pandas' chunks give nothing
            try:
                frame = pd.read_csv(path, nrows=0, **_csv_options())
            except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
                raise ReadError(f"cannot read the CSV file: {exc}") from None
        table = _sheet_table(frame, start)
        state["columns"] = table.columns
        return table

    first = chunk(0, size)
    return Source(first.columns, total, None, first, first.declared, [], chunk, size)


_OBFUSCATED_CRS = re.compile(r'"crs"\s*:\s*\{.{0,80}?"name"\s*:\s*"(GCJ-02|BD-09)"', re.S)
_DXF_VERSION = re.compile(r"\$ACADVER\s*\r?\n\s*1\s*\r?\nAC(\d{4})")
# A drawing's $PROJECTNAME (header variable, group code 1), where our exports name the CRS.
_DXF_PROJECT = re.compile(r"\$PROJECTNAME\r?\n *1\r?\n(EPSG:\d{4,5}|GCJ-02|BD-09)\r?\n")


def _geojson_crs_name(path: Path) -> str | None:
    """GCJ-02 / BD-09 as our exports name them in a GeoJSON crs member (GDAL cannot read it)."""
    found = _OBFUSCATED_CRS.search(_head(path, 4096))
    return found.group(1) if found else None


def sniff_columns(path: Path, *, layer: str | None = None) -> list[str]:
    return read(path, layer=layer).columns


_SAFE_LAYER = re.compile(r"^[\w .\-\u4e00-\u9fff]{1,100}$")


def check_layer_name(value: str) -> str:
    if not _SAFE_LAYER.match(value):
        raise ReadError("a layer name is letters, digits, spaces, . _ - and Chinese, at most 100")
    return value


def _head(path: Path, size: int) -> str:
    with path.open("rb") as handle:
        return handle.read(size).decode("utf-8", "replace")
