"""WGS84 <-> GCJ-02 (AMap/Tencent) <-> BD-09 (Baidu) conversions, pure Python, (lon, lat) order.

GCJ-02 is an obfuscation, not an EPSG CRS; the inverses are numerical (see gcj02_to_wgs84).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formulas.
KRASOVSKY_A = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323
# BD-09 works with this scaled pi.
BD_PI = math.pi * 3000.0 / 180.0

# The customary crude box for "mainland China"; outside it GCJ-02 is WGS84.
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)

# Inverse conversions stop when a step moves less than this (degrees), or after `iterations`.
INVERSE_TOLERANCE = 1e-12
DEFAULT_ITERATIONS = 10

Transform = Callable[[float, float], tuple[float, float]]


def _check(lon, lat) -> tuple[float, float]:
    lon, lat = float(lon), float(lat)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"coordinates must be finite numbers, got ({lon!r}, {lat!r})")
    return lon, lat


def outside_china(lon: float, lat: float) -> bool:
    """True when (lon, lat) is outside the crude mainland-China box (no GCJ-02 shift there)."""
    lon, lat = _check(lon, lat)
    return not (CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1])


def _offset(lon: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 shift (dlon, dlat) in degrees at WGS84 (lon, lat) inside China."""
    x, y = lon - 105.0, lat - 35.0
    # Shared periodic term of x, then one polynomial + sine series per axis (metres-ish units).
    wave = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + wave
    east += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    east += (
        (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + wave
    north += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    north += (
        (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )
    # Metres to degrees on the Krasovsky ellipsoid at this latitude.
    phi = math.radians(lat)
    w2 = 1.0 - KRASOVSKY_EE * math.sin(phi) ** 2
    w = math.sqrt(w2)
    meridian = KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w2 * w)  # meridional radius of curvature
    parallel = KRASOVSKY_A / w * math.cos(phi)  # radius of the parallel
    return east * 180.0 / (parallel * math.pi), north * 180.0 / (meridian * math.pi)


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 -> GCJ-02. Identity outside China."""
    lon, lat = _check(lon, lat)
    if outside_china(lon, lat):
        return lon, lat
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def _invert(forward: Transform, lon: float, lat: float, iterations: int) -> tuple[float, float]:
    """Solve forward(p) = (lon, lat) by fixed-point iteration p <- p - (forward(p) - target).

    The shifts vary slowly with position, so each step shrinks the error by a factor of
    roughly 100 to 1000; iterations=1 is the common "single subtraction" approximation.
    """
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    x, y = lon, lat
    for _ in range(iterations):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        x, y = x - dx, y - dy
        if abs(dx) < INVERSE_TOLERANCE and abs(dy) < INVERSE_TOLERANCE:
            break
    return x, y


def gcj02_to_wgs84(
    lon: float, lat: float, iterations: int = DEFAULT_ITERATIONS
) -> tuple[float, float]:
    """GCJ-02 -> WGS84 by iterating the forward transform; identity outside China.

    Accuracy (inside China): each step leaves roughly 1/100-1/1000 of the previous error.
    Measured around Changzhou: iterations=1 (the "single subtraction") is off by 0.8-1.8 m,
    2 by up to 4 mm, 3 by under 0.01 mm (< 1e-10 degree). The loop stops early once a step
    is below 1e-12 degree; the default of 10 is a safety cap. Points within a few hundred
    metres of the box edge may map across it.
    """
    lon, lat = _check(lon, lat)
    if outside_china(lon, lat):
        return lon, lat
    return _invert(wgs84_to_gcj02, lon, lat, iterations)


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 -> BD-09 (Baidu). Applied everywhere, as Baidu does."""
    x, y = _check(lon, lat)
    z = math.hypot(x, y) + 0.00002 * math.sin(y * BD_PI)
    theta = math.atan2(y, x) + 0.000003 * math.cos(x * BD_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _bd09_to_gcj02_closed_form(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * BD_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * BD_PI)
    return z * math.cos(theta), z * math.sin(theta)


def bd09_to_gcj02(
    lon: float, lat: float, iterations: int = DEFAULT_ITERATIONS
) -> tuple[float, float]:
    """BD-09 -> GCJ-02: the customary closed form (good to ~1e-6 degree), refined by iteration.

    iterations=0 returns the closed form alone; otherwise the result satisfies
    gcj02_to_bd09(result) == input to better than 1e-9 degree.
    """
    lon, lat = _check(lon, lat)
    x, y = _bd09_to_gcj02_closed_form(lon, lat)
    for _ in range(iterations):
        fx, fy = gcj02_to_bd09(x, y)
        dx, dy = fx - lon, fy - lat
        x, y = x - dx, y - dy
        if abs(dx) < INVERSE_TOLERANCE and abs(dy) < INVERSE_TOLERANCE:
            break
    return x, y


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 -> BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(
    lon: float, lat: float, iterations: int = DEFAULT_ITERATIONS
) -> tuple[float, float]:
    """BD-09 -> WGS84 (via GCJ-02); `iterations` is passed to both inverse steps."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat, iterations), iterations=max(iterations, 1))


def _is_position(value) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) >= 2
        and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in value)
    )


def transform_geojson_coords(coords, fn: Transform) -> list:
    """Map fn(lon, lat) -> (lon, lat) over GeoJSON `coordinates` of any depth (Point to
    MultiPolygon), returning new lists. Extra ordinates (z, m) are kept unchanged."""
    if _is_position(coords):
        lon, lat = fn(coords[0], coords[1])
        return [lon, lat, *coords[2:]]
    if isinstance(coords, Sequence) and not isinstance(coords, str):
        return [transform_geojson_coords(part, fn) for part in coords]
    raise ValueError(f"not a GeoJSON coordinate array: {coords!r}")
