"""Endpoints across layers: the layer index and statistics (the nearest features of a layer
are its own `nearest` action, layers/channels/api/views.py)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Avg, Count, Q, Sum
from django.urls import reverse
from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from layers.channels.api.parsers import JSONErrorsMixin
from layers.channels.api.permissions import PublicRead
from layers.domain import labels, registry
from layers.domain import vocabularies as status
from layers.domain.models import Community, GridCell, RenovationSite, SafetyHazard
from layers.query import access, counting, documents


def _field_info(spec, name: str) -> dict:
    field = spec.model._meta.get_field(name)
    info = {
        "name": name,
        "label": labels.field_label(spec.model, name, "zh"),
        "type": field.get_internal_type(),
    }
    vocabulary = spec.vocabularies().get(name) or spec.list_fields.get(name)
    if vocabulary is not None:
        info["vocabulary"] = vocabulary.name
    return info


class LayerIndexView(JSONErrorsMixin, APIView):
    """The layers the caller may see, with titles, fields, vocabularies, counts and links
    (cached per role class until a layer changes, layers/query/documents.py)."""

    permission_classes = (PublicRead,)  # open to all; answers only the readable layers

    @extend_schema(
        summary="The layers you may see",
        responses={
            200: {
                "type": "object",
                "properties": {"layers": {"type": "array", "items": {"type": "object"}}},
            }
        },
        tags=["layers"],
    )
    def get(self, request):
        user = request.user
        specs = access.readable_layers(user)
        rights = [(s.slug, access.output_fields(user, s), access.can_edit(user, s)) for s in specs]
        # One document per role class, address and language until a layer changes.
        role = documents.role_key(request.build_absolute_uri("/"), get_language(), rights)
        return Response(
            {"layers": documents.cached("api-layers", specs, role, lambda: _index(request, specs))}
        )


def _index(request, specs) -> list[dict]:
    out = []
    for spec in specs:
        fields = access.output_fields(request.user, spec)
        vocabularies = {**spec.vocabularies(), **spec.list_fields}
        # Exact up to API_INDEX_EXACT_COUNT, else the planner's estimate: the document is
        # rebuilt after every write to the layer, which must not cost a scan of a large table.
        count, exact = counting.total(spec.model.objects.all(), settings.API_INDEX_EXACT_COUNT)
        out.append(
            {
                "slug": spec.slug,
                "title": {"zh": spec.title_zh, "en": spec.title_en},
                "geometry_type": spec.geometry_type,
                "audience": spec.audience,
                "count": count,
                "count_exact": exact,
                "editable": access.can_edit(request.user, spec),
                "status_field": spec.status_field,
                "fields": [_field_info(spec, name) for name in fields],
                "vocabularies": {
                    name: {
                        "name": v.name,
                        "title": {"zh": v.zh, "en": v.en},
                        "terms": v.legend(),
                    }
                    for name, v in vocabularies.items()
                    if name in fields
                },
                "zoom": {"min": spec.min_zoom, "max": spec.max_zoom},
                "links": {
                    "items": request.build_absolute_uri(reverse(f"api:{spec.slug}-list")),
                },
            }
        )
    return out


def _counts(queryset, field: str) -> dict[str, int]:
    return dict(queryset.values_list(field).annotate(n=Count("pk")).order_by(field))


class StatsView(JSONErrorsMixin, APIView):
    """Counts by status per layer; hazards per community and grid; renovation progress."""

    permission_classes = (PublicRead,)  # open to all; answers only the readable layers

    @extend_schema(
        summary="Counts by status; hazards per community and grid; renovation progress",
        responses={200: {"type": "object", "additionalProperties": True}},
        tags=["stats"],
    )
    def get(self, request):
        out: dict = {"layers": {}}
        for spec in access.readable_layers(request.user):
            out["layers"][spec.slug] = _counts(spec.model.objects.all(), spec.status_field)
        hazards_spec = registry.get("hazards")
        if access.can_read(request.user, hazards_spec):
            out["hazards"] = self._hazards()
        if access.can_read(request.user, registry.get("renovation-sites")):
            out["renovation"] = self._renovation()
        return Response(out)

    def _hazards(self) -> dict:
        hazards = SafetyHazard.objects.all()
        overdue = hazards.filter(SafetyHazard.overdue_q())

        def breakdown(group_model, link: str):
            """Per community or grid cell, grouped in SQL: five queries whatever the count."""
            rows = {
                g.pk: {
                    "id": g.pk,
                    "code": g.code,
                    "name": g.name,
                    "total": 0,
                    "overdue": 0,
                    "by_category": {},
                    "by_level": {},
                    "by_status": {},
                }
                for g in group_model.objects.order_by("code")
            }
            for pk, n in hazards.values_list(link).annotate(n=Count("pk")).order_by(link):
                if pk in rows:
                    rows[pk]["total"] = n
            for pk, n in overdue.values_list(link).annotate(n=Count("pk")).order_by(link):
                if pk in rows:
                    rows[pk]["overdue"] = n
            for field in ("category", "level", "status"):
                grouped = hazards.values_list(link, field).annotate(n=Count("pk"))
                for pk, value, n in grouped.order_by(link, field):
                    if pk in rows:
                        rows[pk][f"by_{field}"][value] = n
            return list(rows.values())

        return {
            "total": hazards.count(),
            "open": hazards.filter(status__in=status.HAZARD_OPEN_STATUSES).count(),
            "overdue": overdue.count(),
            "overdue_major": overdue.filter(level="major").count(),
            "by_community": breakdown(Community, "community"),
            "by_grid": breakdown(GridCell, "grid_cell"),
        }

    def _renovation(self) -> list[dict]:
        rows = (
            RenovationSite.objects.values("kind", "phase")
            .annotate(
                sites=Count("pk"),
                avg_progress=Avg("progress"),
                households_total=Sum("households_total"),
                households_signed=Sum("households_signed"),
                households_vacated=Sum("households_vacated"),
                completed=Count("pk", filter=Q(status__in=("completed", "accepted", "done"))),
            )
            .order_by("kind", "phase")
        )
        return [{**row, "avg_progress": round(row["avg_progress"] or 0, 1)} for row in rows]
