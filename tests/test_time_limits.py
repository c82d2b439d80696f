"""Time limits as data, counted in working days on the Chinese calendar: the calendar (Python
and its SQL twin), the command, the table's defaults and the admin, /readyz's warning, and the
time left shown by the API and the ledger."""

from __future__ import annotations

import datetime as dt
import io
import random
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from layers.domain import time_limits, workdays
from layers.domain.models import GridCell, SafetyHazard, TimeLimit
from layers.domain.roles import EDITOR, PLANNER
from tests.conftest import make_user
from tests.factories import make

ROOT = Path(__file__).resolve().parent.parent


# --- the calendar -----------------------------------------------------------------------------


def test_holidays_do_not_count_and_make_up_days_do():
    # 2026-09-29 (Tue) + 3 working days: 09-30, then National Day 10-01..07 is off, 10-08, 10-09.
    assert workdays.add(dt.date(2026, 9, 29), 3) == dt.date(2026, 10, 9)
    # Saturday 2026-10-10 is a make-up workday (调休); Sunday 2026-09-20 too.
    assert workdays.is_workday(dt.date(2026, 10, 10))
    assert workdays.is_workday(dt.date(2026, 9, 20))
    assert workdays.add(dt.date(2026, 10, 9), 1) == dt.date(2026, 10, 10)
    assert not workdays.is_workday(dt.date(2026, 10, 5))  # a Monday in the holiday
    assert workdays.between(dt.date(2026, 9, 29), dt.date(2026, 10, 9)) == 3
    assert workdays.between(dt.date(2026, 10, 9), dt.date(2026, 9, 29)) == -3


def test_past_the_last_known_year_weekends_only():
    last = workdays.known_until()
    new_year = dt.date(last + 1, 1, 1)
    days = [new_year + dt.timedelta(days=i) for i in range(14)]
    assert [workdays.is_workday(d) for d in days] == [d.weekday() < 5 for d in days]


@pytest.mark.django_db
def test_sql_counts_the_same_as_python():
    rng = random.Random(23)
    start = dt.date(2025, 12, 1)
    pairs = [
        (
            start + dt.timedelta(days=rng.randrange(500)),
            start + dt.timedelta(days=rng.randrange(500)),
        )
        for _ in range(200)
    ]
    with connection.cursor() as cursor:
        for a, b in pairs:
            cursor.execute("SELECT hh_workdays(%s, %s)", [a, b])
            assert cursor.fetchone()[0] == workdays.between(a, b), (a, b)


def test_readiness_warns_near_the_end_of_the_known_years():
    last = workdays.known_until()
    assert "warning" not in workdays.readiness(dt.date(last, 6, 1))
    warned = workdays.readiness(dt.date(last, 12, 7))
    assert warned["ok"] and str(last) in warned["warning"]


@pytest.mark.django_db
def test_readyz_shows_the_calendar_warning(client, settings):
    settings.SERVICE_TODAY = f"{workdays.known_until()}-12-20"
    body = client.get("/readyz").json()
    assert body["checks"]["workdays"]["known_until"] == workdays.known_until()
    assert any("chinesecalendar" in w for w in body["warnings"])
    settings.SERVICE_TODAY = f"{workdays.known_until()}-03-02"
    assert "warnings" not in client.get("/readyz").json()


# --- the command ------------------------------------------------------------------------------


def test_workdays_command_prints_one_iso_date(capsys):
    call_command("workdays", "2026-09-29", "3")
    assert capsys.readouterr().out == "2026-10-09\n"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["2026-9-29", "3"], "FROM"),
        (["2026-02-30", "3"], "FROM"),
        (["2026-09-29", "-1"], "N"),
        (["2026-09-29", "three"], "N"),
        (["2026-09-29", "3.5"], "N"),
    ],
)
def test_workdays_command_refuses_bad_input(args, named):
    with pytest.raises(CommandError) as refused:
        call_command("workdays", *args)
    assert str(refused.value).startswith(named)


@pytest.mark.slow
def test_workdays_command_exit_status():
    run = subprocess.run(
        [sys.executable, "manage.py", "workdays", "2026-09-29", "x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0 and "N:" in run.stderr and run.stdout == ""


# --- the table --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_category_and_level_has_its_seeded_limits():
    rows = {(t.category, t.level): t for t in TimeLimit.objects.all()}
    assert set(rows) == set(time_limits.HAZARD_TIME_LIMITS)
    for key, (
        dispatch,
        rectify,
        reinspect,
        accept,
        escalate,
    ) in time_limits.HAZARD_TIME_LIMITS.items():
        row = rows[key]
        assert (row.dispatch_days, row.rectify_days, row.reinspect_days) == (
            dispatch,
            rectify,
            reinspect,
        )
        assert (row.accept_days, row.escalate_days) == (accept, escalate)


@pytest.mark.django_db
def test_editors_keep_the_limits_in_the_admin(client):
    editor = make_user("limits-editor", EDITOR, staff=True)
    planner = make_user("limits-planner", PLANNER, staff=True)
    row = TimeLimit.objects.get(category="gas", level="general")
    url = f"/admin/layers/timelimit/{row.pk}/change/"
    client.force_login(planner)
    assert client.post(url, {}).status_code == 403
    client.force_login(editor)
    assert client.get("/admin/layers/timelimit/").status_code == 200
    response = client.post(
        url,
        {
            "category": "gas",
            "level": "general",
            "dispatch_days": 2,
            "rectify_days": 4,
            "reinspect_days": 2,
            "accept_days": 1,
            "escalate_days": 3,
        },
    )
    assert response.status_code == 302, response.content[:500]
    row.refresh_from_db()
    assert row.rectify_days == 4


# --- time left, shown -------------------------------------------------------------------------


@pytest.fixture
def due_hazard(db):
    cell = GridCell.objects.order_by("code").first()
    return make(
        SafetyHazard,
        name="楼道堆放杂物",
        category="escape_route",
        level="general",
        geom=cell.geom.point_on_surface,
        found_at=dt.datetime(2026, 9, 28, 9, tzinfo=dt.UTC),
        status="rectifying",
        deadline=dt.date(2026, 10, 9),
    )


@pytest.mark.parametrize(
    ("today", "left"),
    [("2026-09-29", 3), ("2026-10-09", 0), ("2026-10-10", -1), ("2026-10-12", -2)],
)
def test_the_api_and_the_ledger_show_working_days_left(due_hazard, settings, client, today, left):
    settings.SERVICE_TODAY = today
    client.force_login(make_user("reader", PLANNER))
    props = client.get(f"/api/v1/hazards/{due_hazard.pk}/").json()["properties"]
    assert props["workdays_left"] == left
    assert props["overdue"] is (left < 0)
    assert due_hazard.workdays_left == left
    response = client.get(f"/api/v1/hazards/ledger.xlsx?q={due_hazard.name}")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
    header = rows[0]
    mine = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    assert [r["剩余工作日"] for r in mine if r["编号"] == str(due_hazard.pk)] == [left]


def test_closed_hazards_have_no_time_left(due_hazard, settings, client):
    SafetyHazard.objects.filter(pk=due_hazard.pk).update(status="closed")
    client.force_login(make_user("reader", PLANNER))
    props = client.get(f"/api/v1/hazards/{due_hazard.pk}/").json()["properties"]
    assert props["workdays_left"] is None


def test_map_popups_show_the_working_days_left(db):
    from layers.compose import builder
    from layers.domain.pages import MapLayer

    user = make_user("popup-reader", PLANNER)
    config = builder.layer_config(MapLayer("hazards"), user)
    row = [p for p in config["popup"] if p["name"] == "workdays_left"]
    assert row == [
        {"name": "workdays_left", "zh": "剩余工作日", "en": "Working days left", "kind": "integer"}
    ]
    script = (ROOT / "static" / "js" / "hehuachi-map.js").read_text(encoding="utf-8")
    assert 'f.name === "workdays_left"' in script and "超期 " in script
