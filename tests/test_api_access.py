"""Who may do what: every role × every layer × every verb, and what the public may see."""

from __future__ import annotations

import json

import pytest

from layers import models, registry
from layers.query import access
from layers.roles import EDITOR, INSPECTOR, PLANNER

pytestmark = pytest.mark.django_db

ROLES = (None, INSPECTOR, PLANNER, EDITOR)
VERBS = ("list", "retrieve", "create", "update", "delete")


def expected_status(role, spec, verb) -> set[int]:
    reads = verb in ("list", "retrieve")
    if role is None:
        if reads and spec.is_public:
            return {200}
        return {401}
    if reads:
        return {200}
    if role in spec.edit_roles:
        # Writes are authorised; the empty body then fails validation (400) or the missing
        # version is asked for (428). Never 401/403.
        return {400, 428} if verb != "delete" else {428}
    return {403}


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("slug", registry.slugs())
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_permission_matrix(role_client, role, slug, verb):
    spec = registry.get(slug)
    client = role_client(role)
    pk = spec.model.objects.order_by("pk").first().pk
    url, detail = f"/api/v1/{slug}/", f"/api/v1/{slug}/{pk}/"
    response = {
        "list": lambda: client.get(url),
        "retrieve": lambda: client.get(detail),
        "create": lambda: client.post(url, {}, format="json"),
        "update": lambda: client.patch(detail, {}, format="json"),
        "delete": lambda: client.delete(detail),
    }[verb]()
    assert response.status_code in expected_status(role, spec, verb), response.content
    if response.status_code in (401, 403):
        assert "features" not in response.json() and "geometry" not in response.json()
    assert spec.model.objects.filter(pk=pk).exists()  # nothing was deleted by a refusal


def test_anonymous_401_names_the_token_scheme(role_client):
    response = role_client(None).get("/api/v1/hazards/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_logged_in_user_without_a_role_is_refused(client):
    from tests.conftest import make_user

    client.force_login(make_user("no-role", None))
    assert client.get("/api/v1/hazards/").status_code == 403
    assert client.get("/api/v1/viewpoints/").status_code == 200


@pytest.mark.parametrize("slug", ["viewpoints", "pocket-parks"])
def test_anonymous_sees_only_public_fields(role_client, slug):
    spec = registry.get(slug)
    client = role_client(None)
    body = client.get(f"/api/v1/{slug}/?page_size=1000").json()
    assert len(body["features"]) == spec.model.objects.count()
    for feature in body["features"]:
        assert set(feature["properties"]) <= set(spec.public_fields)
    text = json.dumps(body, ensure_ascii=False)
    for internal in ('"created_by"', '"updated_by"', '"version"', '"ref"', '"deleted_at"'):
        assert internal not in text
    one = client.get(f"/api/v1/{slug}/{body['features'][0]['id']}/").json()
    assert set(one["properties"]) <= set(spec.public_fields)
    staff = role_client(PLANNER).get(f"/api/v1/{slug}/{body['features'][0]['id']}/").json()
    assert {"version", "created_by"} <= set(staff["properties"])


def test_anonymous_cannot_see_history_or_deleted(role_client):
    spec = registry.get("viewpoints")
    viewpoint = spec.model.objects.order_by("pk").first()
    client = role_client(None)
    assert client.get(f"/api/v1/viewpoints/{viewpoint.pk}/history/").status_code == 401
    assert client.get("/api/v1/viewpoints/?deleted=true").status_code == 403
    viewpoint.soft_delete()
    assert client.get(f"/api/v1/viewpoints/{viewpoint.pk}/").status_code == 404
    assert role_client(PLANNER).get(f"/api/v1/viewpoints/{viewpoint.pk}/").status_code == 404
    assert role_client(EDITOR).get(f"/api/v1/viewpoints/{viewpoint.pk}/").status_code == 200


def test_inspector_creates_a_hazard_and_history_names_them(role_client):
    client = role_client(INSPECTOR)
    point = models.SafetyHazard.objects.order_by("pk").first().geom
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
        "properties": {"name": "新隐患", "category": "ebike", "level": "general"},
    }
    response = client.post("/api/v1/hazards/", body, format="json")
    assert response.status_code == 201, response.content
    created = models.SafetyHazard.objects.get(pk=response.json()["id"])
    assert created.created_by.username == "t-inspector"
    assert created.grid_cell is not None  # derived, not typed
    assert created.history.first().history_user.username == "t-inspector"


def test_token_auth_works_for_field_apps(client):
    from rest_framework.authtoken.models import Token

    from tests.conftest import make_user

    token = Token.objects.create(user=make_user("field-app", INSPECTOR))
    response = client.get("/api/v1/hazards/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert client.get("/api/v1/hazards/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_readable_layers_follow_the_registry():
    from django.contrib.auth.models import AnonymousUser

    assert [s.slug for s in access.readable_layers(AnonymousUser())] == [
        s.slug for s in registry.LAYERS if s.is_public
    ]
