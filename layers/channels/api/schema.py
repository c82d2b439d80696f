"""OpenAPI for the layer API, generated from the registry (drf-spectacular).

GeoJSON bodies are described by hand from the model fields, because the drf-gis contrib
schemas are wrong in known ways (PITFALLS.md): each layer gets <Layer>Feature,
<Layer>FeatureCollection and <Layer>FeatureInput components, added by a post-processing hook.

Long because the document's parts (features, collections, inputs, parameters, per-caller
filtering) are one generator of one document; split, each part would import the others.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import models
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from layers.channels.api import filters
from layers.channels.api.idempotent import IDEMPOTENT_ACTIONS, IdempotentMixin
from layers.domain import labels, registry
from layers.query import spatial
from layers.query.access import AUDIT_FIELDS
from layers.query.params import MAX_TEXT_LENGTH
from layers.services.validation import writable_fields

GEOJSON = "application/geo+json"
JSON = "application/json"

_NUMBER_ARRAY = {"type": "array", "items": {"type": "number"}, "minItems": 2}


def _nest(schema: dict, depth: int) -> dict:
    for _ in range(depth):
        schema = {"type": "array", "items": schema}
    return schema


GEOMETRY_SCHEMAS = {
    "Point": {"coordinates": _NUMBER_ARRAY},
    "LineString": {"coordinates": {**_nest(_NUMBER_ARRAY, 1), "minItems": 2}},
    "MultiPolygon": {"coordinates": _nest(_NUMBER_ARRAY, 3)},
    "Polygon": {"coordinates": _nest(_NUMBER_ARRAY, 2)},
}


class ServiceAutoSchema(AutoSchema):
    """Operations an anonymous caller may use list the empty security requirement `{}`
    (DRF's AllowAny is never used here: the permissions say it,
    layers/channels/api/permissions.py)."""

    def get_auth(self):
        from layers.channels.api.permissions import allows_anonymous

        auths = super().get_auth()
        if {} not in auths and allows_anonymous(self.view, self.method):
            auths.append({})
        return auths


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Optional (IETF httpapi draft): a key of your choosing, 1-255 printable ASCII "
    'characters, quoted ("…") or bare. A repeat of the same request with the same key is '
    "answered with the first answer (Idempotent-Replayed: true) and changes nothing; the same "
    "key with another request is 422; while the first request with it runs, 409 with "
    "Retry-After. Keys are kept IDEMPOTENCY_KEY_DAYS days.",
)
REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    {"type": "string", "enum": ["true"]},
    OpenApiParameter.HEADER,
    response=[200, 201],
    description="Present on the stored answer to a repeated Idempotency-Key.",
)
IDEMPOTENCY_ERRORS = {
    "409": OpenApiResponse(
        {
            "type": "object",
            "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        },
        description="A request with this Idempotency-Key is still being processed "
        "(code idempotency_in_progress; send it again after Retry-After).",
    ),
    "422": OpenApiResponse(
        {"type": "object", "additionalProperties": True},
        description="This Idempotency-Key was first used with another request "
        "(code idempotency_key_reused).",
    ),
}


class LayerAutoSchema(ServiceAutoSchema):
    """Our list responses are whole FeatureCollections, not arrays of items to wrap. The writes
    that honour an Idempotency-Key (layers/channels/api/idempotent.py) say so."""

    def _is_list_view(self, serializer=None) -> bool:
        return False

    def _honours_idempotency_key(self) -> bool:
        return (
            self.method == "POST"
            and isinstance(self.view, IdempotentMixin)
            and getattr(self.view, "action", None) in IDEMPOTENT_ACTIONS
        )

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._honours_idempotency_key():
            parameters += [IDEMPOTENCY_KEY, REPLAYED]
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self._honours_idempotency_key():
            for code, response in IDEMPOTENCY_ERRORS.items():
                if code not in responses:
                    responses[code] = self._get_response_for_code(response, code, [JSON], direction)
        return responses

    def get_operation_id(self) -> str:
        action = getattr(self.view, "action", None)
        spec = getattr(self.view, "spec", None)
        if action and spec:
            return f"{spec.slug.replace('-', '_')}_{action}"
        return super().get_operation_id()


def geometry_schema(geometry_type: str, *, accept_polygon: bool = False) -> dict:
    types = [geometry_type] + (["Polygon"] if accept_polygon else [])
    variants = [
        {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {"type": {"type": "string", "enum": [t]}, **GEOMETRY_SCHEMAS[t]},
        }
        for t in types
    ]
    return variants[0] if len(variants) == 1 else {"oneOf": variants}


def name(spec: registry.LayerSpec) -> str:
    return "".join(part.title() for part in spec.slug.split("-"))


def field_schema(spec: registry.LayerSpec, field_name: str, *, for_input: bool = False) -> dict:
    field = spec.model._meta.get_field(field_name)
    if field_name in spec.list_fields:
        items = {"type": "string", "enum": list(spec.list_fields[field_name].values)}
        return {"type": "array", "items": items}
    if field.many_to_one:
        if field.related_model is get_user_model():
            out = {"type": "string", "description": "username"}
        else:
            out = {"type": "integer", "description": f"id of a {field.related_model.__name__}"}
    elif field.choices:
        values = [value for value, _ in field.choices]
        if field.blank:
            values.append("")
        out = {"type": "string", "enum": values}
    elif isinstance(field, models.BooleanField):
        out = {"type": "boolean"}
    elif isinstance(field, (models.IntegerField, models.AutoField)):
        out = {"type": "integer"}
        for validator in field.validators:
            if validator.__class__.__name__ == "MinValueValidator":
                out["minimum"] = validator.limit_value
            if validator.__class__.__name__ == "MaxValueValidator":
                out["maximum"] = validator.limit_value
    elif isinstance(field, (models.FloatField, models.DecimalField)):
        out = {"type": "number"}
    elif isinstance(field, models.DateTimeField):
        out = {"type": "string", "format": "date-time"}
    elif isinstance(field, models.DateField):
        out = {"type": "string", "format": "date"}
    elif isinstance(field, models.CharField) and field.max_length:
        out = {"type": "string", "maxLength": field.max_length}
    else:
        out = {"type": "string"}
    if field.null or field.many_to_one or isinstance(field, models.FileField):
        out["nullable"] = True
    label = labels.field_label(spec.model, field_name, "zh")
    out["description"] = f"{label}. {out['description']}" if "description" in out else label
    return out


def output_properties(spec: registry.LayerSpec) -> dict:
    names = [f.name for f in spec.model._meta.concrete_fields if f.name not in {"id", "geom"}]
    props = {n: field_schema(spec, n) for n in names}
    for audit in AUDIT_FIELDS:
        props[audit]["readOnly"] = True
    if spec.computed_properties:
        for computed in spec.computed_properties():
            zh, en, kind = spec.computed_labels.get(computed, (computed, computed, "boolean"))
            props[computed] = {"type": kind, "readOnly": True, "description": f"{zh} ({en})"}
            if kind != "boolean":
                props[computed]["nullable"] = True
    props["distance_m"] = {
        "type": "number",
        "readOnly": True,
        "description": "Metres from `near` (only with near=lon,lat).",
    }
    return props


def components(spec: registry.LayerSpec) -> dict[str, dict]:
    base = name(spec)
    feature = {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": geometry_schema(spec.geometry_type),
            "properties": {
                "type": "object",
                "description": "Which properties appear depends on the caller's role.",
                "properties": output_properties(spec),
            },
        },
    }
    collection = {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "count": {
                "type": "integer",
                "description": "features matching the filters: exact where counting is cheap "
                "or with count=exact, else PostgreSQL's planner estimate",
            },
            "count_exact": {"type": "boolean", "description": "false when count is an estimate"},
            "next": {"type": "string", "format": "uri", "nullable": True},
            "previous": {"type": "string", "format": "uri", "nullable": True},
            "features": {"type": "array", "items": {"$ref": f"#/components/schemas/{base}Feature"}},
        },
    }
    writable = {n: field_schema(spec, n, for_input=True) for n in writable_fields(spec)}
    writable["version"] = {"type": "integer", "description": "the version you saw"}
    feature_input = {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "geometry": geometry_schema(
                spec.geometry_type, accept_polygon=spec.geometry_type == "MultiPolygon"
            ),
            "properties": {"type": "object", "properties": writable},
        },
    }
    return {
        f"{base}Feature": feature,
        f"{base}FeatureCollection": collection,
        f"{base}FeatureInput": feature_input,
    }


def ref(component: str) -> dict:
    return {"$ref": f"#/components/schemas/{component}"}


ERROR = {
    "type": "object",
    "description": "Field name (or `detail`) to messages.",
    "additionalProperties": True,
}
DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}}
STALE = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "current_version": {"type": "integer"}},
}


def _errors(*codes: int) -> dict:
    table = {
        400: OpenApiResponse(ERROR, description="Invalid input; the body names the field."),
        401: OpenApiResponse(DETAIL, description="Not logged in (public layers need no login)."),
        403: OpenApiResponse(DETAIL, description="Your role may not do this."),
        404: OpenApiResponse(DETAIL, description="No such feature (or deleted)."),
        409: OpenApiResponse(
            {
                "type": "object",
                "properties": {
                    "detail": {"type": "string"},
                    "status": {"type": "string"},
                    "allowed": {"type": "array", "items": {"type": "string"}},
                },
            },
            description="Not possible from the current status; `allowed` names what is.",
        ),
        412: OpenApiResponse(STALE, description="Stale version: nothing was changed."),
        415: OpenApiResponse(DETAIL, description="Send application/json or application/geo+json."),
        428: OpenApiResponse(DETAIL, description="Send If-Match or the version property."),
    }
    return {(code, JSON): table[code] for code in codes}


def list_parameters(spec: registry.LayerSpec) -> list[OpenApiParameter]:
    vocabulary = {spec.status_field: spec.status_vocabulary, **spec.filter_fields}
    params = [
        OpenApiParameter("bbox", str, description="minx,miny,maxx,maxy in lon/lat (EPSG:4326)"),
        OpenApiParameter("near", str, description="lon,lat: only features within `radius`"),
        OpenApiParameter(
            "radius",
            float,
            description=(
                f"metres around `near` (default {spatial.DEFAULT_RADIUS_M}, "
                f"max {spatial.MAX_RADIUS_M})"
            ),
        ),
    ]
    for field_name, vocab in vocabulary.items():
        params.append(
            OpenApiParameter(
                field_name,
                {"type": "array", "items": {"type": "string", "enum": list(vocab.values)}},
                description=f"{vocab.zh} / {vocab.en}: one or more values",
                explode=True,
            )
        )
    params += [
        OpenApiParameter("community", str, description="community id or code"),
        OpenApiParameter("grid", str, description="grid cell id or code"),
        OpenApiParameter(
            "q",
            {"type": "string", "maxLength": MAX_TEXT_LENGTH},
            description="text in names and descriptions (no control characters)",
        ),
        OpenApiParameter(
            "updated_since", OpenApiTypes.DATETIME, description="ISO date or date-time"
        ),
        OpenApiParameter(
            "as_of",
            str,
            description="roles only: the layer as it was at this date (as that day ended) or "
            "date-time, from its history, deleted features included; never the future",
        ),
        OpenApiParameter("ordering", str, description="field[,-field]; `distance` with near"),
        OpenApiParameter("deleted", bool, description="list soft-deleted features (editors)"),
        OpenApiParameter("page", {"type": "integer", "minimum": 1, "maximum": filters.MAX_PAGE}),
        OpenApiParameter("page_size", {"type": "integer", "minimum": 1, "maximum": 1000}),
        OpenApiParameter(
            "count",
            str,
            enum=list(filters.COUNT_MODES),
            description="estimate (default): `count` is exact where counting is cheap, else "
            "the planner's estimate (`count_exact` says which); exact: counted, up to "
            "API_EXACT_COUNT matches",
        ),
    ]
    if "overdue" in filters.allowed_params(spec):
        params.append(OpenApiParameter("overdue", bool, description="past deadline, not closed"))
    return params


def nearest_parameters(spec: registry.LayerSpec) -> list[OpenApiParameter]:
    statuses = ", ".join(spec.nearest_statuses) or "every status"
    params = [
        OpenApiParameter("lon", {"type": "number", "minimum": -180, "maximum": 180}, required=True),
        OpenApiParameter("lat", {"type": "number", "minimum": -90, "maximum": 90}, required=True),
        OpenApiParameter(
            "k",
            {"type": "integer", "minimum": 1, "maximum": spatial.MAX_NEAREST},
            description="default 5",
        ),
    ]
    for field_name, vocab in spec.vocabularies().items():
        default = f" (default: {statuses})" if field_name == spec.status_field else ""
        params.append(
            OpenApiParameter(
                field_name,
                {"type": "array", "items": {"type": "string", "enum": list(vocab.values)}},
                description=f"{vocab.zh} / {vocab.en}: one or more values{default}",
                explode=True,
            )
        )
    return params


CRS_PARAM = OpenApiParameter(
    "crs",
    {
        "type": "string",
        "enum": [
            "4326",
            "4490",
            "4549",
            "4528",
            "3857",
            "EPSG:4326",
            "EPSG:4490",
            "EPSG:4549",
            "EPSG:4528",
            "EPSG:3857",
        ],
    },
    description="CRS of the geometry you send (EPSG code); default 4326",
)
ID = OpenApiParameter("id", int, location=OpenApiParameter.PATH, description="feature id")
IF_MATCH = OpenApiParameter(
    "If-Match", str, location=OpenApiParameter.HEADER, description='ETag you read, e.g. "3"'
)


def export_parameters(spec: registry.LayerSpec) -> list[OpenApiParameter]:
    from layers.geo import files as io_crs
    from layers.io import export

    paging = set(filters.PAGING_PARAMS)
    return [
        OpenApiParameter("format", str, enum=list(export.FORMATS), description="default geojson"),
        OpenApiParameter("crs", str, enum=list(io_crs.CHOICES), description="default 4326"),
        OpenApiParameter(
            "header", str, enum=list(export.HEADERS), description="CSV/XLSX column names"
        ),
        *(param for param in list_parameters(spec) if param.name not in paging),
    ]


def export_responses() -> dict:
    """One binary response per export format, by its content type."""
    from layers.io import export

    binary = {"type": "string", "format": "binary"}
    responses = {(200, content_type): binary for _suffix, content_type in export.FORMATS.values()}
    responses[(200, GEOJSON)] = {"type": "object", "description": "a GeoJSON FeatureCollection"}
    return responses


def document(viewset: type, spec: registry.LayerSpec) -> type:
    """Decorate a generated viewset with the layer's OpenAPI description."""
    base = name(spec)
    title = f"{spec.title_zh} / {spec.title_en}"
    feature = {(200, GEOJSON): ref(f"{base}Feature")}
    body = {GEOJSON: ref(f"{base}FeatureInput"), JSON: ref(f"{base}FeatureInput")}
    versioned = _errors(400, 401, 403, 404, 412, 415, 428)

    def op(summary: str, parameters=(), **kwargs):
        return extend_schema(
            summary=f"{summary} {title}", parameters=list(parameters), tags=[spec.slug], **kwargs
        )

    return extend_schema_view(
        list=op(
            "List",
            list_parameters(spec),
            responses={
                (200, GEOJSON): ref(f"{base}FeatureCollection"),
                **_errors(400, 401, 403),
            },
        ),
        retrieve=op("One feature of", [ID], responses={**feature, **_errors(401, 403, 404)}),
        create=op(
            "Create a feature of",
            [CRS_PARAM],
            request=body,
            responses={(201, GEOJSON): ref(f"{base}Feature"), **_errors(400, 401, 403, 415)},
        ),
        update=op(
            "Replace a feature of",
            [ID, CRS_PARAM, IF_MATCH],
            request=body,
            responses={**feature, **versioned},
        ),
        partial_update=op(
            "Change some properties of a feature of",
            [ID, CRS_PARAM, IF_MATCH],
            request=body,
            responses={**feature, **versioned},
        ),
        destroy=op("Soft-delete a feature of", [ID, IF_MATCH], responses={204: None, **versioned}),
        restore=op(
            "Restore a soft-deleted feature of",
            [ID, IF_MATCH],
            request=None,
            responses={**feature, **versioned},
        ),
        nearest=op(
            "The k nearest features (distance_m in metres on the spheroid) of",
            nearest_parameters(spec),
            responses={
                (200, GEOJSON): ref(f"{base}FeatureCollection"),
                **_errors(400, 401, 403),
            },
        ),
        export=op(
            "Export (GeoJSON, GeoPackage, zipped Shapefile, CSV, XLSX, KML or DXF) the features "
            "matching the list's filters of",
            export_parameters(spec),
            responses={**export_responses(), **_errors(400, 401, 403)},
        ),
        history=op(
            "Version history of a feature of",
            [ID],
            responses={200: HISTORY, **_errors(401, 403, 404)},
        ),
    )(viewset)


HISTORY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "versions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "version": {"type": "integer"},
                    "date": {"type": "string", "format": "date-time"},
                    "user": {"type": "string", "nullable": True},
                    "type": {
                        "type": "string",
                        "enum": ["created", "changed", "deleted", "restored", "removed"],
                    },
                    "changed_fields": {"type": "array", "items": {"type": "string"}},
                    "status": {"type": "string"},
                },
            },
        },
    },
}


def add_layer_components(result, generator, request, public):
    """drf-spectacular post-processing hook: the GeoJSON components of every layer."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for spec in registry.LAYERS:
        schemas.update(components(spec))
    return result


def only_readable_layers(result, generator, request, public):
    """drf-spectacular post-processing hook: the document a caller gets (generated per request)
    describes only the layers they may read: the paths and components of the others go, and a
    caller without a role sees only the public fields of the public layers and no staff filter.
    (The operations of a readable layer all stay, writes too: the resource offers them, and
    they answer 401/403 as documented.)

    Without a request (`manage.py spectacular`, for the developers) the whole document stays.
    """
    if request is None:
        return result
    from layers.query import access

    user = getattr(request, "user", None)
    staff = access.is_staff_reader(user)
    readable = {spec.slug for spec in access.readable_layers(user)}
    hidden = {spec.slug for spec in registry.LAYERS} - readable
    paths = result.get("paths", {})
    for path in list(paths):
        tags = {
            t for op in paths[path].values() if isinstance(op, dict) for t in op.get("tags", ())
        }
        if tags & hidden or any(path.startswith(f"/api/v1/{slug}/") for slug in hidden):
            del paths[path]
    schemas = result.get("components", {}).get("schemas", {})
    for spec in registry.LAYERS:
        base = name(spec)
        if spec.slug not in readable:
            for suffix in ("Feature", "FeatureCollection", "FeatureInput"):
                schemas.pop(f"{base}{suffix}", None)
            continue
        if staff:
            continue
        feature = schemas.get(f"{base}Feature")
        if feature is not None:
            props = feature["properties"]["properties"]["properties"]
            visible = set(access.output_fields(user, spec)) | {"distance_m"}
            for field_name in list(props):
                if field_name not in visible:
                    del props[field_name]
    if not staff:
        for item in result.get("paths", {}).values():
            for operation in item.values():
                if isinstance(operation, dict) and "parameters" in operation:
                    operation["parameters"] = [
                        p
                        for p in operation["parameters"]
                        if p.get("name") not in filters.STAFF_PARAMS
                    ]
    tags = {
        t
        for item in result.get("paths", {}).values()
        for op in item.values()
        if isinstance(op, dict)
        for t in op.get("tags", ())
    }
    if "tags" in result:
        result["tags"] = [t for t in result["tags"] if t.get("name") in tags]
    return result
