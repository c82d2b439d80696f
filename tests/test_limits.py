"""Guessing is throttled: sign-in lockout (django-axes, per user and per address, cool-down,
editors unlock in the admin), wrong API tokens, and anonymous REST/OGC/tile rate limits, each
answered 429 with Retry-After. The suite lifts these limits (tests/conftest.py); here each one
is set low on purpose and checked."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings

from layers.domain.roles import EDITOR
from tests.conftest import PASSWORD, make_user


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _sign_in(client, username, password, path="/accounts/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def _assert_429(response):
    assert response.status_code == 429, (response.status_code, response.content[:200])
    assert int(response["Retry-After"]) >= 1


@override_settings(AXES_FAILURE_LIMIT=3)
def test_sign_in_locks_out_a_user_after_repeated_failures_and_an_editor_unlocks(client, db):
    from axes.models import AccessAttempt

    make_user("t-victim", None)
    for _ in range(2):
        assert _sign_in(client, "t-victim", "wrong").status_code == 200  # the form again
    _assert_429(_sign_in(client, "t-victim", "wrong"))  # the third failure locks
    # Locked: even the right password is refused, with a page that says so.
    locked = _sign_in(client, "t-victim", PASSWORD)
    _assert_429(locked)
    assert "locked" in locked.content.decode().lower() or "登录" in locked.content.decode()
    # The admin's sign-in is the same door.
    _assert_429(_sign_in(client, "t-victim", PASSWORD, path="/admin/login/"))
    # An editor sees the lockout in the admin and lifts it.
    editor_client = client.__class__()
    editor_client.force_login(make_user("t-unlocker", EDITOR, staff=True))
    listing = editor_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "t-victim" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="t-victim")
    delete_url = f"/admin/axes/accessattempt/{attempt.pk}/delete/"
    assert editor_client.post(delete_url, {"post": "yes"}).status_code == 302
    assert _sign_in(client, "t-victim", PASSWORD).status_code == 302  # signed in


@override_settings(AXES_FAILURE_LIMIT=3)
def test_sign_in_locks_out_an_address_trying_many_users(client, db):
    for n in range(3):
        _sign_in(client, f"t-guess-{n}", "wrong", REMOTE_ADDR="203.0.113.7")
    make_user("t-fresh", None)
    _assert_429(_sign_in(client, "t-fresh", PASSWORD, REMOTE_ADDR="203.0.113.7"))
    # Another address is not affected.
    assert _sign_in(client, "t-fresh", PASSWORD, REMOTE_ADDR="203.0.113.8").status_code == 302


@override_settings(AXES_FAILURE_LIMIT=2, AXES_COOLOFF_TIME=0.001)  # 3.6 s
def test_lockout_ends_after_the_cool_down(client, db):
    import datetime

    import time_machine as tm
    from django.utils import timezone

    make_user("t-cool", None)
    for _ in range(2):
        _sign_in(client, "t-cool", "wrong")
    _assert_429(_sign_in(client, "t-cool", PASSWORD))
    with tm.travel(timezone.now() + datetime.timedelta(minutes=1), tick=False):
        assert _sign_in(client, "t-cool", PASSWORD).status_code == 302


@override_settings(TOKEN_FAILURE_LIMIT=3)
@pytest.mark.parametrize(
    "path", ["/api/v1/viewpoints/", "/ogc/collections", "/tiles/viewpoints.json"]
)
def test_wrong_tokens_are_throttled_per_address(client, db, path):
    from layers.auth.tokens import ApiToken

    _token, key = ApiToken.issue(make_user("t-tokens", EDITOR), "t")
    for n in range(3):
        response = client.get(path, HTTP_AUTHORIZATION=f"Token wrong-{n}")
        # A wrong token is refused (never read as anonymous), with the challenge.
        assert response.status_code == 401, response.status_code
        assert "Token" in response["WWW-Authenticate"]
    _assert_429(client.get(path, HTTP_AUTHORIZATION="Token wrong-again"))
    # While this address is blocked even a right key is refused (no oracle for guessers) ...
    _assert_429(client.get(path, HTTP_AUTHORIZATION=f"Token {key}"))
    # ... and another address is not.
    other = client.get(path, HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR="198.51.100.1")
    assert other.status_code == 200


@override_settings(API_THROTTLE_RATES={"anon": "3/min"})
def test_anonymous_rest_api_is_rate_limited(client, db):
    for _ in range(3):
        assert client.get("/api/v1/viewpoints/").status_code == 200
    _assert_429(client.get("/api/v1/viewpoints/"))
    # Signed-in callers are not limited by the anonymous rate.
    client.force_login(make_user("t-limit-planner", "planner"))
    assert client.get("/api/v1/viewpoints/").status_code == 200


@override_settings(THROTTLE_ANON_OGC=3, THROTTLE_ANON_TILES=2)
def test_anonymous_ogc_and_tiles_are_rate_limited(client, db):
    for _ in range(3):
        assert client.get("/ogc/collections").status_code == 200
    _assert_429(client.get("/ogc/collections/viewpoints/items"))
    for _ in range(2):
        assert client.get("/tiles/viewpoints.json").status_code == 200
    _assert_429(client.get("/tiles/viewpoints.json"))
    # Per address: another one still gets answers.
    assert client.get("/ogc/collections", REMOTE_ADDR="198.51.100.2").status_code == 200
    client.force_login(make_user("t-limit-editor", EDITOR))
    assert client.get("/tiles/viewpoints.json").status_code == 200


def test_the_suite_runs_with_the_limits_lifted():
    """Guard: conftest lifts them; the production defaults are real limits (settings.py)."""
    from django.conf import settings

    from geo_service import settings as defaults

    assert settings.API_THROTTLE_RATES == {"anon": None}
    assert defaults.AXES_FAILURE_LIMIT <= 10 or "AXES_FAILURE_LIMIT" in __import__("os").environ
