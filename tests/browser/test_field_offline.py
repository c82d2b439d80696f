"""The grid worker's phone in the alleys (issue 25), in Chromium at phone size against the real
server, signed in through the form: the field app is saved for offline use, opens again with
the network cut (page, tasks, basemap tiles), records two steps and a new report with three
photos into its outbox, and when the network returns the server ends with exactly one event
per step, one new hazard and three photos, each the very bytes the outbox held. The same again
with the network losing the answer to every other request after the server applied it."""

from __future__ import annotations

import contextlib
import re
import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point

from layers.domain import registry
from layers.domain.models import GridCell, HazardEvent, HazardPhoto, IdempotencyKey, SafetyHazard
from layers.services import editing, workflow
from tests.browser.test_field import PHONE, jpeg_file, record_step, select_task
from tests.factories import remove_hazards_named

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

MARK = "离线测试"
CATEGORY = "wiring"


@pytest.fixture(scope="module")
def field_hazards(django_db_setup, django_db_blocker):
    """Committed for the server: one hazard per run in grid-01's cell, assigned to grid-01.
    Removes every hazard (and photo, key) this module made."""
    users = get_user_model().objects
    made = {}
    with django_db_blocker.unblock():
        leader = users.get(username="demo-editor")
        worker = users.get(username="grid-01")
        cell = GridCell.objects.get(code="HHC-01-01")
        spec = registry.get("hazards")
        for run in ("good", "flaky"):
            hazard = editing.create_as(
                spec,
                {"name": f"{MARK} {run} 配电箱门损坏", "category": CATEGORY, "level": "general",
                 "geom": cell.geom.point_on_surface},
                leader,
            )  # fmt: skip
            workflow.perform(hazard.pk, "report", leader, {})
            workflow.perform(hazard.pk, "assign", leader,
                             {"responsible_unit": "物业", "assignee": worker.username})  # fmt: skip
            made[run] = hazard.pk
    yield made
    with django_db_blocker.unblock():
        remove_hazards_named(MARK)
        IdempotencyKey.objects.filter(user__username="grid-01").delete()


def free_point(cell) -> Point:
    """A point inside `cell` with no open hazard of CATEGORY within twice the duplicate radius."""
    minx, miny, maxx, maxy = cell.geom.extent
    for i in range(1, 10):
        for j in range(1, 10):
            point = Point(minx + (maxx - minx) * i / 10, miny + (maxy - miny) * j / 10, srid=4326)
            if cell.geom.contains(point) and not workflow.nearby_duplicates(
                CATEGORY, point, radius_m=45
            ):
                return point
    raise AssertionError("no free point in the cell")


OUTBOX = """async () => {
  const entries = await window.hehuachiOutbox.list();
  const out = [];
  for (const e of entries) {
    const digests = [];
    for (const p of e.photos) {
      const hash = await crypto.subtle.digest('SHA-256', await p.blob.arrayBuffer());
      const bytes = Array.from(new Uint8Array(hash));
      digests.push(bytes.map(b => b.toString(16).padStart(2, '0')).join(''));
    }
    out.push({kind: e.kind, state: e.state, hazard: e.hazard, digests});
  }
  return out;
}"""


def flaky(context) -> dict:
    """Every other API request is lost AFTER the server applied it: the request goes through,
    the server answers, and the phone never hears the answer (the connection is reset). So
    every retry of a lost write meets what the server already did, and only the
    Idempotency-Key store can keep it from being done twice. The rest pass, and the keys whose
    answer came back replayed (Idempotent-Replayed: true) are noted."""
    seen = {"n": 0, "lost": [], "replayed": set()}

    def handle(route):
        seen["n"] += 1
        request = route.request
        key = request.headers.get("idempotency-key")
        try:
            response = route.fetch()  # the server applies it
        except Exception:  # noqa: BLE001 (the page went away: nothing to answer)
            return
        if seen["n"] % 2 == 1:
            if key and request.method == "POST" and 200 <= response.status < 300:
                seen["lost"].append(key)
            with contextlib.suppress(Exception):
                route.abort("connectionreset")
            return
        if key and response.headers.get("idempotent-replayed") == "true":
            seen["replayed"].add(key)
        with contextlib.suppress(Exception):
            route.fulfill(response=response)

    context.route("**/api/v1/**", handle)
    return seen


@pytest.mark.parametrize("network", ["good", "flaky"])
def test_offline_work_arrives_exactly_once(visit, field_hazards, network):
    hazard_pk = field_hazards[network]
    cell = GridCell.objects.get(code="HHC-01-01")
    point = free_point(cell)
    name = f"{MARK} {network} {uuid.uuid4().hex[:6]} 电线裸露"
    tab = visit(
        "grid-01",
        viewport=PHONE,
        geolocation={"longitude": point.x, "latitude": point.y, "accuracy": 5},
        permissions=["geolocation"],
    )
    page = tab.page
    tab.open("/field/")
    page.wait_for_function("window.hehuachiField && window.hehuachiField.loaded >= 1")
    page.wait_for_selector("html[data-field-worker='ready']", timeout=30000)
    # The size is shown before anything is saved.
    page.wait_for_selector("#hh-offline-save:not([disabled])", timeout=60000)
    assert any(unit in page.locator("#hh-offline-size").inner_text() for unit in ("KB", "MB"))
    page.click("#hh-offline-save")
    page.wait_for_selector("html[data-field-offline='saved']", timeout=120000)
    assert page.evaluate("window.hehuachiOffline.downloaded.failed") == 0
    # When the data was last synced, to the minute.
    synced = page.locator("#hh-last-synced").inner_text()
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", synced), synced
    # Refresh measures and keeps it all again.
    page.evaluate("window.hehuachiOffline.downloaded = null")
    page.click("#hh-offline-refresh")
    page.wait_for_function("window.hehuachiOffline.downloaded !== null", timeout=120000)
    assert page.evaluate("window.hehuachiOffline.downloaded.failed") == 0
    assert page.evaluate("window.hehuachiOffline.downloaded.done") == page.evaluate(
        "window.hehuachiOffline.plan.count"
    )

    # 1. No network: the page, the tasks and the basemap tiles open again.
    tab.context.set_offline(True)
    page.reload()
    page.wait_for_function("window.hehuachiField && window.hehuachiField.loaded >= 1")
    assert page.locator("#hh-offline-banner").is_visible()
    assert page.locator(f'#hh-tasks li[data-id="{hazard_pk}"]').count() == 1
    page.wait_for_function(
        "document.querySelectorAll('#hh-field-map .leaflet-tile-loaded').length > 0"
    )

    # 2. Two steps and a new report with three photos, all into the outbox.
    select_task(tab, hazard_pk)
    record_step(tab, "start")
    assert "hh-queued" in page.locator("#hh-step-result").get_attribute("class")
    record_step(tab, "rectify", note="已更换配电箱门锁")
    page.click("#hh-report summary")
    page.click("#hh-locate")
    page.wait_for_function("window.hehuachiField.reportPoint !== null")
    page.fill("#hh-r-name", name)
    page.select_option("#hh-r-category", CATEGORY)
    page.select_option("#hh-r-level", "general")
    page.fill("#hh-r-description", "离线上报，三张照片")
    page.set_input_files(
        "#hh-r-photos",
        [jpeg_file(f"p{i}.jpg", (40 * i, 90, 200 - 40 * i)) for i in range(1, 4)],
    )
    page.click("#hh-r-submit")
    page.wait_for_selector("#hh-r-result.hh-queued")
    held = page.evaluate(OUTBOX)
    assert [e["kind"] for e in held] == ["step", "step", "report"]
    digests = held[2]["digests"]
    assert len(digests) == 3 and len(set(digests)) == 3
    assert not SafetyHazard.objects.filter(name=name).exists()

    # 3. The network returns (losing every other request in the flaky run).
    dropped = flaky(tab.context) if network == "flaky" else None
    tab.context.set_offline(False)
    deadline = time.monotonic() + 30
    while True:
        events = HazardEvent.objects.filter(hazard_id=hazard_pk)
        created = SafetyHazard.objects.filter(name=name)
        photos = HazardPhoto.objects.filter(hazard__name=name)
        done = (
            events.filter(action="rectify").exists()
            and created.filter(status="reported").exists()
            and photos.filter(event__action="report").count() == 3
        )
        if done or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)  # lets Playwright serve the route handler meanwhile
    assert done, page.evaluate(OUTBOX)
    assert events.filter(action="start").count() == 1
    assert events.filter(action="rectify").count() == 1
    assert created.count() == 1
    assert sorted(photos.values_list("source_sha256", flat=True)) == sorted(digests)
    page.wait_for_function("window.hehuachiOutbox.list().then(l => l.length === 0)")
    if dropped is not None:
        # Writes were applied and their answers lost (the hazard's creation, photos, steps),
        # and every one of them was sent again and answered from the key store.
        assert len(dropped["lost"]) >= 3, dropped
        assert set(dropped["lost"]) <= dropped["replayed"], dropped
        assert HazardPhoto.objects.filter(hazard__name=name).count() == 3
    hazard = SafetyHazard.objects.get(pk=hazard_pk)
    assert hazard.status == "reinspection"
