"""CRSs of OGC API - Features Part 2: URIs, SRIDs and the axis order each one requires."""

from __future__ import annotations

from dataclasses import dataclass

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@dataclass(frozen=True)
class OutputCrs:
    uri: str
    srid: int
    # EPSG's axis order is northing/latitude first for these; CRS84 and 3857 are x/east first.
    flip: bool
    # Decimal places of coordinates: ~1 cm in degrees, 1 mm in metres.
    precision: int


SUPPORTED = (
    OutputCrs(CRS84, 4326, False, 7),
    OutputCrs(EPSG + "4326", 4326, True, 7),
    OutputCrs(EPSG + "4490", 4490, True, 7),
    OutputCrs(EPSG + "4549", 4549, True, 3),
    OutputCrs(EPSG + "4528", 4528, True, 3),
    OutputCrs(EPSG + "3857", 3857, False, 3),
)
_BY_URI = {c.uri: c for c in SUPPORTED}
STORAGE_CRS = EPSG + "4326"


def parse(uri: str) -> OutputCrs:
    """A CRS of the list by its URI; ValueError for anything else (never passed to GDAL)."""
    try:
        return _BY_URI[uri.strip()]
    except KeyError:
        raise ValueError(f"unsupported CRS {uri!r}; use one of {', '.join(_BY_URI)}") from None


def uris() -> list[str]:
    return [c.uri for c in SUPPORTED]
