"""GeoJSON encoded by PostGIS: one SQL statement turns a filtered queryset into features.

The queryset (filters, ordering, page) is built with the ORM; its SQL is wrapped so that
ST_AsGeoJSON and json_agg produce the text that goes to the client unchanged. No Python loop
touches a feature (ARCHITECTURE.md, speed rules).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db import connections, models
from django.db.models import Case, F, Func, Value, When
from django.db.models.functions import Cast, Concat

from layers.domain import registry

PRECISION = 7  # decimal places of lon/lat: about 1 cm


class JSONBuildObject(Func):
    """json_build_object(k1, v1, ...): keeps key order, unlike Django's JSONObject (jsonb)."""

    function = "JSON_BUILD_OBJECT"
    output_field = models.JSONField()

    def __init__(self, **fields):
        expressions = []
        for key, value in fields.items():
            expressions.extend((Cast(Value(key), models.TextField()), value))
        super().__init__(*expressions)


def property_expressions(
    spec: registry.LayerSpec, fields, computed: bool = True
) -> dict[str, models.Expression]:
    """SQL expressions for the properties of a feature, by property name (with the spec's
    computed properties unless `computed` is false)."""
    user_model = get_user_model()
    out: dict[str, models.Expression] = {}
    for name in fields:
        field = spec.model._meta.get_field(name)
        if field.many_to_one and field.related_model is user_model:
            out[name] = F(f"{name}__username")
        elif field.many_to_one:
            out[name] = F(field.attname)
        elif isinstance(field, models.FileField):
            media = "/" + settings.MEDIA_URL.lstrip("/")
            out[name] = Case(
                When(**{name: ""}, then=Value(None)),
                default=Concat(Value(media), F(name)),
                output_field=models.TextField(),
            )
        else:
            out[name] = F(name)
    if spec.computed_properties and computed:
        for name, expression in spec.computed_properties().items():
            out[name] = expression
    return out


def feature_rows(queryset, spec, fields, extra=None, geometry=None, computed=True, key="pk"):
    """The queryset as (key, GeoJSON geometry text, properties JSON) rows."""
    properties = property_expressions(spec, fields, computed)
    properties.update(extra or {})
    return queryset.annotate(
        _geojson=geometry if geometry is not None else AsGeoJSON("geom", precision=PRECISION),
        _props=JSONBuildObject(**properties),
    ).values_list(key, "_geojson", "_props")


_feature_rows = feature_rows  # the name bench/ scripts import

FEATURE = (
    "json_build_object('type', 'Feature', 'id', t.{key}, "
    "'geometry', t._geojson::json, 'properties', t._props)"
)


def encode_features(queryset, spec, fields, extra=None) -> str:
    """A JSON array (text) of the queryset's features, in the queryset's order."""
    return encode_page(queryset, spec, fields, extra)[0]


def encode_page(
    queryset, spec, fields, extra=None, geometry=None, computed=True, key="pk"
) -> tuple[str, int]:
    """The features (JSON array text) and how many there are, in one statement.

    `geometry` replaces the default ST_AsGeoJSON(geom) (e.g. transformed for OGC's crs=);
    `key` names the feature id's column ("id" for a history queryset, query/asof.py).
    """
    rows = feature_rows(queryset, spec, fields, extra, geometry, computed, key)
    sql, params = rows.query.sql_with_params()
    feature = FEATURE.format(key=key)
    # The inner SQL is Django's own compilation of the queryset; values stay in `params`.
    wrapped = f"SELECT COALESCE(json_agg({feature}), '[]'::json)::text, count(*) FROM ({sql}) t"  # noqa: S608
    # The queryset's database: the replica when a router sends reads there.
    with connections[rows.db].cursor() as cursor:
        cursor.execute(wrapped, params)
        text, count = cursor.fetchone()
    return text, count


def encode_feature(queryset, spec, fields, extra=None, geometry=None, computed=True) -> str | None:
    """One feature (text), or None if the queryset is empty."""
    rows = feature_rows(queryset[:1], spec, fields, extra, geometry, computed)
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(f"SELECT {FEATURE.format(key='pk')}::text FROM ({sql}) t", params)  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else None
