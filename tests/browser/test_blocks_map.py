"""The planning map at the low zooms: blocks of buildings drawn from the tiles, and a click
through them still opens the renovation site under them (docs/MAPS.md, "Low zooms")."""

from __future__ import annotations

import pytest
from django.db import transaction

from layers.domain import models
from layers.services import generalize

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.xdist_group("browser/test_blocks_map"),
]


@pytest.fixture(scope="module")
def blocks(django_db_setup, django_db_blocker):
    """The blocks built and committed (before any test's transaction: the server process sees
    only committed rows), removed afterwards so the other browser tests see the sample
    database as it was.
    Gives a site with buildings, a point of one of them and the number of buildings."""
    with django_db_blocker.unblock(), transaction.atomic():
        generalize.refresh()
        site = models.RenovationSite.objects.filter(buildings__isnull=False).order_by("pk")[0]
        point = site.buildings.order_by("pk").first().geom.point_on_surface
        found = site.name, point, models.Building.objects.count()
    yield found
    with django_db_blocker.unblock(), transaction.atomic():
        models.BuildingBlock.objects.all().delete()
        models.GeneralizedSource.objects.all().delete()


def test_blocks_at_z13_and_a_click_through_them_opens_the_site(blocks, visit):
    name, inside, buildings = blocks
    tab = visit("demo-planner")
    tab.open("/maps/planning/")
    tab.wait_ready()
    tab.page.evaluate(f"window.hehuachi.map.setView([{inside.y}, {inside.x}], 13)")
    at_z13 = (
        "(() => { const s = window.hehuachi.tileState('buildings'); return"
        " window.hehuachi.allReady() && s.keys.length > 0"
        " && s.keys.every(k => k.endsWith(':13')) && s.count; })()"
    )
    drawn = tab.page.wait_for_function(at_z13, timeout=20000)
    assert 0 < drawn < buildings  # blocks: fewer features than buildings
    x, y = tab.page.evaluate(
        f"(() => {{ const p = window.hehuachi.map.latLngToContainerPoint([{inside.y}, {inside.x}]);"
        " return [p.x, p.y]; })()"
    )
    box = tab.page.locator(".folium-map").bounding_box()
    tab.page.mouse.click(box["x"] + x, box["y"] + y)
    popup = tab.page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert name in popup.inner_text()
    assert tab.errors == []
    tab.screenshot("planning-blocks-z13")
