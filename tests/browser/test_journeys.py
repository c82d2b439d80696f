"""Each role's day, walked in Chromium from the site's own sign-in form with the sample users'
passwords: sign in, land on home, do the job, sign out. No force_login, no admin login."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from layers.domain import models, registry
from layers.domain import vocabularies as status
from tests.conftest import PASSWORD, production_hashers

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.xdist_group("browser/test_journeys"),  # module-scoped browser, servers
]


def figure(tab, card: str, n: int = 1) -> int:
    text = tab.page.locator(f'[data-card="{card}"] [data-figure="{n}"] strong').inner_text()
    return int(text)


def signs_out_and_is_anonymous(tab):
    """The header's sign-out (POST), then an internal page asks to sign in again."""
    tab.sign_out()
    assert tab.page.url.rstrip("/") == tab.base
    assert tab.page.locator("#hh-signin").count() == 1
    assert tab.page.locator("#hh-user").count() == 0
    tab.open("/maps/inspection/")
    assert "/accounts/login/?next=/maps/inspection/" in tab.page.url
    assert tab.page.locator("#hh-login-form").count() == 1


def test_planner_day(visit):
    tab = visit("demo-planner")  # signs in through the form and lands on home
    assert tab.page.locator("h1").inner_text() == "首页"
    assert "规划人员" in tab.page.locator("#hh-user").inner_text()
    # Home: the planning map with a live figure; no inspection map, no admin for a planner.
    under_construction = models.RenovationSite.objects.filter(status="construction").count()
    assert figure(tab, "planning") == under_construction
    cards = tab.page.eval_on_selector_all("[data-card]", "els => els.map(e => e.dataset.card)")
    assert "planning" in cards and "inspection" not in cards and "admin" not in cards
    with tab.page.expect_navigation():
        tab.page.click('[data-card="planning"] h3 a')
    assert tab.page.url.endswith("/maps/planning/")
    tab.wait_ready()
    # Filter by phase: only phase 5 is drawn.
    tab.page.select_option('select[data-field="phase"]', "5")
    tab.page.wait_for_function("window.hehuachi.allReady()")
    phase5 = models.RenovationSite.objects.filter(phase="5")
    tab.page.wait_for_function(
        f"window.hehuachi.counts['renovation-sites'] === {phase5.count()}", timeout=10000
    )
    # Click a site (at a zoom where buildings are not drawn over it): stage, progress, buildings.
    site = phase5.order_by("pk").first()
    inside = site.geom.point_on_surface
    tab.page.evaluate(f"window.hehuachi.map.setView([{inside.y}, {inside.x}], 14)")
    tab.page.wait_for_timeout(400)
    # Where the site is on screen (the map's bounds may keep it off the centre at this zoom).
    x, y = tab.page.evaluate(
        f"(() => {{ const p = window.hehuachi.map.latLngToContainerPoint([{inside.y}, {inside.x}]);"
        " return [p.x, p.y]; })()"
    )
    box = tab.page.locator(".folium-map").bounding_box()
    tab.page.mouse.click(box["x"] + x, box["y"] + y)
    popup = tab.page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert site.name in text
    assert status.RENOVATION_STATUS.label(site.status) in text
    assert re.search(rf"进度\(%\)\s+{site.progress}\b", text), text
    buildings = models.Building.objects.filter(renovation_site=site).count()
    assert buildings > 0
    assert re.search(rf"涉及建筑\s+{buildings}\b", text), text
    # A planner is not staff: no link to the admin's change page.
    assert "/admin/" not in popup.inner_html()
    assert tab.errors == []
    tab.screenshot("journey-planner")
    signs_out_and_is_anonymous(tab)


def nearest_open_hazards(lon: float, lat: float, k: int = 10) -> list[tuple[str, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)"
            "::geography) AS d FROM layers_safetyhazard WHERE deleted_at IS NULL "
            "AND status = ANY(%s) ORDER BY d LIMIT %s",
            [lon, lat, list(status.HAZARD_OPEN_STATUSES), k],
        )
        return cursor.fetchall()


def test_inspector_day_locates_and_opens_the_nearest_hazard(visit):
    lon, lat = 119.9480, 31.7850
    tab = visit(
        "demo-inspector",
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 10},
        permissions=["geolocation"],
    )
    open_hazards = models.SafetyHazard.objects.filter(status__in=status.HAZARD_OPEN_STATUSES)
    assert figure(tab, "inspection") == open_hazards.count()
    with tab.page.expect_navigation():
        tab.page.click('#hh-header [data-nav="inspection"]')
    tab.wait_ready()
    tab.page.click(".leaflet-control-locate a")  # the browser reports the position set above
    tab.page.wait_for_function("document.querySelectorAll('#hh-nearest li').length === 10")
    expected = nearest_open_hazards(lon, lat)
    items = tab.page.locator("#hh-nearest li").all_inner_texts()
    for item, (name, metres) in zip(items, expected, strict=True):
        assert item.replace("\n", " ").strip() == f"{round(metres)} m {name}"
    tab.page.locator("#hh-nearest li button").first.click()
    popup = tab.page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert expected[0][0] in popup.inner_text()
    assert f"{round(expected[0][1])} m" in popup.inner_text()
    assert tab.errors == []
    tab.screenshot("journey-inspector")
    signs_out_and_is_anonymous(tab)


def test_grid_worker_sees_my_grid_and_its_hazards(visit):
    tab = visit("grid-01")
    grid = models.GridCell.objects.get(worker__username="grid-01")
    in_grid = models.SafetyHazard.objects.filter(grid_cell=grid)
    open_in_grid = in_grid.filter(status__in=status.HAZARD_OPEN_STATUSES).count()
    assert figure(tab, "inspection", 1) == open_in_grid
    assert f"网格员 {grid.code}" in tab.page.locator("#hh-user").inner_text()
    with tab.page.expect_navigation():
        tab.page.click('[data-card="inspection"] h3 a')
    tab.wait_ready()
    tab.page.click("#hh-my-grid")
    tab.page.wait_for_function(
        f"window.hehuachi.allReady() && window.hehuachi.counts.hazards === {in_grid.count()}",
        timeout=10000,
    )
    drawn = tab.page.evaluate(
        "(() => { const out = []; window.hehuachi.layers.hazards.target.holder"
        ".eachLayer(l => out.push(l.feature.properties.grid_cell)); return out; })()"
    )
    assert drawn and set(drawn) == {grid.pk}
    assert tab.errors == []
    tab.screenshot("journey-grid-worker")
    signs_out_and_is_anonymous(tab)


def test_editor_reaches_the_admin_from_the_header_and_comes_back(visit):
    tab = visit("demo-editor")
    with tab.page.expect_navigation():
        tab.page.click('#hh-header [data-nav="admin"]')
    assert tab.page.url.endswith("/admin/")
    assert tab.page.locator("#site-name").count() == 1  # the admin's own page, signed in
    with tab.page.expect_navigation():
        tab.page.click('a[href="/"]')  # the admin's "view site" link
    assert tab.page.url.rstrip("/") == tab.base
    assert tab.page.locator("#hh-user").count() == 1
    signs_out_and_is_anonymous(tab)


def test_visitor_opens_the_tour_from_home_and_switches_language(visit):
    tab = visit(None, viewport={"width": 390, "height": 844})
    tab.open("/")
    assert tab.page.locator("#hh-signin").count() == 1
    # Anonymous visitors see only public layers listed.
    listed = tab.page.eval_on_selector_all(
        "#hh-layers tr[data-layer]", "r => r.map(e => e.dataset.layer)"
    )
    assert set(listed) == {spec.slug for spec in registry.LAYERS if spec.is_public}
    with tab.page.expect_navigation():
        tab.page.click('[data-card="tour"] h3 a')
    tab.wait_ready()
    assert tab.page.locator("h1").inner_text() == "大庙弄文化游览图"
    # The tour's header stays clean: no navigation, no sign-in prompt.
    assert tab.page.locator("#hh-header nav").count() == 0
    assert tab.page.locator("#hh-signin").count() == 0
    with tab.page.expect_navigation():
        tab.page.click("#hh-lang")
    tab.wait_ready()
    assert tab.page.locator("h1").inner_text() == "Damiaonong cultural tour"
    assert tab.page.title().startswith("Damiaonong cultural tour")
    with tab.page.expect_navigation():
        tab.page.click("#hh-lang")
    tab.wait_ready()
    assert tab.page.locator("h1").inner_text() == "大庙弄文化游览图"
    attribution = tab.page.locator(".leaflet-control-attribution").inner_text()
    assert attribution.startswith("Leaflet") and "荷花池街道" in attribution
    assert tab.page.locator(".leaflet-control-attribution svg").count() == 0  # no flag icon
    assert tab.errors == []


def test_a_wrong_password_is_refused_with_a_clear_message(visit):
    tab = visit(None)
    tab.sign_in("demo-planner", "not-the-password")
    assert "/accounts/login/" in tab.page.url
    assert "正确的用户名和密码" in tab.page.locator("#hh-login-error").inner_text()
    assert tab.page.locator("#hh-user").count() == 0


def test_sign_in_follows_next_to_the_page_that_asked(visit):
    tab = visit(None)
    tab.open("/maps/planning/")
    assert "/accounts/login/?next=/maps/planning/" in tab.page.url
    tab.page.fill("#id_username", "demo-planner")
    tab.page.fill("#id_password", PASSWORD)
    with tab.page.expect_navigation():
        tab.page.click("#hh-login-submit")
    assert tab.page.url.endswith("/maps/planning/")


@pytest.fixture(scope="module")
def roleless_user(django_db_setup, django_db_blocker):
    """A committed account with no role (the server process sees only committed rows)."""
    with django_db_blocker.unblock(), production_hashers():
        user = get_user_model().objects.create_user("new-colleague", password=PASSWORD)
    yield user
    with django_db_blocker.unblock():
        user.delete()


def test_an_account_without_a_role_is_told_whom_to_ask(visit, roleless_user):
    tab = visit("new-colleague")
    panel = tab.page.locator("#hh-no-role")
    assert panel.count() == 1
    assert "demo-editor" in panel.inner_text()  # an editor, by name
    assert "尚未分配角色" in tab.page.locator("#hh-user").inner_text()
    response = tab.open("/maps/planning/")
    assert response.status == 403
    assert tab.page.locator("#hh-forbidden #hh-no-role").count() == 1
    assert tab.page.locator("#hh-header").count() == 1
    signs_out_and_is_anonymous(tab)


def test_a_token_is_shown_once_works_and_can_be_revoked(visit):
    tab = visit("demo-planner")
    with tab.page.expect_navigation():
        tab.page.click("#hh-user a")
    assert tab.page.url.endswith("/accounts/tokens/")
    tab.page.fill("#id_token_name", "QGIS on my laptop")
    with tab.page.expect_navigation():
        tab.page.click("#hh-token-form button")
    key = tab.page.locator("#hh-new-key").inner_text().strip()
    assert len(key) >= 40
    fetch = (
        "key => fetch('/api/v1/renovation-sites/?page_size=1', {credentials: 'omit', "
        "headers: {Authorization: 'Token ' + key}}).then(r => r.status)"
    )
    assert tab.page.evaluate(fetch, key) == 200
    tab.open("/accounts/tokens/")
    assert key not in tab.page.content()  # shown once, then only its first characters
    row = tab.page.locator("tr", has_text="QGIS on my laptop")
    assert key[:8] in row.inner_text()
    with tab.page.expect_navigation():
        row.locator("button").click()
    assert tab.page.evaluate(fetch, key) == 401
    signs_out_and_is_anonymous(tab)


@pytest.fixture(scope="module")
def colleague_with_a_role(django_db_setup, django_db_blocker):
    """A committed planner of this test's own (its password changes; others keep theirs)."""
    from django.contrib.auth.models import Group

    with django_db_blocker.unblock(), production_hashers():
        user = get_user_model().objects.create_user("pw-changer", password=PASSWORD)
        user.groups.add(Group.objects.get(name="planner"))
    yield user
    with django_db_blocker.unblock():
        user.delete()


def test_a_user_changes_their_password_from_the_header(visit, colleague_with_a_role):
    tab = visit("pw-changer")
    with tab.page.expect_navigation():
        tab.page.click('#hh-header a[href="/accounts/password/"]')
    new = "Lotus-pond-2026-renewed"
    tab.page.fill("#id_old_password", PASSWORD)
    tab.page.fill("#id_new_password1", new)
    tab.page.fill("#id_new_password2", new)
    with tab.page.expect_navigation():
        tab.page.click("#hh-password-form button")
    assert tab.page.url.endswith("/accounts/password/done/")
    assert tab.page.locator("#hh-user").count() == 1  # still signed in
    tab.sign_out()
    tab.sign_in("pw-changer", PASSWORD)
    assert "/accounts/login/" in tab.page.url  # the old one no longer works
    tab.sign_in("pw-changer", new)
    assert tab.page.url.rstrip("/") == tab.base
    assert tab.errors == []
