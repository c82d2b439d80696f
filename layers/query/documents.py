"""Documents that change only with the data, cached per role class and the layers' generation:
the OGC collections (and each collection) and the REST layer index.

A document is built once for every caller who would get the same bytes (`role`: the same
readable layers, fields and rights, site address and language) and kept until a write to one of
its layers bumps that layer's generation (the counters migration 0007's triggers keep, which the
tile cache keys on too), so an edit made through any channel on any node shows at once and old
entries are never read again. The cache is Django's "documents" (Redis when REDIS_URL is set,
shared by every node; else each process's memory).
"""

from __future__ import annotations

import hashlib

from django.core.cache import caches
from django.db import connections

from layers.query import tilecache

CACHE = "documents"
SECONDS = 24 * 3600  # unused entries age out; a changed layer changes the key at once


def cached(kind: str, specs, role: str, build):
    """The document `build()` makes for these layers and this role class, cached."""
    generation = tilecache.generation(specs) if specs else ""
    digest = hashlib.sha256(f"{kind}|{generation}|{role}".encode()).hexdigest()
    key = f"doc:{kind}:{digest}"
    cache = caches[CACHE]
    document = cache.get(key)
    if document is None:
        document = build()
        cache.set(key, document, SECONDS)
    return document


def role_key(*parts) -> str:
    """A compact key for what decides a document's content (slugs, fields, rights, host)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def extent(spec) -> tuple[list[float] | None, tuple]:
    """(the layer's bounding box or None when empty, (first, last) `updated_at` of its live
    features) in one statement, without reading the table.

    The box is ST_EstimatedExtent, which PostGIS reads from the root of the GiST index every
    layer has: current after every write, never smaller than the data (it may stay larger
    after deletions, soft ones included, until the index is rebuilt). The times come from the
    `updated_at` index. An Extent() aggregate would read every row on every request."""
    table = spec.model._meta.db_table
    column = spec.model._meta.get_field("geom").column
    with connections[spec.model.objects.db].cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), "  # noqa: S608 (model names)
            f"(SELECT min(updated_at) FROM {table} WHERE deleted_at IS NULL), "
            f"(SELECT max(updated_at) FROM {table} WHERE deleted_at IS NULL) "
            "FROM (SELECT ST_EstimatedExtent(%s, %s)::box2d AS e) s",
            [table, column],
        )
        *box, first, last = cursor.fetchone()
    return (None if box[0] is None else [float(v) for v in box]), (first, last)
