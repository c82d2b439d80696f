"""Offline caches keep users apart (issue 25.5), in Chromium against the real server: the tour's
service worker keeps only public answers, so what a signed-in planner was shown never reaches
the next, anonymous user of the same browser; signing out answers Clear-Site-Data and leaves no
cache and no service worker behind."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

CACHED = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      const body = (response.headers.get('Content-Type') || '').startsWith('text/')
        ? await response.text() : '';
      out.push({cache: name, url: request.url, control: response.headers.get('Cache-Control'),
                vary: response.headers.get('Vary'), body});
    }
  }
  return out;
}"""


def test_a_planners_tour_is_not_kept_for_the_next_anonymous_user(visit):
    tab = visit("demo-planner")
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    tab.page.wait_for_selector("html[data-offline='ready']", timeout=30000)
    name = tab.page.locator("#hh-user a").inner_text().strip()
    assert name
    cached = tab.page.evaluate(CACHED)
    assert cached, "the worker kept the public files (scripts, styles)"
    for entry in cached:
        assert "private" not in (entry["control"] or ""), entry["url"]
        assert name not in entry["body"] and "demo-planner" not in entry["body"], entry["url"]
    assert not [e for e in cached if e["url"].rstrip("/").endswith("/tour")]
    # The planner leaves without signing out; the next person finds the browser offline.
    tab.context.clear_cookies()
    tab.context.set_offline(True)
    try:
        try:
            tab.page.reload()
            shown = tab.page.content()
        except PlaywrightError:
            shown = ""  # nothing kept for this page: the browser's offline error
        assert name not in shown and "demo-planner" not in shown
    finally:
        tab.context.set_offline(False)
    # Anonymous, online: the same tour is public and kept; offline it opens again.
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    tab.page.wait_for_selector("html[data-offline='ready']", timeout=30000)
    assert [e for e in tab.page.evaluate(CACHED) if e["url"].rstrip("/").endswith("/tour")]
    tab.context.set_offline(True)
    try:
        tab.page.reload()
        tab.wait_ready()
        assert tab.page.locator("#hh-user").count() == 0
    finally:
        tab.context.set_offline(False)


def test_signing_out_clears_the_sites_caches_and_workers(visit):
    tab = visit("demo-planner")
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    tab.page.wait_for_selector("html[data-offline='ready']", timeout=30000)
    assert tab.page.evaluate("caches.keys().then(k => k.length)") > 0
    assert tab.page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 1
    with tab.page.expect_response(lambda r: r.url.endswith("/accounts/logout/")) as answer:
        tab.sign_out()
    assert answer.value.all_headers()["clear-site-data"] == '"cache", "storage"'
    tab.page.wait_for_function("caches.keys().then(k => k.length === 0)")
    assert tab.page.evaluate("caches.keys()") == []
    assert tab.page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0


def test_the_field_app_keeps_each_users_data_under_their_own_key(visit):
    """A grid worker saves the field app for offline use and leaves without signing out; the
    next worker on the same browser opens /field/: the worker script is theirs, and activating
    it deletes the first worker's caches. Nothing either kept is named after the other."""
    from django.contrib.auth import get_user_model

    from layers.channels.portal import field_app

    users = get_user_model().objects
    first, second = (field_app.user_key(users.get(username=n)) for n in ("grid-01", "grid-02"))
    tab = visit("grid-01")
    tab.open("/field/")
    tab.page.wait_for_selector("html[data-field-worker='ready']", state="attached", timeout=30000)
    tab.page.wait_for_selector("#hh-offline-save:not([disabled])", timeout=60000)
    tab.page.click("#hh-offline-save")
    tab.page.wait_for_selector("html[data-field-offline='saved']", state="attached", timeout=120000)
    names = tab.page.evaluate("caches.keys()")
    assert any(first in n for n in names) and not any(second in n for n in names), names
    tab.context.clear_cookies()  # gone without signing out
    tab.sign_in("grid-02")
    tab.open("/field/")
    tab.page.wait_for_function(
        f"caches.keys().then(k => !k.some(n => n.includes('{first}')))", timeout=30000
    )
    tab.page.wait_for_selector("html[data-field-worker='ready']", state="attached", timeout=30000)
    names = tab.page.evaluate("caches.keys()")
    assert names and all(second in n for n in names if n.startswith("hehuachi-field-")), names
    config = "JSON.parse(document.getElementById('hh-field-config').textContent)"
    assert tab.page.evaluate(f"{config}.user") == "grid-02"
