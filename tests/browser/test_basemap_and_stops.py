"""Issue 12 in Chromium: the offline basemap under every map, street names at the tour's start
zoom, an MBTiles package made here and drawn, stop pages, "where am I" without a request,
the service worker with the network cut, axe-core, and phone-size screenshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection

from layers.domain import models
from tests import mbtiles_sample
from tests.browser.conftest import ARTIFACTS, Visit, _polled
from tests.conftest import start_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.xdist_group("browser/test_basemap_and_stops"),  # module-scoped browser, servers
]

AXE = Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "4.14.1" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
BASEMAP_PATHS = "document.querySelectorAll('.leaflet-hh-basemap-pane path').length"


def basemap_state(tab: Visit) -> dict:
    """What the browser drew: paths in the basemap pane, its stacking against the features."""
    return tab.page.evaluate(
        """() => {
          const map = window.hehuachi.layers.streets.map;
          const pane = map.getPane('hh-basemap');
          const z = (name) => Number(getComputedStyle(map.getPane(name)).zIndex);
          return {
            paths: pane ? pane.querySelectorAll('path').length : 0,
            below: pane ? z('hh-basemap') < z('overlayPane') && z('hh-basemap') < z('markerPane')
              : false,
            counts: Object.assign({}, window.hehuachi.counts),
          };
        }"""
    )


@pytest.mark.parametrize(
    ("user", "path"),
    [
        (None, "/tour/"),
        (None, "/"),
        (None, "/tour/stops/4/"),
        ("demo-planner", "/maps/planning/"),
        ("demo-inspector", "/maps/inspection/"),
        ("grid-01", "/field/"),
    ],
)
def test_reference_layers_are_drawn_under_each_map(visit, user, path):
    tab = visit(user)
    assert tab.open(path).status == 200
    tab.wait_ready()
    state = basemap_state(tab)
    assert state["counts"]["streets"] > 0, state
    if user is None:  # public pages embed every reference feature
        assert state["counts"]["water"] == models.Waterway.objects.count()
        assert state["counts"]["landmarks"] == models.Landmark.objects.count()
    # Each street and water feature in view is an SVG path in the basemap pane, under the rest
    # (from tiles a feature cut by a tile edge is a path in each tile).
    assert state["paths"] >= state["counts"]["streets"], state
    assert state["below"], state
    # The field map reads them from /tiles/ (fixed addresses its service worker keeps offline),
    # the other maps from embedded data or viewport GeoJSON; either way the streets are named.
    tiled = [u for u in tab.requests if "/tiles/streets/" in u]
    assert bool(tiled) == (path == "/field/"), tiled
    assert state["counts"]["labels"] > 0, state
    assert not tab.errors
    assert tab.foreign_requests() == []


def test_a_street_name_shows_along_its_line_at_the_tours_start_zoom(visit):
    tab = visit(None)
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    assert tab.page.evaluate("window.hehuachi.map.getZoom()") == 16
    # Lanes are named at this zoom (仓前弄 is a lane), inside the map.
    label = tab.page.locator(".hh-street-label", has_text="仓前弄")
    assert label.count() == 1 and label.is_visible()
    box = label.bounding_box()
    map_box = tab.page.locator(".folium-map").bounding_box()
    assert map_box["x"] <= box["x"] and box["x"] + box["width"] <= map_box["x"] + map_box["width"]
    # 东横街 runs east-west: its name is not turned; 北大街 runs north-south: turned by 90°.
    turn = tab.page.locator(".hh-street-label", has_text="北大街").evaluate(
        "e => e.style.transform"
    )
    assert "rotate(90" in turn or "rotate(-90" in turn
    flat = tab.page.locator(".hh-street-label", has_text="东横街")
    assert "rotate(0" in flat.evaluate("e => e.style.transform")


LABELS = r"""() => {
  const map = document.querySelector('.leaflet-container').getBoundingClientRect();
  const box = (e) => {
    const r = e.getBoundingClientRect();
    const turn = /rotate\(([-0-9.]+)deg\)/.exec(e.style.transform);
    // The untransformed size, turned about the centre of what is drawn.
    return {text: e.textContent, x: r.left + r.width / 2, y: r.top + r.height / 2,
            w: e.offsetWidth, h: e.offsetHeight, angle: turn ? Number(turn[1]) : 0,
            inView: r.right > map.left && r.left < map.right && r.bottom > map.top
              && r.top < map.bottom};
  };
  const icons = Array.from(document.querySelectorAll('.leaflet-marker-pane .leaflet-marker-icon'))
    .map((e) => { const r = e.getBoundingClientRect();
                  return {text: 'marker ' + e.textContent, x: r.left + r.width / 2,
                          y: r.top + r.height / 2, w: r.width, h: r.height, angle: 0}; })
    .filter((m) => m.w > 0);
  return {labels: Array.from(document.querySelectorAll('.hh-street-label, .hh-landmark-label'))
            .filter((e) => e.offsetWidth > 0).map(box),
          markers: icons, counts: Object.assign({}, window.hehuachi.counts)};
}"""


def _drawn_box(item: dict):
    """The label's rectangle as drawn (shapely), shrunk by half a pixel against rounding."""
    from shapely import affinity
    from shapely.geometry import box

    half_w, half_h = item["w"] / 2 - 0.5, item["h"] / 2 - 0.5
    rect = box(item["x"] - half_w, item["y"] - half_h, item["x"] + half_w, item["y"] + half_h)
    return affinity.rotate(rect, item["angle"], origin=(item["x"], item["y"]))


def _overlaps(found: dict) -> list[tuple[str, str]]:
    labels = [(item["text"], _drawn_box(item)) for item in found["labels"]]
    markers = [(item["text"], _drawn_box(item)) for item in found["markers"]]
    out = []
    for i, (name, shape) in enumerate(labels):
        for other, other_shape in labels[i + 1 :] + markers:
            if shape.intersection(other_shape).area > 0:
                out.append((name, other))
    return out


@pytest.mark.parametrize(
    ("user", "path", "zoom"),
    [
        (None, "/tour/", 15),
        (None, "/tour/", 16),
        (None, "/tour/", 17),
        ("demo-planner", "/maps/planning/", None),
        ("grid-01", "/field/", None),
    ],
)
def test_map_labels_never_overlap_each_other_or_a_marker(visit, user, path, zoom):
    tab = visit(user)
    assert tab.open(path).status == 200
    tab.wait_ready()
    if zoom is not None:
        tab.page.evaluate(f"window.hehuachi.map.setZoom({zoom}, {{animate: false}})")
        tab.wait_ready()
    found = tab.page.evaluate(LABELS)
    assert len(found["labels"]) >= 8, found  # names are drawn: streets and landmarks
    assert not _overlaps(found), (_overlaps(found), found)
    if path == "/tour/" and zoom == 15:
        # The old town's names do not all fit at 15: some were left out rather than overlap.
        assert found["counts"]["labels-left-out"] > 0, found["counts"]


@pytest.fixture(scope="module")
def mbtiles_app(django_db_setup, django_db_blocker, tmp_path_factory):
    path = tmp_path_factory.mktemp("mbtiles") / "old-town.mbtiles"
    mbtiles_sample.make(path)
    yield from start_server(django_db_blocker, MAP_BASEMAP=f"mbtiles:{path}")


def test_an_mbtiles_package_made_here_is_served_and_drawn(browser, mbtiles_app):
    tab = Visit(browser, mbtiles_app)
    try:
        assert tab.open("/tour/").status == 200
        tab.wait_ready()
        tab.page.wait_for_function(
            "document.querySelectorAll('img.leaflet-tile-loaded[src*=\"/basemap/\"]').length >= 4"
        )
        # The colour of a drawn tile is the colour the test stored for zoom 16.
        rgb = tab.page.evaluate(
            """() => {
              const img = document.querySelector('img.leaflet-tile-loaded[src*="/basemap/16/"]');
              const c = document.createElement('canvas'); c.width = c.height = 8;
              const g = c.getContext('2d'); g.drawImage(img, 0, 0, 8, 8);
              return Array.from(g.getImageData(4, 4, 1, 1).data.slice(0, 3));
            }"""
        )
        assert tuple(rgb) == mbtiles_sample.COLOURS[16]
        assert tab.page.evaluate(BASEMAP_PATHS) == 0  # the package replaces the reference layers
        assert not tab.errors
    finally:
        tab.close()


def test_stop_pages_answer_in_both_languages_and_link_each_other(visit):
    tab = visit(None)
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    first = tab.page.locator("#hh-tour-list a.hh-stop-link").first
    with tab.page.expect_navigation():
        first.click()
    assert tab.page.url.endswith("/tour/stops/1/")
    tab.wait_ready()
    assert "延陵西路" in tab.page.locator("#hh-stop-name").inner_text()
    with tab.page.expect_navigation():
        tab.page.click("#hh-next")
    assert tab.page.url.endswith("/tour/stops/2/")
    with tab.page.expect_navigation():
        tab.page.click("#hh-lang")
    assert tab.page.url.endswith("/tour/stops/2/")
    assert "min on foot" in tab.page.locator("#hh-prev").inner_text()
    assert tab.page.locator(".hh-number-current").inner_text() == "2"


def nearest_stop(lon: float, lat: float) -> tuple[int, float]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tour_order, ST_Distance(geom::geography,"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography) AS d"
            " FROM layers_culturalviewpoint WHERE deleted_at IS NULL ORDER BY d LIMIT 1",
            [lon, lat],
        )
        n, d = cursor.fetchone()
        return n, float(d)


def test_where_am_i_finds_the_nearest_stop_without_asking_the_server(visit):
    lon, lat = 119.94812, 31.78395
    tab = visit(
        None,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 5},
        permissions=["geolocation"],
    )
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    privacy = tab.page.locator("#hh-where-privacy").inner_text()
    assert privacy == "您的位置只在本机上计算，不会发送到服务器。"
    before = len(tab.requests)
    tab.page.click("#hh-where-button")
    result = tab.page.locator("#hh-where-result[data-stop]")
    result.wait_for()
    n, metres = nearest_stop(lon, lat)
    assert int(result.get_attribute("data-stop")) == n
    assert abs(float(result.get_attribute("data-distance-m")) - metres) < 0.01
    assert result.get_attribute("data-direction") in (
        "北",
        "东北",
        "东",
        "东南",
        "南",
        "西南",
        "西",
        "西北",
    )
    assert f"{round(metres)} 米" in result.inner_text()
    # The nearest service point was searched in the page as well: no request carried the position.
    tab.page.wait_for_selector("#hh-nearest li[data-distance-m]")
    assert not [u for u in tab.requests[before:] if "lon=" in u or "lat=" in u]


def test_the_tour_opens_with_the_network_cut_after_one_visit(visit):
    tab = visit(None)
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    tab.page.wait_for_selector("html[data-offline='ready']", timeout=30000)
    online = tab.counts()
    tab.context.set_offline(True)
    try:
        tab.page.reload()
        tab.wait_ready()
        assert tab.counts() == online
        assert tab.page.evaluate("navigator.serviceWorker.controller !== null")
        response = tab.open("/tour/stops/7/")
        assert response is not None and response.ok
        tab.wait_ready()
        photo = tab.page.locator(".hh-stop-photo")
        photo.wait_for()
        tab.page.wait_for_function(
            "document.querySelector('.hh-stop-photo').complete"
            " && document.querySelector('.hh-stop-photo').naturalWidth > 0"
        )
        assert tab.counts()["streets"] == online["streets"]
    finally:
        tab.context.set_offline(False)


def axe_violations(page) -> list[dict]:
    # axe-core was added to the context by an init script (the browser's debugger protocol,
    # which the pages' Content-Security-Policy does not govern; a <script> tag it would block).
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
@pytest.mark.parametrize("path", ["/", "/tour/", "/tour/stops/3/"])
def test_axe_finds_no_serious_or_critical_violation(browser, live_app, path, locale):
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 860})
    context.add_init_script(path=str(AXE))
    try:
        page = context.new_page()
        assert page.goto(live_app + path).status == 200
        _polled(page)(
            "!window.hehuachi || (Object.keys(window.hehuachi.layers).length > 0"
            " && window.hehuachi.allReady())"
        )
        expected = "en" if locale.startswith("en") else "zh-Hans"
        assert page.evaluate("document.documentElement.lang") == expected
        found = axe_violations(page)
        assert not found, json.dumps(found, ensure_ascii=False)
    finally:
        context.close()


def test_markers_and_list_entries_are_reached_with_the_keyboard(visit):
    tab = visit(None)
    assert tab.open("/tour/").status == 200
    tab.wait_ready()
    reached = set()
    for _ in range(80):
        tab.page.keyboard.press("Tab")
        reached.add(
            tab.page.evaluate(
                "(() => { const e = document.activeElement;"
                " if (e.classList.contains('hh-number')) return 'marker:' + e.textContent;"
                " if (e.classList.contains('hh-stop-link')) return 'list:' + e.textContent;"
                " return ''; })()"
            )
        )
    markers = {r for r in reached if r.startswith("marker:")}
    entries = {r for r in reached if r.startswith("list:")}
    assert len(markers) == 12 and len(entries) == 12, sorted(reached)
    # Enter on a focused marker opens its popup, which links to the stop page (popups are not
    # bound to their layer, so the layer's own Enter handling is ours to give).
    tab.page.locator(".hh-number").first.focus()
    tab.page.keyboard.press("Enter")
    tab.page.locator(".leaflet-popup-content a.hh-stop-link").wait_for()


def test_phone_screenshots_of_the_tour_and_a_stop_page(visit):
    tab = visit(None, viewport=PHONE)
    for path, name in (("/tour/", "tour-phone"), ("/tour/stops/5/", "stop-5-phone")):
        assert tab.open(path).status == 200
        tab.wait_ready()
        tab.screenshot(name)
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000
        # Fits the phone: nothing wider than the screen.
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
