"""`q` finds a feature by its 编号 (ref) or code as well as its name, on every layer that has
them, through trigram indexes (pg_trgm)."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from layers.domain import registry
from layers.domain.roles import PLANNER
from layers.query import filters
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(make_user("s-planner", PLANNER))
    return client


def refs(response):
    assert response.status_code == 200, response.content
    return [f["properties"].get("ref") for f in response.json()["features"]]


def test_q_finds_a_hazard_by_its_ref(api):
    assert refs(api.get("/api/v1/hazards/?q=HZ-001")) == ["HZ-001"]
    assert refs(api.get("/api/v1/hazards/?q=hz-001")) == ["HZ-001"]  # any case
    partial = refs(api.get("/api/v1/hazards/?q=HZ-00&page_size=100"))
    assert sorted(partial) == [f"HZ-00{i}" for i in range(1, 10)]


def test_q_finds_a_grid_cell_by_its_code(api):
    from layers.domain.models import GridCell

    cell = GridCell.objects.order_by("code").first()
    response = api.get(f"/api/v1/grid-cells/?q={cell.code}")
    assert [f["properties"]["code"] for f in response.json()["features"]] == [cell.code]


@pytest.mark.parametrize("spec", registry.LAYERS, ids=lambda s: s.slug)
def test_every_layer_searches_its_ref_and_code(spec):
    fields = filters.text_fields(spec)
    names = {f.name for f in spec.model._meta.concrete_fields}
    assert "ref" in fields and "name" in fields
    assert ("code" in fields) == ("code" in names)


def test_the_trigram_index_serves_a_partial_match():
    from layers.domain.models import SafetyHazard

    sql, params = filters.by_text(
        SafetyHazard.objects.order_by(), registry.get("hazards"), "Z-00"
    ).query.sql_with_params()
    with connection.cursor() as cursor:
        # The sample is small: make the planner show what it would use on a large table.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "safetyhazard_ref_trgm" in plan
