"""GET /api/v1/search/: names, codes, addresses and pinyin initials over the layers a caller may
read, ranked and grouped by layer, with bboxes and feature page URLs; strict parameters."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from layers.domain import registry
from layers.domain.models import RenovationSite
from layers.services import editing

pytestmark = pytest.mark.django_db


def _search(client, **params):
    response = client.get("/api/v1/search/", params)
    assert response.status_code == 200, response.content
    return response.json()["groups"]


def _names(groups, layer):
    for group in groups:
        if group["layer"] == layer:
            return [r["name"] for r in group["results"]]
    return []


def test_a_planner_finds_the_bus_factory_by_its_chinese_name(role_client):
    groups = _search(role_client("planner"), q="客车厂")
    assert groups[0]["layer"] == "renovation-sites"
    first = groups[0]["results"][0]
    assert first["name"] == "客车厂片区征收（一地块）"
    site = RenovationSite.objects.get(name="客车厂片区征收（一地块）")
    assert first["url"] == f"/features/renovation-sites/{site.pk}/"
    west, south, east, north = first["bbox"]
    extent = site.geom.extent
    assert (west, south, east, north) == pytest.approx(extent, abs=1e-6)
    x0, y0, x1, y1 = settings.SERVICE_AREA
    assert x0 <= west < east <= x1 and y0 <= south < north <= y1
    assert first["status"] == site.status and first["color"].startswith("#")


@pytest.mark.parametrize("text", ["kcc", "KCC", "Bus Factory", "bus factory"])
def test_pinyin_initials_and_english_names_find_it_too(role_client, text):
    names = _names(_search(role_client("planner"), q=text), "renovation-sites")
    assert names[0] == "客车厂片区征收（一地块）"
    assert all("客车厂" in n for n in names)


def test_a_community_code_ranks_its_community_first(role_client):
    groups = _search(role_client("inspector"), q="HHC-04")
    assert groups[0]["layer"] == "communities"
    assert groups[0]["results"][0]["name"] == "荷花池社区"


def test_an_exact_name_ranks_before_names_that_start_with_it(role_client):
    groups = _search(role_client("planner"), q="局前街")
    assert groups[0]["layer"] == "streets"
    assert groups[0]["results"][0]["name"] == "局前街"
    assert _names(groups, "communities")[0] == "局前街社区"


def test_addresses_are_searched(role_client):
    building = registry.get("buildings").model.objects.exclude(address="").first()
    names = _names(_search(role_client("planner"), q=building.address), "buildings")
    assert building.name in names


def test_the_public_searches_public_layers_only(client):
    assert _search(client, q="客车厂") == []
    assert _search(client, q="HHC-04") == []  # no internal codes
    viewpoint = registry.get("viewpoints").model.objects.first()
    groups = _search(client, q=viewpoint.name)
    assert {g["layer"] for g in groups} <= {s.slug for s in registry.LAYERS if s.is_public}
    assert viewpoint.name in _names(groups, "viewpoints")


def test_the_public_cannot_search_by_references(client):
    viewpoint = registry.get("viewpoints").model.objects.exclude(ref="").first()
    assert viewpoint.name not in _names(_search(client, q=viewpoint.ref), "viewpoints")


def test_deleted_features_are_not_found(role_client):
    site = RenovationSite.objects.get(name="客车厂片区征收（二地块）")
    editing.soft_delete(site, None)
    names = _names(_search(role_client("planner"), q="客车厂"), "renovation-sites")
    assert "客车厂片区征收（二地块）" not in names and names


def test_layers_and_limit(role_client):
    groups = _search(role_client("planner"), q="荷花池", layers="communities,streets", limit="1")
    assert {g["layer"] for g in groups} <= {"communities", "streets"}
    assert all(len(g["results"]) == 1 for g in groups)


@pytest.mark.parametrize(
    "query, name",
    [
        ("", "q"),
        ("q=", "q"),
        ("q=%20%20", "q"),
        ("q=a%00b", "q"),
        ("q=a%01b", "q"),
        ("q=" + "x" * 101, "q"),
        ("q=a&q=b", "q"),
        ("q=a&limit=0", "limit"),
        ("q=a&limit=51", "limit"),
        ("q=a&limit=%C2%B2", "limit"),
        ("q=a&layers=nope", "layers"),
        ("q=a&page=2", "page"),
    ],
)
def test_bad_parameters_are_400_naming_them(role_client, query, name):
    response = role_client("planner").get("/api/v1/search/?" + query)
    assert response.status_code == 400, response.content
    assert name in response.json()


def test_the_public_may_not_name_an_internal_layer(client):
    response = client.get("/api/v1/search/?q=a&layers=hazards")
    assert response.status_code == 400
    assert "layers" in response.json()


def test_every_layer_table_has_its_trigram_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, indexname FROM pg_indexes WHERE indexname LIKE '%_trgm'")
        found = {(t, i) for t, i in cursor.fetchall()}
    for spec in registry.LAYERS:
        table = spec.model._meta.db_table
        for column in ("name", "name_en", "ref", "initials"):
            assert (table, f"{table}_{column}_trgm") in found, (table, column)


def test_initials_in_sql():
    with connection.cursor() as cursor:
        cursor.execute("SELECT hh_initials(%s), hh_initials(%s)", ["客车厂片区", "荷花池 A-1号"])
        assert cursor.fetchone() == ("kccpq", "hhca1h")


def test_every_layer_is_searched_in_one_statement():
    """The layers' queries are one UNION ALL statement, whatever the number of layers, and give
    what each layer's own query gives."""
    from django.test.utils import CaptureQueriesContext

    from layers.query import search
    from tests.conftest import make_user

    user = make_user("find-editor", "editor", staff=True)
    query = search.parse({"q": "局前街"}, user)
    search.search(user, search.parse({"q": "x"}, user))  # the user's roles, read once
    with CaptureQueriesContext(connection) as captured:
        groups = search.search(user, query)
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) == 1, statements
    assert statements[0].count("UNION ALL") == len(query.layers) - 1
    assert len(groups) >= 3
    for group in groups:
        spec = registry.get(group["layer"])
        alone = search.search_layer(user, spec, query.text, query.limit)
        assert sorted(r["id"] for r in group["results"]) == sorted(r["id"] for r in alone)


@pytest.mark.parametrize("role", [None, "editor"])
def test_the_statement_compiled_once_answers_as_each_layers_own_query(role):
    """The search compiles its statement once per shape with a stand-in for the text and fills
    the text in: the same matches and ranks as each layer's query built for the text, also for
    text with LIKE's own characters, upper case and initials."""
    from django.contrib.auth.models import AnonymousUser

    from layers.query import search
    from tests.conftest import make_user

    user = AnonymousUser() if role is None else make_user("find-shape", role, staff=True)
    for text in ("客车厂", "kcc", "KCC", "局前街", "Bus Factory", "22号", "HHC-01", "%", "_",
                 "a_b", "\\", "100%", "rs-0", "x"):  # fmt: skip
        query = search.parse({"q": text}, user)
        one = {
            g["layer"]: sorted((r["id"], r["rank"], r["code"]) for r in g["results"])
            for g in search.search(user, query)
        }
        own = {}
        for slug in query.layers:
            alone = search.search_layer(user, registry.get(slug), text, query.limit)
            if alone:
                own[slug] = sorted((r["id"], r["rank"], r["code"]) for r in alone)
        assert one == own, text
