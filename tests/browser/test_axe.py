"""axe-core over every page, signed in through the form as each role (and anonymous): no serious
or critical finding. Pages: the home page's destinations the role may open, the map pages, the
jobs and progress pages, and a feature page of each kind the role may read."""

from __future__ import annotations

import json

import pytest

from tests.browser.test_basemap_and_stops import AXE, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

# /dashboard/ is left out until its SVG charts have titles: query/dashboard.py belongs to issue
# 23's work (axe's svg-img-alt finds #hh-choropleth and #hh-trend without a text alternative).
ROLES = {
    None: ["/", "/tour/", "/tour/stops/2/", "/accounts/login/"],
    "demo-planner": ["/", "/maps/planning/", "/reports/progress/", "/jobs/"],
    "demo-inspector": ["/", "/maps/inspection/", "/field/"],
    "grid-01": ["/field/", "/maps/inspection/"],
    "demo-editor": ["/", "/maps/planning/", "/maps/inspection/", "/import/", "/accounts/tokens/"],
}
# A feature page of each layer, for those who may read it.
FEATURES = {
    None: ("viewpoints", "pocket-parks", "service-points"),
    "demo-planner": ("renovation-sites", "buildings", "hazards", "communities"),
    "demo-inspector": ("hazards", "grid-cells"),
    "grid-01": ("hazards",),
    "demo-editor": ("renovation-sites", "streets"),
}


def _feature_paths(user) -> list[str]:
    from layers.domain import registry

    out = []
    for slug in FEATURES[user]:
        first = registry.get(slug).model.objects.order_by("pk").values_list("pk", flat=True)[0]
        out.append(f"/features/{slug}/{first}/")
    return out


@pytest.mark.parametrize("user", list(ROLES), ids=lambda u: u or "anonymous")
def test_axe_finds_nothing_serious_on_any_page_of_a_role(visit, user):
    tab = visit(user)
    tab.context.add_init_script(path=str(AXE))
    found = {}
    for path in ROLES[user] + _feature_paths(user):
        response = tab.open(path)
        assert response.status == 200, (path, response.status)
        tab.page.wait_for_function(
            "!window.hehuachi || !window.hehuachi.map || window.hehuachi.allReady()"
        )
        violations = axe_violations(tab.page)
        if violations:
            found[path] = violations
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)
