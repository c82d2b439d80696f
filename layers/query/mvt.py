"""Mapbox vector tiles encoded by PostGIS: ST_AsMVT / ST_AsMVTGeom / ST_TileEnvelope.

The SQL of one layer's part of a tile, with the properties the caller may see; below a layer's
detail zoom, its generalized model instead (blocks of buildings, docs/MAPS.md "Low zooms").
Channels: layers/channels/tiles/views.py (the /tiles/ endpoints). Tile coordinates must be
validated integers.
"""

from __future__ import annotations

from django.contrib.gis.db import models as gis_models
from django.db import connections, models, router, transaction
from django.db.models import Func
from django.db.models.functions import Cast

from layers.domain import registry
from layers.query import access, asof

EXTENT = 4096
BUFFER = 64
SIMPLIFY_BELOW_ZOOM = 16


class TileGeometry(Func):
    """The geometry in tile coordinates; simplified by about a pixel at low zoom."""

    output_field = gis_models.GeometryField(srid=3857)

    def __init__(self, z: int, x: int, y: int):
        z, x, y = int(z), int(x), int(y)  # validated integers, safe in the SQL text
        web = "ST_Transform(%(expressions)s, 3857)"
        if z < SIMPLIFY_BELOW_ZOOM:
            pixel = 40075016.68557849 / (2**z) / EXTENT
            web = f"ST_SimplifyPreserveTopology({web}, {pixel / 2:.6f})"
        self.template = (
            f"ST_AsMVTGeom({web}, ST_TileEnvelope({z}, {x}, {y}), {EXTENT}, {BUFFER}, true)"
        )
        super().__init__("geom")


class TileEnvelope4326(Func):
    """The tile's envelope with its buffer, in the storage CRS: the bbox the index tests."""

    output_field = gis_models.GeometryField(srid=4326)

    def __init__(self, z: int, x: int, y: int):
        z, x, y = int(z), int(x), int(y)
        margin = BUFFER / EXTENT
        self.template = f"ST_Transform(ST_TileEnvelope({z}, {x}, {y}, margin => {margin}), 4326)"
        super().__init__()


def tile_properties(
    spec: registry.LayerSpec, user, z: int, *, past: bool = False
) -> dict[str, models.Expression]:
    """The properties a tile at zoom z carries: the spec's band for z, those the caller sees
    (computed ones only of the present: `past` tiles come from history)."""
    visible = set(access.output_fields(user, spec))
    computed = spec.computed_properties() if spec.computed_properties and visible else {}
    if past:
        computed = {}
    out: dict[str, models.Expression] = {}
    for name in spec.tile_fields_at(z):
        if name in computed:
            out[name] = computed[name]
            continue
        if name not in visible:
            continue
        field = spec.model._meta.get_field(name)
        if isinstance(field, (models.JSONField, models.FileField)):
            continue
        if field.many_to_one:
            out[name] = models.F(field.attname)
        elif isinstance(field, (models.DateField, models.DateTimeField, models.DecimalField)):
            out[name] = Cast(name, models.TextField())
        else:
            out[name] = models.F(name)
    return out


def layer_tile_sql(spec, user, z: int, x: int, y: int, at=None) -> tuple[str, list]:
    """SQL returning the MVT bytes of one layer in one tile (bytea, empty if no feature).

    The index test (&&, against the buffered envelope) finds the candidates; ST_AsMVTGeom's
    clip drops those that miss the tile (NULL), so no exact ST_Intersects and no sort: the
    order of features in a tile means nothing to a client.

    OFFSET 0 keeps the inner query a subquery: flattened, PostgreSQL pushed the outer
    `_tile_geom IS NOT NULL` down into the scan and so ran ST_Transform and ST_AsMVTGeom
    twice per feature (the z16 bench tile: 91 ms with it, 55 ms without, bytes identical).
    """
    props = tile_properties(spec, user, z, past=at is not None)
    if at is None:
        base, key = spec.model.objects.all(), "pk"
    else:  # the layer as it was at `at` (query/asof.py): the feature's id is the record's `id`
        base, key = asof.features(spec, at).filter(deleted_at__isnull=True), "id"
    rows = (
        base.filter(geom__bboverlaps=TileEnvelope4326(z, x, y))
        .order_by()
        .annotate(_tile_geom=TileGeometry(z, x, y), **{f"p_{k}": v for k, v in props.items()})
        .values(key, "_tile_geom", *(f"p_{k}" for k in props))
    )
    sql, params = rows.query.sql_with_params()
    # The feature id ('fid') and the same id as a property: clients read the latter on click.
    columns = [f"t.{key} AS fid", f"t.{key} AS id", "t._tile_geom"]
    columns += [f't."p_{k}" AS "{k}"' for k in props]
    # The inner SQL is Django's compilation; property names come from the registry.
    wrapped = (
        f"SELECT ST_AsMVT(m, %s, {EXTENT}, '_tile_geom', 'fid') FROM ("  # noqa: S608
        f"SELECT {', '.join(columns)} FROM ({sql} OFFSET 0) t WHERE t._tile_geom IS NOT NULL) m"
    )
    return wrapped, [spec.slug, *params]


def is_generalized(spec, z: int) -> bool:
    """Whether tiles of `spec` at zoom z show its generalized model (blocks of buildings)."""
    return spec.generalized is not None and z < spec.generalized_below


def generalized_property_names(spec, user) -> list[str]:
    """A block's properties: its number of features, and, for those who see the status, the
    main status and the number of each status (only those present: MVT leaves out nulls)."""
    names = ["buildings"]
    if spec.status_field in access.output_fields(user, spec):
        names += [spec.status_field, *spec.status_vocabulary.values]
    return names


def tile_property_names(spec, user, z: int) -> list[str]:
    """The property names of `spec` in a tile at zoom z for `user` (the cache's role class)."""
    if is_generalized(spec, z):
        return generalized_property_names(spec, user)
    return list(tile_properties(spec, user, z))


def generalized_tile_sql(spec, user, z: int, x: int, y: int, level: int) -> tuple[str, list]:
    """SQL returning the MVT bytes of the blocks of `level` in tile z/x/y (as layer_tile_sql).

    The blocks are stored in EPSG:3857 with a GiST index per level: no transform, and the
    tile holds at most CELLS_PER_TILE² blocks of its own level.
    """
    z, x, y, level = int(z), int(x), int(y), int(level)  # validated integers, safe in SQL
    model = spec.generalized
    if level not in model.LEVELS:
        raise ValueError(f"no generalized level {level}")
    columns = ["b.buildings AS buildings"]
    names = generalized_property_names(spec, user)
    if spec.status_field in names:
        columns.append(f'b.status AS "{spec.status_field}"')
        columns += [
            f'(b.counts ->> %s)::int AS "{value}"' for value in spec.status_vocabulary.values
        ]
    params = [spec.slug, *spec.status_vocabulary.values] if len(columns) > 1 else [spec.slug]
    envelope = f"ST_TileEnvelope({z}, {x}, {y})"
    margin = BUFFER / EXTENT
    sql = (
        f"SELECT ST_AsMVT(m, %s, {EXTENT}, '_tile_geom', 'fid') FROM ("  # noqa: S608
        f"SELECT b.id AS fid, ST_AsMVTGeom(b.geom, {envelope}, {EXTENT}, {BUFFER}, true)"
        f" AS _tile_geom, {', '.join(columns)} FROM {model._meta.db_table} b"
        f" WHERE b.level = {level}"
        f" AND b.geom && ST_TileEnvelope({z}, {x}, {y}, margin => {margin}) OFFSET 0) m"
        " WHERE m._tile_geom IS NOT NULL"
    )
    return sql, params


def max_tile_bytes() -> int:
    """The size cap of one layer in a tile (TILE_MAX_BYTES, 500 KB by default)."""
    from django.conf import settings

    return int(getattr(settings, "TILE_MAX_BYTES", 500_000))


def render_tile(specs, user, z: int, x: int, y: int, at=None) -> bytes:
    """The tile's bytes. A layer with a generalized model shows it below its detail zoom, and
    instead of a detailed layer over the size cap (the densest z15 tiles of the bench set;
    the past has no blocks, so tiles `at` a time are drawn in detail only)."""
    chunks = []
    using = reading_database(specs)
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        # ST_AsMVTGeom's high cost makes the planner pick parallel sequential scans over the
        # GiST index (75 ms instead of 7 ms measured here): keep tile queries serial.
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")

        for spec in specs:
            chunks.append(_layer_chunk(cursor, spec, user, z, x, y, at))
    return b"".join(chunks)  # MVT layers concatenate into one valid tile


def _layer_chunk(cursor, spec, user, z: int, x: int, y: int, at) -> bytes:
    def run(sql_params) -> bytes:
        cursor.execute(*sql_params)
        return bytes(cursor.fetchone()[0] or b"")

    if at is None and is_generalized(spec, z):
        return run(generalized_tile_sql(spec, user, z, x, y, level=z))
    if at is not None or spec.generalized is None:
        return run(layer_tile_sql(spec, user, z, x, y, at))
    level = min(z, max(spec.generalized.LEVELS))
    if z == level and _surely_over_cap(cursor, spec, z, x, y):
        # Not rendered in detail only to be thrown away (the bench's densest z15 tile: 1.6 s).
        return run(generalized_tile_sql(spec, user, z, x, y, level=level))
    chunk = run(layer_tile_sql(spec, user, z, x, y, at))
    if len(chunk) > max_tile_bytes():
        # Over the cap: the blocks, unless there are none yet (never built).
        chunk = run(generalized_tile_sql(spec, user, z, x, y, level=level)) or chunk
    return chunk


# The fewest bytes a feature takes in a tile: an id, a status and a 4-vertex ring (the bench's
# z15 buildings take 40).
MIN_FEATURE_BYTES = 20


def _surely_over_cap(cursor, spec, z: int, x: int, y: int) -> bool:
    """Whether the tile holds so many features (as its level's blocks count them, one indexed
    query) that its detailed layer cannot fit under the cap."""
    z, x, y = int(z), int(x), int(y)
    cursor.execute(
        f"SELECT coalesce(sum(buildings), 0) FROM {spec.generalized._meta.db_table}"  # noqa: S608
        f" WHERE level = {z} AND geom && ST_TileEnvelope({z}, {x}, {y})"
    )
    return cursor.fetchone()[0] * MIN_FEATURE_BYTES > max_tile_bytes()


def tables(spec, z: int | None = None) -> list[str]:
    """The tables a tile of `spec` at zoom z is read from (any zoom: None), for its cache key:
    the detailed table can fall back to the generalized one over the size cap."""
    if spec.generalized is None:
        return [spec.model._meta.db_table]
    if z is not None and is_generalized(spec, z):
        return [spec.generalized._meta.db_table]
    return [spec.model._meta.db_table, spec.generalized._meta.db_table]


def reading_database(specs) -> str:
    """Where tiles of these layers are read: the replica, unless the request just wrote."""
    return router.db_for_read(specs[0].model)
