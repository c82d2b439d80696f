"""Issue 14's findings, one test each: masked error pages, public filters, the OpenAPI document
per caller, history for roles, per-user caching headers, the multi-layer tile, production
entry points and defaults, DRF's deny-by-default, who-did-what set by the server, keep-alive."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import RequestFactory, override_settings
from django.urls import get_resolver
from rest_framework.views import APIView

from layers.domain import registry
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = [s.slug for s in registry.LAYERS if s.is_public]
INTERNAL = [s.slug for s in registry.LAYERS if not s.is_public]
SECRET = "s3cret-Pa55word-in-a-url"


# -- error pages -------------------------------------------------------------------------------
def test_debug_error_page_masks_every_secret_even_in_urls():
    import sys as _sys

    from django.views.debug import technical_500_response

    url = f"postgres://hehuachi:{SECRET}@db.internal:5432/hehuachi"
    token = "Token " + SECRET[::-1]  # built here: the page quotes this file's source lines
    request = RequestFactory().get("/api/v1/viewpoints/", HTTP_AUTHORIZATION=token)
    request.META["DATABASE_URL"] = url  # runserver's environ is in META
    request.META["SOME_OTHER_DSN_LIKE"] = f"redis://cache:{SECRET}@cache:6379/0"
    with override_settings(DEBUG=True, DATABASE_URL=url, REDIS_URL=url, ANY_LINK=url):
        try:
            local_connection_string = url  # noqa: F841 (shown among the frame's variables)
            raise RuntimeError("boom")
        except RuntimeError:
            response = technical_500_response(request, *_sys.exc_info())
    page = response.content.decode()
    assert "boom" in page and "DATABASE_URL" in page  # the page is the real debug page
    assert SECRET not in page
    assert SECRET[::-1] not in page


# -- public filters ----------------------------------------------------------------------------
@pytest.mark.parametrize("slug", PUBLIC)
@pytest.mark.parametrize("param", ["grid", "community"])
def test_public_layers_refuse_internal_boundaries_to_the_public(role_client, slug, param):
    from layers.domain.models import Community, GridCell

    boundary = (GridCell if param == "grid" else Community).objects.order_by("pk").first()
    anonymous = role_client(None)
    known = anonymous.get(f"/api/v1/{slug}/", {param: str(boundary.pk)})
    unknown = anonymous.get(f"/api/v1/{slug}/", {param: "999999"})
    # The same answer whether the boundary exists or not: nothing to enumerate.
    assert known.status_code == unknown.status_code == 400
    assert param in known.json() and known.json() == unknown.json()
    assert role_client(PLANNER).get(f"/api/v1/{slug}/", {param: boundary.pk}).status_code == 200


@pytest.mark.parametrize("slug", PUBLIC)
def test_public_filters_only_cover_public_fields(role_client, slug):
    spec = registry.get(slug)
    from layers.channels.api.filters import allowed_params

    for name in allowed_params(spec, staff=False):
        if name in spec.vocabularies():
            assert name in spec.public_fields
    hidden = [n for n in spec.vocabularies() if n not in spec.public_fields]
    for name in hidden:
        value = spec.vocabularies()[name].values[0]
        assert role_client(None).get(f"/api/v1/{slug}/", {name: value}).status_code == 400


def test_ogc_items_refuse_staff_filters_to_the_public(client):
    response = client.get("/ogc/collections/viewpoints/items", {"grid": "1"})
    assert response.status_code == 400


# -- the OpenAPI document per caller ----------------------------------------------------------
def _schema(client) -> dict:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_anonymous_openapi_describes_only_public_layers_and_fields(role_client):
    doc = _schema(role_client(None))
    text = json.dumps(doc, ensure_ascii=False)
    for slug in INTERNAL:
        assert not any(p.startswith(f"/api/v1/{slug}/") for p in doc["paths"]), slug
    for hidden in ("households_signed", "RenovationSitesFeature", "SafetyHazard", "reporter"):
        assert hidden not in text
    for slug in PUBLIC:
        assert f"/api/v1/{slug}/" in doc["paths"]
        props = doc["components"]["schemas"][
            "".join(x.title() for x in slug.split("-")) + "Feature"
        ]["properties"]["properties"]["properties"]
        assert set(props) <= set(registry.get(slug).public_fields) | {"distance_m"}
    params = {
        p["name"]
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for p in op.get("parameters", [])
    }
    assert not params & {"grid", "community"}


def test_a_role_gets_the_whole_document(role_client):
    doc = _schema(role_client(PLANNER))
    for slug in INTERNAL:
        assert f"/api/v1/{slug}/" in doc["paths"]
    assert "households_signed" in json.dumps(doc)


# -- history ----------------------------------------------------------------------------------
@pytest.mark.parametrize("slug", PUBLIC)
def test_history_requires_a_role(role_client, db, slug):
    from rest_framework.test import APIClient

    pk = registry.get(slug).model.objects.order_by("pk").values_list("pk", flat=True).first()
    url = f"/api/v1/{slug}/{pk}/history/"
    no_role = APIClient()
    no_role.force_authenticate(make_user("t-nobody", None))
    assert role_client(None).get(url).status_code == 401
    assert no_role.get(url).status_code == 403
    assert role_client(INSPECTOR).get(url).status_code == 200


# -- caching headers --------------------------------------------------------------------------
def _vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",")}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/viewpoints/",
        "/api/v1/layers/",
        "/api/v1/stats/",
        "/ogc/collections",
        "/ogc/collections/viewpoints/items",
        "/tiles/viewpoints.json",
        "/",
        "/tour/",
    ],
)
def test_answers_that_differ_by_user_are_private(client, db, path):
    client.force_login(make_user("t-planner-c", PLANNER))
    response = client.get(path)
    assert response.status_code == 200
    assert {"cookie", "authorization"} <= _vary(response)
    assert "private" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


def test_a_public_tile_is_shared_only_when_anonymous(client, db):
    from layers.domain.models import CulturalViewpoint

    point = CulturalViewpoint.objects.order_by("pk").first().geom
    import math

    z = 16
    x = int((point.x + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(point.y))) / math.pi) / 2 * 2**z)
    path = f"/tiles/viewpoints/{z}/{x}/{y}.pbf"
    anonymous = client.get(path)
    assert anonymous.status_code == 200
    assert "public" in anonymous["Cache-Control"]
    assert {"cookie", "authorization"} <= _vary(anonymous)
    client.force_login(make_user("t-planner-t", PLANNER))
    signed_in = client.get(path)
    assert "private" in signed_in["Cache-Control"] and "public" not in signed_in["Cache-Control"]


# -- the multi-layer tile ---------------------------------------------------------------------
def test_multi_tile_takes_distinct_capped_layer_names(client, db):
    from layers.domain.models import CulturalViewpoint
    from tests.test_tiles import tile_of

    # The tile of a real viewpoint: the fine request has data to answer with (never a 204).
    point = CulturalViewpoint.objects.order_by("pk").first().geom
    path = "/tiles/multi/16/{}/{}.pbf".format(*tile_of(point.x, point.y, 16))
    repeated = client.get(path, {"layers": "viewpoints,viewpoints"})
    assert repeated.status_code == 400 and "layers" in repeated.json()
    many = client.get(path, {"layers": ",".join(["viewpoints"] * 300)})
    assert many.status_code == 400 and "layers" in many.json()
    assert "at most" in many.json()["layers"][0]
    fine = client.get(path, {"layers": ",".join(PUBLIC)})
    assert fine.status_code == 200


# -- production defaults ----------------------------------------------------------------------
def _python(code: str, **env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("entry", ["wsgi", "asgi"])
@pytest.mark.slow
def test_entry_points_default_to_production(entry, tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    code = (
        f"import geo_service.{entry}; from django.conf import settings; "
        "print(settings.SETTINGS_MODULE, settings.DEBUG, settings.SERVE_MEDIA)"
    )
    ok = _python(code, ALLOWED_HOSTS="gis.example.org", STATIC_ROOT=str(static))
    assert ok.returncode == 0, ok.stderr
    # Public media through the app (a cacheable view of MEDIA_ROOT only: tests/test_media.py).
    assert ok.stdout.split() == ["geo_service.settings_production", "False", "True"]
    # Without the static files collected it refuses to serve, naming the reason.
    missing = _python(code, ALLOWED_HOSTS="gis.example.org", STATIC_ROOT=str(tmp_path / "none"))
    assert missing.returncode != 0 and "collectstatic" in missing.stderr


@pytest.mark.slow
def test_manage_py_stays_on_the_development_settings():
    result = _python(
        "import os, runpy, sys; sys.argv = ['manage.py', 'diffsettings', '--all'];"
        "runpy.run_path('manage.py', run_name='__main__')"
    )
    assert result.returncode == 0, result.stderr
    assert "DEBUG = True" in result.stdout


# -- DRF denies by default --------------------------------------------------------------------
def _drf_views():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                view = getattr(pattern.callback, "cls", None)
                if view is not None and issubclass(view, APIView):
                    yield prefix + str(pattern.pattern), view

    return list(walk(get_resolver().url_patterns))


def test_drf_denies_by_default_and_no_view_is_allow_any():
    from rest_framework.permissions import AllowAny
    from rest_framework.settings import api_settings
    from rest_framework.test import APIRequestFactory

    from layers.channels.api.permissions import DenyAll

    assert list(api_settings.DEFAULT_PERMISSION_CLASSES) == [DenyAll]

    class Forgotten(APIView):
        def get(self, request):
            return None

    response = Forgotten.as_view()(APIRequestFactory().get("/x"))
    # Anonymous: 401 with the Token challenge (the first authentication class), not 403.
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    views = _drf_views()
    assert len(views) > 10
    for route, view in views:
        classes = view.permission_classes
        if "schema" in route or "docs" in route or "redoc" in route:
            continue  # drf-spectacular's SERVE_PERMISSIONS; the document itself is filtered
        assert AllowAny not in classes and DenyAll not in classes, route


# -- who did what ------------------------------------------------------------------------------
def test_no_client_sets_who_did_something(role_client):
    from django.contrib.auth import get_user_model

    from layers.services.validation import writable_fields

    users = get_user_model()
    for spec in registry.LAYERS:
        for name in writable_fields(spec):
            field = spec.model._meta.get_field(name)
            if field.many_to_one and field.related_model is users:
                # Only an assignment (the grid cell's worker) is data; nobody's act is.
                assert name == "worker", (spec.slug, name)
    other = make_user("t-someone-else", EDITOR)
    client = role_client(INSPECTOR)
    point = registry.get("hazards").model.objects.order_by("pk").first().geom
    for field in ("reporter", "created_by", "updated_by", "rectified_by"):
        body = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
            "properties": {
                "name": "x",
                "category": "ebike",
                "level": "general",
                field: other.username,
            },
        }
        response = client.post("/api/v1/hazards/", body, format="json")
        assert response.status_code == 400 and field in response.json(), field
    body["properties"].pop("rectified_by")
    response = client.post("/api/v1/hazards/", body, format="json")
    assert response.status_code == 201
    created = registry.get("hazards").model.objects.get(pk=response.json()["id"])
    assert created.reporter.username == created.created_by.username == "t-inspector"


# -- middleware keeps keep-alive and streaming ------------------------------------------------
@pytest.mark.slow
def test_two_requests_on_one_connection_and_a_streamed_photo(live_app):
    parts = urlsplit(live_app)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("GET", "/healthz")
    first = conn.getresponse()
    assert first.status == 200 and json.loads(first.read()) == {"status": "ok"}
    sock = conn.sock
    conn.request("GET", "/api/v1/viewpoints/")
    second = conn.getresponse()
    body = second.read()
    assert second.status == 200 and json.loads(body)["type"] == "FeatureCollection"
    assert conn.sock is sock  # the same TCP connection served both
    assert "Cookie" in second.getheader("Vary")
    conn.close()
