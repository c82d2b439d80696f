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


@pytest.fixture
def blocks(django_db_blocker):
    """The blocks built and committed (the server reads committed rows), removed afterwards
    so the other browser tests see the sample database as it was."""
    with django_db_blocker.unblock(), transaction.atomic():
        generalize.refresh()
    yield
    with django_db_blocker.unblock(), transaction.atomic():
        models.BuildingBlock.objects.all().delete()
        models.GeneralizedSource.objects.all().delete()


def test_blocks_at_z13_and_a_click_through_them_opens_the_site(blocks, visit):
    tab = visit("demo-planner")
    tab.open("/maps/planning/")
    tab.wait_ready()
    site = models.RenovationSite.objects.filter(buildings__isnull=False).order_by("pk").first()
    inside = site.buildings.order_by("pk").first().geom.point_on_surface
    tab.page.evaluate(f"window.hehuachi.map.setView([{inside.y}, {inside.x}], 13)")
    tab.page.wait_for_function(
        "window.hehuachi.allReady() && window.hehuachi.counts.buildings > 0", timeout=20000
    )
    drawn = tab.counts()["buildings"]
    assert 0 < drawn < models.Building.objects.count()  # blocks, fewer than the buildings
    x, y = tab.page.evaluate(
        f"(() => {{ const p = window.hehuachi.map.latLngToContainerPoint([{inside.y}, {inside.x}]);"
        " return [p.x, p.y]; })()"
    )
    box = tab.page.locator(".folium-map").bounding_box()
    tab.page.mouse.click(box["x"] + x, box["y"] + y)
    popup = tab.page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert site.name in popup.inner_text()
    assert tab.errors == []
    tab.screenshot("planning-blocks-z13")
