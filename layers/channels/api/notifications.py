"""GET /api/v1/notifications/ (the caller's inbox, for the field app) and marking notices read.
The notices are made by layers/services/notifications.py."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from layers.channels.api.parsers import JSONErrorsMixin
from layers.channels.api.schema import _errors
from layers.query import params as p
from layers.services import notifications

NOTICE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "event": {"type": "string"},
        "title": {"type": "string"},
        "body": {"type": "string"},
        "hazard": {"type": "integer", "nullable": True},
        "link": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "read": {"type": "boolean"},
    },
}
LIST = {
    "type": "object",
    "properties": {
        "unread": {"type": "integer"},
        "results": {"type": "array", "items": NOTICE},
    },
}


def notice_json(notice) -> dict:
    return {
        "id": notice.pk,
        "event": notice.event,
        "title": notice.title,
        "body": notice.body,
        "hazard": notice.hazard_id,
        "link": notifications.link_of(notice),
        "created_at": notice.created_at.isoformat(),
        "read": notice.read_at is not None,
    }


class NotificationListView(JSONErrorsMixin, APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="My notices, newest first",
        parameters=[
            OpenApiParameter("unread", bool, description="true: only the unread ones"),
            OpenApiParameter("limit", int, description="1–200 (default 50)"),
        ],
        responses={200: LIST, **_errors(400, 401, 403)},
        tags=["notifications"],
    )
    def get(self, request):
        params = request.query_params
        errors = {name: ["unknown parameter"] for name in set(params) - {"unread", "limit"}}
        unread, limit = False, 50
        try:
            raw = p.single(params, "unread")
            unread = p.boolean("unread", raw) if raw is not None else False
        except p.ParamError as exc:
            errors[exc.name] = [exc.message]
        try:
            raw = p.single(params, "limit")
            limit = p.integer("limit", raw, low=1, high=200) if raw is not None else 50
        except p.ParamError as exc:
            errors[exc.name] = [exc.message]
        if errors:
            raise exceptions.ValidationError(errors)
        notices = notifications.inbox(request.user, unread_only=unread)[:limit]
        return Response(
            {
                "unread": notifications.unread_count(request.user),
                "results": [notice_json(n) for n in notices],
            }
        )


class NotificationReadView(JSONErrorsMixin, APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Mark one of my notices read",
        request=None,
        responses={200: NOTICE, **_errors(401, 403, 404)},
        tags=["notifications"],
    )
    def post(self, request, pk: int):
        notice = notifications.inbox(request.user).filter(pk=pk).first()
        if notice is None:
            raise exceptions.NotFound()
        notifications.mark_read(request.user, [pk])
        notice.refresh_from_db()
        return Response(notice_json(notice))
