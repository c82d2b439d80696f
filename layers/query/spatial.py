"""Spatial parameters: bbox with its CRS, point + radius, and geometries sent in bodies.

Every coordinate is checked finite and inside its CRS's area of use (layers.geo.crs) before
anything transforms it: PROJ never sees NaN, infinity or 1e300.
"""

from __future__ import annotations

import math

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Polygon
from django.db.models import F, FloatField, Func

from layers.geo import geometry as geo
from layers.geo import crs as crs_table
from layers.query.params import ParamError, numbers

MAX_RADIUS_M = 20_000
DEFAULT_RADIUS_M = 500
# Edges of a projected box are densified so they stay true once curved into lon/lat.
DENSIFY_STEPS = 16


def _inside(name: str, crs: crs_table.Crs, x: float, y: float) -> None:
    if not crs.contains(x, y):
        minx, miny, maxx, maxy = crs.bounds
        axes = "longitude/latitude" if crs.geographic else "easting/northing"
        raise ParamError(
            name,
            f"{axes} {x:g}, {y:g} outside the area of use of EPSG:{crs.srid} "
            f"({minx:g}…{maxx:g}, {miny:g}…{maxy:g})",
        )


def bbox(name: str, raw: str, crs: crs_table.Crs = crs_table.STORAGE, *, heights=False) -> Polygon:
    """`minx,miny,maxx,maxy` in `crs` (its axis order), as a lon/lat polygon (EPSG:4326).

    With heights=True, 6 numbers (minx,miny,minz,maxx,maxy,maxz) are accepted; heights are
    ignored (layers are 2-D).
    """
    values = numbers(name, raw, (4, 6) if heights else (4,))
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if crs.flip:  # EPSG axis order: latitude/northing first
        values = [values[1], values[0], values[3], values[2]]
    minx, miny, maxx, maxy = values
    _inside(name, crs, minx, miny)
    _inside(name, crs, maxx, maxy)
    if minx > maxx or miny > maxy:
        raise ParamError(name, "expected the lower corner first (min ≤ max on both axes)")
    if crs.geographic:
        box = Polygon.from_bbox((minx, miny, maxx, maxy))
        box.srid = geo.STORAGE_SRID
        return box
    steps = DENSIFY_STEPS
    ring = (
        [(minx + (maxx - minx) * i / steps, miny) for i in range(steps)]
        + [(maxx, miny + (maxy - miny) * i / steps) for i in range(steps)]
        + [(maxx - (maxx - minx) * i / steps, maxy) for i in range(steps)]
        + [(minx, maxy - (maxy - miny) * i / steps) for i in range(steps)]
    )
    box = Polygon([*ring, ring[0]], srid=crs.srid)
    return _to_storage(name, box)


def _to_storage(name: str, geom: GEOSGeometry) -> GEOSGeometry:
    """The geometry in EPSG:4326; a point PROJ cannot map (inside the area of use's rectangle
    but outside the projection's domain) is the client's input, not a server error."""
    try:
        return geo.to_storage(geom)
    except (GDALException, GEOSException) as exc:
        raise ParamError(name, f"cannot be transformed from EPSG:{geom.srid}: {exc}") from None


def point(name: str, raw: str) -> tuple[float, float]:
    """`lon,lat` in EPSG:4326."""
    lon, lat = numbers(name, raw, (2,))
    _inside(name, crs_table.STORAGE, lon, lat)
    return lon, lat


def radius(name: str, raw: str | None) -> float:
    """Metres, in (0, MAX_RADIUS_M]; DEFAULT_RADIUS_M when not given."""
    if raw is None:
        return float(DEFAULT_RADIUS_M)
    (value,) = numbers(name, raw, (1,))
    if not 0 < value <= MAX_RADIUS_M:
        raise ParamError(name, f"radius must be in (0, {MAX_RADIUS_M}] metres")
    return value


def input_geometry(name: str, geom: GEOSGeometry, srid: int) -> GEOSGeometry:
    """A geometry sent in a body, in `srid` (x/east first), as 2-D EPSG:4326.

    Z is dropped (documented in docs/API.md); coordinates must be finite, and inside the
    CRS's area of use before a transform. Lon/lat input (4326, 4490) is not transformed: the
    service-area check of layers.geo.geometry, stricter and with a hint for swapped axes, judges it.
    """
    crs = crs_table.by_srid(srid)
    geom = geo.drop_z(geom)
    geom.srid = srid
    if geom.empty:  # nothing to transform (GEOS reads a NaN point as empty); refused later
        geom.srid = geo.STORAGE_SRID
        return geom
    coords = geo._flat_coords(geom)
    if not all(math.isfinite(c) for c in coords):
        raise ParamError(name, "The geometry has a non-finite coordinate (NaN or infinity).")
    if not crs.geographic:
        minx, miny, maxx, maxy = geom.extent
        _inside(name, crs, minx, miny)
        _inside(name, crs, maxx, maxy)
    return _to_storage(name, geom)


class GeographyDistance(Func):
    """Metres between the layer geometry and a lon/lat point, on the spheroid (geography)."""

    template = (
        "ST_Distance(%(expressions)s::geography, "
        "ST_SetSRID(ST_MakePoint(%(lon)r, %(lat)r), 4326)::geography)"
    )
    output_field = FloatField()

    def __init__(self, expression, lon: float, lat: float):
        lon, lat = float(lon), float(lat)
        if not (math.isfinite(lon) and math.isfinite(lat)):  # %r must print a SQL number
            raise ValueError("non-finite point")
        super().__init__(expression, lon=lon, lat=lat)


def within_metres(queryset, lon: float, lat: float, metres: float):
    """Features within `metres` of lon/lat: a degree box for the index, then the exact test.

    The queryset must be annotated with `_distance_m` (GeographyDistance).
    """
    dlat = metres / 110_574.0
    dlon = metres / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
    box = Polygon.from_bbox((lon - dlon, lat - dlat, lon + dlon, lat + dlat))
    box.srid = geo.STORAGE_SRID
    return queryset.filter(geom__intersects=box).filter(_distance_m__lte=metres)


def near(queryset, lon: float, lat: float, metres: float):
    """Annotated with `_distance_m` and limited to `metres` around lon/lat."""
    queryset = queryset.annotate(_distance_m=GeographyDistance("geom", lon, lat))
    return within_metres(queryset, lon, lat, metres)


def distance_property() -> dict:
    """The distance in metres, rounded to centimetres, as a feature property."""
    return {
        "distance_m": Func(
            F("_distance_m"),
            template="ROUND((%(expressions)s)::numeric, 2)",
            output_field=FloatField(),
        )
    }


MAX_NEAREST = 100


def nearest(queryset, lon: float, lat: float, k: int):
    """The `k` features of `queryset` nearest to lon/lat, nearest first (then by id), each
    annotated with `_distance_m`: metres on the spheroid, for points and areas alike; None
    when there is none.

    KNN (`<->` on the GiST index, in degrees) finds k candidates fast; the true k nearest in
    metres all lie within the farthest candidate's metric distance (at least k features do), so
    a second exact pass inside that reach settles the order.
    """
    from django.contrib.gis.db.models.functions import GeometryDistance
    from django.contrib.gis.geos import Point

    annotated = queryset.annotate(_distance_m=GeographyDistance("geom", lon, lat))
    here = Point(lon, lat, srid=geo.STORAGE_SRID)
    candidates = annotated.order_by(GeometryDistance("geom", here)).values_list(
        "_distance_m", flat=True
    )[:k]
    reach = max(candidates, default=None)
    if reach is None:
        return None
    return within_metres(annotated, lon, lat, reach + 0.01).order_by("_distance_m", "pk")[:k]
