"""Every validation rule of the API: a 400 whose JSON names the field, and nothing changes."""

from __future__ import annotations

import pytest
from django.test import override_settings

from layers.domain import models
from layers.domain.roles import EDITOR

pytestmark = pytest.mark.django_db


def feature(geometry, **properties):
    return {"type": "Feature", "geometry": geometry, "properties": properties}


POINT = {"type": "Point", "coordinates": [119.9472, 31.7828]}
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[119.950, 31.780], [119.9502, 31.780], [119.9502, 31.7802], [119.950, 31.780]]
    ],
}
BOWTIE = {
    "type": "MultiPolygon",
    "coordinates": [
        [
            [
                [119.950, 31.780],
                [119.951, 31.781],
                [119.951, 31.780],
                [119.950, 31.781],
                [119.950, 31.780],
            ]
        ]
    ],
}
HAZARD = {"name": "测试", "category": "gas", "level": "general"}
SITE = {"name": "测试项目", "kind": "old_community", "status": "preparation"}


@pytest.mark.parametrize(
    "slug, body, field, text",
    [
        ("hazards", feature(SQUARE, **HAZARD), "geom", "Expected a Point"),
        ("renovation-sites", feature(BOWTIE, **SITE), "geom", "Self-intersection"),
        (
            "hazards",
            feature({"type": "Point", "coordinates": [31.78, 119.95]}, **HAZARD),
            "geom",
            "swapped",
        ),
        (
            "hazards",
            feature({"type": "Point", "coordinates": [0, 0]}, **HAZARD),
            "geom",
            "service area",
        ),
        ("hazards", feature({"type": "Point", "coordinates": ["x", 1]}, **HAZARD), "geom", ""),
        ("hazards", feature(POINT, **{**HAZARD, "level": "extreme"}), "level", "extreme"),
        ("hazards", feature(POINT, **{**HAZARD, "deadline": "next week"}), "deadline", ""),
        (
            "hazards",
            feature(
                POINT,
                **{**HAZARD, "found_at": "2026-10-01T08:00:00+08:00", "deadline": "2026-09-01"},
            ),
            "deadline",
            "read-only",  # deadlines are set by the lifecycle's steps (test_workflow.py)
        ),
        ("hazards", feature(POINT, **{**HAZARD, "assignee": "nobody"}), "assignee", ""),
        ("hazards", feature(POINT, **{**HAZARD, "grid_cell": 1}), "grid_cell", "read-only"),
        ("renovation-sites", feature(SQUARE, **{**SITE, "progress": 101}), "progress", ""),
        ("renovation-sites", feature(SQUARE, **{**SITE, "status": "vacating"}), "status", "kind"),
        (
            "renovation-sites",
            feature(
                SQUARE,
                **{
                    **SITE,
                    "kind": "expropriation",
                    "status": "signing",
                    "households_total": 10,
                    "households_signed": 11,
                },
            ),
            "households_signed",
            "exceed",
        ),
        (
            "renovation-sites",
            feature(SQUARE, **{**SITE, "planned_start": "2027-01-01", "planned_end": "2026-01-01"}),
            "planned_end",
            "before",
        ),
        (
            "pocket-parks",
            feature(SQUARE, name="园", theme="minors", facilities=["spa"]),
            "facilities",
            "",
        ),
        ("viewpoints", feature(POINT, name="点", theme="streetscape", tour_order=1), "__all__", ""),
    ],
)
def test_invalid_input_is_400_naming_the_field(role_client, slug, body, field, text):
    client = role_client(EDITOR)
    model = {
        "hazards": models.SafetyHazard,
        "renovation-sites": models.RenovationSite,
        "pocket-parks": models.PocketPark,
        "viewpoints": models.CulturalViewpoint,
    }[slug]
    before = model.all_objects.count()
    response = client.post(f"/api/v1/{slug}/", body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    key = field if field in errors else next(iter(errors))
    assert field in errors or (field == "__all__" and errors), errors
    assert text in str(errors[key])
    assert model.all_objects.count() == before


def test_too_many_vertices_is_refused(role_client, settings):
    settings.MAX_GEOMETRY_VERTICES = 10
    ring = [[119.95 + 0.0001 * i, 31.78 + 0.0001 * (i % 2)] for i in range(12)]
    ring = [[119.95, 31.779], *ring, [119.95, 31.779]]
    body = feature({"type": "Polygon", "coordinates": [ring]}, **SITE)
    response = role_client(EDITOR).post("/api/v1/renovation-sites/", body, format="json")
    assert response.status_code == 400
    assert "vertices" in str(response.json()["geom"])


def test_non_finite_coordinates_are_refused(role_client):
    body = (
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [NaN, 31.78]}, '
        '"properties": {"name": "n", "category": "gas", "level": "general"}}'
    )
    response = role_client(EDITOR).post("/api/v1/hazards/", body, content_type="application/json")
    assert response.status_code == 400


@override_settings(API_MAX_BODY_BYTES=1000)
def test_a_body_over_the_limit_is_refused(role_client):
    body = feature(POINT, **{**HAZARD, "description": "长" * 2000})
    response = role_client(EDITOR).post("/api/v1/hazards/", body, format="json")
    assert response.status_code == 400
    assert "body" in response.json()


def test_a_stale_update_changes_nothing(role_client):
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    response = role_client(EDITOR).patch(
        f"/api/v1/hazards/{hazard.pk}/",
        {"properties": {"name": "过期修改"}},
        format="json",
        HTTP_IF_MATCH=f'"{hazard.version - 1 if hazard.version > 1 else 99}"',
    )
    assert response.status_code == 412
    assert response.json()["current_version"] == hazard.version
    hazard.refresh_from_db()
    assert hazard.name != "过期修改"
