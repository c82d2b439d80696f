"""axe-core over every page, signed in through the form as each role (and anonymous): no serious
or critical finding. Each role's pages are the ones its home page offers (the navigation's own
list, so a page added there is checked here), the pages every signed-in user has (inbox,
password), a feature page of every layer the role may read, the dashboard's drill-down list,
and for the editor the admin's pages."""

from __future__ import annotations

import json

import pytest

from tests.browser.test_basemap_and_stops import AXE, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

USERS = [None, "demo-planner", "demo-inspector", "grid-01", "demo-editor"]


def pages_of(username: str | None) -> list[str]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser
    from django.urls import reverse

    from layers.channels.portal import nav
    from layers.domain import registry
    from layers.domain.models import GridCell, SafetyHazard
    from layers.query import access

    user = AnonymousUser() if username is None else get_user_model().objects.get(username=username)
    paths = ["/", *(d.url for d in nav.destinations_for(user))]
    if username is None:
        paths += ["/accounts/login/", "/tour/stops/2/"]
    else:
        paths += ["/inbox/", reverse("password_change")]
    if nav.pages.allows(user, "api-docs"):
        paths.append(reverse("api:redoc"))
    if nav.pages.allows(user, "dashboard"):
        grid = GridCell.objects.order_by("code").first()
        paths.append(f"{reverse('dashboard-hazards')}?grid={grid.code}")
    for spec in registry.LAYERS:
        if access.can_read(user, spec):
            first = spec.model.objects.order_by("pk").values_list("pk", flat=True)[0]
            paths.append(reverse("feature", args=[spec.slug, first]))
    if user.is_staff:
        hazard = SafetyHazard.objects.order_by("pk").first()
        paths += [
            reverse("admin:layers_renovationsite_changelist"),
            reverse("admin:layers_renovationsite_add"),
            reverse("admin:layers_safetyhazard_change", args=[hazard.pk]),
            reverse("admin:layers_safetyhazard_history", args=[hazard.pk]),
            reverse("admin:layers_timelimit_changelist"),
            reverse("admin:axes_accessattempt_changelist"),
        ]
    return list(dict.fromkeys(paths))


def test_every_role_is_checked_on_the_pages_its_home_page_offers():
    """The sweep below reads the navigation, so it cannot miss a page the home page lists."""
    planner = pages_of("demo-planner")
    assert {"/maps/planning/", "/dashboard/", "/reports/progress/", "/jobs/"} <= set(planner)
    editor = pages_of("demo-editor")
    assert {"/import/", "/admin/", "/maps/inspection/", "/reports/intake/"} <= set(editor)
    assert {"/field/", "/maps/inspection/"} <= set(pages_of("grid-01"))
    assert {"/tour/", "/report/"} <= set(pages_of(None))


@pytest.mark.parametrize("user", USERS, ids=lambda u: u or "anonymous")
def test_axe_finds_nothing_serious_on_any_page_of_a_role(visit, user):
    tab = visit(user)
    tab.context.add_init_script(path=str(AXE))
    found = {}
    for path in pages_of(user):
        response = tab.open(path)
        assert response.status == 200, (path, response.status)
        tab.page.wait_for_function(
            "!window.hehuachi || !window.hehuachi.map || window.hehuachi.allReady()"
        )
        violations = axe_violations(tab.page)
        if violations:
            found[path] = violations
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)
