"""/api/v1/reports/: public reports (随手拍) for apps (a WeChat mini-program, the city platform).

- POST /api/v1/reports/ (anyone; multipart: category, description, lon, lat in WGS84, photos
  repeatable, contact optional) -> 201 {"code", "url"};
- GET /api/v1/reports/<code>/ (anyone with the code): the public status, nothing more;
- GET /api/v1/reports/?status=new (editors, inspectors in their reach): the intake queue.

Strict: an unknown, repeated or bad field is a 400 naming it. Throttled per address (DRF's
anonymous rate) and by the reports service's own limits (429 + Retry-After).
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_service.middleware.limits import RateLimited, client_ip
from layers.channels.api.parsers import JSONErrorsMixin
from layers.channels.api.schema import DETAIL, ERROR
from layers.domain import roles
from layers.domain import vocabularies as status
from layers.query import params as p
from layers.services import reports
from layers.services.reports.submit import FIELDS

JSON = "application/json"
INTAKE = ("new", "accepted", "rejected", "all")
TERM = {
    "type": "object",
    "properties": {"value": {"type": "string"}, "zh": {"type": "string"}, "en": {"type": "string"}},
}
PUBLIC_STATUS = {
    "type": "object",
    "description": "The public status: nothing internal (no names, units, cells, notes, contacts).",
    "properties": {
        "code": {"type": "string"},
        "category": TERM,
        "status": {**TERM, "properties": {**TERM["properties"], "value": {
            "type": "string", "enum": list(status.REPORT_PUBLIC_STATUS.values)}}},
        "since": {"type": "string", "format": "date-time"},
        "received_at": {"type": "string", "format": "date-time"},
        "steps": {"type": "array", "items": {"type": "object"}},
        "promised": {"type": "object", "nullable": True},
        "reason": {"type": "object", "nullable": True},
        "closing_photos": {"type": "array", "items": {"type": "integer"}},
        "feedback": {"type": "object", "nullable": True},
    },
}  # fmt: skip
TOO_MANY = OpenApiResponse(DETAIL, description="Too many reports or lookups; see Retry-After.")


def _sender(request) -> reports.Sender:
    device = request.headers.get("X-Device-Id")
    return reports.Sender(address=client_ip(request), device=device)


class ReportsPermission(permissions.BasePermission):
    """POST and a code's status: anyone. The queue: whoever takes in reports."""

    def has_permission(self, request, view):
        if request.method == "POST" or getattr(view, "public", False):
            return True
        if request.method not in permissions.SAFE_METHODS:
            return False
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        return roles.can_take_reports(request.user)

    @staticmethod
    def allows_anonymous(view, method: str) -> bool:
        return method == "POST" or getattr(view, "public", False)


class ReportErrorsMixin(JSONErrorsMixin):
    def handle_exception(self, exc):
        if isinstance(exc, reports.Invalid):
            exc = exceptions.ValidationError(exc.errors)
        elif isinstance(exc, reports.NotFound):
            exc = exceptions.NotFound(str(exc))
        elif isinstance(exc, reports.Forbidden):
            exc = exceptions.PermissionDenied(str(exc))
        elif isinstance(exc, RateLimited):
            exc = exceptions.Throttled(wait=exc.retry_after, detail=exc.detail)
        return super().handle_exception(exc)


class ReportList(ReportErrorsMixin, APIView):
    permission_classes = (ReportsPermission,)
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(
        operation_id="reports_create",
        summary="Send a public report (随手拍): anyone, no account",
        description="Multipart form. `photos` may be repeated (at most 3, JPEG/PNG/HEIC; "
        "re-encoded without metadata). `contact` (phone or email) is kept apart, for feedback "
        "only, and erased 90 days after closing. Optional header X-Device-Id (16-64 hex) "
        "lets the per-device limit count this device.",
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "category": {"type": "string", "enum": list(status.HAZARD_CATEGORY.values)},
                    "description": {"type": "string", "maxLength": 1000},
                    "lon": {"type": "number", "description": "WGS84 longitude"},
                    "lat": {"type": "number", "description": "WGS84 latitude"},
                    "photos": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "contact": {"type": "string", "maxLength": 254},
                },
                "required": ["category", "description", "lon", "lat"],
            }
        },
        responses={
            (201, JSON): {
                "type": "object",
                "properties": {"code": {"type": "string"}, "url": {"type": "string"}},
            },
            (400, JSON): OpenApiResponse(ERROR, description="Invalid input; names the field."),
            (429, JSON): TOO_MANY,
        },
        tags=["reports"],
    )
    def post(self, request):
        errors = {}
        data = {}
        for name in request.data:
            if name in request.FILES:
                continue
            values = request.data.getlist(name) if hasattr(request.data, "getlist") else []
            if name not in FIELDS:
                errors[name] = ["unknown field"]
            elif len(values) != 1:
                errors[name] = ["sent more than once"]
            else:
                data[name] = values[0]
        for name in request.FILES:
            if name != "photos":
                errors[name] = ["unknown file field; send photos as 'photos'"]
        if errors:
            raise exceptions.ValidationError(errors)
        sent = reports.submit(data, request.FILES.getlist("photos"), _sender(request))
        url = reverse("report-status", args=[sent.code])
        return Response({"code": sent.code, "url": request.build_absolute_uri(url)}, status=201)

    @extend_schema(
        operation_id="reports_queue",
        summary="The intake queue: reports in your reach (editors; inspectors of the cell)",
        parameters=[
            OpenApiParameter("status", str, enum=list(INTAKE), description="default new"),
        ],
        responses={
            (200, JSON): {"type": "object"},
            (400, JSON): OpenApiResponse(ERROR),
            (401, JSON): OpenApiResponse(DETAIL),
            (403, JSON): OpenApiResponse(DETAIL),
        },
        tags=["reports"],
    )
    def get(self, request):
        unknown = sorted(set(request.query_params) - {"status"})
        if unknown:
            raise exceptions.ValidationError({name: ["unknown parameter"] for name in unknown})
        raw = p.single(request.query_params, "status")
        intake = "new" if raw is None else p.choices("status", [raw], INTAKE)[0]
        found = reports.queue(request.user, None if intake == "all" else intake).select_related(
            "contact"
        )
        contacts = roles.can_read_report_contacts(request.user)
        return Response({"count": len(found), "results": [_item(r, contacts) for r in found]})


def _item(report, contacts: bool) -> dict:
    item = {
        "id": report.pk,
        "code": report.code,
        "category": report.category,
        "description": report.description,
        "lon": round(report.geom.x, 7),
        "lat": round(report.geom.y, 7),
        "received_at": report.received_at.isoformat(),
        "accept_due": report.accept_due.isoformat() if report.accept_due else None,
        "overdue_since": report.overdue_since.isoformat() if report.overdue_since else None,
        "escalated_on": report.escalated_on.isoformat() if report.escalated_on else None,
        "intake": report.intake,
        "public_status": report.public_status,
        "grid_cell": report.grid_cell.code if report.grid_cell else None,
        "hazard": report.hazard_id,
        "me_too": report.supporters,
        "photos": [
            reverse("report-staff-photo", args=[photo.pk, "full"]) for photo in report.photos.all()
        ],
    }
    if contacts:
        contact = getattr(report, "contact", None)
        item["contact"] = (
            {"phone": contact.phone, "email": contact.email} if contact is not None else None
        )
    return item


class ReportStatus(ReportErrorsMixin, APIView):
    permission_classes = (ReportsPermission,)
    public = True

    @extend_schema(
        operation_id="reports_status",
        summary="The public status of a report, by its tracking code",
        responses={
            (200, JSON): PUBLIC_STATUS,
            (404, JSON): OpenApiResponse(DETAIL),
            (429, JSON): TOO_MANY,
        },
        tags=["reports"],
    )
    def get(self, request, code: str):
        found = reports.find(code, _sender(request))
        return Response(reports.public_view(found))
