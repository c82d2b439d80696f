"""The front door: sign-in, sign-out, password change, the home page per role, the header on
every page, API tokens and the forbidden page."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY

from layers.auth.tokens import ApiToken, digest
from layers.domain import models, registry
from layers.domain import vocabularies as status
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER
from tests.conftest import PASSWORD, make_user
from tests.test_tiles import tile_of

pytestmark = pytest.mark.django_db


def sign_in(client, username, password=PASSWORD, next_path=None):
    data = {"username": username, "password": password}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/accounts/login/", data)


@pytest.mark.parametrize("username", ["demo-planner", "demo-inspector", "grid-01", "demo-editor"])
def test_every_sample_role_signs_in_through_the_form_and_lands_home(client, username):
    response = sign_in(client, username)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session[SESSION_KEY]
    home = client.get("/")
    assert home.status_code == 200
    assert 'id="hh-signout"' in home.content.decode()


def test_a_wrong_password_is_refused_with_a_clear_message(client):
    response = sign_in(client, "demo-planner", "wrong")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="hh-login-error"' in body and "正确的用户名和密码" in body
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "http://testserver/maps/planning/",  # our host, but not a path
        "javascript:alert(1)",
        "maps/planning/",
        "/maps/\nplanning/",
    ],
)
def test_next_is_honoured_only_for_our_own_paths(client, target):
    response = sign_in(client, "demo-planner", next_path=target)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_next_to_our_own_path_is_followed(client):
    response = sign_in(client, "demo-planner", next_path="/maps/planning/?x=1")
    assert response["Location"] == "/maps/planning/?x=1"


def test_sign_out_is_a_post_and_ends_the_session(client):
    sign_in(client, "demo-planner")
    assert client.get("/accounts/logout/").status_code == 405
    assert SESSION_KEY in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert SESSION_KEY not in client.session
    assert client.get("/maps/planning/")["Location"] == "/accounts/login/?next=/maps/planning/"


def test_password_change_keeps_the_user_signed_in_and_the_new_password_works(client):
    make_user("pw-user", PLANNER)
    sign_in(client, "pw-user")
    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Lotus-pond-2026-new",
            "new_password2": "Lotus-pond-2026-new",
        },
    )
    assert response["Location"] == "/accounts/password/done/"
    assert client.get("/").status_code == 200 and SESSION_KEY in client.session
    client.post("/accounts/logout/")
    assert sign_in(client, "pw-user", "Lotus-pond-2026-new")["Location"] == "/"


def test_password_change_refuses_a_wrong_old_password(client):
    make_user("pw-user2", PLANNER)
    sign_in(client, "pw-user2")
    response = client.post(
        "/accounts/password/",
        {"old_password": "nope", "new_password1": "Xy-12345-ab", "new_password2": "Xy-12345-ab"},
    )
    assert response.status_code == 200 and "old_password" in response.context["form"].errors


def cards(response) -> list[str]:
    return [c["destination"].key for c in response.context["cards"]]


def figures(response, key) -> list[int]:
    for card in response.context["cards"]:
        if card["destination"].key == key:
            return [f.value for f in card["figures"]]
    raise AssertionError(f"no card {key}")


def test_home_for_the_public_offers_the_tour_and_public_links(client):
    response = client.get("/")
    assert cards(response) == ["tour"]
    body = response.content.decode()
    assert 'id="hh-signin"' in body
    assert "/ogc/" in body and "/api/v1/layers/" in body and "/tiles/viewpoints.json" in body
    public = {spec.slug for spec in registry.LAYERS if spec.is_public}
    assert {row["slug"] for row in response.context["layers"]} == public
    assert figures(response, "tour") == [models.CulturalViewpoint.objects.count()]


def test_home_for_a_planner_has_the_planning_map_with_live_figures(client):
    sign_in(client, "demo-planner")
    response = client.get("/")
    assert cards(response) == [
        "tour",
        "planning",
        "dashboard",
        "progress",
        "api-docs",
        "jobs",
        "tokens",
    ]
    sites = models.RenovationSite.objects
    assert figures(response, "planning") == [
        sites.filter(status="construction").count(),
        sites.count(),
    ]
    # The figure follows the data.
    site = sites.exclude(status="construction").filter(kind="old_community").first()
    models.RenovationSite.objects.filter(pk=site.pk).update(status="construction")
    assert figures(client.get("/"), "planning")[0] == figures(response, "planning")[0] + 1


def test_home_for_a_grid_worker_counts_open_and_overdue_hazards_in_their_grid(client):
    sign_in(client, "grid-01")
    response = client.get("/")
    assert cards(response) == [
        "tour",
        "inspection",
        "field",
        "dashboard",
        "api-docs",
        "jobs",
        "tokens",
    ]
    grids = models.GridCell.objects.filter(worker__username="grid-01")
    hazards = models.SafetyHazard.objects
    open_in_grid = hazards.filter(grid_cell__in=grids, status__in=status.HAZARD_OPEN_STATUSES)
    overdue_in_grid = hazards.filter(models.SafetyHazard.overdue_q(), grid_cell__in=grids)
    assert figures(response, "inspection") == [
        open_in_grid.count(),
        hazards.filter(status__in=status.HAZARD_OPEN_STATUSES).count(),
        overdue_in_grid.count(),
    ]
    assert overdue_in_grid.count() > 0  # the sample data makes the figure meaningful


def test_home_for_an_inspector_without_a_grid_counts_all_overdue(client):
    sign_in(client, "demo-inspector")
    response = client.get("/")
    overdue = models.SafetyHazard.objects.filter(models.SafetyHazard.overdue_q()).count()
    assert figures(response, "inspection")[-1] == overdue


def test_home_for_an_editor_offers_everything_including_the_admin(client):
    sign_in(client, "demo-editor")
    response = client.get("/")
    assert cards(response) == [
        "tour",
        "planning",
        "inspection",
        "field",
        "dashboard",
        "progress",
        "api-docs",
        "jobs",
        "tokens",
        "import",
        "admin",
    ]
    assert len(response.context["layers"]) == len(registry.LAYERS)


def test_an_account_without_a_role_is_told_so_and_whom_to_ask(client):
    make_user("no-role", None)
    sign_in(client, "no-role")
    response = client.get("/")
    body = response.content.decode()
    assert 'id="hh-no-role"' in body
    assert "demo-editor" in body  # an editor, named
    assert cards(response) == ["tour", "tokens"]
    forbidden = client.get("/maps/planning/")
    assert forbidden.status_code == 403
    assert 'id="hh-forbidden"' in forbidden.content.decode()
    assert 'id="hh-header"' in forbidden.content.decode()


def test_an_inspector_is_refused_the_planning_map_with_a_page_not_a_bare_403(client):
    sign_in(client, "demo-inspector")
    response = client.get("/maps/planning/")
    assert response.status_code == 403
    assert "hh-forbidden" in response.content.decode()


def test_the_api_still_answers_json_403(client):
    make_user("no-role2", None)
    sign_in(client, "no-role2")
    response = client.post("/api/v1/viewpoints/", {}, content_type="application/json")
    assert response.status_code == 403 and response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "path,user",
    [
        ("/", None),
        ("/", "demo-editor"),
        ("/tour/", None),
        ("/accounts/login/", None),
        ("/maps/planning/", "demo-planner"),
        ("/maps/inspection/", "grid-01"),
        ("/accounts/tokens/", "demo-planner"),
        ("/accounts/password/", "demo-planner"),
    ],
)
def test_one_header_on_every_page(client, path, user):
    if user:
        sign_in(client, user)
    body = client.get(path).content.decode()
    assert body.count('id="hh-header"') == 1
    assert 'id="hh-lang"' in body and 'id="hh-page-title"' in body
    assert "/static/img/favicon" in body
    if user:
        assert 'id="hh-signout"' in body and 'id="hh-user"' in body


def test_internal_pages_are_linked_from_the_header_by_role(client):
    sign_in(client, "demo-editor")
    body = client.get("/tour/").content.decode()
    for link in ('href="/maps/planning/"', 'href="/maps/inspection/"', 'href="/admin/"'):
        assert link in body
    client.post("/accounts/logout/")
    sign_in(client, "demo-planner")
    body = client.get("/maps/planning/").content.decode()
    assert 'href="/maps/planning/"' in body and 'href="/admin/"' not in body
    assert 'href="/maps/inspection/"' not in body


def test_the_public_tour_header_is_clean(client):
    body = client.get("/tour/").content.decode()
    assert 'class="hh-nav"' not in body and 'id="hh-signin"' not in body
    assert "<title>大庙弄文化游览图 · 荷花池街道地图服务</title>" in body


def test_page_titles_name_the_page_in_the_active_language(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "<title>Home · Hehuachi map service</title>" in client.get("/").content.decode()
    body = client.get("/accounts/login/").content.decode()
    assert "<title>Sign in · Hehuachi map service</title>" in body


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header


# --- API tokens --------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_only_as_a_hash(client):
    user = make_user("field", INSPECTOR)
    sign_in(client, "field")
    response = client.post("/accounts/tokens/", {"name": "巡查 App"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    key = response.context["new_key"]
    token = ApiToken.objects.get(user=user)
    assert token.key_digest == digest(key) and key not in (token.key_digest, token.prefix)
    assert token.prefix == key[:8]
    listing = client.get("/accounts/tokens/").content.decode()
    assert key not in listing and f"{key[:8]}…" in listing
    api = client.__class__()
    assert api.get("/api/v1/hazards/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("name", ["", " ", "x" * 81, "a\x00b"])
def test_a_token_needs_a_sensible_name(client, name):
    make_user("field2", INSPECTOR)
    sign_in(client, "field2")
    response = client.post("/accounts/tokens/", {"name": name})
    assert response.status_code == 200 and response.context["new_key"] is None
    assert not ApiToken.objects.filter(user__username="field2").exists()


def test_a_user_revokes_their_own_token_and_it_stops_working(client):
    user = make_user("field3", INSPECTOR)
    token, key = ApiToken.issue(user, "old phone")
    sign_in(client, "field3")
    assert client.get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 405
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/")
    assert response["Location"] == "/accounts/tokens/"
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == user
    api = client.__class__()
    assert api.get("/api/v1/hazards/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_nobody_but_an_editor_revokes_someone_elses_token(client):
    owner = make_user("owner", INSPECTOR)
    token, key = ApiToken.issue(owner, "tablet")
    make_user("other", PLANNER)
    sign_in(client, "other")
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert "tablet" not in client.get("/accounts/tokens/").content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
    client.post("/accounts/logout/")
    editor = make_user("boss", EDITOR, staff=True)
    sign_in(client, "boss")
    assert "tablet" in client.get("/accounts/tokens/").content.decode()
    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_by == editor


def test_a_token_of_a_deactivated_user_is_refused(client):
    user = make_user("gone", INSPECTOR)
    _token, key = ApiToken.issue(user, "x")
    user.is_active = False
    user.save()
    assert client.get("/api/v1/hazards/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token \u00e9\u00e9", "Token nope"])
def test_malformed_tokens_are_401_not_500(client, header):
    response = client.get("/api/v1/hazards/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_the_tokens_page_needs_a_signed_in_user(client):
    response = client.get("/accounts/tokens/")
    assert response["Location"] == "/accounts/login/?next=/accounts/tokens/"


def test_create_token_command_prints_a_working_key(client):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("create_token", "demo-inspector", "--name", "QField", stdout=out)
    key = out.getvalue().strip()
    assert ApiToken.objects.get(key_digest=digest(key)).name == "QField"
    assert client.get("/api/v1/hazards/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    with pytest.raises(CommandError, match="no active user"):
        call_command("create_token", "nobody")


def test_the_admin_login_points_everyone_else_to_the_site_sign_in(client):
    body = client.get("/admin/login/").content.decode()
    assert 'id="hh-admin-login-note"' in body and 'href="/accounts/login/"' in body
    assert 'id="login-form"' in body  # the admin's own form is still there for editors


def test_a_tokens_roles_are_read_with_it_on_every_request(client):
    """The token lookup brings the user's roles in the same query (layers/auth/tokens.py):
    nothing is kept between requests, so a role taken away ends access on the next one."""
    from django.contrib.auth.models import Group

    user = make_user("roles-by-token", PLANNER)
    _token, key = ApiToken.issue(user, "desktop")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    listed = client.get("/api/v1/buildings/?page_size=1", **auth)
    assert listed.status_code == 200
    assert "updated_by" in listed.json()["features"][0]["properties"]  # a role's fields
    # The tile of a real building: a reader gets its data (200), never an empty 204.
    corner = models.Building.objects.order_by("pk").first().geom.point_on_surface
    tile = "/tiles/buildings/16/{}/{}.pbf".format(*tile_of(corner.x, corner.y, 16))
    assert client.get(tile, **auth).status_code == 200
    user.groups.remove(Group.objects.get(name=PLANNER))
    assert client.get(tile, **auth).status_code == 403
    user.groups.add(Group.objects.get(name=EDITOR))
    assert client.get(tile, **auth).status_code == 200
