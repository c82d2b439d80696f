"""A hazard's whole life in Chromium, every person signing in through the site's own form:
a grid worker reports it at their location with a photo (after the duplicate warning), a
leader assigns it, the worker records the rectification with a photo, another inspector
closes it; the dashboard's figures follow, and equal the database at every step.

The server process commits what the browser does; the module fixture removes the hazards
this module created, so other tests' counts are not disturbed."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from PIL import Image

from layers.domain import models
from layers.domain import vocabularies as status
from layers.query import dashboard
from tests.factories import remove_hazards_named

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.xdist_group("browser/test_field"),  # module-scoped browser, servers
]

MARK = "浏览器测试"
PHONE = {"width": 390, "height": 844}


def jpeg_file(name: str, colour=(200, 60, 40)) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, "JPEG", quality=85)
    return {"name": name, "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


@pytest.fixture(scope="module")
def created_hazards(django_db_setup, django_db_blocker):
    """Removes every hazard this module's browsers created (committed by the server)."""
    yield
    with django_db_blocker.unblock():
        remove_hazards_named(MARK)


def interior_open_hazard(cell) -> models.SafetyHazard:
    """The open hazard of `cell` farthest from the cell's edge (a point 6 m away stays inside)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT h.id FROM layers_safetyhazard h JOIN layers_gridcell g ON g.id = %s "
            "WHERE h.grid_cell_id = g.id AND h.deleted_at IS NULL AND h.status = ANY(%s) "
            "ORDER BY ST_Distance(h.geom::geography, ST_Boundary(g.geom)::geography) DESC "
            "LIMIT 1",
            [cell.pk, ["found", "reported", "assigned", "rectifying", "reinspection"]],
        )
        return models.SafetyHazard.objects.get(pk=cursor.fetchone()[0])


def dashboard_numbers(tab) -> dict:
    tab.open("/dashboard/")
    page = tab.page

    def number(selector):
        return int(page.locator(selector).inner_text())

    return {
        "total": number('[data-total="total"] strong'),
        "open": number('[data-total="open"] strong'),
        "closed": number('#hh-by-status tr[data-value="closed"] [data-col="total"]'),
        "cell": number('#hh-by-cell tr[data-value="HHC-01-01"] [data-col="open"]'),
        "found_this_week": int(
            page.locator('#hh-trend rect[data-series="found"]').last.get_attribute("data-value")
        ),
        "closed_this_week": int(
            page.locator('#hh-trend rect[data-series="closed"]').last.get_attribute("data-value")
        ),
    }


def database_numbers() -> dict:
    figures = dashboard.compute()
    by_status = {r["value"]: r["total"] for r in figures["by_status"]}
    cells = {c["code"]: c["open"] for c in figures["cells"]}
    live = models.SafetyHazard.objects
    assert figures["totals"]["total"] == live.count()
    assert (
        cells["HHC-01-01"]
        == live.filter(grid_cell__code="HHC-01-01", status__in=status.HAZARD_OPEN_STATUSES).count()
    )
    return {
        "total": figures["totals"]["total"],
        "open": figures["totals"]["open"],
        "closed": by_status["closed"],
        "cell": cells["HHC-01-01"],
        "found_this_week": figures["weeks"][-1]["found"],
        "closed_this_week": figures["weeks"][-1]["closed"],
    }


def open_field(tab):
    tab.open("/field/")
    tab.page.wait_for_function("window.hehuachiField && window.hehuachiField.loaded >= 1")


def select_task(tab, pk: int):
    tab.page.click(f'#hh-tasks li[data-id="{pk}"] button')
    tab.page.wait_for_function(
        f"window.hehuachiField.selected === {pk} && window.hehuachiField.selectedReady"
    )


def record_step(tab, action: str, **inputs):
    tab.page.click(f'#hh-actions [data-action="{action}"]')
    for name, value in inputs.items():
        selector = f"#hh-step-{name}"
        if name == "photos":
            tab.page.set_input_files(selector, value)
        elif tab.page.locator(selector).evaluate("e => e.tagName") == "SELECT":
            tab.page.select_option(selector, value)
        else:
            tab.page.fill(selector, value)
    tab.page.click("#hh-step-save")
    tab.page.wait_for_selector("#hh-step-result.hh-ok, #hh-step-result.hh-error")
    result = tab.page.locator("#hh-step-result")
    assert "hh-ok" in (result.get_attribute("class") or ""), result.inner_text()
    tab.page.wait_for_function("window.hehuachiField.selectedReady")


def test_a_hazard_from_report_to_closing_through_the_pages(visit, created_hazards):
    cell = models.GridCell.objects.get(code="HHC-01-01")
    assert cell.worker.username == "grid-01"
    existing = interior_open_hazard(cell)
    # About 6 m north of an open hazard of the same category: inside the 20 m radius.
    lon, lat = existing.geom.x, existing.geom.y + 6 / 111_000
    name = f"{MARK} {uuid.uuid4().hex[:6]} 楼道飞线充电"

    leader = visit("demo-editor")
    before = dashboard_numbers(leader)
    assert before == database_numbers()

    # 1. The grid worker reports it from the phone view, at the browser's location.
    worker = visit(
        "grid-01",
        viewport=PHONE,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 5},
        permissions=["geolocation"],
    )
    with worker.page.expect_navigation():
        worker.page.click('[data-card="field"] h3 a')
    worker.page.wait_for_function("window.hehuachiField && window.hehuachiField.loaded >= 1")
    assert worker.page.locator("h1").inner_text() == "网格员工作台"
    listed = worker.page.eval_on_selector_all(
        "#hh-tasks li[data-id]", "e => e.map(x => +x.dataset.id)"
    )
    expected = list(
        models.SafetyHazard.objects.filter(dashboard.OPEN, grid_cell=cell).values_list(
            "pk", flat=True
        )
    ) + list(
        models.SafetyHazard.objects.filter(dashboard.OPEN, assignee=cell.worker)
        .exclude(grid_cell=cell)
        .values_list("pk", flat=True)
    )
    assert sorted(listed) == sorted(expected)
    worker.page.click("#hh-report summary")
    worker.page.click("#hh-locate")
    worker.page.wait_for_function("window.hehuachiField.reportPoint !== null")
    point = worker.page.evaluate("window.hehuachiField.reportPoint")
    assert abs(point["lon"] - lon) < 1e-6 and abs(point["lat"] - lat) < 1e-6
    worker.page.fill("#hh-r-name", name)
    worker.page.select_option("#hh-r-category", existing.category)
    worker.page.select_option("#hh-r-level", "general")
    worker.page.fill("#hh-r-description", "楼道内拉线给电动车充电 <b>x</b>")
    worker.page.set_input_files("#hh-r-photos", jpeg_file("report.jpg"))
    worker.page.click("#hh-r-submit")
    # The duplicate warning comes before anything is saved.
    warning = worker.page.locator("#hh-dup-warning")
    warning.wait_for(state="visible")
    assert worker.page.locator(f'#hh-dup-list li[data-id="{existing.pk}"]').count() == 1
    assert existing.name in warning.inner_text()
    assert not models.SafetyHazard.all_objects.filter(name=name).exists()
    worker.page.click("#hh-r-confirm")
    worker.page.wait_for_selector("#hh-r-result.hh-ok, #hh-r-result.hh-error")
    assert "hh-ok" in worker.page.locator("#hh-r-result").get_attribute("class"), (
        worker.page.locator("#hh-r-result").inner_text()
    )
    hazard = models.SafetyHazard.objects.get(name=name)
    assert hazard.status == "reported" and hazard.reporter.username == "grid-01"
    assert hazard.grid_cell_id == cell.pk
    assert abs(hazard.geom.x - lon) < 1e-6 and abs(hazard.geom.y - lat) < 1e-6
    report = hazard.events.get(action="report")
    assert report.actor.username == "grid-01" and report.photos.count() == 1
    # The description is shown as text, never as markup.
    worker.page.wait_for_function(f"window.hehuachiField.selected === {hazard.pk}")
    assert "<b>x</b>" in worker.page.locator("#hh-task-description").inner_text()

    after_report = dashboard_numbers(leader)
    assert after_report == database_numbers()
    assert after_report["total"] == before["total"] + 1
    assert after_report["open"] == before["open"] + 1
    assert after_report["cell"] == before["cell"] + 1
    assert after_report["found_this_week"] == before["found_this_week"] + 1

    # 2. The leader assigns it to the worker.
    open_field(leader)
    select_task(leader, hazard.pk)
    deadline = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    record_step(
        leader,
        "assign",
        responsible_unit="荷花池街道平安办",
        assignee="grid-01",
        deadline=deadline,
        note="请三日内拆除飞线",
    )
    hazard.refresh_from_db()
    assert hazard.status == "assigned" and hazard.assignee.username == "grid-01"
    assert str(hazard.deadline) == deadline

    # 3. The worker starts and records the rectification, with a photo.
    open_field(worker)
    select_task(worker, hazard.pk)
    record_step(worker, "start")
    record_step(
        worker,
        "rectify",
        note="已拆除飞线，设置集中充电点",
        photos=jpeg_file("after.jpg", (40, 160, 60)),
    )
    hazard.refresh_from_db()
    assert hazard.status == "reinspection" and hazard.rectified_by.username == "grid-01"
    # The worker may not close their own rectification: no pass button for them.
    assert worker.page.locator('#hh-actions [data-action="pass"]').count() == 0
    timeline = worker.page.locator("#hh-timeline li")
    assert timeline.count() == 5  # found, report, assign, start, rectify
    assert worker.page.locator('#hh-timeline li[data-action="rectify"] img').count() == 1

    # 4. Another inspector re-inspects and closes it.
    inspector = visit("demo-inspector", viewport=PHONE)
    open_field(inspector)
    select_task(inspector, hazard.pk)
    record_step(inspector, "pass", note="复查合格")
    hazard.refresh_from_db()
    assert hazard.status == "closed" and hazard.closed_at is not None
    assert [e.action for e in hazard.events.order_by("at", "pk")] == [
        "found",
        "report",
        "assign",
        "start",
        "rectify",
        "pass",
    ]
    # Closed hazards leave the task list.
    open_field(inspector)
    assert inspector.page.locator(f'#hh-tasks li[data-id="{hazard.pk}"]').count() == 0

    # 5. The dashboard follows.
    after = dashboard_numbers(leader)
    assert after == database_numbers()
    assert after["total"] == before["total"] + 1
    assert after["open"] == before["open"]
    assert after["closed"] == before["closed"] + 1
    assert after["cell"] == before["cell"]
    assert after["closed_this_week"] == before["closed_this_week"] + 1
    for tab in (leader, worker, inspector):
        assert tab.errors == [], tab.errors
        assert tab.foreign_requests() == []
    worker.screenshot("field-worker")
    leader.screenshot("dashboard")


def test_a_planner_may_not_open_the_field_view_but_sees_the_dashboard(visit):
    tab = visit("demo-planner")
    cards = tab.page.eval_on_selector_all("[data-card]", "els => els.map(e => e.dataset.card)")
    assert "dashboard" in cards and "field" not in cards
    assert tab.open("/field/").status == 403
    tab.errors.clear()  # the browser logs the 403 it was just given
    tab.open("/")
    with tab.page.expect_navigation():
        tab.page.click('#hh-header [data-nav="dashboard"]')
    assert tab.page.url.endswith("/dashboard/")
    assert tab.page.locator("#hh-choropleth path").count() == models.GridCell.objects.count()
    assert tab.errors == []
