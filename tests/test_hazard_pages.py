"""The ledger (XLSX), the dashboard's figures, the admin's step action, and who may open the
field view and the dashboard."""

from __future__ import annotations

import datetime as dt
import html
import io

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from layers.domain import vocabularies as status
from layers.domain.models import GridCell, HazardEvent, SafetyHazard
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER
from layers.io import ledger
from layers.query import dashboard
from layers.services import workflow
from tests.conftest import make_user
from tests.factories import make

pytestmark = pytest.mark.django_db

LEDGER = "/api/v1/hazards/ledger.xlsx"


def signed_in(client, username: str, role: str | None, **kwargs):
    user = make_user(username, role, **kwargs)
    client.force_login(user)
    return user


def sheet_rows(response) -> list[tuple]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return list(book.active.iter_rows(values_only=True))


# --- the ledger -----------------------------------------------------------------------------


def test_the_ledger_has_the_chinese_headers_and_every_hazard(client):
    signed_in(client, "p", PLANNER)
    rows = sheet_rows(client.get(LEDGER))
    assert rows[0] == ledger.HEADERS
    assert rows[0][:2] == ("编号", "地点/名称")
    assert rows[0][-3:] == ("逾期天数", "挂牌督办", "剩余工作日")
    expected = [h.ref or str(h.pk) for h in SafetyHazard.objects.order_by("ref", "pk")]
    assert sorted(r[0] for r in rows[1:]) == sorted(expected)
    assert len(rows) - 1 == SafetyHazard.objects.count() > 0


@pytest.mark.parametrize(
    "query",
    ["status=rectifying", "overdue=true", "category=gas&level=major", "grid=HHC-01-01", "q=消防"],
)
def test_the_ledger_honours_the_list_filters(client, query):
    signed_in(client, "i", INSPECTOR)
    rows = sheet_rows(client.get(f"{LEDGER}?{query}"))
    listed = client.get(f"/api/v1/hazards/?{query}&page_size=1000").json()
    refs = [f["properties"]["ref"] for f in listed["features"]]
    assert [r[0] for r in rows[1:]] == refs  # same rows, same order as the list
    assert listed["count"] == len(rows) - 1


def test_a_ledger_row_equals_the_database(client):
    user = signed_in(client, "e", EDITOR, staff=True)
    cell = GridCell.objects.get(code="HHC-01-01")
    hazard = make(
        SafetyHazard,
        name='=HYPERLINK("x")',
        category="wiring",
        level="major",
        geom=cell.geom.point_on_surface,
        found_at=timezone.now() - dt.timedelta(days=40),
        status="found",
    )
    workflow.perform(hazard.pk, "report", user)
    workflow.perform(
        hazard.pk,
        "assign",
        user,
        {"responsible_unit": "平安办", "assignee": "e", "deadline": str(timezone.localdate())},
    )
    workflow.perform(hazard.pk, "supervise", user, {"on": True})
    workflow.perform(hazard.pk, "start", user)
    workflow.perform(hazard.pk, "rectify", user, {"note": "已更换线路"})
    hazard.refresh_from_db()
    rows = sheet_rows(client.get(f"{LEDGER}?q=HYPERLINK"))
    assert len(rows) == 2
    row = dict(zip(ledger.HEADERS, rows[1], strict=True))
    assert row["编号"] == str(hazard.pk)
    assert row["地点/名称"] == '\'=HYPERLINK("x")'  # never a formula
    assert row["所在网格"] == "HHC-01-01"
    assert row["所在社区"] == cell.community.name
    assert row["隐患类别"] == status.HAZARD_CATEGORY.label("wiring")
    assert row["隐患等级"] == "重大隐患"
    assert row["发现时间"] == timezone.localtime(hazard.found_at).replace(
        tzinfo=None, microsecond=0
    )
    assert row["责任单位"] == "平安办"
    assert row["整改期限"].date() == hazard.deadline
    assert row["处置状态"] == "待复查"
    assert row["整改情况"] == "已更换线路"
    assert row["整改完成时间"] == timezone.localtime(hazard.rectified_at).replace(
        tzinfo=None, microsecond=0
    )
    assert row["复查时间"] is None and row["销号时间"] is None
    assert row["逾期天数"] == 0  # due today: not yet overdue
    assert row["挂牌督办"] == "是"


def test_overdue_days_in_the_ledger(client):
    signed_in(client, "p", PLANNER)
    today = timezone.localdate()
    rows = sheet_rows(client.get(f"{LEDGER}?overdue=true"))
    by_ref = {h.ref: h for h in SafetyHazard.objects.filter(SafetyHazard.overdue_q())}
    assert len(rows) - 1 == len(by_ref) > 0
    for r in rows[1:]:
        # Days past the 整改期限, or past the current step's limit (e.g. a re-inspection due
        # before a far 整改期限): docs/HAZARDS.md.
        hazard = by_ref[r[0]]
        assert r[14] == hazard.overdue_days(today) > 0
        if hazard.deadline and hazard.deadline < today:
            assert r[14] == (today - hazard.deadline).days


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=nonsense", "status"),
        ("page=2", "page"),
        ("colour=red", "colour"),
        ("bbox=1", "bbox"),
    ],
)
def test_bad_ledger_parameters_are_400_naming_them(client, query, field):
    signed_in(client, "p", PLANNER)
    response = client.get(f"{LEDGER}?{query}")
    assert response.status_code == 400 and field in response.json()


def test_the_ledger_is_for_roles_that_read_hazards(client):
    anonymous = client.get(LEDGER)
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Token"
    signed_in(client, "nobody", None)
    assert client.get(LEDGER).status_code == 403


# --- the dashboard --------------------------------------------------------------------------


def sql(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


LIVE = "FROM layers_safetyhazard WHERE deleted_at IS NULL"
OPEN = ("found", "reported", "assigned", "rectifying", "reinspection")


def test_dashboard_figures_equal_the_database(client):
    # Make the figures less trivial: a deleted hazard (never counted) and a rejected one.
    gone = SafetyHazard.objects.filter(status="found").first()
    gone.deleted_at = timezone.now()
    gone.save()
    figures = dashboard.compute()
    today = timezone.localdate()
    ((total, open_, overdue, supervised),) = sql(
        "SELECT count(*), count(*) FILTER (WHERE status = ANY(%s)), "
        # Overdue: past the 整改期限 or the current step's limit (docs/HAZARDS.md).
        "count(*) FILTER (WHERE status = ANY(%s) AND (deadline < %s OR due_date < %s)), "
        f"count(*) FILTER (WHERE status = ANY(%s) AND supervised) {LIVE}",
        [list(OPEN), list(OPEN), today, today, list(OPEN)],
    )
    assert figures["totals"]["total"] == total
    assert figures["totals"]["open"] == open_
    assert figures["totals"]["overdue"] == overdue > 0
    assert figures["totals"]["supervised"] == supervised
    for field, vocabulary in (
        ("status", status.HAZARD_STATUS),
        ("level", status.HAZARD_LEVEL),
        ("category", status.HAZARD_CATEGORY),
    ):
        counted = dict(sql(f"SELECT {field}, count(*) {LIVE} GROUP BY 1"))  # noqa: S608
        shown = {r["value"]: r["total"] for r in figures[f"by_{field}"]}
        assert shown == {v: counted.get(v, 0) for v in vocabulary.values}
        open_counted = dict(
            sql(f"SELECT {field}, count(*) {LIVE} AND status = ANY(%s) GROUP BY 1", [list(OPEN)])  # noqa: S608
        )
        assert {r["value"]: r["open"] for r in figures[f"by_{field}"]} == {
            v: open_counted.get(v, 0) for v in vocabulary.values
        }
    per_cell = dict(
        sql(
            "SELECT g.code, count(h.id) FROM layers_gridcell g LEFT JOIN layers_safetyhazard h "
            "ON h.grid_cell_id = g.id AND h.deleted_at IS NULL AND h.status = ANY(%s) "
            "GROUP BY 1",
            [list(OPEN)],
        )
    )
    assert {c["code"]: c["open"] for c in figures["cells"]} == per_cell
    assert sum(per_cell.values()) == open_  # every sample hazard lies in a cell
    overdue_ids = [
        r[0]
        for r in sql(
            f"SELECT id {LIVE} AND status = ANY(%s) AND (deadline < %s OR due_date < %s) "  # noqa: S608
            "ORDER BY deadline, id",
            [list(OPEN), today, today],
        )
    ]
    assert [r["id"] for r in figures["overdue"]] == overdue_ids


def test_weekly_trend_counts_by_monday_weeks(db):
    today = dt.date(2026, 11, 25)  # a Wednesday
    cell = GridCell.objects.order_by("code").first()

    def add(found: dt.datetime, closed: dt.datetime | None = None):
        hazard = make(
            SafetyHazard,
            name="trend",
            category="gas",
            level="general",
            geom=cell.geom.point_on_surface,
            found_at=found,
            status="closed" if closed else "found",
        )
        if closed:
            SafetyHazard.objects.filter(pk=hazard.pk).update(closed_at=closed)

    before = {w["week"]: w for w in dashboard.weeks(today)}
    tz = timezone.get_current_timezone()
    # Monday 00:30 in Shanghai is still Sunday in UTC: it belongs to the Monday's week.
    add(dt.datetime(2026, 11, 23, 0, 30, tzinfo=tz), dt.datetime(2026, 11, 25, 9, tzinfo=tz))
    add(dt.datetime(2026, 11, 22, 23, 50, tzinfo=tz))  # Sunday: the week before
    after = {w["week"]: w for w in dashboard.weeks(today)}
    this, last = dt.date(2026, 11, 23), dt.date(2026, 11, 16)
    assert list(after)[-1] == this and len(after) == dashboard.TREND_WEEKS
    assert after[this]["found"] == before[this]["found"] + 1
    assert after[this]["closed"] == before[this]["closed"] + 1
    assert after[last]["found"] == before[last]["found"] + 1
    assert after[last]["closed"] == before[last]["closed"]


def test_the_dashboard_page_shows_the_figures(client):
    signed_in(client, "p", PLANNER)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    figures = dashboard.compute()
    assert f'data-total="open"><strong>{figures["totals"]["open"]}</strong>' in body
    assert body.count("<path ") == GridCell.objects.count()
    assert body.count('data-series="found"') == dashboard.TREND_WEEKS
    assert 'href="/api/v1/hazards/ledger.xlsx"' in body


def test_the_dashboards_charts_are_named_and_told_in_words(client):
    """Each SVG chart names its <title> and <desc> (a text alternative with its figures)."""
    import re

    signed_in(client, "p-charts", PLANNER)
    body = client.get("/dashboard/").content.decode()
    figures = dashboard.compute()
    for chart in ("hh-choropleth", "hh-trend", "hh-rates-chart"):
        svg = re.search(rf'<svg [^>]*id="{chart}"[^>]*>', body).group(0)
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in svg, svg
        assert 'role="img"' in svg or 'role="group"' in svg  # a group of links (the map)
        title = re.search(rf'<title id="{chart}-title">([^<]+)</title>', body).group(1)
        desc = re.search(rf'<desc id="{chart}-desc">([^<]+)</desc>', body).group(1)
        assert title.strip() and len(desc) > len(title), (title, desc)
    cell = figures["cells"][0]
    desc = re.search(r'<desc id="hh-choropleth-desc">([^<]+)</desc>', body).group(1)
    assert f"{cell['code']} {cell['name']}: {cell['open']}" in desc
    total = sum(w["found"] for w in figures["weeks"])
    assert f"共发现 {total} 个" in re.search(r'<desc id="hh-trend-desc">([^<]+)', body).group(1)


# --- the field view -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "role", "expected"),
    [
        ("/field/", None, 302),
        ("/field/", PLANNER, 403),
        ("/field/", INSPECTOR, 200),
        ("/field/", EDITOR, 200),
        ("/field/tasks/", None, 401),
        ("/field/tasks/", PLANNER, 403),
        ("/dashboard/", None, 302),
        ("/dashboard/", PLANNER, 200),
        ("/dashboard/", INSPECTOR, 200),
        ("/dashboard/", EDITOR, 200),
        ("/dashboard/", "no-role", 403),
    ],
)
def test_who_may_open_the_pages(client, path, role, expected):
    if role == "no-role":
        signed_in(client, "nobody", None)
    elif role:
        signed_in(client, f"u-{role}", role)
    response = client.get(path)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"] == f"/accounts/login/?next={path}"


def test_my_tasks_are_my_reach_overdue_first_then_by_deadline(client):
    worker = get_user_model().objects.get(username="grid-01")
    client.force_login(worker)
    tasks = client.get("/field/tasks/").json()["tasks"]
    reach = SafetyHazard.objects.filter(workflow.reach_q(worker), status__in=OPEN)
    assert sorted(t["id"] for t in tasks) == sorted(reach.values_list("pk", flat=True))
    cells = set(GridCell.objects.filter(worker=worker).values_list("code", flat=True))
    assert all(t["grid"] in cells or t["assignee"] == "grid-01" for t in tasks)
    overdue = [t["overdue_days"] > 0 for t in tasks]
    assert overdue == sorted(overdue, reverse=True) and any(overdue) and not all(overdue)
    rest = [t["deadline"] or "9999" for t in tasks if t["overdue_days"] == 0]
    assert rest == sorted(rest)
    late = [t["deadline"] for t in tasks if t["overdue_days"] > 0]
    assert late == sorted(late)


def test_the_field_page_offers_each_step_with_its_inputs(client):
    signed_in(client, "i", INSPECTOR)
    body = client.get("/field/").content.decode()
    assert 'id="hh-field-config"' in body and "vendor/leaflet/1.9.4/leaflet.js" in body
    assert "unpkg" not in body and "cdn" not in body.lower()
    assert set(workflow.STEP_INPUTS) == set(workflow.ACTIONS)
    assert workflow.step_inputs("fix_on_spot")[-1] == {
        "name": "photos",
        "kind": "photos",
        "required": True,
    }


# --- the admin action -----------------------------------------------------------------------


def admin_step(client, hazards, **fields):
    return client.post(
        "/admin/layers/safetyhazard/",
        {
            "action": "record_step",
            "_selected_action": [h.pk for h in hazards],
            "apply": "1",
            **fields,
        },
        follow=True,
    )


def test_the_admin_action_asks_for_the_step_first(editor_client):
    hazard = SafetyHazard.objects.filter(status="reported").first()
    response = editor_client.post(
        "/admin/layers/safetyhazard/",
        {"action": "record_step", "_selected_action": [hazard.pk]},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="hh-record-step"' in body and 'name="step"' in body
    hazard.refresh_from_db()
    assert hazard.status == "reported"


def test_the_admin_action_records_a_legal_step_through_the_workflow(editor_client, editor):
    hazard = SafetyHazard.objects.filter(status="reported").first()
    version = hazard.version
    response = admin_step(
        editor_client,
        [hazard],
        step="assign",
        responsible_unit="荷花池街道城管科",
        assignee="grid-01",
        deadline="2027-01-15",
        note="限期整改",
    )
    assert response.status_code == 200
    hazard.refresh_from_db()
    assert hazard.status == "assigned" and hazard.assignee.username == "grid-01"
    assert str(hazard.deadline) == "2027-01-15" and hazard.version == version + 1
    event = HazardEvent.objects.filter(hazard=hazard).latest("at", "pk")
    assert (event.action, event.actor, event.note) == ("assign", editor, "限期整改")
    assert "交办" in response.content.decode()


def test_an_illegal_admin_step_changes_nothing_and_says_why(editor_client):
    hazard = SafetyHazard.objects.filter(status="found").first()
    events = hazard.events.count()
    response = admin_step(editor_client, [hazard], step="pass", note="直接销号")
    hazard.refresh_from_db()
    assert hazard.status == "found" and hazard.events.count() == events
    body = html.unescape(response.content.decode())
    assert "'pass' is not possible from status 'found'" in body
    assert "allowed from here" in body


def test_an_admin_step_missing_its_inputs_is_refused_per_hazard(editor_client):
    legal, illegal = SafetyHazard.objects.filter(status="reported")[:2]
    closed = SafetyHazard.objects.filter(status="closed").first()
    response = admin_step(editor_client, [legal, closed], step="reject", note="核实")
    body = html.unescape(response.content.decode())
    assert "reason" in body  # the reason is required for a rejection
    # A closed hazard can only be reopened (a resident or a leader says it is not fixed).
    assert f"{closed.pk} " in body and "allowed from here: reopen" in body
    for hazard, state in ((legal, "reported"), (closed, "closed"), (illegal, "reported")):
        hazard.refresh_from_db()
        assert hazard.status == state
