"""The one page gate (layers/auth/pages.py): every page is declared once with its roles; the
navigation offers a page to exactly those roles, and the page's view lets exactly them in
(anonymous: the sign-in form, coming back after it; wrong role: the 403 page)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from layers.auth import pages
from layers.channels.portal import nav
from layers.domain.roles import ALL_ROLES
from tests.conftest import make_user

GATED = {
    "/maps/planning/": "planning",
    "/maps/inspection/": "inspection",
    "/field/": "field",
    "/dashboard/": "dashboard",
}


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_destination_takes_its_roles_from_the_one_declaration():
    for destination in nav.DESTINATIONS:
        assert destination.roles == pages.roles_for(destination.key)


def test_an_unknown_page_name_fails_at_import_time():
    with pytest.raises(KeyError):
        pages.gate("no-such-page")


@pytest.mark.django_db
@pytest.mark.parametrize("path", GATED)
def test_anonymous_visitors_go_to_the_sign_in_form_and_come_back(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.django_db
@pytest.mark.parametrize("path", GATED)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_opens_exactly_the_pages_declared_for_it(path, role):
    allowed = role in pages.roles_for(GATED[path])
    user = make_user(f"gate-{role}", role)
    response = client_as(user).get(path)
    assert response.status_code == (200 if allowed else 403)
    offered = {d.key for d in nav.destinations_for(user)}
    assert (GATED[path] in offered) == allowed


@pytest.mark.django_db
def test_printing_a_map_signed_out_keeps_the_way_back():
    response = Client().post("/maps/planning/print/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/maps/planning/print/"


def test_the_public_may_open_the_public_pages_only():
    anonymous = AnonymousUser()
    assert pages.allows(anonymous, "tour") and pages.allows(anonymous, "home")
    assert not any(pages.allows(anonymous, p) for p in ("planning", "field", "import", "tokens"))
