"""The OpenAPI documents of /api/v1/ and /ogc/: valid, served with local Swagger UI / ReDoc,
and true to the services.

schemathesis generates requests from each schema for every operation, as anonymous and as an
editor (token), and checks: no 5xx, documented status codes, content types and bodies, and no
response slower than 2 s (`consistently_fast`, below: a slow answer is asked again twice, and
only an answer slow all three times fails, so a busy machine cannot fail the run).
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from geo_service.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
ogc_schema = schemathesis.openapi.from_wsgi("/ogc/api", application)
MAX_SECONDS = 2.0


def consistently_fast(ctx, response, case):
    """No response slower than MAX_SECONDS: a hang or a pathological query is slow every time
    it is asked; a scheduler hiccup is not. The case is re-sent up to twice before failing.
    Exports (`/export/`) build a file of a whole layer: their time is measured in bench/, not
    asserted here."""
    if response.elapsed <= MAX_SECONDS or case.operation.path.endswith("/export/"):
        return None
    # schemathesis 4 keeps the case's headers (the editor's token) in ctx.internals.
    headers = dict(ctx.internals.headers or {})
    times = [response.elapsed]
    for _ in range(2):
        again = case.call(headers=headers)
        times.append(again.elapsed)
        if again.elapsed <= MAX_SECONDS:
            return None
    raise AssertionError(
        f"{case.operation.label}: slower than {MAX_SECONDS} s three times: "
        + ", ".join(f"{t:.2f} s" for t in times)
    )


# Every check runs except "schema-valid data is accepted": rules across parameters (radius needs
# near, min ≤ max in a bbox, a community that exists) rightly refuse some schema-valid requests.
EXCLUDED = [positive_data_acceptance]


def test_spectacular_validate_is_clean(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))
    assert "HazardsFeatureCollection" in (tmp_path / "s.yaml").read_text()


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_load_only_local_assets(client, page):
    html = client.get(page).content.decode()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", html)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "cdn" not in html.lower()


@pytest.fixture(autouse=True)
def keep_test_connection():
    """The WSGI handler closes "old" connections after each request, as Django's test client
    avoids doing: that would close the test transaction's connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def editor_token(db):
    from layers.auth.tokens import ApiToken
    from tests.conftest import make_user

    return ApiToken.issue(make_user("schema-editor", "editor"), "schemathesis")[1]


# The in-process WSGI transport does not undo Content-Encoding (gzip/br are tested in
# tests/test_tiles.py and through the real server): ask for plain bodies.
PLAIN = {"Accept-Encoding": "identity"}

# Seeded (derandomize) so a CI failure reproduces; 25 examples per operation and caller.
FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
@pytest.mark.slow
def test_api_conforms_to_its_schema_anonymous(case):
    case.call_and_validate(
        headers=PLAIN, excluded_checks=EXCLUDED, additional_checks=[consistently_fast]
    )


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
@pytest.mark.slow
def test_api_conforms_to_its_schema_as_editor(case, editor_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {editor_token}", **PLAIN},
        excluded_checks=EXCLUDED,
        additional_checks=[consistently_fast],
    )


@pytest.mark.django_db
@ogc_schema.parametrize()
@FUZZ
@pytest.mark.slow
def test_ogc_conforms_to_its_schema_anonymous(case):
    case.call_and_validate(
        headers=PLAIN, excluded_checks=EXCLUDED, additional_checks=[consistently_fast]
    )


@pytest.mark.django_db
@ogc_schema.parametrize()
@FUZZ
@pytest.mark.slow
def test_ogc_conforms_to_its_schema_as_editor(case, editor_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {editor_token}", **PLAIN},
        excluded_checks=EXCLUDED,
        additional_checks=[consistently_fast],
    )
