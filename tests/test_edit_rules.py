"""The lifecycle's rules on plain edits and on duplicates: grid workers keep hazards in their
cells (REST and OGC Part 4), a status sent to a plain write is refused naming the transitions
endpoint, and "mark as duplicate" is no back door to closing."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from layers.domain.models import GridCell, SafetyHazard
from layers.domain.roles import EDITOR, INSPECTOR
from layers.services import workflow
from tests.conftest import PASSWORD, make_user
from tests.factories import make

pytestmark = pytest.mark.django_db


@pytest.fixture
def grid(db):
    own, other = GridCell.objects.order_by("code")[:2]
    worker = make_user("e-worker", INSPECTOR)
    GridCell.objects.filter(pk=own.pk).update(worker=worker)
    leader = make_user("e-leader", EDITOR, staff=True)
    hazard = make(
        SafetyHazard,
        name="楼道堆物",
        category="escape_route",
        level="general",
        status="reported",
        geom=own.geom.point_on_surface,
        reporter=worker,
    )
    return {"own": own, "other": other, "worker": worker, "leader": leader, "hazard": hazard}


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def move(user, hazard, point):
    return api(user).patch(
        f"/api/v1/hazards/{hazard.pk}/",
        {"geometry": json.loads(point.geojson), "properties": {}},
        format="json",
        HTTP_IF_MATCH=f'"{hazard.version}"',
    )


def test_a_grid_worker_moves_a_hazard_within_their_cells_only(grid):
    hazard, worker = grid["hazard"], grid["worker"]
    inside = grid["own"].geom.centroid
    if not grid["own"].geom.contains(inside):
        inside = grid["own"].geom.point_on_surface
    assert move(worker, hazard, inside).status_code in (200,)
    hazard.refresh_from_db()
    refused = move(worker, hazard, grid["other"].geom.point_on_surface)
    assert refused.status_code == 403 and "grid" in refused.json()["detail"]
    hazard.refresh_from_db()
    assert hazard.grid_cell_id == grid["own"].pk  # rolled back


def test_being_the_assignee_does_not_widen_where_a_worker_may_move_it(grid):
    hazard = grid["hazard"]
    SafetyHazard.objects.filter(pk=hazard.pk).update(status="assigned", assignee=grid["worker"])
    hazard.refresh_from_db()
    assert move(grid["worker"], hazard, grid["other"].geom.point_on_surface).status_code == 403


def test_a_leader_moves_anything(grid):
    response = move(grid["leader"], grid["hazard"], grid["other"].geom.point_on_surface)
    assert response.status_code == 200, response.content
    grid["hazard"].refresh_from_db()
    assert grid["hazard"].grid_cell_id == grid["other"].pk


def test_ogc_part4_keeps_the_worker_in_their_cells(grid, client):
    hazard = grid["hazard"]
    token = base64.b64encode(f"e-worker:{PASSWORD}".encode()).decode()
    response = client.patch(
        f"/ogc/collections/hazards/items/{hazard.pk}",
        json.dumps({"geometry": json.loads(grid["other"].geom.point_on_surface.geojson)}),
        content_type="application/json",
        HTTP_IF_MATCH=f'"{hazard.version}"',
        HTTP_AUTHORIZATION=f"Basic {token}",
    )
    assert response.status_code == 403, response.content
    hazard.refresh_from_db()
    assert hazard.grid_cell_id == grid["own"].pk


@pytest.mark.parametrize(
    "body",
    [
        {"status": "closed"},
        {"properties": {"status": "closed"}},
    ],
)
def test_a_status_in_a_plain_write_is_refused_naming_the_transitions(grid, body):
    hazard = grid["hazard"]
    response = api(grid["leader"]).patch(
        f"/api/v1/hazards/{hazard.pk}/", body, format="json", HTTP_IF_MATCH=f'"{hazard.version}"'
    )
    assert response.status_code == 400
    assert "/transitions/" in response.json()["status"][0]
    hazard.refresh_from_db()
    assert hazard.status == "reported"


# --- mark as duplicate ------------------------------------------------------------------------


def twin(grid, **values):
    base = {
        "name": "原始",
        "category": "escape_route",
        "level": "general",
        "status": "reported",
        "geom": grid["hazard"].geom,
    }
    return make(SafetyHazard, **{**base, **values})


def mark(user, hazard, original):
    return api(user).post(
        f"/api/v1/hazards/{hazard.pk}/transitions/",
        {"action": "mark_duplicate", "duplicate_of": original.pk},
        format="json",
    )


def test_a_duplicate_of_an_open_hazard_nearby_of_the_same_category(grid):
    assert mark(grid["worker"], grid["hazard"], twin(grid)).status_code == 200


@pytest.mark.parametrize("why", ["category", "far", "closed_long_ago"])
def test_no_duplicate_of_another_category_far_away_or_long_closed(grid, why):
    if why == "category":
        original = twin(grid, category="gas")
    elif why == "far":
        original = twin(grid, geom=grid["other"].geom.point_on_surface)
    else:
        original = twin(grid, status="closed", closed_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    response = mark(grid["worker"], grid["hazard"], original)
    assert response.status_code == 400 and "duplicate_of" in response.json()
    grid["hazard"].refresh_from_db()
    assert grid["hazard"].status == "reported"


def test_a_recently_closed_original_is_fine(grid):
    with override_settings(SERVICE_TODAY="2026-10-20"):
        original = twin(grid, status="closed", closed_at=dt.datetime(2026, 10, 10, tzinfo=dt.UTC))
        assert mark(grid["worker"], grid["hazard"], original).status_code == 200


def test_after_dispatch_a_duplicate_is_a_leaders_decision(grid):
    hazard = grid["hazard"]
    workflow.perform(
        hazard.pk, "assign", grid["leader"], {"responsible_unit": "物业", "assignee": "e-worker"}
    )
    original = twin(grid)
    refused = mark(grid["worker"], hazard, original)
    assert refused.status_code == 403 and "leader" in refused.json()["detail"]
    assert mark(grid["leader"], hazard, original).status_code == 200
