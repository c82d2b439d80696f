"""GCJ-02 / BD-09 conversions (layers/geo/gcj02.py and static/js/gcj02.js): published vectors,
round trips, the Changzhou offset, GeoJSON mapping and Python/JS parity. No database."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from layers.geo import gcj02 as g
from tests.conftest import missing_tool

JS_FILE = Path(__file__).resolve().parent.parent / "static" / "js" / "gcj02.js"
NODE = shutil.which("node") or ("/usr/bin/node" if Path("/usr/bin/node").exists() else None)

ANCHOR = (119.94722, 31.78278)  # 瞿秋白故居, WGS84 (REFERENCE.md)
FORWARD_TOL = 1e-8  # degrees (about 1 mm)

# (function name, input (lon, lat), expected (lon, lat), tolerance in degrees); REFERENCE.md table.
VECTORS = [
    # eviltransform go test
    ("wgs84_to_gcj02", (121.5272106, 31.1774276), (121.531541859215, 31.17530398364597), 1e-8),
    ("wgs84_to_gcj02", (116.377817, 39.911954), (116.38404722455657, 39.91334545536069), 1e-8),
    # gcoord specs: published truncated to 8 (GCJ) and 7 (BD) decimals: one last-digit unit.
    ("wgs84_to_gcj02", (123.0, 45.0), (123.00607541, 45.00197815), 1e-8),
    ("wgs84_to_bd09", (123.0, 45.0), (123.0124491, 45.0083293), 1e-7),
    ("gcj02_to_wgs84", (123.0, 45.0), (122.99395597, 44.99804071), 5e-6),
    # coordtransform README
    ("wgs84_to_gcj02", (116.404, 39.915), (116.41024449916938, 39.91640428150164), 1e-8),
    ("gcj02_to_bd09", (116.404, 39.915), (116.41036949371029, 39.92133699351021), 1e-10),
]

# Service area around Changzhou's old town, WGS84.
LON_RANGE = (119.93, 119.97)
LAT_RANGE = (31.765, 31.80)


def grid(n_lon: int, n_lat: int) -> list[tuple[float, float]]:
    return [
        (
            LON_RANGE[0] + (LON_RANGE[1] - LON_RANGE[0]) * i / (n_lon - 1),
            LAT_RANGE[0] + (LAT_RANGE[1] - LAT_RANGE[0]) * j / (n_lat - 1),
        )
        for i in range(n_lon)
        for j in range(n_lat)
    ]


def metres(lon: float, lat: float, dlon: float, dlat: float) -> tuple[float, float]:
    """(east, north) metres of a small (dlon, dlat) step at (lon, lat) on the WGS84 ellipsoid."""
    a, e2 = 6378137.0, 0.00669437999014
    phi = math.radians(lat)
    w = math.sqrt(1 - e2 * math.sin(phi) ** 2)
    meridian = a * (1 - e2) / w**3
    prime = a / w
    return math.radians(dlon) * prime * math.cos(phi), math.radians(dlat) * meridian


def close(got, expected, tol) -> bool:
    return abs(got[0] - expected[0]) <= tol and abs(got[1] - expected[1]) <= tol


@pytest.mark.parametrize(("name", "given", "expected", "tol"), VECTORS)
def test_published_vectors(name, given, expected, tol):
    got = getattr(g, name)(*given)
    assert close(got, expected, tol), (name, given, got, expected)


@pytest.mark.parametrize(
    "point",
    [(0.0, 0.0), (-0.1278, 51.5074), (139.6917, 35.6895), (-74.006, 40.7128), (151.2, -33.87)],
)
def test_outside_china_is_identity(point):
    assert g.outside_china(*point)
    assert g.wgs84_to_gcj02(*point) == point
    assert g.gcj02_to_wgs84(*point) == point


def test_inside_china():
    assert not g.outside_china(*ANCHOR)
    assert not g.outside_china(116.404, 39.915)


def test_round_trip_around_changzhou():
    worst = 0.0
    for lon, lat in grid(9, 9):
        back = g.gcj02_to_wgs84(*g.wgs84_to_gcj02(lon, lat))
        worst = max(worst, abs(back[0] - lon), abs(back[1] - lat))
    assert worst < 1e-7  # about 1 cm, the requirement
    assert worst < 1e-9  # what the default iteration actually reaches


def test_three_iterations_reach_a_millimetre():
    for lon, lat in grid(5, 5):
        back = g.gcj02_to_wgs84(*g.wgs84_to_gcj02(lon, lat), iterations=3)
        east, north = metres(lon, lat, back[0] - lon, back[1] - lat)
        assert math.hypot(east, north) < 1e-3


def test_changzhou_offset_magnitude():
    lon, lat = ANCHOR
    glon, glat = g.wgs84_to_gcj02(lon, lat)
    east, north = metres(lon, lat, glon - lon, glat - lat)
    # REFERENCE.md (approximate): about 502 m in total, 444 m east and 233 m south.
    assert abs(east - 444) <= 15, east
    assert abs(-north - 233) <= 15, north
    assert abs(math.hypot(east, north) - 502) <= 15


def test_single_subtraction_is_worse_than_iterating():
    errors = []
    for lon, lat in [ANCHOR, *grid(5, 5)]:
        shifted = g.wgs84_to_gcj02(lon, lat)
        once = g.gcj02_to_wgs84(*shifted, iterations=1)
        full = g.gcj02_to_wgs84(*shifted)
        err_once = math.hypot(*metres(lon, lat, once[0] - lon, once[1] - lat))
        err_full = math.hypot(*metres(lon, lat, full[0] - lon, full[1] - lat))
        assert 0.4 <= err_once <= 2.0, (lon, lat, err_once)
        assert err_full < 1e-4 < err_once
        errors.append(err_once)
    assert min(errors) >= 0.4 and max(errors) <= 2.0


def test_bd09_round_trip():
    for lon, lat in grid(5, 5):
        back = g.bd09_to_wgs84(*g.wgs84_to_bd09(lon, lat))
        assert close(back, (lon, lat), 1e-9)
        gcj = g.wgs84_to_gcj02(lon, lat)
        assert close(g.bd09_to_gcj02(*g.gcj02_to_bd09(*gcj)), gcj, 1e-9)
    # The closed-form inverse alone is only good to about 1e-6 degree.
    gcj = g.wgs84_to_gcj02(*ANCHOR)
    assert close(g.bd09_to_gcj02(*g.gcj02_to_bd09(*gcj), iterations=0), gcj, 5e-6)


def test_bd09_distance_from_wgs84():
    lon, lat = ANCHOR
    blon, blat = g.wgs84_to_bd09(lon, lat)
    total = math.hypot(*metres(lon, lat, blon - lon, blat - lat))
    assert 900 < total < 1300  # "~1.1 km from WGS84"


def test_transform_geojson_coords_nested():
    def shift(lon, lat):
        return lon + 1, lat + 2

    ring = [[0, 0], [1, 0], [1, 1], [0, 0]]
    assert g.transform_geojson_coords([10, 20], shift) == [11, 22]
    assert g.transform_geojson_coords([10, 20, 5.5], shift) == [11, 22, 5.5]
    assert g.transform_geojson_coords([[0, 0], [1, 1]], shift) == [[1, 2], [2, 3]]
    polygon = [ring]
    assert g.transform_geojson_coords(polygon, shift) == [[[1, 2], [2, 2], [2, 3], [1, 2]]]
    multi = [polygon, [ring, ring]]
    out = g.transform_geojson_coords(multi, shift)
    assert out[1][1][2] == [2, 3]
    assert len(out) == 2 and len(out[1]) == 2 and len(out[1][0]) == 4
    # New lists: the input is untouched, tuples come back as lists.
    assert multi[0][0][0] == [0, 0]
    assert g.transform_geojson_coords(((0.5, 0.5),), shift) == [[1.5, 2.5]]
    assert g.transform_geojson_coords([], shift) == []


def test_transform_geojson_coords_with_real_conversion():
    poly = [[list(ANCHOR), [119.948, 31.783], [119.948, 31.7835], list(ANCHOR)]]
    shifted = g.transform_geojson_coords(poly, g.wgs84_to_gcj02)
    assert shifted[0][1] == list(g.wgs84_to_gcj02(119.948, 31.783))
    back = g.transform_geojson_coords(shifted, g.gcj02_to_wgs84)
    for got, want in zip(back[0], poly[0], strict=True):
        assert close(got, want, 1e-9)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "fn",
    [
        g.wgs84_to_gcj02,
        g.gcj02_to_wgs84,
        g.gcj02_to_bd09,
        g.bd09_to_gcj02,
        g.wgs84_to_bd09,
        g.bd09_to_wgs84,
        g.outside_china,
    ],
)
def test_non_finite_raises(fn, bad):
    with pytest.raises(ValueError):
        fn(bad, 31.78)
    with pytest.raises(ValueError):
        fn(119.95, bad)


def test_bad_geojson_coords_raise():
    with pytest.raises(ValueError):
        g.transform_geojson_coords([[math.nan, 31.78]], g.wgs84_to_gcj02)
    with pytest.raises(ValueError):
        g.transform_geojson_coords("119.9,31.7", g.wgs84_to_gcj02)


# --- JavaScript parity --------------------------------------------------------------------

JS_NAMES = {
    "wgs84_to_gcj02": "wgs84ToGcj02",
    "gcj02_to_wgs84": "gcj02ToWgs84",
    "gcj02_to_bd09": "gcj02ToBd09",
    "bd09_to_gcj02": "bd09ToGcj02",
    "wgs84_to_bd09": "wgs84ToBd09",
    "bd09_to_wgs84": "bd09ToWgs84",
}

# Reads {"calls": [[name, lon, lat], ...], "geojson": ...} on stdin, prints the results.
NODE_SCRIPT = """
const G = require(process.argv[1]);
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const req = JSON.parse(input);
  const results = req.calls.map(([name, lon, lat]) => G[name](lon, lat));
  const before = JSON.stringify(req.geojson);
  const shifted = G.transformGeoJSON(req.geojson, G.wgs84ToGcj02);
  let nanError = null;
  try { G.wgs84ToGcj02(NaN, 31.78); } catch (e) { nanError = e.name; }
  process.stdout.write(JSON.stringify({
    results, shifted, unchanged: before === JSON.stringify(req.geojson), nanError,
    outside: G.outsideChina(-0.1278, 51.5074), tokyo: G.wgs84ToGcj02(139.6917, 35.6895),
  }));
});
"""


def run_node(request: dict) -> dict:
    done = subprocess.run(
        [NODE, "-e", NODE_SCRIPT, str(JS_FILE)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_javascript_matches_python():
    if NODE is None:
        missing_tool("Node.js (node / /usr/bin/node; Debian package nodejs) is not installed")
    points = grid(10, 5)  # 50 points around Changzhou
    calls = [(name, *given) for name, given, _, _ in VECTORS]
    for lon, lat in points:
        calls.append(("wgs84_to_gcj02", lon, lat))
        calls.append(("gcj02_to_wgs84", *g.wgs84_to_gcj02(lon, lat)))
        calls.append(("wgs84_to_bd09", lon, lat))
        calls.append(("bd09_to_wgs84", *g.wgs84_to_bd09(lon, lat)))
        calls.append(("bd09_to_gcj02", lon, lat))
    feature = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "瞿秋白故居"},
                "geometry": {"type": "Point", "coordinates": list(ANCHOR)},
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": [[[list(p) for p in points[:3]] + [list(points[0])]]],
                },
            },
            {"type": "Feature", "properties": {}, "geometry": None},
        ],
    }
    out = run_node({"calls": [[JS_NAMES[c[0]], c[1], c[2]] for c in calls], "geojson": feature})

    # Published vectors, checked in JS directly.
    for (name, given, expected, tol), got in zip(VECTORS, out["results"], strict=False):
        assert close(got, expected, tol), ("js", name, given, got, expected)
    # JS and Python agree everywhere to 1e-10 degree.
    for (name, lon, lat), got in zip(calls, out["results"], strict=True):
        want = getattr(g, name)(lon, lat)
        assert close(got, want, 1e-10), (name, lon, lat, got, want)

    assert out["unchanged"], "transformGeoJSON must not modify its input"
    assert out["nanError"] == "RangeError"
    assert out["outside"] is True
    assert out["tokyo"] == [139.6917, 35.6895]
    shifted = out["shifted"]["features"]
    assert shifted[0]["properties"] == {"name": "瞿秋白故居"}
    assert close(shifted[0]["geometry"]["coordinates"], g.wgs84_to_gcj02(*ANCHOR), 1e-10)
    py_multi = g.transform_geojson_coords(
        feature["features"][1]["geometry"]["coordinates"], g.wgs84_to_gcj02
    )
    js_multi = shifted[1]["geometry"]["coordinates"]
    for got, want in zip(js_multi[0][0], py_multi[0][0], strict=True):
        assert close(got, want, 1e-10)
    assert shifted[2]["geometry"] is None
