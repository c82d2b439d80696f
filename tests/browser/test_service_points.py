"""A visitor on the public tour finds the nearest elderly-care point (issue 16), in Chromium."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.xdist_group("browser/test_service_points"),  # module-scoped browser, servers
]


def nearest_open(kind: str, lon: float, lat: float, k: int) -> list[tuple[int, str, float]]:
    """PostGIS's answer: the k nearest open service points of a kind, metres rounded to cm."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, name, ROUND(ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%s, %s),"
            " 4326)::geography)::numeric, 2) AS d FROM layers_servicepoint"
            " WHERE deleted_at IS NULL AND status = 'open' AND kind = %s ORDER BY d, id LIMIT %s",
            [lon, lat, kind, k],
        )
        return [(pk, name, float(d)) for pk, name, d in cursor.fetchall()]


def test_visitor_finds_the_nearest_elderly_care_point_on_the_tour(visit):
    lon, lat = 119.946512, 31.784907  # 6 decimals: what the page sends
    tab = visit(
        None,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 10},
        permissions=["geolocation"],
    )
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    # "Nearby services" is an optional layer: off until the visitor asks for it.
    assert tab.page.evaluate(
        "!window.hehuachi.map.hasLayer(window.hehuachi.layers['service-points'].target.holder)"
    )
    assert tab.page.locator("#hh-nearest-choice").input_value() == "elderly_care"
    tab.page.click(".leaflet-control-locate a")  # the browser reports the position set above
    tab.page.wait_for_selector("#hh-nearest li[data-distance-m]")
    expected = nearest_open("elderly_care", lon, lat, 3)
    assert expected, "the sample data has open elderly-care points"
    items = tab.page.locator("#hh-nearest li[data-distance-m]")
    assert items.count() == len(expected)
    assert tab.page.locator("#hh-nearest").get_attribute("data-lon") == f"{lon:.6f}"
    for i, (pk, name, metres) in enumerate(expected):
        item = items.nth(i)
        assert int(item.get_attribute("data-id")) == pk
        assert float(item.get_attribute("data-distance-m")) == metres  # PostGIS's answer
        text = item.inner_text().replace("\n", " ")
        assert text.startswith(f"{round(metres)} m {name}"), text
    # Opening the nearest one shows the layer and the point's popup with its distance.
    items.first.locator("button").click()
    popup = tab.page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert expected[0][1] in popup.inner_text()
    assert f"{round(expected[0][2])} m" in popup.inner_text()
    assert tab.page.evaluate(
        "window.hehuachi.map.hasLayer(window.hehuachi.layers['service-points'].target.holder)"
    )
    # Another kind, from the same place: a map click is not needed, the choice searches again.
    tab.page.select_option("#hh-nearest-choice", "legal")
    legal = nearest_open("legal", lon, lat, 3)
    tab.page.wait_for_function(
        "id => document.querySelector('#hh-nearest li[data-id]')"
        " && document.querySelector('#hh-nearest li[data-id]').getAttribute('data-id') === id",
        arg=str(legal[0][0]),
    )
    assert (
        float(
            tab.page.locator("#hh-nearest li[data-distance-m]").first.get_attribute(
                "data-distance-m"
            )
        )
        == legal[0][2]
    )
    assert tab.errors == []
    assert tab.foreign_requests() == []
    tab.screenshot("tour-nearest-elderly-care")


def test_anonymous_home_page_draws_every_public_layer_on_its_overview_map(visit):
    from layers.domain import registry

    tab = visit(None)
    assert tab.open("/").status == 200
    tab.wait_ready()
    counts = tab.counts()
    for spec in registry.LAYERS:
        if spec.is_public:
            assert counts[spec.slug] == spec.model.objects.count(), spec.slug
    assert tab.errors == []
    tab.screenshot("home-overview")


def test_a_grid_worker_finds_the_nearest_service_point_of_a_kind_on_the_inspection_map(visit):
    """The grid worker's map offers two searches: open hazards (first) and service points of a
    kind; switching searches again from the located position."""
    lon, lat = 119.946512, 31.784907
    tab = visit(
        "grid-01",
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 10},
        permissions=["geolocation"],
    )
    assert tab.open("/maps/inspection/").status == 200
    tab.wait_ready()
    assert tab.page.locator("#hh-nearest-choose").is_hidden()  # hazards: nothing to choose
    tab.page.click(".leaflet-control-locate a")
    tab.page.wait_for_function("document.querySelectorAll('#hh-nearest li').length === 10")
    tab.page.select_option("#hh-nearest-layer", "1")
    assert tab.page.locator("#hh-nearest-choose").is_visible()
    tab.page.select_option("#hh-nearest-choice", "elderly_care")
    expected = nearest_open("elderly_care", lon, lat, 5)
    tab.page.wait_for_function(
        "id => document.querySelector('#hh-nearest li[data-id]')"
        " && document.querySelector('#hh-nearest li[data-id]').getAttribute('data-id') === id"
        " && document.querySelectorAll('#hh-nearest li[data-id]').length === " + str(len(expected)),
        arg=str(expected[0][0]),
    )
    items = tab.page.locator("#hh-nearest li[data-distance-m]")
    got = [
        (
            int(items.nth(i).get_attribute("data-id")),
            float(items.nth(i).get_attribute("data-distance-m")),
        )
        for i in range(items.count())
    ]
    assert got == [(pk, metres) for pk, _name, metres in expected]
    assert tab.page.locator("#hh-nearest-title").inner_text() == "最近的服务点"
    assert tab.errors == []
