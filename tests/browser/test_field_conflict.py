"""Conflicts shown, never lost (issue 25.3), in Chromium at phone size against the real server,
signed in through the form: two steps recorded offline meet hazards a leader changed meanwhile.
Both come back 412; each stays in the outbox, marked as a conflict, with the server's state
beside the worker's entry, and is still there after a reload. "Apply again" sends the first
on the current version (one event); the second, whose hazard was rejected, then answers 409
and stays until the worker discards it, after a confirmation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point

from layers.domain import clock, registry
from layers.domain.models import GridCell, HazardEvent, IdempotencyKey, SafetyHazard
from layers.services import editing, workflow
from tests.browser.test_field import PHONE, record_step, select_task
from tests.browser.test_live import api
from tests.factories import remove_hazards_named

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

MARK = "冲突测试"


@pytest.fixture(scope="module")
def two_hazards(django_db_setup, django_db_blocker):
    """Two committed hazards in grid-01's cell, assigned to grid-01; removed afterwards."""
    users = get_user_model().objects
    made = []
    with django_db_blocker.unblock():
        leader = users.get(username="demo-editor")
        cell = GridCell.objects.get(code="HHC-01-01")
        inside = cell.geom.point_on_surface
        for n in (1, 2):
            hazard = editing.create_as(
                registry.get("hazards"),
                {"name": f"{MARK} {n} 楼道堆物", "category": "escape_route", "level": "general",
                 "geom": Point(inside.x + n * 1e-5, inside.y, srid=4326)},
                leader,
            )  # fmt: skip
            workflow.perform(hazard.pk, "report", leader, {})
            workflow.perform(hazard.pk, "assign", leader,
                             {"responsible_unit": "物业", "assignee": "grid-01"})  # fmt: skip
            made.append(hazard.pk)
    yield made
    with django_db_blocker.unblock():
        remove_hazards_named(MARK)
        IdempotencyKey.objects.filter(user__username="grid-01").delete()


def entry(page, hazard_pk: int) -> dict:
    """The outbox entry of a hazard as the page shows it (state, the server's side)."""
    return page.evaluate(
        """pk => window.hehuachiOutbox.list().then(entries => {
             const e = entries.find(x => x.hazard === pk);
             if (!e) return null;
             const item = document.querySelector(`#hh-outbox-list li[data-id="${e.id}"]`);
             const theirs = item && item.querySelector('.hh-theirs');
             const mine = item && item.querySelector('.hh-mine');
             return {id: e.id, state: e.state, conflict: e.conflict, shown: !!item,
                     mine: mine ? mine.textContent : null,
                     status: theirs ? theirs.dataset.status : null,
                     version: theirs ? +theirs.dataset.version : null};
           })""",
        hazard_pk,
    )


def test_steps_that_meet_a_changed_hazard_wait_for_the_workers_decision(
    visit, live_app, live_token, two_hazards
):
    first, second = two_hazards
    tab = visit("grid-01", viewport=PHONE)
    page = tab.page
    tab.open("/field/")
    page.wait_for_function("window.hehuachiField && window.hehuachiField.loaded >= 1")
    page.wait_for_selector("html[data-field-worker='ready']", state="attached", timeout=30000)
    page.wait_for_selector("#hh-offline-save:not([disabled])", timeout=60000)
    page.click("#hh-offline-save")
    page.wait_for_selector("html[data-field-offline='saved']", state="attached", timeout=120000)

    # Offline: start both.
    tab.context.set_offline(True)
    for pk in (first, second):
        select_task(tab, pk)
        record_step(tab, "start")
        assert "hh-queued" in page.locator("#hh-step-result").get_attribute("class")
    # Meanwhile a leader, on another client of the API, sets the first's deadline and rejects
    # the second.
    later = (clock.today() + dt.timedelta(days=20)).isoformat()
    steps = {
        first: {"action": "set_deadline", "deadline": later},
        second: {"action": "reject", "reason": "not_hazard", "note": "核实非隐患"},
    }
    now = {
        pk: api(live_app, live_token, f"/api/v1/hazards/{pk}/transitions/", body)["version"]
        for pk, body in steps.items()
    }

    tab.context.set_offline(False)
    page.wait_for_function(
        f"""Promise.all([{first}, {second}].map(pk => window.hehuachiOutbox.list()
              .then(l => l.find(e => e.hazard === pk && e.state === 'conflict' && e.server))))
            .then(found => found.every(Boolean))""",
        timeout=30000,
    )
    # Kept, and shown beside the server's state; nothing was applied.
    page.wait_for_selector("#hh-outbox-list li[data-state='conflict'] .hh-theirs")
    one, two = entry(page, first), entry(page, second)
    assert one["conflict"] == two["conflict"] == "changed", (one, two)
    assert (one["status"], one["version"]) == ("assigned", now[first])
    assert (two["status"], two["version"]) == ("rejected", now[second])
    assert one["shown"] and two["shown"] and one["mine"] and two["mine"]
    assert not HazardEvent.objects.filter(hazard_id__in=two_hazards, action="start").exists()

    # A reload loses nothing.
    tab.open("/field/")
    page.wait_for_function("window.hehuachiField && window.hehuachiField.loaded >= 1")
    page.wait_for_selector(f"#hh-outbox-list li[data-id='{one['id']}'][data-state='conflict']")
    page.wait_for_selector(f"#hh-outbox-list li[data-id='{two['id']}'][data-state='conflict']")

    # Apply the first again: it goes, on the hazard as it is now.
    page.click(f"#hh-outbox-list li[data-id='{one['id']}'] [data-do='reapply']")
    page.wait_for_function(
        f"window.hehuachiOutbox.list().then(l => !l.some(e => e.hazard === {first}))",
        timeout=30000,
    )
    assert HazardEvent.objects.filter(hazard_id=first, action="start").count() == 1
    assert SafetyHazard.objects.get(pk=first).status == "rectifying"

    # The second cannot go: the hazard was rejected (409). It stays, with the server's side.
    page.click(f"#hh-outbox-list li[data-id='{two['id']}'] [data-do='reapply']")
    page.wait_for_function(
        f"""window.hehuachiOutbox.list().then(l => l.some(e => e.hazard === {second}
              && e.state === 'conflict' && e.conflict === 'moved' && e.server))""",
        timeout=30000,
    )
    page.wait_for_selector(f"#hh-outbox-list li[data-id='{two['id']}'] .hh-theirs")
    assert entry(page, second)["status"] == "rejected"
    # Discarding asks first; declined, it stays.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click(f"#hh-outbox-list li[data-id='{two['id']}'] [data-do='discard']")
    assert entry(page, second) is not None
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#hh-outbox-list li[data-id='{two['id']}'] [data-do='discard']")
    page.wait_for_function("window.hehuachiOutbox.list().then(l => l.length === 0)")
    assert not HazardEvent.objects.filter(hazard_id=second, action="start").exists()
    assert SafetyHazard.objects.get(pk=second).status == "rejected"
