"""Write serializers for single features, generated from the spec (drf-gis GeoJSON Features).

Reads never go through them (layers.query.encode does that in SQL); they parse and validate input.
Model validation (geometry, service area, stage rules, household counts) runs through
full_clean, so the API and the admin refuse the same things with the same messages.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from layers.domain import registry
from layers.geo import geometry as geo
from layers.query import access, spatial
from layers.query.params import ParamError
from layers.services import editing

FEATURE_MEMBERS = {"type", "id", "geometry", "properties", "bbox", "version"}
writable_fields = access.writable_fields  # in the shared core: OGC's Part 4 reads it too


class LayerWriteSerializer(GeoFeatureModelSerializer):
    spec: registry.LayerSpec
    version = serializers.IntegerField(
        write_only=True, required=False, help_text="The version you saw (or send If-Match)."
    )

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"body": ["expected a GeoJSON Feature object"]})
        self._refuse_lifecycle_fields(data)
        if data.get("type", "Feature") != "Feature":
            raise serializers.ValidationError({"type": ['expected "Feature"']})
        if "properties" in data and not isinstance(data["properties"], dict):
            raise serializers.ValidationError({"properties": ["expected an object"]})
        if "geometry" in data and not isinstance(data["geometry"], dict):
            raise serializers.ValidationError({"geom": ["expected a GeoJSON geometry object"]})
        if "geometry" in data or "properties" in data:  # a Feature (else flat field names)
            unknown = sorted(set(data) - FEATURE_MEMBERS)
            if unknown:
                raise serializers.ValidationError({name: ["unknown member"] for name in unknown})
            # drf-gis reads `geometry` only beside `properties`: a geometry-only PATCH would
            # otherwise be dropped without a word.
            data = {**data, "properties": dict(data.get("properties") or {})}
        if isinstance(data.get("properties"), dict):
            allowed = set(self.Meta.fields) | {"version"}
            unknown = sorted(set(data["properties"]) - allowed)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["read-only or unknown property"] for name in unknown}
                )
        return super().to_internal_value(data)

    def _refuse_lifecycle_fields(self, data: dict) -> None:
        """A layer with a lifecycle changes its status (and who, when, the deadline) only
        through a step: sent in a plain write, in either form, it is refused, never ignored."""
        spec = self.spec
        if spec.workflow is None:
            return
        sent = set(data) | set(
            data["properties"] if isinstance(data.get("properties"), dict) else ()
        )
        record = {spec.status_field, *spec.workflow_module.RECORD_FIELDS}
        steps = f"POST /api/v1/{spec.slug}/{{id}}/transitions/"
        errors = {
            name: [
                f"read-only: changed only by a lifecycle step, {steps} with an action "
                "(GET it for the steps you may take)"
                if name == spec.status_field
                else f"read-only: set by the lifecycle's steps ({steps}), not by an edit"
            ]
            for name in sorted(sent & record)
        }
        if errors:
            raise serializers.ValidationError(errors)

    def validate(self, attrs):
        attrs.pop("version", None)
        geom = attrs.get("geom")
        if geom is not None:
            srid = self.context.get("input_srid", geo.STORAGE_SRID)
            try:
                # 2-D (Z dropped), finite, inside the CRS's area of use, then transformed.
                geom = spatial.input_geometry("geom", geom, srid)
            except ParamError as exc:
                raise serializers.ValidationError({"geom": [exc.message]}) from None
            except Exception as exc:  # a transform that PROJ cannot do is the client's input
                raise serializers.ValidationError({"geom": [f"cannot transform: {exc}"]}) from exc
            attrs["geom"] = geo.coerce_to_field(geom, self.spec.model.geom_type())
            errors = geo.geometry_errors(attrs["geom"], self.spec.model.geom_type())
            if errors:
                raise serializers.ValidationError({"geom": errors})
        candidate = self.instance or self.spec.model()
        saved = {name: getattr(candidate, name) for name in attrs} if self.instance else {}
        for name, value in attrs.items():
            setattr(candidate, name, value)
        try:
            editing.full_clean(candidate, validate_unique=True, validate_constraints=True)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        finally:
            for name, value in saved.items():  # leave the instance as it was until save()
                setattr(candidate, name, value)
        return attrs


def write_serializer_for(spec: registry.LayerSpec) -> type[LayerWriteSerializer]:
    user_model = get_user_model()
    fields = writable_fields(spec)
    attrs: dict = {"spec": spec}
    for name in fields:
        field = spec.model._meta.get_field(name)
        if field.many_to_one and field.related_model is user_model:
            attrs[name] = serializers.SlugRelatedField(
                slug_field="username",
                queryset=user_model.objects.filter(is_active=True),
                required=False,
                allow_null=True,
            )
        elif name in spec.list_fields:
            attrs[name] = serializers.ListField(
                child=serializers.ChoiceField(choices=spec.list_fields[name].values),
                required=False,
            )
    attrs["Meta"] = type(
        "Meta",
        (),
        {
            "model": spec.model,
            "geo_field": "geom",
            "id_field": "id",
            "fields": ["id", *fields, "version"],
            "read_only_fields": ["id"],
        },
    )
    name = f"{spec.model.__name__}WriteSerializer"
    return type(name, (LayerWriteSerializer,), attrs)
