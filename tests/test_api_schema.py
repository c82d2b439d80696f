"""The OpenAPI documents of /api/v1/ and /ogc/: valid, served with local Swagger UI / ReDoc,
and true to the services. WFS has no OpenAPI document of its own: WFS_SCHEMA below describes its
key-value parameters (loosely typed, so that schemathesis sends malformed values too) and the
same run checks /wfs/ answers no 5xx and only its documented statuses and media types.

schemathesis generates requests from each schema for every operation, as anonymous and as an
editor (token), and checks: no 5xx, documented status codes, content types and bodies, and no
response slower than 2 s (`consistently_fast`, below: a slow answer is asked again twice, and
only an answer slow all three times fails, so a busy machine cannot fail the run).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from geo_service.wsgi import application

# Fuzzing, all of it (slow): `make test-fast` does not even collect this module (tests/conftest.py,
# pytest_ignore_collect), since building schemathesis' coverage cases costs ~10 s of CPU per
# collecting process. The documents' validity and docs pages: tests/test_api_docs.py.
pytestmark = pytest.mark.slow

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
ogc_schema = schemathesis.openapi.from_wsgi("/ogc/api", application)


def _wfs_schema() -> dict:
    """GET /wfs/ as OpenAPI 3.0: every KVP parameter of WFS 2.0 that the service reads, typed
    as clients send them, each also free text (strings of any shape are probes too)."""
    from layers.domain import registry

    def free(*alternatives: dict) -> dict:
        return {"anyOf": [*alternatives, {"type": "string"}]}

    number = r"-?[0-9]{1,3}(\.[0-9]{1,6})?"
    crs = r"(,urn:ogc:def:crs:EPSG::(4326|4490|4549|3857)|,EPSG:4326)?"
    parameters = {
        "SERVICE": {"type": "string", "enum": ["WFS"]},
        "VERSION": {"type": "string", "enum": ["2.0.0"]},
        "REQUEST": {
            "type": "string",
            "enum": [
                "GetCapabilities",
                "DescribeFeatureType",
                "GetFeature",
                "GetPropertyValue",
                "ListStoredQueries",
                "DescribeStoredQueries",
            ],
        },
        "TYPENAMES": free({"enum": [s.slug for s in registry.LAYERS] + ["app:viewpoints"]}),
        "COUNT": free({"type": "integer"}),
        "STARTINDEX": free({"type": "integer"}),
        "BBOX": free({"type": "string", "pattern": f"^{number}(,{number}){{3}}{crs}$"}),
        "SRSNAME": free(
            {"enum": ["urn:ogc:def:crs:EPSG::4326", "EPSG:4490", "urn:ogc:def:crs:EPSG::4549"]}
        ),
        "PROPERTYNAME": free({"enum": ["name", "name,tour_order", "geom"]}),
        "SORTBY": free({"enum": ["tour_order DESC", "name ASC"]}),
        "RESOURCEID": free({"type": "string", "pattern": "^viewpoints\\.[0-9]{1,25}$"}),
        "FILTER": {"type": "string"},
        "OUTPUTFORMAT": free({"enum": ["geojson", "csv", "application/gml+xml; version=3.2"]}),
        "RESULTTYPE": free({"enum": ["results", "hits"]}),
        "VALUEREFERENCE": free({"enum": ["name", "tour_order"]}),
    }
    media = [
        "text/xml",
        "application/gml+xml",
        "application/geo+json",
        "text/csv",
        "text/plain",
        "text/html",
    ]
    exception = {"description": "OWS ExceptionReport", "content": {"text/xml": {}}}
    responses = {
        "200": {
            "description": "capabilities, features, values, schema or index",
            "content": {m: {} for m in media},
        },
        **dict.fromkeys(("400", "403", "404", "413", "414", "429"), exception),
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Hehuachi WFS 2.0 (KVP)", "version": "2.0.0"},
        "paths": {
            "/wfs/": {
                "get": {
                    "parameters": [
                        {"name": name, "in": "query", "required": False, "schema": schema}
                        for name, schema in parameters.items()
                    ],
                    "responses": responses,
                },
                "post": {  # an XML request: generated bodies are probes (POSTs are mostly 400s)
                    "requestBody": {
                        "required": True,
                        "content": {"application/xml": {"schema": {"type": "string"}}},
                    },
                    "responses": responses,
                },
            }
        },
    }


wfs_schema = schemathesis.openapi.from_dict(_wfs_schema())
wfs_schema.app = application
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
def test_api_conforms_to_its_schema_anonymous(case):
    case.call_and_validate(
        headers=PLAIN, excluded_checks=EXCLUDED, additional_checks=[consistently_fast]
    )


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_api_conforms_to_its_schema_as_editor(case, editor_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {editor_token}", **PLAIN},
        excluded_checks=EXCLUDED,
        additional_checks=[consistently_fast],
    )


@pytest.mark.django_db
@ogc_schema.parametrize()
@FUZZ
def test_ogc_conforms_to_its_schema_anonymous(case):
    case.call_and_validate(
        headers=PLAIN, excluded_checks=EXCLUDED, additional_checks=[consistently_fast]
    )


@pytest.mark.django_db
@ogc_schema.parametrize()
@FUZZ
def test_ogc_conforms_to_its_schema_as_editor(case, editor_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {editor_token}", **PLAIN},
        excluded_checks=EXCLUDED,
        additional_checks=[consistently_fast],
    )


WFS_FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@pytest.mark.django_db
@wfs_schema.parametrize()
@WFS_FUZZ
def test_wfs_answers_its_documented_statuses_anonymous(case):
    case.call_and_validate(
        headers=PLAIN, excluded_checks=EXCLUDED, additional_checks=[consistently_fast]
    )


@pytest.mark.django_db
@wfs_schema.parametrize()
@WFS_FUZZ
def test_wfs_answers_its_documented_statuses_as_editor(case, editor_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {editor_token}", **PLAIN},
        excluded_checks=EXCLUDED,
        additional_checks=[consistently_fast],
    )
