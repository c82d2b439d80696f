"""退回: the assignee returns an assigned hazard with a reason from the vocabulary; it goes back
to the dispatch queue, the reason on the timeline, counted per unit."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from layers.domain.models import GridCell, HazardEvent, SafetyHazard
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER
from layers.services import workflow
from tests.conftest import make_user
from tests.factories import make

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(db, settings):
    settings.SERVICE_TODAY = "2026-09-29"
    cell = GridCell.objects.order_by("code").first()
    leader = make_user("ret-leader", EDITOR, staff=True)
    unit = make_user("ret-unit", PLANNER)
    hazard = make(
        SafetyHazard,
        name="楼道飞线充电",
        category="ebike",
        level="general",
        status="reported",
        geom=cell.geom.point_on_surface,
        found_at=dt.datetime(2026, 9, 28, 9, tzinfo=dt.UTC),
    )
    workflow.perform(
        hazard.pk, "assign", leader, {"responsible_unit": "物业公司", "assignee": "ret-unit"}
    )
    return {"hazard": hazard, "leader": leader, "unit": unit}


def post(user, pk, **body):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(f"/api/v1/hazards/{pk}/transitions/", body, format="json")


def test_the_assignee_returns_it_to_the_dispatch_queue(assigned):
    hazard, unit = assigned["hazard"], assigned["unit"]
    response = post(unit, hazard.pk, action="return", reason="not_our_duty", note="属燃气公司")
    assert response.status_code == 200, response.content
    hazard.refresh_from_db()
    assert hazard.status == "reported"
    assert (hazard.assignee, hazard.responsible_unit, hazard.deadline) == (None, "", None)
    # Back in the queue with a fresh dispatch limit (1 working day from Tuesday 09-29).
    assert hazard.due_date == dt.date(2026, 9, 30)
    event = HazardEvent.objects.get(hazard=hazard, action="return")
    assert event.data["reason"] == "not_our_duty" and event.data["unit"] == "物业公司"
    assert event.data["assignee"] == "ret-unit"
    entry = [e for e in workflow.timeline(hazard) if e["action"] == "return"][0]
    assert entry["label_zh"] == "退回" and entry["reason_zh"] == "不属于本单位职责"
    # The leader dispatches it again.
    workflow.perform(
        hazard.pk,
        "assign",
        assigned["leader"],
        {"responsible_unit": "燃气公司", "assignee": "ret-unit"},
    )
    hazard.refresh_from_db()
    assert hazard.status == "assigned" and hazard.responsible_unit == "燃气公司"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "too_busy"}, "reason"),
        ({"reason": ["not_our_duty"]}, "reason"),
        ({"reason": "other"}, "note"),
        ({"reason": "other", "note": "   "}, "note"),
    ],
)
def test_a_reason_from_the_vocabulary_is_required(assigned, body, field):
    response = post(assigned["unit"], assigned["hazard"].pk, action="return", **body)
    assert response.status_code == 400
    assert field in response.json()
    assigned["hazard"].refresh_from_db()
    assert assigned["hazard"].status == "assigned"


def test_other_with_a_note_is_accepted(assigned):
    response = post(
        assigned["unit"],
        assigned["hazard"].pk,
        action="return",
        reason="other",
        note="门牌号不存在",
    )
    assert response.status_code == 200, response.content


def test_only_the_assignee_returns(assigned):
    hazard = assigned["hazard"]
    for user in (assigned["leader"], make_user("ret-insp", INSPECTOR), make_user("ret-p", PLANNER)):
        assert post(user, hazard.pk, action="return", reason="incomplete").status_code == 403
    workflow.perform(hazard.pk, "start", assigned["unit"])
    response = post(assigned["unit"], hazard.pk, action="return", reason="incomplete")
    assert response.status_code == 409  # once work started, it is no longer returnable
