"""The lifecycle endpoints of a layer whose spec names a workflow (hazards): steps, the
timeline, photos and nearby duplicates. The rules live in the workflow module; these views
only parse the request and map its errors to HTTP (400, 403, 404, 409, 412)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.geos import Point
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from layers.channels.api.schema import _errors
from layers.domain import registry
from layers.geo import geometry as geo
from layers.query import access, kpis
from layers.query import params as p
from layers.services import photos, workflow

OBJECT = {"type": "object", "additionalProperties": True}

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _fail(exc):
    """A workflow error as an HTTP error naming what went wrong."""
    wf = registry.get("hazards").workflow_module
    if isinstance(exc, wf.IllegalTransition):
        body = {"detail": str(exc), "status": exc.current, "allowed": exc.allowed}
        return Response(body, status=409)
    if isinstance(exc, wf.NotPermitted):
        raise exceptions.PermissionDenied(str(exc))
    if isinstance(exc, wf.InvalidInput):
        raise exceptions.ValidationError(exc.errors)
    raise exc


def _event(event) -> dict:
    return {
        "id": event.pk,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "user": event.actor.username,
        "at": event.at.isoformat(),
        "note": event.note,
        "data": event.data,
    }


class WorkflowMixin:
    """Mixed into the layer viewset when spec.workflow is set."""

    STEP_ACTIONS = ("transitions", "photos")
    # POSTs that only read: preparing the ledger as a job needs what downloading it needs.
    READING_POSTS = ("ledger_job",)

    def initial(self, request, *args, **kwargs):
        # Steps are decided by the workflow (an assignee may act without the edit role), so the
        # layer-wide edit check is not applied to them; reading still is.
        unchecked = (*self.STEP_ACTIONS, *self.READING_POSTS)
        if getattr(self, "action", None) in unchecked and request.method == "POST":
            self._skip_edit_check = True
        super().initial(request, *args, **kwargs)

    def _hazard(self, pk):
        obj = self._base().filter(pk=self._pk(pk), deleted_at__isnull=True).first()
        if obj is None:
            raise exceptions.NotFound()
        return obj

    @extend_schema(
        methods=["GET"],
        operation_id="hazards_transitions_allowed",
        summary="The steps you may take now on this hazard",
        responses={200: OBJECT, **_errors(401, 403, 404)},
    )
    @extend_schema(
        methods=["POST"],
        operation_id="hazards_transitions_create",
        summary="Take one step of the lifecycle (409 names the steps allowed from here)",
        # One body per step (layers/services/workflow/inputs.py), told apart by `action`.
        request=PolymorphicProxySerializer(
            component_name="HazardStepBody",
            serializers=workflow.SERIALIZERS,
            resource_type_field_name="action",
        ),
        responses={200: OBJECT, **_errors(400, 401, 403, 404, 409, 412, 415)},
    )
    @action(detail=True, methods=["get", "post"])
    def transitions(self, request, pk=None):
        wf = self.spec.workflow_module
        if request.method == "GET":
            hazard = self._hazard(pk)
            return Response(self._state(hazard, request.user))
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        data = request.data
        if not isinstance(data, dict):
            raise exceptions.ValidationError({"body": ["expected a JSON object"]})
        seen = self._seen(request)
        try:
            hazard, event = wf.perform(
                self._pk(pk), data.get("action"), request.user, dict(data), seen=seen
            )
        except wf.WorkflowError as exc:
            return _fail(exc)
        body = {"event": _event(event), **self._state(hazard, request.user)}
        if event.action == "report":
            # Reporting answers the open hazards of the same category nearby (possible
            # duplicates), so a client can offer "mark as duplicate" at once.
            body["possible_duplicates"] = wf.nearby_duplicates(
                hazard.category, hazard.geom, exclude=hazard.pk
            )
        return Response(body, headers={"ETag": f'"{hazard.version}"'})

    def _state(self, hazard, user) -> dict:
        wf = self.spec.workflow_module
        allowed = wf.allowed_actions(hazard, user)
        return {
            "id": hazard.pk,
            "status": hazard.status,
            "version": hazard.version,
            "allowed": [
                {"action": name, "zh": wf.ACTIONS[name].zh, "en": wf.ACTIONS[name].en}
                for name in allowed
            ],
        }

    @extend_schema(
        summary="The timeline of a hazard: every step with who, when, note and photos",
        responses={200: OBJECT, **_errors(401, 403, 404)},
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        if not access.output_fields(request.user, self.spec):
            self._deny(request)
        hazard = self._hazard(pk)
        return Response({"id": hazard.pk, "events": self.spec.workflow_module.timeline(hazard)})

    @extend_schema(
        summary="Upload a photo (JPEG, PNG or HEIC) for the next step; EXIF is removed",
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"image": {"type": "string", "format": "binary"}},
                "required": ["image"],
            }
        },
        responses={201: OBJECT, **_errors(400, 401, 403, 404, 415)},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, pk=None):
        wf = self.spec.workflow_module
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        hazard = self._hazard(pk)
        if not wf.reaches(request.user, hazard):
            raise exceptions.PermissionDenied("the hazard is outside your grid cells")
        upload = request.FILES.get("image")
        if upload is None:
            raise exceptions.ValidationError({"image": ["attach the photo as 'image'"]})
        name = (upload.name or "").lower()
        if not name.endswith((".jpg", ".jpeg", ".png", ".heic", ".heif")):
            raise exceptions.ValidationError(
                {"image": ["expected a .jpg, .jpeg, .png or .heic file"]}
            )
        try:
            photo, suggested = photos.store(hazard, upload, request.user)
        except photos.PhotoRefused as exc:
            raise exceptions.ValidationError({"image": [str(exc)]}) from exc
        body = wf.photo_urls(photo)
        body["suggested_location"] = list(suggested) if suggested else None
        return Response(body, status=201)

    @extend_schema(
        summary="The ledger (隐患台账): the list's filters, as an XLSX workbook",
        description="Takes the filters of GET /api/v1/hazards/ (not page or page_size: the "
        "ledger holds every matching hazard). Chinese headers. A ledger of more than "
        "LEDGER_DIRECT_ROWS hazards (20,000) is refused here (400 naming `ledger`): POST the "
        "same URL to prepare it as a background job with progress.",
        responses={
            (200, XLSX): {"type": "string", "format": "binary"},
            **_errors(400, 401, 403),
        },
    )
    def ledger(self, request):
        from layers.channels.api import ledger as ledger_rows
        from layers.io import ledger

        queryset = ledger_rows.queryset(request.user, request.query_params)
        limit = settings.LEDGER_DIRECT_ROWS
        count = queryset.count()
        if count > limit:
            raise p.ParamError(
                "ledger",
                f"{count} hazards match; a direct download holds at most {limit}. POST this "
                "URL to prepare the ledger as a job (with progress), or narrow the filters",
            )
        # Written by openpyxl's write-only mode: at most LEDGER_DIRECT_ROWS rows, a few MB.
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = HttpResponse(ledger.workbook_bytes(queryset), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="hazard-ledger-{stamp}.xlsx"'
        patch_cache_control(response, private=True, no_store=True)
        return response

    @extend_schema(
        summary="Prepare the ledger as a background job (any size), with progress",
        description="The filters of GET /api/v1/hazards/ in the query string. Answers 202 with "
        "the job: its page (/jobs/<id>/, a progress bar, then the download) and its status "
        "JSON. The workbook is the job's private file: its owner and editors download it.",
        request=None,
        responses={202: OBJECT, **_errors(400, 401, 403)},
    )
    def ledger_job(self, request):
        from layers.channels.api import ledger as ledger_rows
        from layers.jobs import engine as jobs
        from layers.jobs.kinds import ledger as ledger_jobs

        ledger_rows.queryset(request.user, request.query_params)  # 401/403/400 as the GET
        filters_sent = {name: request.query_params.getlist(name) for name in request.query_params}
        job = jobs.start_job(ledger_jobs.KIND, request.user, {"filters": filters_sent})
        body = {
            "job": job.pk,
            "kind": job.kind,
            "status": job.status,
            "page": reverse("job-detail", args=[job.pk]),
            "status_url": reverse("job-status", args=[job.pk]),
        }
        return Response(body, status=202, headers={"Location": body["page"]})

    @extend_schema(
        summary="The rates per grid cell, unit, person or month (docs/HAZARDS.md)",
        description="Reported, dispatched, closed, on time / late (销号时间 on or before the "
        "整改期限), on-time rate, re-inspected / reworked and rework rate, returned, mean "
        "working days from found to closed, overdue now; each figure one SQL statement.",
        parameters=[
            OpenApiParameter("by", str, enum=list(kpis.GROUPINGS), description="default month"),
            OpenApiParameter("from", OpenApiTypes.DATE, description="default: 6 months back"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="default: today"),
        ],
        responses={200: OBJECT, **_errors(400, 401, 403)},
    )
    @action(detail=False, methods=["get"])
    def kpis(self, request):
        if not access.output_fields(request.user, self.spec) or not access.is_staff_reader(
            request.user
        ):
            self._deny(request)
        try:
            by, start, end = kpis.parse(request.query_params)
        except kpis.BadQuery as exc:
            raise exceptions.ValidationError(exc.errors) from None
        return Response(kpis.compute(by, start, end))

    @extend_schema(
        summary="Open hazards of a category within a radius (metres) of a point",
        parameters=[
            OpenApiParameter("lon", float, required=True),
            OpenApiParameter("lat", float, required=True),
            OpenApiParameter("category", str, required=True),
            OpenApiParameter("radius", float, description="metres, 1–500 (default 20)"),
            OpenApiParameter("exclude", int),
        ],
        responses={200: OBJECT, **_errors(400, 401, 403)},
    )
    @action(detail=False, methods=["get"])
    def duplicates(self, request):
        if not access.output_fields(request.user, self.spec):
            self._deny(request)
        params = request.query_params
        errors: dict[str, list[str]] = {}
        for name in sorted(set(params) - {"lon", "lat", "category", "radius", "exclude"}):
            errors[name] = ["unknown parameter"]
        numbers: dict[str, float] = {}
        category = exclude = None
        parsers = {
            "lon": lambda raw: p.number("lon", raw, low=-180, high=180),
            "lat": lambda raw: p.number("lat", raw, low=-90, high=90),
            "radius": lambda raw: p.number("radius", raw, low=1, high=500),
        }
        for name, parse in parsers.items():
            try:
                raw = p.single(params, name)
                if raw is None:
                    if name != "radius":
                        errors[name] = ["required"]
                    continue
                numbers[name] = parse(raw)
            except p.ParamError as exc:
                errors[name] = [exc.message]
        try:
            category = p.choices(
                "category",
                [p.single(params, "category") or ""],
                self.spec.filter_fields["category"].values,
            )[0]
            raw = p.single(params, "exclude")
            exclude = p.identifier("exclude", raw) if raw is not None else None
        except p.ParamError as exc:
            errors[exc.name] = [exc.message]
        if errors:
            raise exceptions.ValidationError(errors)
        point = Point(numbers["lon"], numbers["lat"], srid=geo.STORAGE_SRID)
        found = self.spec.workflow_module.nearby_duplicates(
            category,
            point,
            exclude=exclude,
            radius_m=numbers.get("radius"),
        )
        radius = numbers.get("radius", _default_radius())
        return Response({"radius_m": radius, "hazards": found})


def _default_radius() -> float:
    from django.conf import settings

    return settings.HAZARD_DUPLICATE_RADIUS_M


def photo_file(request, pk: int, size: str):
    """A hazard photo, for readers of the hazard layer only (never cached by shared caches)."""
    from layers.domain.models import HazardPhoto

    spec = registry.get("hazards")
    user = request.caller
    if size not in ("full", "thumb") or not access.output_fields(user, spec):
        raise Http404("No such photo.")
    photo = HazardPhoto.objects.filter(pk=pk, hazard__deleted_at__isnull=True).first()
    if photo is None:
        raise Http404("No such photo.")
    field = photo.image if size == "full" else photo.thumbnail
    response = FileResponse(field.open("rb"), content_type="image/jpeg")
    patch_cache_control(response, private=True, max_age=3600)
    patch_vary_headers(response, ("Cookie", "Authorization"))
    return response
