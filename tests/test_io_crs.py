"""The import/export CRS list (layers/geo/files.py): parsing, guessing, transforms. No database."""

from __future__ import annotations

import math

import pytest
import shapely

from layers.geo import files as c
from layers.geo import gcj02

ANCHOR = shapely.Point(119.94722, 31.78278)  # 瞿秋白故居 (REFERENCE.md)
CM = 1e-7  # about 1 cm in degrees here


@pytest.mark.parametrize(
    ("raw", "key"),
    [("4326", 4326), ("EPSG:4549", 4549), (" 4528 ", 4528), ("3857", 3857), ("4490", 4490),
     ("gcj02", "gcj02"), ("GCJ-02", "gcj02"), ("BD-09", "bd09")],
)  # fmt: skip
def test_parse_accepts_the_list(raw, key):
    assert c.parse(raw) == key


@pytest.mark.parametrize(
    "raw", ["4547", "+proj=longlat", "/vsicurl/http://x/a.prj", "EPSG:4326x", "", "wgs84", "1e3"]
)
def test_parse_refuses_anything_else(raw):
    with pytest.raises(c.CrsError):
        c.parse(raw)


def test_reference_vector_in_gauss_kruger():
    east, north = c.from_storage([ANCHOR], 4549)[0].coords[0]
    assert abs(east - 495000.929) < 0.002 and abs(north - 3517767.227) < 0.002
    east40, north40 = c.from_storage([ANCHOR], 4528)[0].coords[0]
    assert abs(east40 - 40495000.929) < 0.002 and abs(north40 - north) < 1e-6


@pytest.mark.parametrize("key", [4326, 4490, 4549, 4528, 3857, "gcj02", "bd09"])
def test_every_crs_round_trips_to_a_centimetre(key):
    ring = shapely.Polygon([(119.945, 31.78), (119.95, 31.78), (119.95, 31.785), (119.945, 31.78)])
    for geom in (ANCHOR, ring):
        there = c.from_storage([geom], key)[0]
        back = c.to_storage([there], key)[0]
        assert shapely.hausdorff_distance(back, geom) < CM


def test_gcj02_import_uses_the_iterated_inverse():
    shifted = shapely.Point(gcj02.wgs84_to_gcj02(ANCHOR.x, ANCHOR.y))
    back = c.to_storage([shifted], "gcj02")[0]
    assert back.distance(ANCHOR) < 1e-9
    assert shifted.distance(ANCHOR) > 0.003  # the ~500 m shift was really removed


@pytest.mark.parametrize("key", [4326, 4549, 4528, 3857])
def test_guess_from_coordinates(key):
    geom = c.from_storage([ANCHOR.buffer(0.001)], key)[0]
    guessed = c.guess(geom.bounds)
    assert guessed.key == key and guessed.guessed and guessed.reason


@pytest.mark.parametrize(
    ("bounds", "words"),
    [
        ((39495000, 3517767, 39495100, 3517800), "zone prefix 39"),
        ((5.0, 5.0, 6.0, 6.0), "cannot tell"),
        ((1e300, 0, 1e300, 1), "cannot tell"),
        ((math.nan, 0, 1, 1), "finite"),
    ],
)
def test_guess_refuses(bounds, words):
    with pytest.raises(c.CrsError, match=words):
        c.guess(bounds)


def test_coordinates_outside_the_area_of_use_never_reach_proj():
    with pytest.raises(c.CrsError, match="area of use"):
        c.to_storage([shapely.Point(1e300, 3517767.0)], 4549)


def test_file_crs_names_are_read_back():
    for key in (4326, 4490, 4549, 4528, 3857, "gcj02", "bd09"):
        assert c.of_file(c.file_crs(key)) == key
    assert c.of_file(None) is None
    import pyproj

    with pytest.raises(c.CrsError, match="not supported"):
        c.of_file(pyproj.CRS.from_epsg(4547))


def test_service_area_check():
    assert c.in_service_area([ANCHOR])
    assert not c.in_service_area([shapely.Point(120.5, 31.78)])
