"""GET /api/v1/search/?q=: one search over every layer the caller may read
(layers/query/search.py), each result with its bbox and the URL of its page."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from layers.channels.api.parsers import JSONErrorsMixin
from layers.channels.api.permissions import PublicRead
from layers.query import search


class SearchView(JSONErrorsMixin, APIView):
    """Names (zh, en), references and codes, addresses and pinyin initials, ranked and grouped
    by layer; the public searches the public layers' public fields only."""

    permission_classes = (PublicRead,)

    @extend_schema(
        summary="Find features by name, code, address or pinyin initials",
        parameters=[
            OpenApiParameter("q", str, required=True, description="1–100 characters"),
            OpenApiParameter("layers", str, description="comma-separated layer slugs"),
            OpenApiParameter("limit", int, description="results per layer, 1–50 (5)"),
        ],
        responses={
            200: {
                "type": "object",
                "properties": {
                    "q": {"type": "string"},
                    "groups": {"type": "array", "items": {"type": "object"}},
                },
            },
            400: OpenApiResponse(
                {"type": "object", "additionalProperties": True},
                description="A bad parameter; the body names it.",
            ),
        },
        tags=["layers"],
    )
    def get(self, request):
        query = search.parse(request.query_params, request.user)
        groups = search.search(request.user, query)
        for group in groups:
            for result in group["results"]:
                result["url"] = reverse("feature", args=[group["layer"], result["id"]])
        response = Response({"q": query.text, "groups": groups})
        response["Cache-Control"] = "private, no-cache"
        return response
