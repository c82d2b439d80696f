"""The map pages in headless Chromium: drawn counts equal the database, no other origin, no
console error, escaped user text, roles, and the published tour from file://."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from layers.domain import models
from tests.factories import make

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.xdist_group("browser/test_pages"),  # module-scoped browser, servers
]


def same_origin(tab) -> list[str]:
    """The requests that left this service (its server and its live-update process)."""
    return tab.foreign_requests()


def count_in_view(tab, table: str) -> int:
    west, south, east, north = tab.page.evaluate(
        "(() => { const b = window.hehuachi.map.getBounds();"
        " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {table} WHERE deleted_at IS NULL AND "  # noqa: S608
            "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
            (round(west, 6), round(south, 6), round(east, 6), round(north, 6)),
        )
        return cursor.fetchone()[0]


def count_in_loaded_tiles(tab, slug: str, table: str) -> int:
    """Features PostGIS puts in the tiles the page loaded (vector tile layers): those whose
    clipped tile geometry is not empty, as ST_AsMVTGeom decides."""
    drawn = tab.page.evaluate(f"window.hehuachi.tileState({slug!r})")
    tiles = [tuple(int(v) for v in key.split(":")) for key in drawn["keys"]]  # x:y:z
    assert tiles and drawn["count"] == tab.counts()[slug]
    in_tile = (
        "(ST_Intersects(geom, ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => 64.0 / 4096), "
        "4326)) AND "
        "ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s), 4096, 64, true) "
        "IS NOT NULL)"
    )
    params = [v for x, y, z in tiles for v in (z, x, y, z, x, y)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {table} WHERE deleted_at IS NULL AND "  # noqa: S608
            f"({' OR '.join(in_tile for _ in tiles)})",
            params,
        )
        return cursor.fetchone()[0]


def legend_values(tab, vocabulary: str) -> set[str]:
    return set(
        tab.page.eval_on_selector_all(
            f'ul[data-vocabulary="{vocabulary}"] li', "els => els.map(e => e.dataset.value)"
        )
    )


def test_planning_map(visit):
    tab = visit("demo-planner")
    assert tab.open("/maps/planning/").status == 200
    tab.wait_ready()
    counts = tab.counts()
    assert counts["communities"] == models.Community.objects.count()
    assert counts["renovation-sites"] == models.RenovationSite.objects.count()
    assert counts["pocket-parks"] == models.PocketPark.objects.count()
    assert counts["buildings"] == count_in_loaded_tiles(tab, "buildings", "layers_building") > 0
    present = set(models.RenovationSite.objects.values_list("status", flat=True))
    assert present <= legend_values(tab, "renovation_status")
    assert tab.errors == [] and same_origin(tab) == []
    tab.screenshot("planning")
    # A building inside a site, drawn from vector tiles, opens its own popup.
    building = models.Building.objects.filter(renovation_site__isnull=False).order_by("pk")[0]
    inside = building.geom.point_on_surface
    tab.page.evaluate(f"window.hehuachi.map.setView([{inside.y}, {inside.x}], 19)")
    tab.page.wait_for_timeout(300)
    tab.wait_ready()
    box = tab.page.locator(".folium-map").bounding_box()
    tab.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = tab.page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert building.name in popup.inner_text()


def test_planning_filter_by_phase_redraws(visit):
    tab = visit("demo-planner")
    tab.open("/maps/planning/")
    tab.wait_ready()
    tab.page.select_option('select[data-field="phase"]', "5")
    tab.page.wait_for_function("window.hehuachi.allReady()")
    tab.page.wait_for_timeout(300)
    assert (
        tab.counts()["renovation-sites"] == models.RenovationSite.objects.filter(phase="5").count()
    )


def test_inspection_map(visit):
    tab = visit("grid-01")
    assert tab.open("/maps/inspection/").status == 200
    tab.wait_ready()
    counts = tab.counts()
    assert counts["hazards"] == count_in_view(tab, "layers_safetyhazard") > 0
    assert counts["grid-cells"] == models.GridCell.objects.count()
    present = set(models.SafetyHazard.objects.values_list("status", flat=True))
    assert present <= legend_values(tab, "hazard_status")
    tab.page.evaluate("window.hehuachi.nearest(119.9475, 31.7840)")
    tab.page.wait_for_selector("#hh-nearest li")
    assert tab.page.locator("#hh-nearest li").count() == 10
    assert tab.page.locator("#hh-my-grid").count() == 1
    assert tab.errors == [] and same_origin(tab) == []
    tab.screenshot("inspection")


def test_tour_is_public_and_holds_nothing_internal(visit, live_app):
    tab = visit(None, viewport={"width": 390, "height": 844})  # a phone
    response = tab.open("/tour/")
    assert response.status == 200
    tab.wait_ready()
    counts = tab.counts()
    assert counts["viewpoints"] == models.CulturalViewpoint.objects.count()
    assert counts["pocket-parks"] == models.PocketPark.objects.count()
    assert counts["route"] == 1
    present = set(models.CulturalViewpoint.objects.values_list("status", flat=True))
    assert present <= legend_values(tab, "viewpoint_status")
    assert tab.page.locator("#hh-tour-list li").count() == models.CulturalViewpoint.objects.count()
    # Every stop shows its photo, and every photo loaded.
    photos = tab.page.locator("#hh-tour-list li img")
    assert photos.count() == models.CulturalViewpoint.objects.exclude(photo="").count() > 0
    # They load lazily (a phone scrolls to them): ask for all of them now.
    photos.evaluate_all("imgs => imgs.forEach(i => { i.loading = 'eager'; })")
    tab.page.wait_for_function(
        "[...document.querySelectorAll('#hh-tour-list img')].every(i => i.complete)"
    )
    widths = photos.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert all(width > 0 for width in widths)
    html = tab.page.content()
    for internal in ('"created_by"', '"version"', '"ref"', "hazards", "households", "/admin/"):
        assert internal not in html, internal
    assert tab.page.locator("h1").inner_text() == "大庙弄文化游览图"
    tab.screenshot("tour-phone")
    with tab.page.expect_navigation():
        tab.page.click("#hh-lang")  # Django's set_language, then back to the tour in English
    tab.wait_ready()
    assert tab.page.locator("h1").inner_text() == "Damiaonong cultural tour"
    assert "Walking route" in tab.page.locator("aside").inner_text()
    first_stop = tab.page.locator("#hh-tour-list li h3").first.inner_text()
    assert first_stop == models.CulturalViewpoint.objects.order_by("tour_order")[0].name_en
    assert tab.errors == [] and same_origin(tab) == []
    tab.screenshot("tour-phone-en")


@pytest.mark.parametrize("path", ["/maps/planning/", "/maps/inspection/"])
def test_internal_pages_send_anonymous_users_to_login(visit, path):
    tab = visit(None)
    tab.open(path)
    assert "/accounts/login/?next=" + path in tab.page.url


def test_inspector_may_not_open_the_planning_map(visit):
    tab = visit("grid-01")
    assert tab.open("/maps/planning/").status == 403


@pytest.fixture(scope="module")
def xss_viewpoint(django_db_setup, django_db_blocker):
    """Committed before the module's test transactions (module scope), removed after them."""
    payload = (
        '<img src=x onerror="window.__xss=1">${window.__xss=2}`'
        "</script><script>window.__xss=3</script>"
    )
    with django_db_blocker.unblock():
        vp = make(
            models.CulturalViewpoint,
            name=payload,
            name_en=payload,
            description=payload,
            theme="streetscape",
            tour_order=99,
            status="open",
            geom=models.CulturalViewpoint.objects.first().geom,
        )
    yield payload
    with django_db_blocker.unblock():
        vp.history.all().delete()
        models.CulturalViewpoint.all_objects.filter(pk=vp.pk).delete()


def test_an_xss_payload_is_shown_as_text(visit, xss_viewpoint):
    tab = visit(None)
    tab.open("/tour/")
    tab.wait_ready()
    tab.page.evaluate(
        "(() => { const l = window.hehuachi.layers.viewpoints.target.holder;"
        " l.eachLayer(m => m.openPopup && m.openPopup()); })()"
    )
    tab.page.wait_for_timeout(300)
    assert tab.page.evaluate("window.__xss") is None
    assert tab.page.get_by_text(xss_viewpoint, exact=False).count() >= 1


def test_published_tour_works_from_file(browser, tmp_path, live_app):
    from django.core.management import call_command

    out = tmp_path / "tour"
    call_command("publish_tour", "--out", str(out))
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "/static/" not in html and "http://" not in html.replace("http://www.w3.org", "")
    context = browser.new_context()
    page = context.new_page()
    errors, remote = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    page.goto((out / "index.html").as_uri())
    page.wait_for_function("window.hehuachi && window.hehuachi.allReady()")
    counts = page.evaluate("Object.assign({}, window.hehuachi.counts)")
    assert counts["viewpoints"] == models.CulturalViewpoint.objects.count()
    assert counts["route"] == 1
    assert errors == [] and remote == []
    page.click("#hh-lang")  # the static site links to its English twin
    page.wait_for_function("window.hehuachi && window.hehuachi.allReady()")
    assert page.locator("h1").inner_text() == "Damiaonong cultural tour"
    route = json.loads((out / "data" / "route.json").read_text())
    assert route["length_m"] > 500
    page.screenshot(path=str(tmp_path / "published.png"))
    context.close()


@pytest.fixture(scope="module")
def live_app_amap(django_db_setup, django_db_blocker):
    from tests.conftest import start_server

    yield from start_server(django_db_blocker, MAP_BASEMAP="amap")


def test_on_an_amap_basemap_our_data_is_shifted_to_gcj02(browser, live_app_amap):
    from layers.geo import gcj02

    context = browser.new_context()
    page = context.new_page()
    # No internet here: AMap's tiles are refused at once instead of timing out.
    page.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(live_app_amap) else route.abort()
        ),
    )
    page.goto(live_app_amap + "/tour/")
    page.wait_for_function("window.hehuachi && window.hehuachi.allReady()")
    drawn = page.evaluate(
        "window.hehuachi.layers.viewpoints.target.holder.getLayers()"
        ".map(m => [m.feature.id, m.getLatLng().lng, m.getLatLng().lat])"
    )
    stored = dict(models.CulturalViewpoint.objects.values_list("pk", "geom"))
    assert len(drawn) == len(stored)
    for pk, lon, lat in drawn:
        expected = gcj02.wgs84_to_gcj02(stored[pk].x, stored[pk].y)
        assert abs(lon - expected[0]) < 1e-9 and abs(lat - expected[1]) < 1e-9
        assert abs(lon - stored[pk].x) > 0.003  # about 450 m east of the WGS84 position
    context.close()
