"""The search box in Chromium: a planner finds 客车厂 on the planning map with the keyboard,
the map flies there and opens it, and its popup leads to the site's own page."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_a_planner_types_the_bus_factory_and_lands_on_its_page(visit):
    tab = visit("demo-planner")
    assert tab.open("/maps/planning/").status == 200
    tab.wait_ready()
    page = tab.page
    page.locator("#hh-page-title").click()
    page.keyboard.press("/")  # "/" focuses the search box
    assert page.evaluate("document.activeElement.id") == "hh-search-input"
    page.keyboard.type("客车厂")
    page.wait_for_selector("#hh-search-results .hh-search-option")
    first = page.locator("#hh-search-results .hh-search-option").first
    assert first.get_attribute("data-layer") == "renovation-sites"
    page.keyboard.press("ArrowDown")
    assert first.get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")
    tab.page.wait_for_function("window.hehuachi.shown && window.hehuachi.shown.open")
    popup = page.locator(".leaflet-popup .hh-popup")
    assert popup.get_attribute("data-layer") == "renovation-sites"
    assert "客车厂片区征收（一地块）" in popup.inner_text()
    assert page.evaluate("window.hehuachi.map.getZoom()") >= 15
    with page.expect_navigation():
        popup.locator(".hh-feature-link").click()
    assert "/features/renovation-sites/" in page.url
    assert page.inner_text("#hh-feature-name") == "客车厂片区征收（一地块）"
    tab.screenshot("search-feature-page")
    assert not tab.errors, tab.errors


def test_the_field_page_gives_each_hazard_an_address_and_back_works(visit):
    tab = visit("demo-inspector")
    assert tab.open("/field/").status == 200
    page = tab.page
    page.wait_for_function("window.hehuachiField && window.hehuachiField.loaded >= 1")
    buttons = page.locator("#hh-tasks .hh-task-button")
    if buttons.count() < 2:
        pytest.skip("the inspector needs two tasks")
    buttons.nth(0).click()
    page.wait_for_function("window.hehuachiField.selectedReady")
    first = page.evaluate("window.hehuachiField.selected")
    assert f"hazard={first}" in page.url
    buttons.nth(1).click()
    page.wait_for_function("window.hehuachiField.selectedReady")
    second = page.evaluate("window.hehuachiField.selected")
    assert second != first and f"hazard={second}" in page.url
    page.go_back()
    page.wait_for_function(f"window.hehuachiField.selected === {first}")
    assert f"hazard={first}" in page.url
    # The address opens the hazard by itself (a bookmark, a shared link).
    assert tab.open(f"/field/?hazard={second}").status == 200
    page.wait_for_function(
        f"window.hehuachiField.selected === {second} && window.hehuachiField.selectedReady"
    )
    assert not page.locator("#hh-task").is_hidden()
    assert not tab.errors, tab.errors
