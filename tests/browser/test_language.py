"""One language per page in Chromium (issue 26): the map controls, popups and tooltips speak the
page's language; a popup never shows a field's code name."""

from __future__ import annotations

import re

import pytest

from layers.domain.models import CulturalViewpoint, RenovationSite

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

CONTROLS = """() => {
  const title = (sel) => { const e = document.querySelector(sel); return e ? e.title : null; };
  const measure = document.querySelector('.leaflet-control-measure-toggle');
  return {zoomIn: title('.leaflet-control-zoom-in'), zoomOut: title('.leaflet-control-zoom-out'),
          layers: title('.leaflet-control-layers-toggle'),
          fullscreen: title('.leaflet-control-container [class*="fullscreen"] a')
            || title('.leaflet-control-container [class*="fullscreen"]'),
          measure: measure ? measure.textContent.trim() : null};
}"""

KEYS = ("zoomIn", "zoomOut", "layers", "fullscreen", "measure")
ZH = ("放大", "缩小", "图层", "全屏显示", "测量")
EN = ("Zoom in", "Zoom out", "Layers", "Full screen", "Measure")

OPEN_FIRST = """(slug) => {
  let first = null;
  window.hehuachi.layers[slug].target.holder.eachLayer((l) => { first = first || l; });
  const at = first.getLatLng ? first.getLatLng() : first.getBounds().getCenter();
  first.fire('click', {latlng: at});
  return first.feature.id;
}"""

POPUP = """() => {
  const box = document.querySelector('.leaflet-popup-content .hh-popup');
  return {title: box.querySelector('strong').textContent,
          labels: Array.from(box.querySelectorAll('th')).map((e) => e.textContent),
          values: Array.from(box.querySelectorAll('td')).map((e) => e.textContent)};
}"""


def _switch_to_english(tab):
    with tab.page.expect_navigation():
        tab.page.click("#hh-lang")
    tab.wait_ready()


def test_the_planning_map_speaks_chinese_then_english(visit):
    tab = visit("demo-planner")
    assert tab.open("/maps/planning/").status == 200
    tab.wait_ready()
    assert tab.page.evaluate(CONTROLS) == dict(zip(KEYS, ZH, strict=True))
    site_id = tab.page.evaluate(OPEN_FIRST, "renovation-sites")
    tab.page.locator(".leaflet-popup-content .hh-popup").wait_for()
    popup = tab.page.evaluate(POPUP)
    site = RenovationSite.objects.get(pk=site_id)
    assert popup["title"] == site.name
    assert not [label for label in popup["labels"] if LATIN_WORD.search(label)], popup
    assert site.status_vocabulary.label(site.status, "zh") in popup["values"]

    _switch_to_english(tab)
    assert tab.page.evaluate(CONTROLS) == dict(zip(KEYS, EN, strict=True))
    tab.page.evaluate(OPEN_FIRST, "renovation-sites")
    tab.page.locator(".leaflet-popup-content .hh-popup").wait_for()
    popup = tab.page.evaluate(POPUP)
    assert popup["title"] == site.name_en
    # Field labels in English, never a code name ("Name en", "name_en"); values in English
    # (people and units by their Chinese names where they have no other).
    assert not [label for label in popup["labels"] if CJK.search(label)], popup
    assert not [label for label in popup["labels"] if "_" in label or label.endswith(" en")]
    assert site.status_vocabulary.label(site.status, "en") in popup["values"]
    assert not tab.errors


def test_the_tours_popups_and_list_give_english_opening_hours_on_the_english_page(visit):
    tab = visit(None)
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    _switch_to_english(tab)
    stop = CulturalViewpoint.objects.exclude(opening_hours_en="").order_by("tour_order").first()
    tab.page.locator(".hh-number", has_text=str(stop.tour_order)).first.focus()
    tab.page.keyboard.press("Enter")
    tab.page.locator(".leaflet-popup-content .hh-popup").wait_for()
    popup = tab.page.evaluate(POPUP)
    assert popup["title"] == stop.name_en
    assert stop.opening_hours_en in popup["values"]
    assert not [text for text in popup["labels"] + popup["values"] if CJK.search(text)], popup
    listed = tab.page.locator("#hh-tour-list li").nth(stop.tour_order - 1).inner_text()
    assert stop.opening_hours_en in listed and stop.opening_hours not in listed
