"""A small MBTiles file made by the tests themselves (raster PNG or gzipped vector tiles)."""

from __future__ import annotations

import gzip
import io
import sqlite3
from pathlib import Path

import mapbox_vector_tile
from PIL import Image

# The tiles around the old town (XYZ) at zooms 14-16, coloured by zoom so a test can tell them.
COLOURS = {14: (200, 40, 40), 15: (40, 160, 40), 16: (40, 40, 200)}
LON, LAT = 119.9475, 31.7835


def xyz(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def png(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(out, format="PNG")
    return out.getvalue()


def vector_tile() -> bytes:
    layer = {
        "name": "roads",
        "features": [
            {"geometry": "LINESTRING(0 0, 4096 4096)", "properties": {"name": "test"}},
            {
                "geometry": "POLYGON((100 100, 900 100, 900 900, 100 900, 100 100))",
                "properties": {},
            },
        ],
    }
    return gzip.compress(mapbox_vector_tile.encode([layer]))


def make(path: Path, *, vector: bool = False) -> dict[tuple[int, int, int], bytes]:
    """Write the file; return {(z, x, y_xyz): tile bytes} of what it holds (stored as TMS)."""
    tiles = {}
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
            " tile_data BLOB)"
        )
        meta = {
            "name": "test package",
            "format": "pbf" if vector else "png",
            "minzoom": "14",
            "maxzoom": "16",
            "attribution": "test tiles",
        }
        db.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
        for z, colour in COLOURS.items():
            cx, cy = xyz(LON, LAT, z)
            for x in range(cx - 3, cx + 4):
                for y in range(cy - 3, cy + 4):
                    data = vector_tile() if vector else png(colour)
                    tiles[(z, x, y)] = data
                    db.execute(
                        "INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, data)
                    )
    return tiles
