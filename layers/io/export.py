"""write_export: a layer's features (any filtered queryset) to a file in one of seven formats.

Columns are the layer's field names, so an export imports back as it is. What each format
carries (docs/IMPORT_EXPORT.md):
- geojson: field names; lists as lists; a `crs` member when not EPSG:4326 (RFC 7946 otherwise).
- gpkg: field names; zh/en aliases in gpkg_data_columns (name = zh, title = en); the CRS.
- shp (zipped): short field names of at most 10 characters (`short_name`, which the import
  knows), a .prj and a .cpg (UTF-8).
- csv: one header row of field names (or zh / en labels: `header`), geometry as `wkt`, the CRS
  in a `crs` column (read back by the import).
- xlsx: the same table, plus a sheet 字段 fields listing each field's zh and en label and the CRS.
- kml: EPSG:4326 only (as KML requires); name as <name>, the other fields as extended data.
- dxf: geometry on a CAD layer named after the layer (polygons as hatches, points as points) and
  each feature's name as a TEXT entity inside it; the CRS as the drawing's $PROJECTNAME.

geopandas, pandas, pyogrio and shapely are imported where an export is written: a web worker
that never writes one does not load them (docs/benchmarks.md, "Light workers").
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.contrib.auth import get_user_model
from django.db import models

from layers.domain import registry
from layers.geo import files as crs_mod
from layers.io import mapping
from layers.io.cells import neutralise
from layers.query import access

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

# format -> (file suffix, content type)
FORMATS = {
    "geojson": (".geojson", "application/geo+json"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3"),
    "shp": (".zip", "application/zip"),
    "csv": (".csv", "text/csv; charset=utf-8"),
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "kml": (".kml", "application/vnd.google-earth.kml+xml"),
    "dxf": (".dxf", "image/vnd.dxf"),
}
HEADERS = ("name", "zh", "en")
WKT_COLUMN = "wkt"
CRS_COLUMN = "crs"


# Query parameters of GET /api/v1/<layer>/export/ besides the list's filters.
PARAMS = ("format", "crs", "header")


class ExportError(ValueError):
    """A request the export cannot honour; `name` is the parameter at fault."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def file_stem(spec: registry.LayerSpec, crs) -> str:
    """The file's name without suffix: layer, CRS and the time (hehuachi-buildings-4549-…)."""
    from django.utils import timezone

    key = crs_mod.parse(crs)
    return f"hehuachi-{spec.slug}-{key}-{timezone.localtime():%Y%m%d-%H%M}"


def fields_of(spec: registry.LayerSpec, user=None) -> list[str]:
    """The columns: what `user` may read (every field but id/geom/deleted_at for the command)."""
    if user is not None:
        return [n for n in access.output_fields(user, spec) if n != "deleted_at"]
    skip = {"id", "geom", "deleted_at"}
    return [f.name for f in spec.model._meta.concrete_fields if f.name not in skip]


def _value(obj, model_field, *, plain: bool):
    value = getattr(obj, model_field.name)
    if value is None:
        return None
    if model_field.many_to_one:
        if model_field.related_model is get_user_model():
            return value.get_username()
        return getattr(value, registry.for_model(model_field.related_model).natural_key)
    if isinstance(model_field, models.FileField):
        return value.name or None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (list, dict)) and plain:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date) and plain:
        return value.isoformat()
    return value


def frame(spec, queryset, names: list[str], key, *, plain: bool) -> gpd.GeoDataFrame:
    """The features as a GeoDataFrame in CRS `key` (geometry converted from EPSG:4326)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    model_fields = [spec.model._meta.get_field(n) for n in names]
    related = [f.name for f in model_fields if f.many_to_one]
    rows, geoms = [], []
    for obj in queryset.select_related(*related).order_by("pk").iterator(chunk_size=2000):
        rows.append([_value(obj, f, plain=plain) for f in model_fields])
        geoms.append(shapely.from_wkb(bytes(obj.geom.wkb)))
    data = pd.DataFrame(rows, columns=names, dtype=object)
    converted = crs_mod.from_storage(np.asarray(geoms, dtype=object), key)
    return gpd.GeoDataFrame(data, geometry=list(converted), crs=crs_mod.file_crs(key))


def _typed(data: gpd.GeoDataFrame, spec, names) -> gpd.GeoDataFrame:
    """Columns typed for GDAL: integers, numbers, booleans and dates as such, text as text."""
    import pandas as pd

    for name in names:
        model_field = spec.model._meta.get_field(name)
        if isinstance(model_field, models.BooleanField):
            data[name] = data[name].astype("boolean")
        elif isinstance(model_field, models.IntegerField) and not model_field.many_to_one:
            data[name] = data[name].astype("Int64")
        elif isinstance(model_field, (models.FloatField, models.DecimalField)):
            data[name] = pd.to_numeric(data[name]).astype("Float64")
    return data


def write_export(
    layer: str,
    queryset,
    fmt: str,
    crs,
    path: Path,
    *,
    user=None,
    header: str = "name",
) -> Path:
    """Write the features of `queryset` (of `layer`) as `fmt` in CRS `crs` (an EPSG code of the
    list, 'gcj02' or 'bd09') to `path` (its suffix is set by the format); the file written."""
    spec = registry.get(layer)
    if fmt not in FORMATS:
        raise ExportError("format", f"{fmt!r}; use one of {', '.join(FORMATS)}")
    if header not in HEADERS:
        raise ExportError("header", f"{header!r}; use one of {', '.join(HEADERS)}")
    try:
        key = crs_mod.parse(crs)
    except crs_mod.CrsError as exc:
        raise ExportError("crs", str(exc)) from None
    if fmt == "kml" and key != 4326:
        raise ExportError("crs", "KML is always EPSG:4326 (WGS 84)")
    path = Path(path)
    path = path.with_name(path.name + FORMATS[fmt][0])
    names = fields_of(spec, user)
    data = frame(spec, queryset, names, key, plain=fmt != "geojson")
    writer = {
        "geojson": _geojson,
        "gpkg": _gpkg,
        "shp": _shp,
        "csv": _csv,
        "xlsx": _xlsx,
        "kml": _kml,
        "dxf": _dxf,
    }[fmt]
    writer(spec, data, names, key, path, header)
    return path


def _geojson(spec, data, names, key, path, header):
    import pyogrio

    pyogrio.write_dataframe(data, path, driver="GeoJSON", RFC7946="NO", WRITE_NAME="NO")
    if key in crs_mod.OBFUSCATED:  # GDAL would write no crs member: name the system ourselves
        data = json.loads(path.read_text(encoding="utf-8"))
        named = {"type": "name", "properties": {"name": crs_mod.FileCrs(key).label}}
        rest = {k: v for k, v in data.items() if k not in ("type", "crs")}
        data = {"type": data["type"], "crs": named, **rest}  # first: the import peeks at it
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _gpkg(spec, data, names, key, path, header):
    import pyogrio

    pyogrio.write_dataframe(_typed(data, spec, names), path, driver="GPKG", layer=spec.slug)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, "
            "column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, "
            "mime_type TEXT, constraint_name TEXT, PRIMARY KEY (table_name, column_name))"
        )
        db.execute(
            "INSERT OR IGNORE INTO gpkg_extensions VALUES ('gpkg_data_columns', NULL, "
            "'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', 'read-write')"
        )
        if key in crs_mod.OBFUSCATED:  # name the shifted system (GDAL files it as WGS 84)
            db.execute(
                "UPDATE gpkg_spatial_ref_sys SET srs_name = ?, organization = 'NONE', "
                "definition = ? WHERE srs_id = (SELECT srs_id FROM gpkg_contents "
                "WHERE table_name = ?)",
                (crs_mod.FileCrs(key).label, crs_mod.unidentified_wkt(key), spec.slug),
            )
        db.executemany(
            "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title) "
            "VALUES (?, ?, ?, ?)",
            [(spec.slug, n, zh, en) for n, (zh, en) in mapping.labels(spec, names).items()],
        )


def _shp(spec, data, names, key, path, header):
    import pyogrio

    folder = path.with_suffix("")
    folder.mkdir()
    data = _typed(data, spec, names).rename(columns={n: mapping.short_name(n) for n in names})
    target = folder / f"{spec.slug}.shp"
    kind = "MultiPolygon" if spec.geometry_type == "MultiPolygon" else None
    pyogrio.write_dataframe(data, target, driver="ESRI Shapefile", encoding="UTF-8",
                            geometry_type=kind)  # fmt: skip
    target.with_suffix(".prj").write_text(crs_mod.prj_text(key), encoding="ascii")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(folder.iterdir()):
            archive.write(part, part.name)
            part.unlink()
    folder.rmdir()


def _table(spec, data, names, key, header) -> pd.DataFrame:
    """The rows of a spreadsheet (CSV, XLSX): every text cell that a spreadsheet program would
    run as a formula is marked as text (layers/io/cells.py)."""
    import pandas as pd
    import shapely

    table = pd.DataFrame(data.drop(columns=data.geometry.name)).map(neutralise)
    table[WKT_COLUMN] = shapely.to_wkt(data.geometry.to_numpy(), rounding_precision=-1)
    table[CRS_COLUMN] = crs_mod.FileCrs(key).label
    if header != "name":
        labels = mapping.labels(spec, names)
        table = table.rename(columns={n: labels[n][0 if header == "zh" else 1] for n in names})
    return table


def _csv(spec, data, names, key, path, header):
    # CRLF as RFC 4180 says: the writer then quotes a field holding a bare CR too.
    table = _table(spec, data, names, key, header)
    table.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")


def _xlsx(spec, data, names, key, path, header):
    import pandas as pd

    labels = mapping.labels(spec, names)
    about = pd.DataFrame(
        [(n, zh, en) for n, (zh, en) in labels.items()]
        + [(CRS_COLUMN, "坐标系", crs_mod.FileCrs(key).label)],
        columns=["field", "中文", "English"],
    )
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        _table(spec, data, names, key, header).to_excel(book, sheet_name=spec.slug, index=False)
        about.to_excel(book, sheet_name="字段 fields", index=False)


def _kml(spec, data, names, key, path, header):
    import pyogrio

    data = data.rename(columns={"name": "Name"})  # the driver's <name> field
    pyogrio.write_dataframe(data, path, driver="KML", layer=spec.slug)


def _dxf(spec, data, names, key, path, header):
    import logging

    import ezdxf

    logging.getLogger("ezdxf").setLevel(logging.WARNING)
    doc = ezdxf.new("R2010")
    doc.header["$PROJECTNAME"] = crs_mod.FileCrs(key).label
    doc.layers.add(spec.slug)
    space = doc.modelspace()
    attribs = {"layer": spec.slug}
    for name, geom in zip(data["name"], data.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        if geom.geom_type == "Point":
            space.add_point((geom.x, geom.y), dxfattribs=attribs)
            label_at = geom
        else:
            hatch = space.add_hatch(color=7, dxfattribs=attribs)
            for polygon in getattr(geom, "geoms", [geom]):
                hatch.paths.add_polyline_path(list(polygon.exterior.coords)[:-1], is_closed=True)
                for ring in polygon.interiors:
                    hatch.paths.add_polyline_path(list(ring.coords)[:-1], is_closed=True)
            label_at = geom.representative_point()
        if name:
            space.add_text(str(name), dxfattribs={**attribs, "insert": (label_at.x, label_at.y)})
    doc.saveas(path)
