"""Who may do what: every role × every layer × every verb, and what the public may see."""

from __future__ import annotations

import json

import pytest

from layers.domain import models
from layers.domain import registry
from layers.domain import vocabularies as status
from layers.query import access
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER

pytestmark = pytest.mark.django_db

ROLES = (None, INSPECTOR, PLANNER, EDITOR)
VERBS = ("list", "retrieve", "create", "update", "delete")
RENAMED = "权限矩阵 matrix"


def expected_status(role, spec, verb) -> int:
    """What a caller gets for a VALID request (writes carry a valid body and the current
    version): the refusals are about the role, never about the request."""
    reads = verb in ("list", "retrieve")
    if role is None and not (reads and spec.is_public):
        return 401
    if reads:
        return 200
    if role not in spec.edit_roles:
        return 403
    return {"create": 201, "update": 200, "delete": 204}[verb]


@pytest.fixture
def valid_body():
    """A valid new feature of a layer, read through the API by an editor of the sample data."""
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from tests.factories import new_feature_body

    reader = APIClient()
    reader.force_authenticate(get_user_model().objects.get(username="demo-editor"))
    return lambda spec: new_feature_body(spec, reader)


def editable_feature(spec):
    """The first feature a plain edit may touch: for a layer with a lifecycle, an open one (a
    closed hazard is on the record; see tests/test_workflow.py)."""
    features = spec.model.objects.order_by("pk")
    if spec.workflow_module is not None:
        features = features.filter(status__in=status.HAZARD_OPEN_STATUSES)
    return features.first()


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("slug", registry.slugs())
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_permission_matrix(role_client, valid_body, role, slug, verb):
    """Every role × layer × verb with a valid request: a permitted write SUCCEEDS (create 201,
    update with the current If-Match 200 and a new version, delete with it 204) and does what
    it says; a refused one is 401/403, carries no data and changes nothing."""
    spec = registry.get(slug)
    client = role_client(role)
    feature = editable_feature(spec)
    pk, version, name = feature.pk, feature.version, feature.name
    count = spec.model.all_objects.count()
    url, detail = f"/api/v1/{slug}/", f"/api/v1/{slug}/{pk}/"
    if_match = {"HTTP_IF_MATCH": f'"{version}"'}
    response = {
        "list": lambda: client.get(url),
        "retrieve": lambda: client.get(detail),
        "create": lambda: client.post(url, valid_body(spec), format="json"),
        "update": lambda: client.patch(
            detail, {"properties": {"name": RENAMED}}, format="json", **if_match
        ),
        "delete": lambda: client.delete(detail, **if_match),
    }[verb]()
    expected = expected_status(role, spec, verb)
    assert response.status_code == expected, (role, slug, verb, response.content[:300])

    stored = spec.model.all_objects.get(pk=pk)
    if expected in (401, 403):
        body = response.json()
        assert "features" not in body and "geometry" not in body
        assert spec.model.all_objects.count() == count
        assert (stored.version, stored.name, stored.deleted_at) == (version, name, None)
    elif verb == "create":
        created = spec.model.objects.get(pk=response.json()["id"])
        assert spec.model.all_objects.count() == count + 1 and created.version == 1
        assert created.created_by.username == f"t-{role}"
    elif verb == "update":
        assert (stored.version, stored.name) == (version + 1, RENAMED)
        assert response["ETag"] == f'"{version + 1}"'
        assert stored.updated_by.username == f"t-{role}"
    elif verb == "delete":
        assert stored.deleted_at is not None and stored.version == version + 1
        assert not spec.model.objects.filter(pk=pk).exists()
    else:
        assert response.json()["type"] in ("Feature", "FeatureCollection")
        assert (stored.version, stored.deleted_at) == (version, None)


@pytest.mark.parametrize("slug", registry.slugs())
def test_a_permitted_write_still_needs_the_current_version(role_client, slug):
    spec = registry.get(slug)
    client = role_client(spec.edit_roles[0])
    feature = editable_feature(spec)
    detail = f"/api/v1/{slug}/{feature.pk}/"
    change = {"properties": {"name": RENAMED}}
    assert client.patch(detail, change, format="json").status_code == 428
    stale = {"HTTP_IF_MATCH": f'"{feature.version + 1}"'}
    assert client.patch(detail, change, format="json", **stale).status_code == 412
    assert client.delete(detail, **stale).status_code == 412
    stored = spec.model.all_objects.get(pk=feature.pk)
    assert (stored.version, stored.name, stored.deleted_at) == (feature.version, feature.name, None)


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
    from layers.auth.tokens import ApiToken
    from tests.conftest import make_user

    _token, key = ApiToken.issue(make_user("field-app", INSPECTOR), "field app")
    response = client.get("/api/v1/hazards/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert client.get("/api/v1/hazards/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_readable_layers_follow_the_registry():
    from django.contrib.auth.models import AnonymousUser

    assert [s.slug for s in access.readable_layers(AnonymousUser())] == [
        s.slug for s in registry.LAYERS if s.is_public
    ]
