"""QGIS on an intranet without TLS, for real (issue 27): a gunicorn server (the production
configuration, geo_service/gunicorn.conf.py) that refuses passwords over plain HTTP even from
this machine (BASIC_AUTH_HTTP_LOCALHOST=0) and trusts no proxy (TRUSTED_PROXIES=none), as a
server reached directly on the intranet. Debian's QGIS 3.22 (headless), GDAL and curl sign in
with an API token as the HTTP Basic password.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from layers.domain import models, registry
from tests.conftest import PASSWORD, start_server
from tests.test_gis_clients import counts

pytestmark = [pytest.mark.django_db, pytest.mark.gis]  # QGIS, GDAL and curl against a real server
PLANNER = "demo-planner"
QGIS_SCRIPT = Path(__file__).parent / "clients" / "qgis_token_basic.py"


@pytest.fixture(scope="module")
def plain_http_app(django_db_setup, django_db_blocker):
    yield from start_server(
        django_db_blocker, BASIC_AUTH_HTTP_LOCALHOST="0", TRUSTED_PROXIES="none"
    )


@pytest.fixture(scope="module")
def planner_token(django_db_setup, django_db_blocker):
    """A committed API token of the sample planner (what they make on /accounts/tokens/)."""
    from layers.auth.tokens import ApiToken

    with django_db_blocker.unblock():
        user = get_user_model().objects.get(username=PLANNER)
        token, key = ApiToken.issue(user, "QGIS 3.22 (test)")
    yield key
    with django_db_blocker.unblock():
        token.delete()


def curl(*args: str) -> tuple[int, str]:
    result = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    body, _, code = result.stdout.rpartition("\n")
    return int(code), body


def test_qgis_opens_the_hazards_layer_with_a_token_as_the_basic_password(
    plain_http_app, planner_token, tmp_path
):
    python = "/usr/bin/python3"
    probe = subprocess.run([python, "-c", "import qgis.core"], capture_output=True)
    assert probe.returncode == 0, "python3-qgis is missing: make test installs it (TEST_DEBS)"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),  # QGIS's profile and auth database, new for this run
        "XDG_RUNTIME_DIR": str(tmp_path),
    }
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [python, str(QGIS_SCRIPT), plain_http_app, planner_token, PLANNER, PASSWORD],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    hazards = models.SafetyHazard.objects.count()
    # OAPIF: the internal layer opens over plain HTTP and every feature is read.
    assert out["oapif_hazards"] == [True, hazards, hazards], out
    assert "status" in out["oapif_fields"] and out["oapif_names"]
    # WFS too, with the same authentication configuration.
    assert out["wfs_hazards"] == [True, hazards], out
    assert out["tilejson_status"] == 200
    # The real password over plain HTTP stays refused: the layer does not open.
    assert out["password_hazards_valid"] is False
    # Writing with the token as the Basic password over plain HTTP: 403, saying what to do.
    assert out["post_status"] == 403, out
    assert "Authorization: Token" in out["post_body"]


def test_gdal_reads_every_layer_with_the_token_as_the_password(plain_http_app, planner_token):
    everything = {s.slug: s.model.objects.count() for s in registry.LAYERS}
    public = {s.slug: everything[s.slug] for s in registry.LAYERS if s.is_public}
    oapif = f"OAPIF:{plain_http_app}/ogc"

    def ogrinfo(source, userpwd=None):
        command = ["ogrinfo", "-ro", "-so", "-al", source]
        if userpwd:
            command[1:1] = ["--config", "GDAL_HTTP_USERPWD", userpwd]
        return subprocess.run(command, capture_output=True, text=True, timeout=600)

    for userpwd in (f"any-name:{planner_token}", f"{PLANNER}:{planner_token}"):
        found = ogrinfo(oapif, userpwd)
        assert found.returncode == 0, found.stderr
        assert counts(found.stdout) == everything
    wfs = ogrinfo(f"WFS:{plain_http_app}/wfs/", f"qgis:{planner_token}")
    assert wfs.returncode == 0 and counts(wfs.stdout) == everything
    # The password over plain HTTP: GDAL gets the 401 and opens nothing internal.
    refused = ogrinfo(oapif, f"{PLANNER}:{PASSWORD}")
    assert counts(refused.stdout) != everything
    assert refused.returncode != 0 or counts(refused.stdout) == public


def test_curl_reads_with_the_token_and_cannot_write_or_send_a_password(
    plain_http_app, planner_token
):
    base = plain_http_app
    token_basic = ["-u", f"qgis:{planner_token}"]
    code, body = curl(*token_basic, f"{base}/ogc/collections/hazards/items?limit=2")
    assert code == 200 and json.loads(body)["features"]
    code, _ = curl(*token_basic, f"{base}/tiles/hazards.json")
    assert code == 200
    code, body = curl(*token_basic, f"{base}/wfs/?SERVICE=WFS&REQUEST=GetCapabilities")
    assert code == 200 and "<Name>app:hazards</Name>" in body
    feature = json.dumps(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [119.9451, 31.7826]},
            "properties": {"name": "curl", "theme": "streetscape", "status": "planned"},
        }
    )
    one = models.CulturalViewpoint.objects.order_by("pk").first()
    writes = [
        ("POST", f"{base}/ogc/collections/viewpoints/items"),
        ("PUT", f"{base}/ogc/collections/viewpoints/items/{one.pk}"),
        ("DELETE", f"{base}/ogc/collections/viewpoints/items/{one.pk}"),
    ]
    for method, url in writes:
        code, body = curl(
            *token_basic,
            "-X",
            method,
            "-H",
            "Content-Type: application/geo+json",
            "-H",
            f'If-Match: "{one.version}"',
            "--data",
            feature,
            url,
        )
        assert code == 403, (method, code, body)
        assert "Authorization: Token" in json.loads(body)["description"]
    assert models.CulturalViewpoint.all_objects.filter(name="curl").count() == 0
    # A password over plain HTTP stays refused, and saying "https" does not help: the
    # server trusts no proxy, so neither gunicorn nor Django believe the client.
    password = ["-u", f"{PLANNER}:{PASSWORD}"]
    for extra in ([], ["-H", "X-Forwarded-Proto: https"], ["-H", "X-Forwarded-Ssl: on"]):
        code, body = curl(*password, *extra, f"{base}/ogc/collections")
        assert code == 401, (extra, body)
        assert "HTTPS" in json.loads(body)["description"]
    code, body = curl("-H", "X-Forwarded-Proto: https", f"{base}/ogc/")
    assert code == 200
    links = [link["href"] for link in json.loads(body)["links"] if "://" in link["href"]]
    assert links and all(href.startswith("http://") for href in links)
    # Writes over plain HTTP with the token in its own header are the way (400: the body
    # lacks a required field, i.e. the write was accepted for checking, not refused).
    code, body = curl(
        "-H",
        f"Authorization: Token {planner_token}",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/geo+json",
        "--data",
        feature,
        f"{base}/ogc/collections/viewpoints/items",
    )
    assert code == 400 and "tour_order" in body, (code, body)
