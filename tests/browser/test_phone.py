"""Maps on a phone (issue 26): the header is one line and the map gets the screen, the filters and
the pages fold behind buttons, the tour's popups open clear of the map controls and its list of
stops comes before the service-point finder."""

from __future__ import annotations

import pytest

from tests.browser.test_basemap_and_stops import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

LAYOUT = """() => {
  const box = (sel) => { const e = document.querySelector(sel);
                         if (!e) return null; const r = e.getBoundingClientRect();
                         return {top: r.top, bottom: r.bottom, height: r.height}; };
  const title = document.querySelector('#hh-page-title');
  return {header: box('#hh-header'), bar: box('.hh-bar'), map: box('.folium-map'),
          titleLines: (() => { const range = document.createRange();
                               range.selectNodeContents(title);
                               return new Set(Array.from(range.getClientRects())
                                 .map((r) => Math.round(r.top))).size; })(),
          viewport: innerHeight, width: document.documentElement.scrollWidth};
}"""


@pytest.mark.parametrize(
    ("user", "path", "nav"),
    [
        (None, "/tour/", None),
        ("demo-planner", "/maps/planning/", "dashboard"),
        ("demo-inspector", "/maps/inspection/", "field"),
    ],
)
def test_on_a_phone_the_header_is_one_line_and_the_map_fills_the_screen(visit, user, path, nav):
    tab = visit(user, viewport=PHONE)
    assert tab.open(path).status == 200
    tab.wait_ready()
    page = tab.page
    layout = page.evaluate(LAYOUT)
    # One line: the header is as tall as one line of its title (and its padding), no more.
    assert layout["titleLines"] == 1, layout
    assert layout["header"]["height"] <= 48, layout
    # The map takes the rest of the screen under the header and the one-line bar.
    assert layout["bar"]["height"] <= 52, layout
    assert abs(layout["map"]["top"] - layout["bar"]["bottom"]) <= 1, layout
    assert abs(layout["map"]["bottom"] - layout["viewport"]) <= 1, layout
    assert layout["map"]["height"] >= 0.85 * layout["viewport"], layout
    assert layout["width"] <= PHONE["width"], layout
    if user is None:  # a visitor's language switch stays in the line; no menu
        assert page.locator("#hh-lang").is_visible()
        assert not page.locator("#hh-menu-button").is_visible()
        return
    # A user's pages and account are behind "Menu", and reached from it.
    menu = page.locator("#hh-menu-button")
    assert menu.is_visible() and menu.get_attribute("aria-expanded") == "false"
    assert not page.locator("#hh-lang").is_visible()
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    assert page.locator("#hh-lang").is_visible()
    assert page.evaluate(LAYOUT)["header"]["height"] == layout["header"]["height"]  # over the map
    if nav:
        link = page.locator(f'.hh-nav a[data-nav="{nav}"]')
        assert link.is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#hh-lang").is_visible()
    assert not tab.errors


def test_on_a_phone_the_planning_filters_fold_behind_a_button_and_still_work(visit):
    tab = visit("demo-planner", viewport=PHONE)
    assert tab.open("/maps/planning/").status == 200
    tab.wait_ready()
    page = tab.page
    phase = page.locator('.hh-filter[data-field="phase"]')
    assert not phase.is_visible()
    page.click("#hh-tools-button")
    assert phase.is_visible() and page.locator("#hh-asof").is_visible()
    loads = page.evaluate("window.hehuachi.loads['renovation-sites'] || 0")
    phase.select_option(index=1)
    tab.page.wait_for_function(f"(window.hehuachi.loads['renovation-sites'] || 0) > {loads}")
    tab.wait_ready()
    value = phase.input_value()
    phases = page.evaluate(
        "window.hehuachi.layers['renovation-sites'].target.holder.getLayers()"
        ".map(l => l.getLayers ? l.getLayers() : [l]).flat().map(l => l.feature.properties.phase)"
    )
    assert phases and set(phases) == {value}
    # A tap on the map folds the panel again.
    page.mouse.click(PHONE["width"] // 2, PHONE["height"] - 60)
    assert not phase.is_visible()


def test_on_a_phone_the_tour_popups_open_clear_of_the_map_controls(visit):
    tab = visit(None, viewport=PHONE)
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    page = tab.page
    markers = page.locator(".hh-number")
    assert markers.count() == 12
    for i in range(12):
        markers.nth(i).focus()
        page.keyboard.press("Enter")
        page.locator(".leaflet-popup a.hh-stop-link").wait_for()
        tab.page.wait_for_function(
            "!(window.hehuachi.map._panAnim && window.hehuachi.map._panAnim._inProgress)"
        )
        covered = page.evaluate(
            """() => {
              const p = document.querySelector('.leaflet-popup').getBoundingClientRect();
              return Array.from(document.querySelectorAll('.leaflet-control'))
                .map((c) => [c.className.split(' ')[0], c.getBoundingClientRect()])
                .filter(([, r]) => r.width && r.left < p.right && p.left < r.right
                                   && r.top < p.bottom && p.top < r.bottom)
                .map(([name]) => name);
            }"""
        )
        assert not covered, (i + 1, covered)
        page.click(".leaflet-popup-close-button")
        page.locator(".leaflet-popup").wait_for(state="detached")


def test_on_a_phone_the_tours_stops_come_before_the_service_point_finder(visit):
    tab = visit(None, viewport=PHONE)
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    stops = tab.page.locator("#hh-tour-stops").bounding_box()
    finder = tab.page.locator("#hh-nearest-panel").bounding_box()
    assert stops["y"] + stops["height"] <= finder["y"]
    assert tab.page.locator("#hh-tour-list li").count() == 12
