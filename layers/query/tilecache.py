"""The tile cache: tiles by (layers, z, x, y, role class), valid for one generation of the data.

Django's cache framework holds the bytes: Redis when REDIS_URL is set (shared by every node),
local memory otherwise. The generation comes from PostgreSQL (layers_generation, bumped by
triggers on every write, see migration 0007), so an edit made through any channel on any node
changes the key at once; stale entries are never read again and age out.
"""

from __future__ import annotations

import hashlib

from django.core.cache import caches
from django.db import connections

CACHE = "tiles"


def generation(specs, z: int | None = None) -> str:
    """The generations of the tables the layers' tiles at zoom z are read from, e.g.
    'buildings:42.7;hazards:7' (one indexed query)."""
    from layers.query.mvt import reading_database, tables

    by_spec = [tables(spec, z) for spec in specs]
    # Read where the tile is read: a lagging replica then keys what it actually holds.
    with connections[reading_database(specs)].cursor() as cursor:
        cursor.execute(
            "SELECT table_name, value FROM layers_generation WHERE table_name = ANY(%s)",
            [[t for names in by_spec for t in names]],
        )
        values = dict(cursor.fetchall())
    return ";".join(
        f"{spec.slug}:{'.'.join(str(values.get(t, 0)) for t in names)}"
        for spec, names in zip(specs, by_spec, strict=True)
    )


def role_class(specs, properties_by_layer: list[list[str]]) -> str:
    """Who sees the same bytes: callers given the same properties of the same layers."""
    parts = [
        f"{spec.slug}={','.join(names)}"
        for spec, names in zip(specs, properties_by_layer, strict=True)
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def key(gen: str, role: str, z: int, x: int, y: int) -> str:
    return "tile:" + hashlib.sha256(f"{gen}|{role}|{z}/{x}/{y}".encode()).hexdigest()


def get(cache_key: str) -> bytes | None:
    from geo_service.middleware.metrics import count_tile_cache

    data = caches[CACHE].get(cache_key)
    count_tile_cache(data is not None)  # the hit rate, for /metrics
    return data


def put(cache_key: str, data: bytes) -> None:
    caches[CACHE].set(cache_key, data)


def encoded(cache_key: str, coding: str, raw) -> bytes:
    """The tile compressed with `coding` ('br' or 'gzip'), cached beside the raw bytes.

    `raw()` gives the uncompressed tile (from the cache or rendered). Compressing a 270 KB
    tile costs ~13 ms, four times a warm tile's whole answer: browsers, which always send
    Accept-Encoding, get the stored compressed bytes instead.
    """
    from geo_service.middleware.compression import compress

    variant = f"{cache_key}:{coding}"
    data = caches[CACHE].get(variant)
    if data is None:
        data = compress(raw(), coding)
        caches[CACHE].set(variant, data)
    return data
