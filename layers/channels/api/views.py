"""The layer API: one generic viewset serves every layer of the registry.

Lists and details are encoded by PostGIS (layers.query.encode); writes go through the generated
drf-gis serializer and layers.services.editing, which enforces versions (no lost edits).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse
from rest_framework import exceptions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from geo_service.middleware.compression import etag_matches
from layers.channels.api import fastlist, filters
from layers.channels.api.idempotent import IdempotentMixin
from layers.channels.api.listing import count_cap, geojson_response, list_body, offset_of
from layers.channels.api.parsers import JSONErrorsMixin
from layers.channels.api.permissions import LayerAccess
from layers.channels.api.schema import LayerAutoSchema
from layers.domain import registry
from layers.geo import geometry as geo
from layers.query import access, asof, counting, encode, spatial, versions
from layers.query import filters as qf
from layers.query import params as p
from layers.query.versions import etag_for
from layers.services import editing, features


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = "Send If-Match with the ETag you saw, or the version property."
    default_code = "precondition_required"


class BodyTooLarge(exceptions.ValidationError):
    pass


def seen_version(request) -> int | None:
    """The version the client proves it saw: If-Match, else the `version` property."""
    return versions.seen_version(request.headers.get("If-Match"), request.data)


class LayerViewSet(IdempotentMixin, JSONErrorsMixin, viewsets.ViewSet):
    """List, read, create, update, soft-delete, restore and history of one layer."""

    spec: registry.LayerSpec
    lookup_value_regex = r"[0-9]+"
    permission_classes = (LayerAccess,)
    schema = LayerAutoSchema()

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        view = super().as_view(actions, **initkwargs)
        if actions and actions.get("get") == "list":
            return fastlist.wrap(view, cls.spec)  # the common pages without DRF's machinery
        return view

    def handle_exception(self, exc):
        if isinstance(exc, editing.StaleVersion):
            body = {
                "detail": "The feature changed since you read it; nothing was saved. "
                "Read it again and reapply your change.",
                "current_version": exc.current,
            }
            return Response(body, status=412, headers={"ETag": etag_for(exc.current)})
        if isinstance(exc, editing.Missing):
            exc = exceptions.NotFound()
        if isinstance(exc, editing.Refused):
            exc = exceptions.PermissionDenied(str(exc))
        if isinstance(exc, features.Invalid):
            exc = exceptions.ValidationError(exc.errors)
        return super().handle_exception(exc)

    # -- access -------------------------------------------------------------------------------
    def initial(self, request, *args, **kwargs):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.API_MAX_BODY_BYTES:
            raise BodyTooLarge(
                {"body": [f"request body larger than {settings.API_MAX_BODY_BYTES} bytes"]}
            )
        super().initial(request, *args, **kwargs)
        if not access.can_read(request.user, self.spec):
            self._deny(request)
        if (
            request.method not in ("GET", "HEAD", "OPTIONS")
            and not access.can_edit(request.user, self.spec)
            and not getattr(self, "_skip_edit_check", False)
        ):
            self._deny(request)

    def _deny(self, request):
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        raise exceptions.PermissionDenied("Your role may not do this on this layer.")

    def _fields(self):
        return access.output_fields(self.request.user, self.spec)

    def _base(self):
        return self.spec.model.all_objects.all()

    def _feature_text(self, pk: int) -> str:
        queryset = self._base().filter(pk=pk)
        if not access.can_see_deleted(self.request.user):
            queryset = queryset.filter(deleted_at__isnull=True)
        text = encode.encode_feature(queryset, self.spec, self._fields())
        if text is None:
            raise exceptions.NotFound()
        return text

    def _input_srid(self) -> int:
        raw = self.request.query_params.get("crs")
        if raw is None:
            return geo.STORAGE_SRID
        try:
            return geo.parse_srid(raw)
        except ValueError as exc:
            raise exceptions.ValidationError({"crs": [str(exc)]}) from exc

    # -- reads --------------------------------------------------------------------------------
    def list(self, request):
        fields = self._fields()
        params = request.query_params
        # as_of: the layer as it was then, from its history (query/asof.py); roles only.
        at, params = _as_of(request, params)
        queryset, query = filters.apply_filters(
            asof.features(self.spec, at) if at else self._base(),
            self.spec,
            params,
            fields,
            may_see_deleted=access.can_see_deleted(request.user),
            staff=access.is_staff_reader(request.user),
        )
        if at:
            queryset = queryset.order_by(*asof.ordering(query.ordering))
        page, size = filters.paging(params)
        exact_wanted = filters.exact_count(params)
        offset = offset_of(page, size)
        extra = spatial.distance_property() if query.near else None
        features, returned = encode.encode_page(
            queryset[offset : offset + size],
            self.spec,
            fields,
            extra,
            computed=at is None,
            key="id" if at else "pk",
        )
        # Counted within the page's budget, or up to API_EXACT_COUNT on `count=exact`; above
        # it the planner's estimate (count_exact: false): counting a large match never costs
        # more than a fraction of the page unless asked for (docs/API.md, "Counts").
        cap = count_cap(exact_wanted, size)
        total, exact = counting.list_total(queryset, offset, size, returned, cap)
        return geojson_response(list_body(request, page, size, total, exact, returned, features))

    def retrieve(self, request, pk=None):
        text = self._feature_text(parse_pk(pk))
        version = json.loads(text)["properties"].get("version")
        etag = etag_for(version if version is not None else _version_of(self.spec, pk))
        if etag_matches(request, etag):
            return HttpResponse(status=304, headers={"ETag": etag})
        return geojson_response(text, ETag=etag)

    # -- writes -------------------------------------------------------------------------------
    def create(self, request):
        obj = features.create(self.spec, request.data, request.user, srid=self._input_srid())
        return self._written(obj, 201)

    def update(self, request, pk=None):
        return self._update(request, pk, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, pk, partial=True)

    def _update(self, request, pk, *, partial: bool):
        seen = self._require_version(request)
        obj = features.update(
            self.spec,
            parse_pk(pk),
            request.data,
            request.user,
            seen=seen,
            partial=partial,
            srid=self._input_srid(),
        )
        return self._written(obj, 200)

    def destroy(self, request, pk=None):
        seen = self._require_version(request)
        obj = features.delete(self.spec, parse_pk(pk), request.user, seen=seen)
        return Response(status=204, headers={"ETag": etag_for(obj.version)})

    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        seen = self._require_version(request)
        obj = features.restore(self.spec, parse_pk(pk), request.user, seen=seen)
        return self._written(obj, 200)

    @action(detail=False, methods=["get"])
    def nearest(self, request):
        """The k nearest live features to lon/lat (metres on the spheroid), of the statuses the
        spec names for it unless `status` is given, filtered by the layer's vocabularies."""
        spec = self.spec
        params = request.query_params
        vocabularies = qf.filterable_vocabularies(spec, staff=access.is_staff_reader(request.user))
        allowed = ("lon", "lat", "k", *vocabularies)
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise exceptions.ValidationError(
                {n: [f"unknown parameter; allowed: {', '.join(allowed)}"] for n in unknown}
            )
        raw = {name: p.single(params, name) for name in ("lon", "lat", "k")}
        for name in ("lon", "lat"):
            if raw[name] is None:
                raise exceptions.ValidationError({name: ["required"]})
        lon = p.number("lon", raw["lon"], low=-180, high=180)
        lat = p.number("lat", raw["lat"], low=-90, high=90)
        k = 5 if raw["k"] is None else p.integer("k", raw["k"], low=1, high=spatial.MAX_NEAREST)
        chosen = {
            name: qf.vocabulary_values(spec, name, params.getlist(name))
            for name in vocabularies
            if name in params
        }
        if spec.status_field not in chosen and spec.nearest_statuses:
            chosen[spec.status_field] = list(spec.nearest_statuses)
        queryset = qf.by_vocabularies(spec.model.objects.all(), spec, chosen)
        found = spatial.nearest(queryset, lon, lat, k)
        features = "[]"
        if found is not None:
            extra = spatial.distance_property()
            features = encode.encode_features(found, spec, self._fields(), extra)
        return geojson_response(f'{{"type": "FeatureCollection", "features": {features}}}')

    @action(detail=False, methods=["get"])
    def export(self, request):
        """Every feature matching the list's filters, as a file (layers/io/export.py)."""
        from layers.geo import files as io_crs
        from layers.io import export, safety

        fields = self._fields()
        if not fields:
            self._deny(request)
        params = request.query_params.copy()
        chosen = {name: p.single(params, name) for name in export.PARAMS}
        for name in export.PARAMS:
            if chosen[name] == "":
                raise p.ParamError(name, "empty value; leave the parameter out")
            params.pop(name, None)
        paging = sorted(set(params) & set(filters.PAGING_PARAMS))
        if paging:
            raise p.ParamError(paging[0], "an export holds every matching feature; leave it out")
        fmt, crs = chosen["format"] or "geojson", chosen["crs"] or "4326"
        if fmt not in export.FORMATS:
            raise p.ParamError("format", f"expected one of {', '.join(export.FORMATS)}")
        try:
            io_crs.parse(crs)
        except io_crs.CrsError as exc:
            raise p.ParamError("crs", str(exc)) from None
        queryset, _query = filters.apply_filters(
            self._base(), self.spec, params, fields,
            may_see_deleted=access.can_see_deleted(request.user),
            staff=access.is_staff_reader(request.user),
        )  # fmt: skip
        with safety.workspace() as folder:
            try:
                path = export.write_export(
                    self.spec.slug, queryset, fmt, crs, folder / export.file_stem(self.spec, crs),
                    user=request.user, header=chosen["header"] or "name",
                )  # fmt: skip
            except export.ExportError as exc:
                raise p.ParamError(exc.name, exc.message) from None
            body = path.read_bytes()
        response = HttpResponse(body, content_type=export.FORMATS[fmt][1])
        response["Content-Disposition"] = f'attachment; filename="{path.name}"'
        response["Cache-Control"] = "private, no-store"
        return response

    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        # Who changed what, and when, is for roles only (docs/API.md), on every layer.
        if not access.is_staff_reader(request.user):
            self._deny(request)
        obj = self._base().filter(pk=parse_pk(pk)).first()
        if obj is None or (obj.is_deleted and not access.can_see_deleted(request.user)):
            raise exceptions.NotFound()
        fields = set(access.output_fields(request.user, self.spec))
        return Response({"id": obj.pk, "versions": editing.history_of(obj, fields)})

    def _pk(self, raw) -> int:
        return parse_pk(raw)

    def _seen(self, request) -> int | None:
        return seen_version(request)

    def _require_version(self, request) -> int:
        seen = seen_version(request)
        if seen is None:
            raise PreconditionRequired()
        return seen

    def _written(self, obj, status: int) -> HttpResponse:
        text = encode.encode_feature(self._base().filter(pk=obj.pk), self.spec, self._fields())
        return geojson_response(text, status=status, ETag=etag_for(obj.version))


def _as_of(request, params):
    """(instant or None, the other parameters): `as_of` is for readers with a role."""
    raw = p.single(params, "as_of")
    if raw is None:
        return None, params
    if not access.is_staff_reader(request.user):
        raise p.ParamError("as_of", "the history is for signed-in roles")
    rest = params.copy()
    rest.pop("as_of")
    return asof.parse("as_of", raw), rest


def parse_pk(raw) -> int:
    """A feature id from the URL (ASCII digits, within bigint); anything else names no feature."""
    value = p.identifier("id", str(raw))
    if value is None:
        raise exceptions.NotFound()
    return value


def _version_of(spec, pk) -> int:
    return spec.model.all_objects.values_list("version", flat=True).get(pk=pk)


def viewset_for(spec: registry.LayerSpec) -> type[LayerViewSet]:
    from layers.channels.api.schema import document

    bases: tuple[type, ...] = (LayerViewSet,)
    if spec.workflow is not None:
        from layers.channels.api.workflow_views import WorkflowMixin

        bases = (WorkflowMixin, LayerViewSet)
    viewset = type(f"{spec.model.__name__}ViewSet", bases, {"spec": spec})
    return document(viewset, spec)
