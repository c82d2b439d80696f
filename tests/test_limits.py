"""Guessing is throttled: sign-in lockout (django-axes, per (user, address) pair and per
address, cool-down, editors unlock in the admin), wrong API tokens (per prefix and address;
valid tokens never refused), and anonymous REST/OGC/tile rate limits, each answered 429 with
Retry-After. The suite lifts these limits (tests/conftest.py); here each one
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


OFFICE = "192.0.2.10"  # thirty staff behind one NAT address
ELSEWHERE = "198.51.100.20"
# The production defaults (the suite lifts them, tests/conftest.py).
PRODUCTION_LOCKOUT = override_settings(AXES_FAILURE_LIMIT=5, AXES_ADDRESS_FAILURE_LIMIT=50)


def _signed_in(response) -> bool:
    return response.status_code == 302


@PRODUCTION_LOCKOUT
def test_six_wrong_passwords_for_one_user_leave_the_office_able_to_sign_in(client, db):
    make_user("t-victim", None)
    make_user("t-colleague", None)
    for _ in range(6):
        _sign_in(client, "t-victim", "wrong", REMOTE_ADDR=OFFICE)
    # That pair waits: even the right password, from that address.
    locked = _sign_in(client, "t-victim", PASSWORD, REMOTE_ADDR=OFFICE)
    _assert_429(locked)
    # A colleague at the same address signs in through the same form ...
    assert _signed_in(_sign_in(client, "t-colleague", PASSWORD, REMOTE_ADDR=OFFICE))
    client.logout()
    # ... and the same user from another address too: pairs, not users or addresses.
    assert _signed_in(_sign_in(client, "t-victim", PASSWORD, REMOTE_ADDR=ELSEWHERE))


@PRODUCTION_LOCKOUT
def test_the_locked_page_says_when_to_try_again_in_chinese_and_english(client, db):
    import datetime

    from axes.models import AccessAttempt
    from django.utils import timezone

    make_user("t-paused", None)
    for _ in range(5):
        _sign_in(client, "t-paused", "wrong", REMOTE_ADDR=OFFICE)
    last = AccessAttempt.objects.get(username="t-paused").attempt_time
    until = timezone.localtime(last + datetime.timedelta(minutes=15)).strftime("%H:%M")
    zh = _sign_in(client, "t-paused", PASSWORD, REMOTE_ADDR=OFFICE)
    _assert_429(zh)
    text = zh.content.decode()
    assert f"请于 {until} 后再试" in text and 'id="hh-login-form"' in text
    assert 14 * 60 <= int(zh["Retry-After"]) <= 15 * 60
    en = _sign_in(client, "t-paused", PASSWORD, REMOTE_ADDR=OFFICE, HTTP_ACCEPT_LANGUAGE="en")
    assert f"You may try again at {until}" in en.content.decode()
    # The machine channels get JSON with the same time (HTTP Basic counts as sign-in).
    import base64

    raw = base64.b64encode(f"t-paused:{PASSWORD}".encode()).decode()
    basic = client.get(
        "/ogc/collections", HTTP_AUTHORIZATION=f"Basic {raw}", REMOTE_ADDR=OFFICE, secure=True
    )
    _assert_429(basic)
    assert basic.json()["locked_until"].startswith(timezone.localtime(last).date().isoformat()[:4])


@PRODUCTION_LOCKOUT
def test_usernames_that_do_not_exist_do_not_lock_the_address(client, db):
    make_user("t-real", None)
    for n in range(10):
        response = _sign_in(client, f"nobody-{n % 2}", "wrong", REMOTE_ADDR=OFFICE)
        assert response.status_code in (200, 429)
    assert _signed_in(_sign_in(client, "t-real", PASSWORD, REMOTE_ADDR=OFFICE))


@PRODUCTION_LOCKOUT
def test_spraying_many_usernames_blocks_the_address(client, db):
    make_user("t-sprayed", None)
    for n in range(50):
        assert _sign_in(client, f"guess-{n}", "wrong", REMOTE_ADDR=OFFICE).status_code in (
            200,
            429,
        )
    # The 50 failures are over many names: the address as a whole now waits ...
    _assert_429(_sign_in(client, "t-sprayed", PASSWORD, REMOTE_ADDR=OFFICE))
    _assert_429(_sign_in(client, "guess-99", "wrong", REMOTE_ADDR=OFFICE))
    # ... and no other address does.
    assert _signed_in(_sign_in(client, "t-sprayed", PASSWORD, REMOTE_ADDR=ELSEWHERE))


@override_settings(AXES_FAILURE_LIMIT=3)
def test_an_editor_unlocks_a_paused_user_in_the_admin(client, db):
    from axes.models import AccessAttempt

    make_user("t-victim", None)
    for _ in range(2):
        assert _sign_in(client, "t-victim", "wrong").status_code == 200  # the form again
    _assert_429(_sign_in(client, "t-victim", "wrong"))  # the third failure pauses the pair
    locked = _sign_in(client, "t-victim", PASSWORD)
    _assert_429(locked)
    # The admin's sign-in is the same door.
    _assert_429(_sign_in(client, "t-victim", PASSWORD, path="/admin/login/"))
    # An editor sees the pause in the admin, until when, and lifts it with the action.
    editor_client = client.__class__()
    editor_client.force_login(make_user("t-unlocker", EDITOR, staff=True))
    listing = editor_client.get("/admin/axes/accessattempt/")
    page = listing.content.decode()
    assert listing.status_code == 200 and "t-victim" in page and "解除登录锁定" in page
    attempt = AccessAttempt.objects.get(username="t-victim")
    done = editor_client.post(
        "/admin/axes/accessattempt/",
        {"action": "unlock", "_selected_action": [attempt.pk]},
        follow=True,
    )
    assert done.status_code == 200 and "t-victim" in done.content.decode()
    assert not AccessAttempt.objects.filter(username="t-victim").exists()
    assert _sign_in(client, "t-victim", PASSWORD).status_code == 302  # signed in


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


# --- the password-change form -------------------------------------------------------------


def _change(client, old, new="Lotus-pond-2026-new"):
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password1": new, "new_password2": new},
        REMOTE_ADDR=OFFICE,
    )


@PRODUCTION_LOCKOUT
def test_the_password_form_is_throttled_per_user_like_sign_in(client, db):
    import datetime

    import time_machine as tm
    from django.utils import timezone

    user = make_user("t-stolen-session", None)
    client.force_login(user)
    for n in range(4):
        wrong = _change(client, f"guess-{n}")
        assert wrong.status_code == 200 and "old_password" in wrong.context["form"].errors
    _assert_429(_change(client, "guess-4"))  # the fifth pauses the form, as sign-in does
    # Paused for this user, even with the right old password; the page says until when.
    paused = _change(client, PASSWORD)
    _assert_429(paused)
    text = paused.content.decode()
    assert "请于" in text and 'id="hh-password-paused"' in text
    user.refresh_from_db()
    assert user.check_password(PASSWORD)  # not changed
    # Another user's form is not paused.
    other = client.__class__()
    other.force_login(make_user("t-other-user", None))
    assert _change(other, PASSWORD).status_code == 302
    # The pause ends with the cool-off, and a right old password then works.
    with tm.travel(timezone.now() + datetime.timedelta(minutes=16), tick=False):
        client.force_login(user)
        assert _change(client, PASSWORD).status_code == 302
    user.refresh_from_db()
    assert user.check_password("Lotus-pond-2026-new")


@override_settings(TOKEN_FAILURE_LIMIT=3, TOKEN_ADDRESS_FAILURE_LIMIT=6)
@pytest.mark.parametrize(
    "path", ["/api/v1/viewpoints/", "/ogc/collections", "/tiles/viewpoints.json"]
)
def test_wrong_tokens_are_throttled_and_valid_ones_never_are(client, db, path):
    from layers.auth.tokens import ApiToken

    _token, key = ApiToken.issue(make_user("t-tokens", EDITOR), "t")
    # One wrong key sent again and again (a field app with a revoked token): per prefix.
    for _ in range(3):
        response = client.get(path, HTTP_AUTHORIZATION="Token stalekey-0123")
        # A wrong token is refused (never read as anonymous), with the challenge.
        assert response.status_code == 401, response.status_code
        assert "Token" in response["WWW-Authenticate"]
    _assert_429(client.get(path, HTTP_AUTHORIZATION="Token stalekey-0123"))
    # A valid token from the same address is never refused because of others' bad ones ...
    assert client.get(path, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    # ... another wrong prefix is still an ordinary 401 ...
    assert client.get(path, HTTP_AUTHORIZATION="Token otherkey-1").status_code == 401
    # ... until the address as a whole has sent too many (guessing with fresh keys).
    assert client.get(path, HTTP_AUTHORIZATION="Token otherkey-2").status_code == 401
    _assert_429(client.get(path, HTTP_AUTHORIZATION="Token otherkey-3"))
    assert client.get(path, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    # Another address is not affected by any of it.
    other = client.get(path, HTTP_AUTHORIZATION="Token stalekey-0123", REMOTE_ADDR="198.51.100.1")
    assert other.status_code == 401


@override_settings(TOKEN_FAILURE_LIMIT=20)
def test_twenty_bad_tokens_do_not_block_the_valid_tokens_of_the_address(client, db):
    """The issue's case: a field team behind one carrier address."""
    from layers.auth.tokens import ApiToken

    _token, key = ApiToken.issue(make_user("t-field", EDITOR), "field app")
    for n in range(21):
        client.get("/ogc/collections", HTTP_AUTHORIZATION=f"Token {n:02d}-wrong-token")
    for path in ("/api/v1/viewpoints/", "/ogc/collections", "/tiles/viewpoints.json"):
        assert client.get(path, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200, path


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


# --- over-long query strings, through the real server (gunicorn) -----------------------------


def _fetch(url: str) -> tuple[int, str, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (our server)
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def test_long_filters_pass_and_longer_query_strings_are_answered_by_the_app(live_app):
    """A 16 KB CQL2 filter passes gunicorn (its default request line was 4 KB: an HTML 414);
    a query string over MAX_QUERY_STRING_BYTES gets the app's 414 in the channel's words."""
    import json
    from urllib.parse import quote

    from django.conf import settings

    names = ", ".join(f"'{'荷' * 3}{n:04d}{'x' * 140}'" for n in range(100))
    cql = f"name IN ({names})"
    assert 15_000 < len(cql) < 20_000
    url = f"{live_app}/ogc/collections/viewpoints/items?filter={quote(cql)}"
    assert len(url) > 16_000
    status, media, body = _fetch(url)
    assert status == 200, body[:300]
    assert json.loads(body)["numberReturned"] == 0

    padding = "x" * (settings.MAX_QUERY_STRING_BYTES + 10)
    status, media, body = _fetch(f"{live_app}/ogc/collections/viewpoints/items?filter={padding}")
    assert status == 414 and media.startswith("application/json"), (status, media, body[:200])
    assert json.loads(body)["code"] == "URITooLong"
    assert json.loads(body)["description"].startswith("filter: ")

    status, media, body = _fetch(f"{live_app}/wfs/?SERVICE=WFS&REQUEST=GetFeature&FILTER={padding}")
    assert status == 414 and media.startswith("text/xml"), (status, media, body[:200])
    assert b"ExceptionReport" in body and b'locator="FILTER"' in body
