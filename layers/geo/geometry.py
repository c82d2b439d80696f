"""Geometry rules shared by every layer: CRS whitelist, type coercion and validation.

Metric quantities are computed in EPSG:4549 (CGCS2000 / 3-degree GK CM 120E), never in degrees.
"""

from __future__ import annotations

import math
import re
import threading

from django.conf import settings
from django.contrib.gis.gdal import CoordTransform, SpatialReference
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon, WKBWriter
from django.core.exceptions import ValidationError

STORAGE_SRID = 4326
METRIC_SRID = 4549
# Input CRSs accepted anywhere (API, import). Integer EPSG codes only: a user-supplied SRS string
# never reaches GDAL (Django's gis.W001 with GDAL < 3.9).
ALLOWED_INPUT_SRIDS = (4326, 4490, 4549, 4528, 3857)


def parse_srid(value) -> int:
    """An input CRS as a whitelisted integer EPSG code; ValueError otherwise."""
    text = str(value).strip()
    for prefix in ("EPSG:", "epsg:", "http://www.opengis.net/def/crs/EPSG/0/"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if not re.fullmatch(r"[0-9]{1,6}", text, re.ASCII) or int(text) not in ALLOWED_INPUT_SRIDS:
        allowed = ", ".join(str(s) for s in ALLOWED_INPUT_SRIDS)
        raise ValueError(f"unsupported CRS {value!r}; use one of EPSG {allowed}")
    return int(text)


def service_area() -> Polygon:
    polygon = Polygon.from_bbox(tuple(settings.SERVICE_AREA))
    polygon.srid = STORAGE_SRID
    return polygon


def to_storage(geom: GEOSGeometry) -> GEOSGeometry:
    """The geometry in EPSG:4326; a geometry without SRID is taken as lon/lat."""
    if geom.srid in (None, STORAGE_SRID):
        geom.srid = STORAGE_SRID
        return geom
    if geom.srid == 4490:  # CGCS2000 and WGS84 differ by centimetres: same coordinates.
        return GEOSGeometry(geom.wkb, srid=STORAGE_SRID)
    parse_srid(geom.srid)
    return geom.transform(STORAGE_SRID, clone=True)


def drop_z(geom: GEOSGeometry | None) -> GEOSGeometry | None:
    """The geometry in 2-D: heights (Z) are dropped, x and y kept exactly (layers are 2-D)."""
    if geom is None or not geom.hasz:
        return geom
    writer = WKBWriter()
    writer.outdim = 2
    return GEOSGeometry(memoryview(bytes(writer.write(geom))), srid=geom.srid)


def coerce_to_field(geom: GEOSGeometry | None, geom_type: str) -> GEOSGeometry | None:
    """A Polygon offered to a MultiPolygon field becomes a one-part MultiPolygon."""
    if geom is None:
        return None
    if geom_type == "MULTIPOLYGON" and isinstance(geom, Polygon):
        return MultiPolygon(geom, srid=geom.srid)
    return geom


def geometry_errors(geom: GEOSGeometry | None, geom_type: str) -> list[str]:
    """Why `geom` cannot be stored in a field of `geom_type` (GEOS type name, upper case)."""
    if geom is None:
        return ["A geometry is required. / 必须提供几何。"]
    errors = []
    if geom.geom_type.upper() != geom_type:
        errors.append(f"Expected a {geom_type.title()} geometry, got {geom.geom_type}.")
        return errors
    if geom.empty:
        return ["The geometry is empty. / 几何为空。"]
    coords = _flat_coords(geom)
    if not all(math.isfinite(c) for c in coords):
        return ["The geometry has a non-finite coordinate (NaN or infinity)."]
    max_vertices = settings.MAX_GEOMETRY_VERTICES
    if geom.num_coords > max_vertices:
        errors.append(f"The geometry has {geom.num_coords} vertices; at most {max_vertices}.")
    if not geom.valid:
        errors.append(f"Invalid geometry / 几何无效: {geom.valid_reason}.")
    minx, miny, maxx, maxy = settings.SERVICE_AREA
    gx0, gy0, gx1, gy1 = geom.extent
    if not (minx <= gx0 and gx1 <= maxx and miny <= gy0 and gy1 <= maxy):
        x, y = (gx0 + gx1) / 2, (gy0 + gy1) / 2
        swapped = minx <= y <= maxx and miny <= x <= maxy
        hint = " (latitude and longitude swapped?)" if swapped else ""
        errors.append(
            f"Outside the service area / 超出服务范围 ({minx}–{maxx} E, {miny}–{maxy} N): "
            f"centre at {x:.6f}, {y:.6f}{hint}."
        )
    return errors


def validate_geometry(geom: GEOSGeometry | None, geom_type: str, field: str = "geom") -> None:
    errors = geometry_errors(geom, geom_type)
    if errors:
        raise ValidationError({field: errors})


def _flat_coords(geom: GEOSGeometry) -> list[float]:
    out: list[float] = []

    def walk(value):
        if isinstance(value, (int, float)):
            out.append(float(value))
        else:
            for item in value:
                walk(item)

    walk(geom.coords)
    return out


# GEOS's transform(srid) builds a new transformation each time, and PROJ takes 30-150 ms to
# look EPSG:4549 up: a tour stop page measured three walks that way (issue 28, the stop page's
# server time). One transformation per thread and source SRID (GDAL's objects are not to be
# shared between threads).
_transforms = threading.local()


def to_metric(srid: int) -> CoordTransform:
    """The transformation from `srid` to EPSG:4549, made once per thread."""
    made = _transforms.__dict__.setdefault("by_srid", {})
    if srid not in made:
        made[srid] = CoordTransform(SpatialReference(srid), SpatialReference(METRIC_SRID))
    return made[srid]


def _in_metric(geom: GEOSGeometry) -> GEOSGeometry:
    if geom.srid == METRIC_SRID:
        return geom
    if geom.srid is None or geom.srid < 0:
        raise ValueError("a geometry without an SRID has no length or area in metres")
    return geom.transform(to_metric(geom.srid), clone=True)


def metric_area(geom: GEOSGeometry) -> float:
    """Area in square metres, computed in EPSG:4549."""
    return _in_metric(geom).area


def metric_length(geom: GEOSGeometry) -> float:
    """Length in metres, computed in EPSG:4549."""
    return _in_metric(geom).length
