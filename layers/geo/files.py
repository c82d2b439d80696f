"""The CRSs of files: the whitelist, GCJ-02 / BD-09, guessing from coordinates, transforms.

Files come in EPSG 4326, 4490, 4549, 4528 or 3857 (the API's list, `layers.geo.crs`), or in
the Chinese obfuscated systems GCJ-02 (AMap, Tencent) and BD-09 (Baidu), which are no EPSG CRS
and are converted per vertex by `layers.geo.gcj02`. A user names a CRS by an integer EPSG code or
`gcj02` / `bd09`; nothing a user typed is ever handed to GDAL or PROJ as an SRS string.

Axis order: every reader here (pyogrio with GDAL's traditional GIS order, CSV lon/lat columns,
GeoJSON) gives x = east / longitude, so EPSG:4490's lat/lon order never reaches the coordinates;
4490 and 4326 differ by centimetres and are taken as equal (as
`layers.geo.geometry.to_storage` does).

pyproj and shapely are imported where they are used: a web worker that never reads or writes a
file does not load them (docs/benchmarks.md, "Light workers").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from layers.geo import crs as crs_table
from layers.geo import gcj02
from layers.geo import geometry as geo

if TYPE_CHECKING:
    import pyproj

GCJ02 = "gcj02"
BD09 = "bd09"
OBFUSCATED = (GCJ02, BD09)
# What a user may name: integer EPSG codes of the whitelist and the two obfuscated systems.
CHOICES = (*(str(s) for s in geo.ALLOWED_INPUT_SRIDS), GCJ02, BD09)
# The names our exports give the obfuscated systems in their .prj / CRS, read back on import.
OBFUSCATED_NAMES = {GCJ02: "GCJ-02 (WGS 84 shifted, AMap)", BD09: "BD-09 (Baidu)"}
_ALIASES = {"gcj02": GCJ02, "gcj-02": GCJ02, "gcj": GCJ02, "bd09": BD09, "bd-09": BD09}


class CrsError(ValueError):
    """A CRS that is not on the list, or coordinates that fit none."""


@dataclass(frozen=True)
class FileCrs:
    """A CRS of a file: `key` is an EPSG code (int) or 'gcj02' / 'bd09'."""

    key: int | str
    guessed: bool = False
    reason: str = ""

    @property
    def label(self) -> str:
        if self.key in OBFUSCATED:
            return "GCJ-02" if self.key == GCJ02 else "BD-09"
        return f"EPSG:{self.key}"


def parse(value) -> int | str:
    """A user's CRS: `4549`, `EPSG:4549` or `gcj02` / `GCJ-02` / `bd09`; CrsError otherwise."""
    text = str(value).strip()
    alias = _ALIASES.get(text.lower())
    if alias:
        return alias
    try:
        return geo.parse_srid(text)
    except ValueError:
        raise CrsError(f"unsupported CRS {text[:40]!r}; use one of {', '.join(CHOICES)}") from None


def of_file(crs: pyproj.CRS | None) -> int | str | None:
    """The whitelisted CRS a file declares (its .prj / CRS), None when it declares none.

    CrsError when it declares one that is not on the list (say so rather than guess)."""
    if crs is None:
        return None
    name = re.sub(r"[^a-z0-9]", "", crs.name.lower())
    if "gcj02" in name:
        return GCJ02
    if "bd09" in name:
        return BD09
    epsg = crs.to_epsg(min_confidence=70)
    if epsg is None and crs.is_geographic and crs.ellipsoid is not None:
        # A .prj of older tools ("GCS_WGS_1984", "GCS_China_Geodetic_Coordinate_System_2000").
        name = crs.ellipsoid.name.lower()
        epsg = 4326 if "wgs 84" in name or "wgs_1984" in name else 4490 if "cgcs" in name else None
    if epsg not in geo.ALLOWED_INPUT_SRIDS:
        raise CrsError(
            f"the file's CRS {crs.name!r} is not supported; use one of EPSG "
            f"{', '.join(str(s) for s in geo.ALLOWED_INPUT_SRIDS)}, or reproject it"
        )
    return epsg


_GK_ZONE = re.compile(r"^(\d{2})\d{6}$")


def guess(bounds: tuple[float, float, float, float]) -> FileCrs:
    """The CRS that coordinates within `bounds` (min x, min y, max x, max y) are written in.

    Longitude/latitude inside China -> 4326; an easting of six digits inside the 120E zone's area
    -> 4549; of eight digits starting with the zone number 40 -> 4528 (39 and other zones are
    not on the list); Web Mercator metres -> 3857. GCJ-02 cannot be told from WGS84 by its
    numbers: name it. CrsError when nothing fits.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not all(np.isfinite([minx, miny, maxx, maxy])):
        raise CrsError("coordinates are not finite numbers")
    for srid, why in (
        (4326, "longitude/latitude in degrees"),
        (4549, "6-digit eastings of the 3-degree Gauss-Krüger zone CM 120E (CGCS2000)"),
        (4528, "8-digit eastings with the zone prefix 40 (CGCS2000 3-degree zone 40)"),
    ):
        box = crs_table.CHINA if srid == 4326 else crs_table.by_srid(srid).bounds
        if box[0] <= minx and maxx <= box[2] and box[1] <= miny and maxy <= box[3]:
            return FileCrs(srid, True, why)
    zone = _GK_ZONE.match(str(int(abs(minx)))) if abs(minx) >= 1e7 else None
    if zone and 25 <= int(zone.group(1)) <= 45 and zone.group(1) != "40":  # China's 3° zones
        raise CrsError(
            f"eastings carry the Gauss-Krüger zone prefix {zone.group(1)}; only zone 40 "
            "(EPSG:4528) and CM 120E (EPSG:4549) are accepted"
        )
    box = crs_table.by_srid(3857).bounds
    if abs(minx) >= 1e6 and box[0] <= minx and maxx <= box[2] and box[1] <= miny <= maxy <= box[3]:
        return FileCrs(3857, True, "Web Mercator metres")
    raise CrsError(
        f"cannot tell the CRS from coordinates {minx:.3f}..{maxx:.3f}, {miny:.3f}..{maxy:.3f}; "
        "name it (--crs)"
    )


def _area(key: int | str) -> tuple[float, float, float, float]:
    srid = 4326 if key in OBFUSCATED else key
    return crs_table.CHINA if srid in (4326, 4490) else crs_table.by_srid(srid).bounds


def inside_area(geoms, key: int | str) -> np.ndarray:
    """Per geometry: True when it lies inside the area of use of CRS `key` (or is missing)."""
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    minx, miny, maxx, maxy = _area(key)
    bounds = shapely.bounds(geoms)  # NaN for missing or empty geometries
    with np.errstate(invalid="ignore"):
        inside = (
            (bounds[:, 0] >= minx) & (bounds[:, 2] <= maxx)
            & (bounds[:, 1] >= miny) & (bounds[:, 3] <= maxy)
        )  # fmt: skip
    return inside | np.isnan(bounds).any(axis=1)


def _check_area(key: int | str, geoms) -> None:
    """Coordinates outside the CRS's area of use never reach PROJ (it can spin on 1e300)."""
    import shapely

    box = _area(key)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    if not (box[0] <= minx and maxx <= box[2] and box[1] <= miny and maxy <= box[3]):
        raise CrsError(
            f"coordinates {minx:.3f}..{maxx:.3f}, {miny:.3f}..{maxy:.3f} lie outside the area "
            f"of use of {FileCrs(key).label}"
        )


def _per_vertex(fn):
    def apply(coords: np.ndarray) -> np.ndarray:
        return np.array([fn(x, y) for x, y in coords], dtype=float).reshape(coords.shape)

    return apply


def _transformer(source: int, target: int) -> pyproj.Transformer:
    import pyproj

    return pyproj.Transformer.from_crs(f"EPSG:{source}", f"EPSG:{target}", always_xy=True)


# GCJ-02 / BD-09: (to WGS84, from WGS84) per vertex.
_OBFUSCATION = {
    GCJ02: (gcj02.gcj02_to_wgs84, gcj02.wgs84_to_gcj02),
    BD09: (gcj02.bd09_to_wgs84, gcj02.wgs84_to_bd09),
}


def _convert(geoms: np.ndarray, key: int | str, *, to_storage: bool) -> np.ndarray:
    import shapely

    if key in (4326, 4490):
        return geoms
    if key in _OBFUSCATION:
        return shapely.transform(geoms, _per_vertex(_OBFUSCATION[key][0 if to_storage else 1]))
    source, target = (int(key), geo.STORAGE_SRID) if to_storage else (geo.STORAGE_SRID, int(key))
    transformer = _transformer(source, target)
    return shapely.transform(geoms, lambda c: np.column_stack(transformer.transform(*c.T)))


def to_storage(geoms, key: int | str):
    """Shapely geometries (2-D, x = east) in CRS `key` -> EPSG:4326, as a new array."""
    import shapely

    geoms = shapely.force_2d(np.asarray(geoms, dtype=object))
    present = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if len(present):
        _check_area(key, present)
    return _convert(geoms, key, to_storage=True)


def from_storage(geoms, key: int | str):
    """Shapely geometries in EPSG:4326 -> CRS `key` (for export)."""
    return _convert(np.asarray(geoms, dtype=object), key, to_storage=False)


def file_crs(key: int | str) -> pyproj.CRS:
    """The CRS written into an export (.prj, GPKG srs): EPSG, or a named WGS84 for GCJ-02/BD-09
    (the name tells a later import what the numbers are)."""
    import pyproj

    if key in OBFUSCATED:
        wkt = (
            pyproj.CRS.from_epsg(4326).to_wkt().replace('"WGS 84"', f'"{OBFUSCATED_NAMES[key]}"', 1)
        )
        return pyproj.CRS.from_wkt(wkt)
    return pyproj.CRS.from_epsg(int(key))


def unidentified_wkt(key: str) -> str:
    """WKT1 of GCJ-02 / BD-09 without the EPSG authority of WGS 84 (GDAL would report 4326)."""
    import pyproj

    wkt = file_crs(key).to_wkt(pyproj.enums.WktVersion.WKT1_GDAL)
    return re.sub(r',AUTHORITY\["EPSG","4326"\]\]$', "]", wkt)


def prj_text(key: int | str) -> str:
    """The .prj of a shapefile in CRS `key` (ESRI WKT; GCJ-02/BD-09 named, WGS 84 otherwise)."""
    import pyproj

    crs = file_crs(key)
    wkt = crs.to_wkt(pyproj.enums.WktVersion.WKT1_ESRI)
    if key in OBFUSCATED:
        wkt = wkt.replace('GEOGCS["GCS_WGS_1984"', f'GEOGCS["{FileCrs(key).label}"', 1)
    return wkt


def in_service_area(geoms) -> bool:
    """Whether the bounds of 4326 geometries lie inside the service area."""
    import shapely

    present = [g for g in geoms if g is not None and not g.is_empty]
    if not present:
        return True
    minx, miny, maxx, maxy = shapely.total_bounds(present)
    sx0, sy0, sx1, sy1 = geo.service_area().extent
    return sx0 <= minx and maxx <= sx1 and sy0 <= miny and maxy <= sy1
