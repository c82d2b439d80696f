"""Maps that behave, in Chromium: a popup opened near the map's edge stays open while the pan
it causes refetches and redraws the layer under it; the page allows zooming (one viewport tag
without maximum-scale or user-scalable=no); filters zoom to what is left."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PLACE_NEAR_EDGE = """() => {
  const hh = window.hehuachi, map = hh.map;
  let marker = null;
  hh.layers.hazards.target.holder.eachLayer((m) => { if (!marker && m.feature) marker = m; });
  const at = marker.getLatLng();
  map.setView(at, 18, { animate: false });
  const p = map.latLngToContainerPoint(at), size = map.getSize();
  map.panBy([p.x - (size.x - 14), p.y - size.y / 2], { animate: false });
  return { id: marker.feature.id, lat: at.lat, lng: at.lng };
}"""

SCREEN_POINT = """(hazard) => {
  const map = window.hehuachi.map;
  const p = map.latLngToContainerPoint([hazard.lat, hazard.lng]);
  const box = map.getContainer().getBoundingClientRect();
  return { x: box.left + p.x, y: box.top + p.y, width: box.width };
}"""


def test_a_hazard_popup_near_the_edge_stays_open_through_the_refetch(visit):
    tab = visit("demo-inspector")
    assert tab.open("/maps/inspection/").status == 200
    tab.wait_ready()
    page = tab.page
    hazard = page.evaluate(PLACE_NEAR_EDGE)
    tab.wait_ready()
    point = page.evaluate(SCREEN_POINT, hazard)
    assert point["x"] > point["width"] - 40  # at the right edge of the map
    before = page.evaluate("window.hehuachi.loads.hazards || 0")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector(".leaflet-popup .hh-popup")
    # Opening it pans the map (the popup does not fit at the edge); the pan refetches the
    # hazards for the new bbox and redraws them. Wait for that redraw, then look again.
    page.wait_for_function(
        f"(window.hehuachi.loads.hazards || 0) > {before} && window.hehuachi.allReady()",
        timeout=20000,
    )
    popup = page.locator(".leaflet-popup .hh-popup")
    assert popup.count() == 1
    assert popup.get_attribute("data-id") == str(hazard["id"])
    assert page.evaluate("window.hehuachi.openPopup.isOpen()")
    text = popup.inner_text()
    assert "demo-" not in text and "Name en" not in text
    assert popup.locator(".hh-feature-link").get_attribute("href") == (
        f"/features/hazards/{hazard['id']}/"
    )
    assert not tab.errors, tab.errors


def test_map_pages_allow_zooming(visit):
    tab = visit("demo-planner")
    for path in ("/maps/planning/", "/tour/", "/"):
        assert tab.open(path).status == 200
        tags = tab.page.evaluate(
            "[...document.querySelectorAll('meta[name=viewport]')].map((m) => m.content)"
        )
        assert len(tags) == 1, (path, tags)
        assert "user-scalable" not in tags[0] and "maximum-scale" not in tags[0]


def test_a_filter_zooms_to_what_is_left(visit):
    tab = visit("demo-planner")
    assert tab.open("/maps/planning/").status == 200
    tab.wait_ready()
    page = tab.page
    page.select_option('.hh-filter[data-field="kind"]', "expropriation")
    page.wait_for_function("window.hehuachi.fitted >= 1 && window.hehuachi.allReady()")
    inside = page.evaluate(
        """() => {
          const hh = window.hehuachi, view = hh.map.getBounds();
          let all = true, n = 0;
          hh.layers["renovation-sites"].target.holder.eachLayer((l) => {
            n += 1; if (!view.contains(l.getBounds())) all = false;
          });
          return n > 0 && all;
        }"""
    )
    assert inside
