"""Offline tile packages: `MAP_BASEMAP=mbtiles:<path>` serves the tiles of an MBTiles file.

An MBTiles file is SQLite (https://github.com/mapbox/mbtiles-spec): a `metadata` table (name,
format: png / jpg / webp / pbf, minzoom, maxzoom, attribution, ...) and a `tiles` table keyed
by zoom_level, tile_column, tile_row, with rows counted from the south (TMS). The map pages ask
for XYZ tiles at /basemap/{z}/{x}/{y} (layers/channels/tiles/basemap.py); the row is flipped
here. The file is the operator's (configuration), opened read-only; nothing in a request
names a file.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core import checks

PREFIX = "mbtiles:"
CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "pbf": "application/vnd.mapbox-vector-tile",
}
MAX_ZOOM = 24


def mbtiles_path() -> Path | None:
    """The configured MBTiles file, or None when MAP_BASEMAP is not `mbtiles:<path>`."""
    value = getattr(settings, "MAP_BASEMAP", "none") or "none"
    if not value.startswith(PREFIX):
        return None
    return Path(value[len(PREFIX) :]).expanduser()


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)


@lru_cache(maxsize=4)
def _metadata_of(path: str, mtime: float) -> dict[str, str]:
    with closing(_connect(Path(path))) as db:
        return dict(db.execute("SELECT name, value FROM metadata").fetchall())


def metadata(path: Path | None = None) -> dict[str, str]:
    """The file's metadata table (name -> value); raises OSError / sqlite3.Error if unusable."""
    path = path or mbtiles_path()
    if path is None:
        return {}
    return _metadata_of(str(path.resolve()), path.stat().st_mtime)


def tile_format(meta: dict[str, str]) -> str:
    return (meta.get("format") or "png").lower()


def is_vector(meta: dict[str, str]) -> bool:
    return tile_format(meta) == "pbf"


def read_tile(path: Path, z: int, x: int, y: int) -> bytes | None:
    """The tile at XYZ z/x/y (the file stores TMS rows: y is flipped)."""
    row = (1 << z) - 1 - y
    with closing(_connect(path)) as db:
        found = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, row),
        ).fetchone()
    return bytes(found[0]) if found else None


@checks.register()
def check_mbtiles(app_configs=None, **kwargs):
    """`manage.py check` (and every start) says when the configured package cannot be used."""
    path = mbtiles_path()
    if path is None:
        return []
    try:
        meta = metadata(path)
    except (OSError, sqlite3.Error) as exc:
        return [checks.Error(f"MAP_BASEMAP: cannot read {path} as MBTiles: {exc}", id="hh.E101")]
    if tile_format(meta) not in CONTENT_TYPES:
        return [
            checks.Error(
                f"MAP_BASEMAP: {path} holds {meta.get('format')!r} tiles; "
                f"supported: {', '.join(CONTENT_TYPES)}",
                id="hh.E102",
            )
        ]
    return []
