"""The CRSs the service speaks: URIs, EPSG codes, axis order, precision and area of use.

One table for every channel: OGC `crs` / `bbox-crs` (URIs), REST `?crs=` for bodies (EPSG
codes), and the coordinate checks made before any transform. `bounds` is the EPSG area of use
in the CRS's own x/y (east/north) units, taken from PROJ's database (pyproj's transform_bounds of
the lon/lat area of use, rounded outward; tests/test_query_params.py checks them against pyproj).
A coordinate outside it never reaches PROJ, which can spin for minutes on huge values.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.geo import geometry as geo

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    # EPSG's axis order is northing/latitude first for these; CRS84 and 3857 are x/east first.
    flip: bool
    # Decimal places of coordinates: ~1 cm in degrees, 1 mm in metres.
    precision: int
    # Area of use as (min x, min y, max x, max y), x = east / longitude.
    bounds: tuple[float, float, float, float]

    @property
    def geographic(self) -> bool:
        return self.srid in (4326, 4490)

    def contains(self, x: float, y: float) -> bool:
        minx, miny, maxx, maxy = self.bounds
        return minx <= x <= maxx and miny <= y <= maxy


WORLD = (-180.0, -90.0, 180.0, 90.0)
CHINA = (73.62, 16.7, 134.77, 53.56)  # EPSG:4490's area of use
GK_120E = (347872.0, 2702916.0, 652128.0, 5912396.0)  # EPSG:4549
GK_ZONE_40 = (40347872.0, 2702916.0, 40652128.0, 5912396.0)  # EPSG:4528
WEB_MERCATOR = (-20037508.35, -20048966.11, 20037508.35, 20048966.11)  # EPSG:3857

SUPPORTED = (
    Crs(CRS84, 4326, False, 7, WORLD),
    Crs(EPSG + "4326", 4326, True, 7, WORLD),
    Crs(EPSG + "4490", 4490, True, 7, CHINA),
    Crs(EPSG + "4549", 4549, True, 3, GK_120E),
    Crs(EPSG + "4528", 4528, True, 3, GK_ZONE_40),
    Crs(EPSG + "3857", 3857, False, 3, WEB_MERCATOR),
)
_BY_URI = {c.uri: c for c in SUPPORTED}
# By EPSG code, with x/east first (how GeoJSON bodies are written, whatever the CRS).
BY_SRID = {c.srid: c for c in SUPPORTED if c.uri != EPSG + "4326"}
STORAGE = _BY_URI[CRS84]
STORAGE_CRS = EPSG + "4326"

assert set(BY_SRID) == set(geo.ALLOWED_INPUT_SRIDS)  # noqa: S101 (one list, checked at import)


def parse(uri: str) -> Crs:
    """A CRS of the list by its URI; ValueError for anything else (never passed to GDAL)."""
    try:
        return _BY_URI[uri.strip()]
    except (KeyError, AttributeError):
        raise ValueError(f"unsupported CRS {uri!r}; use one of {', '.join(_BY_URI)}") from None


def by_srid(srid: int) -> Crs:
    return BY_SRID[srid]


def uris() -> list[str]:
    return [c.uri for c in SUPPORTED]
