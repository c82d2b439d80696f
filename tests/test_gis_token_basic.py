"""QGIS on an intranet without TLS (issue 27): an API token sent as the *password* of HTTP
Basic, with any user name, opens read-only requests over plain HTTP on /ogc/, /tiles/ and
/wfs/; writes need `Authorization: Token`; a real password over plain HTTP stays refused; and
X-Forwarded-Proto counts only from a trusted proxy (geo_service/middleware/proxies.py).

In process here; through a real gunicorn, QGIS, GDAL and curl in tests/test_gis_token_live.py.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.test import override_settings

from layers.auth.tokens import ApiToken
from layers.domain import models, registry
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db
EVERY = [s.slug for s in registry.LAYERS]
PUBLIC = [s.slug for s in registry.LAYERS if s.is_public]
# Plain HTTP from another machine of the intranet, no exception for this machine.
PLAIN = {"REMOTE_ADDR": "10.20.0.7"}
NO_TLS = override_settings(DEBUG=False, BASIC_AUTH_HTTP_LOCALHOST=False)


def basic(username: str, password: str) -> dict:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


@pytest.fixture
def planner(db):
    return make_user("qgis-planner", "planner")


@pytest.fixture
def key(planner):
    return ApiToken.issue(planner, "QGIS 3.22")[1]


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [c["id"] for c in response.json()["collections"]]


@NO_TLS
@pytest.mark.parametrize("username", ["qgis", "qgis-planner", "", "someone-else"])
def test_a_token_as_the_basic_password_reads_every_layer_over_plain_http(client, key, username):
    auth = basic(username, key)
    assert listed(client.get("/ogc/collections", **PLAIN, **auth)) == EVERY
    items = client.get("/ogc/collections/hazards/items?limit=5", **PLAIN, **auth)
    assert items.status_code == 200 and items.json()["features"]
    assert client.head("/ogc/collections/hazards/items", **PLAIN, **auth).status_code == 200
    assert client.get("/tiles/hazards.json", **PLAIN, **auth).status_code == 200
    wfs = client.get("/wfs/?SERVICE=WFS&REQUEST=GetCapabilities", **PLAIN, **auth)
    assert wfs.status_code == 200 and b"<Name>app:hazards</Name>" in body(wfs)
    feature = client.get(
        "/wfs/?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=hazards&COUNT=2",
        **PLAIN,
        **auth,
    )
    assert feature.status_code == 200 and b"app:hazards" in body(feature)
    # The account's roles decide, as with any sign-in: no more than the planner may read.
    photo = models.HazardPhoto.objects.first()
    if photo is not None:
        url = f"/hazard-photos/{photo.pk}/thumb.jpg"
        assert client.get(url, **PLAIN, **auth).status_code == 200


@NO_TLS
def test_writes_over_plain_http_need_the_token_header(client, key):
    url = "/ogc/collections/viewpoints/items"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [119.9451, 31.7826]},
        "properties": {"name": "明文写入", "theme": "streetscape", "status": "planned"},
    }

    def payload(order: int) -> str:
        feature["properties"]["tour_order"] = order
        return json.dumps(feature)

    before = models.CulturalViewpoint.all_objects.count()
    post = client.post(
        url, payload(91), content_type="application/geo+json", **PLAIN, **basic("q", key)
    )
    assert post.status_code == 403, post.content
    message = post.json()["description"]
    assert "reading only" in message and "Authorization: Token" in message
    one = models.CulturalViewpoint.objects.order_by("pk").first()
    for method in ("put", "patch", "delete"):
        answer = getattr(client, method)(
            f"{url}/{one.pk}",
            payload(91),
            content_type="application/geo+json",
            HTTP_IF_MATCH=f'"{one.version}"',
            **PLAIN,
            **basic("q", key),
        )
        assert answer.status_code == 403, (method, answer.content)
    assert models.CulturalViewpoint.all_objects.count() == before
    # The same token in its own header writes over plain HTTP.
    created = client.post(
        url,
        payload(91),
        content_type="application/geo+json",
        HTTP_AUTHORIZATION=f"Token {key}",
        **PLAIN,
    )
    assert created.status_code == 201, created.content
    # Over HTTPS a token as the Basic password writes too (it is then as safe as the header).
    secure = client.post(
        url, payload(92), content_type="application/geo+json", secure=True, **basic("q", key)
    )
    assert secure.status_code == 201, secure.content


@NO_TLS
def test_a_password_over_plain_http_stays_refused(client, planner):
    for path in ("/ogc/collections", "/tiles/hazards.json", "/wfs/?REQUEST=GetCapabilities"):
        refused = client.get(path, **PLAIN, **basic("qgis-planner", PASSWORD))
        assert refused.status_code == 401, path
        assert "Basic" in refused["WWW-Authenticate"]
        if path.startswith("/ogc"):
            text = refused.json()["description"]
            assert "HTTPS" in text and "API token" in text
    # Over HTTPS the password works as before.
    secure = client.get("/ogc/collections", secure=True, **PLAIN, **basic("qgis-planner", PASSWORD))
    assert listed(secure) == EVERY


@NO_TLS
def test_wrong_revoked_and_other_tokens_as_the_password(client, planner, key):
    wrong = "x" * 43
    response = client.get("/ogc/collections", **PLAIN, **basic("qgis", wrong))
    assert response.status_code == 401 and response.json()["description"] == "Invalid token."
    token = ApiToken.objects.get(user=planner)
    token.revoke(by=planner)
    assert client.get("/ogc/collections", **PLAIN, **basic("qgis", key)).status_code == 401
    # Anonymous still reads the public layers only.
    assert listed(client.get("/ogc/collections", **PLAIN)) == PUBLIC


@NO_TLS
def test_the_caller_is_worked_out_once_per_request(client, key):
    # The rate-limit middleware and the view both ask; the token is looked up once.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get("/ogc/collections", **PLAIN, **basic("qgis", key))
    lookups = [q for q in queries.captured_queries if "key_digest" in q["sql"]]
    assert len(lookups) == 1


# --- forwarded headers --------------------------------------------------------------------


@NO_TLS
def test_x_forwarded_proto_from_a_client_does_not_make_basic_secure(client, planner):
    forged = {"HTTP_X_FORWARDED_PROTO": "https", **basic("qgis-planner", PASSWORD)}
    # A client reaching gunicorn directly (not a trusted proxy): the header is dropped.
    refused = client.get("/ogc/collections", REMOTE_ADDR="10.20.0.7", **forged)
    assert refused.status_code == 401 and "HTTPS" in refused.json()["description"]
    # The proxy on this machine (trusted by default) is believed ...
    assert listed(client.get("/ogc/collections", REMOTE_ADDR="127.0.0.1", **forged)) == EVERY
    # ... and a configured one elsewhere; `none` trusts nobody, not even this machine.
    with override_settings(TRUSTED_PROXIES=["10.20.0.0/24"]):
        assert listed(client.get("/ogc/collections", REMOTE_ADDR="10.20.0.7", **forged)) == EVERY
        refused = client.get("/ogc/collections", REMOTE_ADDR="127.0.0.1", **forged)
        assert refused.status_code == 401
    with override_settings(TRUSTED_PROXIES=[]):
        refused = client.get("/ogc/collections", REMOTE_ADDR="127.0.0.1", **forged)
        assert refused.status_code == 401
        # A unix-socket peer (no IP address) is trusted as gunicorn trusts it, unless `none`.
        assert client.get("/ogc/collections", REMOTE_ADDR="", **forged).status_code == 401
    assert listed(client.get("/ogc/collections", REMOTE_ADDR="", **forged)) == EVERY


@override_settings(THROTTLE_ANON_OGC=2, NUM_PROXIES=1)
def test_x_forwarded_for_from_a_client_does_not_dodge_the_limits(client, db):
    from django.core.cache import cache

    cache.clear()
    for n in range(2):
        response = client.get(
            "/ogc/collections", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        )
        assert response.status_code == 200
    # A new X-Forwarded-For each time: still the one client, still limited.
    third = client.get(
        "/ogc/collections", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.99"
    )
    assert third.status_code == 429
    # Behind the trusted proxy the header names the client.
    proxied = client.get(
        "/ogc/collections", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4"
    )
    assert proxied.status_code == 200
    cache.clear()


@pytest.mark.slow
def test_gunicorn_and_django_read_the_same_trusted_proxies(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    conf = str(root / "geo_service" / "gunicorn.conf.py")
    for value, expected in [
        ("", ["127.0.0.1/32", "::1/128"]),
        ("none", []),
        ("10.1.2.0/24, 192.168.5.7", ["10.1.2.0/24", "192.168.5.7/32"]),
    ]:
        script = (
            "import runpy, sys, django; django.setup();"
            "from django.conf import settings;"
            f"print(runpy.run_path({conf!r})['forwarded_allow_ips']);"
            "print(','.join(settings.TRUSTED_PROXIES))"
        )
        env = {
            **os.environ,
            "TRUSTED_PROXIES": value,
            "DJANGO_SETTINGS_MODULE": "geo_service.settings",
        }
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, cwd=root, env=env,
            timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-1000:]
        gunicorn_list, django_list = out.stdout.split("\n")[:2]
        assert gunicorn_list == django_list == ",".join(expected), value
