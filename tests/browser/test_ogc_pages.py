"""The browsable /ogc/ pages in Chromium: a planner signs in through the site's form, walks
from the landing page to an internal collection's items (drawn on the small map, from the
page, no other origin) and a single item; the public sees no internal collection."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from layers.domain import models, registry

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.xdist_group("browser/test_ogc_pages"),  # module-scoped browser, servers
]


def test_planner_browses_collections_items_and_one_item(visit, live_app):
    tab = visit("demo-planner")
    page = tab.page
    assert tab.open("/ogc/").status == 200  # a browser's Accept: text/html
    page.click("#hh-ogc-layers a[href='/ogc/collections/buildings?f=html']")
    page.wait_for_selector("#hh-ogc-links")
    page.click("a[href$='/ogc/collections/buildings/items?f=html']")
    page.wait_for_selector("#hh-ogc-map[data-ready='10']")
    rows = page.locator("#hh-ogc-items tbody tr")
    assert rows.count() == 10
    drawn = page.locator("#hh-ogc-map path.leaflet-interactive").count()
    assert drawn == 10
    first = rows.first.get_attribute("data-id")
    page.click(f"#hh-ogc-items tbody tr[data-id='{first}'] a")
    page.wait_for_selector("#hh-ogc-map[data-ready='1']")
    building = models.Building.objects.get(pk=int(first))
    assert building.address in page.locator("#hh-ogc-item").inner_text()
    geojson = page.locator("#hh-ogc-geojson").get_attribute("href")
    assert geojson.endswith(f"/ogc/collections/buildings/items/{first}")
    origins = {urlparse(url).netloc for url in tab.requests}
    assert origins == {urlparse(live_app).netloc}
    assert tab.errors == []


def test_the_public_sees_only_public_collections(visit):
    tab = visit(None)
    assert tab.open("/ogc/collections?f=html").status == 200
    listed = tab.page.locator("#hh-ogc-collections tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )
    assert listed == [s.slug for s in registry.LAYERS if s.is_public]
    assert tab.open("/ogc/collections/buildings/items?f=html").status == 404
