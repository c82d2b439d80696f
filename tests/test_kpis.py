"""The rates (GET /api/v1/hazards/kpis/ and the dashboard): a small history walked through the
lifecycle on the service clock, its numbers per unit and grid cell, one SQL statement per
figure, strict parameters, and drill-down from every number to its hazards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from layers.domain.models import GridCell, SafetyHazard
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER
from layers.query import kpis
from layers.services import workflow
from tests.conftest import make_user
from tests.factories import make

pytestmark = pytest.mark.django_db
UNIT = "测试物业公司"
PERIOD = (dt.date(2026, 9, 1), dt.date(2026, 10, 31))


def on(settings, day):
    settings.SERVICE_TODAY = day


@pytest.fixture
def history(db, settings):
    """Four e-bike hazards dispatched to UNIT on 2026-09-29 (deadline 10-09): one closed on
    time, one failed a re-inspection and closed late, one returned, one still open."""
    cell = GridCell.objects.order_by("code").first()
    leader = make_user("k-leader", EDITOR, staff=True)
    unit = make_user("k-unit", PLANNER)
    officer = make_user("k-officer", INSPECTOR)
    on(settings, "2026-09-28")
    hazards = [
        make(
            SafetyHazard,
            name=f"KPI-{i}",
            category="ebike",
            level="general",
            status="reported",
            geom=cell.geom.point_on_surface,
            found_at=dt.datetime(2026, 9, 28, 1, tzinfo=dt.UTC),
        )
        for i in range(4)
    ]
    on_time, reworked, returned, still_open = hazards
    on(settings, "2026-09-29")
    for h in hazards:
        workflow.perform(h.pk, "assign", leader, {"responsible_unit": UNIT, "assignee": "k-unit"})
    workflow.perform(returned.pk, "return", unit, {"reason": "incomplete"})
    for h in (on_time, reworked):
        workflow.perform(h.pk, "start", unit)
        workflow.perform(h.pk, "rectify", unit, {"note": "已清理"})
    on(settings, "2026-09-30")
    workflow.perform(on_time.pk, "pass", officer)
    workflow.perform(reworked.pk, "fail", officer, {"note": "仍有飞线"})
    on(settings, "2026-10-12")
    workflow.perform(reworked.pk, "rectify", unit, {"note": "已拆除"})
    workflow.perform(reworked.pk, "pass", officer)
    return {
        "cell": cell,
        "on_time": on_time,
        "reworked": reworked,
        "returned": returned,
        "open": still_open,
    }


def test_the_numbers_of_a_unit(history, settings):
    groups = {g["key"]: g for g in kpis.compute("unit", *PERIOD)["groups"]}
    mine = groups[UNIT]
    assert mine["dispatched"] == 4
    assert (mine["closed"], mine["on_time"], mine["late"]) == (2, 1, 1)
    assert mine["on_time_rate"] == 0.5
    assert (mine["reinspected"], mine["reworked"], mine["rework_rate"]) == (2, 1, 0.5)
    assert mine["returned"] == 1
    assert mine["overdue_now"] == 1  # today 2026-10-12, the open one was due 10-09
    assert mine["reported"] == 3  # the returned one has no unit now
    # found Monday 09-28 -> closed 09-30 (2 working days) and 10-12 (6: the holiday skipped,
    # the make-up Saturday 10-10 counted)
    assert mine["mean_workdays_to_close"] == 4.0


def test_the_numbers_of_a_grid_cell_include_the_history(history):
    code = history["cell"].code
    grid = {g["key"]: g for g in kpis.compute("grid", *PERIOD)["groups"]}[code]
    assert grid["reworked"] >= 1 and grid["late"] >= 1 and grid["returned"] >= 1


def test_each_figure_is_one_statement(history):
    with CaptureQueriesContext(connection) as queries:
        kpis.figures("person", *PERIOD)
    assert len(queries) == len(kpis.FIGURES)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("late", ["reworked"]),
        ("on_time", ["on_time"]),
        ("reworked", ["reworked"]),
        ("returned", ["returned"]),
        ("overdue_now", ["open"]),
        ("closed", ["on_time", "reworked"]),
    ],
)
def test_every_number_drills_down_to_its_hazards(history, number, expected):
    ids = kpis.drill(number, "unit", UNIT, *PERIOD)
    assert ids == sorted(history[name].pk for name in expected)


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api(history):
    body = api(make_user("k-p", PLANNER)).get(
        "/api/v1/hazards/kpis/?by=unit&from=2026-09-01&to=2026-10-31"
    )
    assert body.status_code == 200, body.content
    data = body.json()
    assert (data["by"], data["from"], data["to"]) == ("unit", "2026-09-01", "2026-10-31")
    mine = [g for g in data["groups"] if g["key"] == UNIT][0]
    assert mine["late"] == 1 and mine["reworked"] == 1
    assert data["total"]["closed"] >= 2


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("by=week", "by"),
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-10-02&to=2026-10-01", "from"),
        ("page=1", "page"),
        ("by=unit&by=grid", "by"),
    ],
)
def test_the_api_names_a_bad_parameter(query, name):
    response = api(make_user("k-p2", PLANNER)).get(f"/api/v1/hazards/kpis/?{query}")
    assert response.status_code == 400 and name in response.json()


def test_the_api_is_for_staff():
    assert APIClient().get("/api/v1/hazards/kpis/").status_code in (401, 403)


def test_the_dashboard_links_every_number(history, client, settings):
    client.force_login(make_user("k-lead2", EDITOR))
    page = client.get("/dashboard/?by=unit&from=2026-09-01&to=2026-10-31")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="hh-rates-table"' in html and 'id="hh-rates-chart"' in html
    assert (
        "/dashboard/hazards/?number=late&amp;from=2026-09-01&amp;to=2026-10-31&amp;by=unit" in html
    )
    listed = client.get(
        "/dashboard/hazards/",
        {"number": "late", "by": "unit", "key": UNIT, "from": "2026-09-01", "to": "2026-10-31"},
    )
    assert listed.status_code == 200
    assert f'data-id="{history["reworked"].pk}"' in listed.content.decode()
    assert f"/field/?hazard={history['reworked'].pk}" in listed.content.decode()
    # the map's grid cells link to their open hazards
    assert f"/dashboard/hazards/?grid={history['cell'].code}" in html
    cell = client.get("/dashboard/hazards/", {"grid": history["cell"].code}).content.decode()
    assert f'data-id="{history["open"].pk}"' in cell
    # overdue rows link to the hazard
    assert f'href="/field/?hazard={history["open"].pk}"' in html


@pytest.mark.parametrize(
    "query", ["by=week", "from=x", "number=nope", "number=late&from=2026-1-1", "grid=X&by=unit"]
)
def test_bad_dashboard_queries_are_400(client, query):
    client.force_login(make_user("k-lead3", EDITOR))
    path = "/dashboard/hazards/" if ("number" in query or "grid" in query) else "/dashboard/"
    assert client.get(f"{path}?{query}").status_code == 400
