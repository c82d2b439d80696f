"""/features/<layer>/<id>/: a page for every feature, for the roles that may read its layer."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from layers.domain.models import Building, CulturalViewpoint, RenovationSite, SafetyHazard
from layers.services import editing
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _signed_in(client, username):
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _page(client, username, slug, pk):
    return _signed_in(client, username).get(f"/features/{slug}/{pk}/")


def _article(response) -> str:
    html = response.content.decode()
    start = html.index('id="hh-feature"')
    return html[start : html.index("</article>", start)]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_site_page_names_it_and_shows_status_progress_households_and_buildings(client):
    site = RenovationSite.objects.get(ref="RS-011")
    response = _signed_in(client, "demo-planner").get(f"/features/renovation-sites/{site.pk}/")
    assert response.status_code == 200
    article = _article(response)
    text = _text(article)
    assert "客车厂片区征收（二地块）" in text
    assert f'data-status="{site.status}"' in article
    assert site.status_vocabulary.color(site.status) in article
    assert f'value="{site.progress}"' in article
    assert "涉及户数" in text and str(site.households_total) in text
    building = Building.objects.filter(renovation_site=site).order_by("name").first()
    assert f'href="/features/buildings/{building.pk}/"' in article
    assert "renovation_site" not in text and "households_total" not in text


def test_a_building_links_its_community_and_site_by_name(client):
    building = Building.objects.exclude(renovation_site=None).exclude(community=None).first()
    article = _article(_page(client, "demo-planner", "buildings", building.pk))
    site, community = building.renovation_site, building.community
    assert f'<a href="/features/renovation-sites/{site.pk}/">{site.name}</a>' in article
    assert f'<a href="/features/communities/{community.pk}/">{community.name}</a>' in article


def test_the_history_tells_who_changed_what_in_words(client):
    planner = get_user_model().objects.get(username="demo-planner")
    site = RenovationSite.objects.get(ref="RS-012")
    editing.update(site, {"progress": 55}, planner)
    article = _article(_page(client, "demo-editor", "renovation-sites", site.pk))
    text = _text(article)
    assert "李振华将进度(%)由「" in text and "」改为「55」" in text
    assert "demo-planner" not in article


def test_a_hazard_page_shows_time_left_and_the_steps_of_the_field_form(client):
    hazard = SafetyHazard.objects.filter(status="found", level="general").first()
    article = _article(_signed_in(client, "demo-inspector").get(f"/features/hazards/{hazard.pk}/"))
    assert f'href="/field/?hazard={hazard.pk}&amp;step=report"' in article
    open_one = SafetyHazard.objects.filter(status="rectifying").exclude(deadline=None).first()
    article = _article(_page(client, "demo-inspector", "hazards", open_one.pk))
    assert 'id="hh-time-left"' in article


def test_a_planner_sees_no_steps(client):
    hazard = SafetyHazard.objects.filter(status="found").first()
    article = _article(_signed_in(client, "demo-planner").get(f"/features/hazards/{hazard.pk}/"))
    assert "hh-feature-steps" not in article


def test_anonymous_readers_sign_in_for_internal_layers_and_read_public_ones(client):
    site = RenovationSite.objects.first()
    response = client.get(f"/features/renovation-sites/{site.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    viewpoint = CulturalViewpoint.objects.first()
    response = client.get(f"/features/viewpoints/{viewpoint.pk}/")
    assert response.status_code == 200
    assert "hh-feature-history" not in response.content.decode()  # history is for roles


def test_a_user_without_a_role_gets_404_and_so_do_unknown_features(client):
    client.force_login(make_user("t-norole", None))
    site = RenovationSite.objects.first()
    assert client.get(f"/features/renovation-sites/{site.pk}/").status_code == 404
    _signed_in(client, "demo-planner")
    assert client.get("/features/no-such-layer/1/").status_code == 404
    assert client.get("/features/renovation-sites/999999/").status_code == 404


def test_deleted_features_are_404_but_for_editors(client):
    site = RenovationSite.objects.get(ref="RS-013")
    editing.soft_delete(site, None)
    assert _page(client, "demo-planner", "renovation-sites", site.pk).status_code == 404
    assert _page(client, "demo-editor", "renovation-sites", site.pk).status_code == 200
