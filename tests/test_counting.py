"""List totals (layers/query/counting.py): exact where counting is cheap (within the page's
budget) or asked for (`count=exact`), the planner's estimate otherwise."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from layers.domain import models

pytestmark = pytest.mark.django_db
LIST = "/api/v1/buildings/"


@pytest.fixture
def editor_api(role_client):
    return role_client("editor")


@pytest.fixture
def analyzed():
    """Fresh statistics: the estimate is the planner's, read from them."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE layers_building")
        cursor.execute("ANALYZE layers_culturalviewpoint")


def counts_run(queries) -> list[str]:
    """The counting statements among `queries` (the page's own statement counts its rows)."""
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT count(*)")]


def test_a_layer_of_the_subdistricts_size_is_counted_exactly(editor_api, analyzed):
    """Under COUNT_ROWS_MIN (2,000): exact at once, so QGIS shows the layer's feature count."""
    body = editor_api.get(LIST, {"page_size": 10}).json()
    assert body["count_exact"] is True and body["count"] == models.Building.objects.count()


def test_a_large_match_is_estimated_without_counting(editor_api, analyzed, settings):
    settings.COUNT_ROWS_MIN = 100  # the sample's 1,041 buildings stand for a city-scale match
    total = models.Building.objects.count()
    # 1,041 buildings, a page of 10: counting them would cost far more than the page's budget.
    assert total > 2 * 10 and total > 100
    with CaptureQueriesContext(connection) as queries:
        body = editor_api.get(LIST, {"page_size": 10}).json()
    assert body["count_exact"] is False
    # An estimate, not a guess: within a factor of two of the truth on fresh statistics.
    assert total / 2 <= body["count"] <= total * 2
    assert counts_run(queries) == [], "the list counted although the planner expects too many"
    assert body["next"] and len(body["features"]) == 10


def test_count_exact_counts(editor_api, analyzed, settings):
    settings.COUNT_ROWS_MIN = 100  # as above: without count=exact, 1,041 would be estimated
    with CaptureQueriesContext(connection) as queries:
        body = editor_api.get(LIST, {"page_size": 10, "count": "exact"}).json()
    assert body["count"] == models.Building.objects.count() and body["count_exact"] is True
    assert len(counts_run(queries)) == 1
    explicit = editor_api.get(LIST, {"page_size": 10, "count": "estimate"}).json()
    assert explicit["count_exact"] is False


@override_settings(API_EXACT_COUNT=50)
def test_count_exact_stops_at_its_cap(editor_api, analyzed):
    body = editor_api.get(LIST, {"page_size": 10, "count": "exact"}).json()
    assert body["count_exact"] is False and body["count"] > 50


@override_settings(COUNT_ROWS_MIN=0, COUNT_ROWS_PER_FEATURE=2)
def test_the_budget_grows_with_the_page(editor_api, analyzed):
    total = models.CulturalViewpoint.objects.count()
    assert total > 2
    over = (total - 1) // 2  # budget 2 × size < total: estimated
    under = (total + 1) // 2  # budget ≥ total: counted
    small = editor_api.get("/api/v1/viewpoints/", {"page_size": over}).json()
    assert small["count_exact"] is False
    large = editor_api.get("/api/v1/viewpoints/", {"page_size": under}).json()
    if under < total:  # a full page: the count came from counting, not from the page
        assert len(large["features"]) == under
    assert large["count"] == total and large["count_exact"] is True


@override_settings(COUNT_ROWS_MIN=50)
def test_large_matches_get_the_estimate_and_paging_still_reaches_the_end(editor_api, analyzed):
    total = models.Building.objects.count()
    url, seen = f"{LIST}?page_size=300", []
    while url:
        body = editor_api.get(url).json()
        seen += [f["id"] for f in body["features"]]
        if body["next"]:
            assert body["count_exact"] is False
            assert total / 2 <= body["count"] <= total * 2
        url = body["next"]
    assert len(seen) == len(set(seen)) == total
    # The last, short page proves the total: exact again.
    assert body["count"] == total and body["count_exact"] is True


@override_settings(COUNT_ROWS_MIN=50)
def test_a_filtered_match_under_the_budget_stays_exact(editor_api, analyzed):
    from django.db.models import Count

    by_status = models.Building.objects.values_list("status").annotate(n=Count("pk"))
    status, expected = min(by_status, key=lambda row: row[1])
    assert 1 < expected <= 50, "the sample data needs a status of 2 to 50 buildings"
    body = editor_api.get(LIST, {"status": status, "page_size": 1}).json()
    # A full page (page_size 1): the total is counted, not told by the page.
    assert len(body["features"]) == 1
    assert body["count"] == expected and body["count_exact"] is True


@pytest.mark.parametrize("value", ["EXACT", "exact,estimate", "all", "1"])
def test_count_is_parsed_strictly(editor_api, value):
    response = editor_api.get(LIST, {"count": value})
    assert response.status_code == 400 and "count" in response.json()
    twice = editor_api.get(f"{LIST}?count=exact&count=exact")
    assert twice.status_code == 400 and "count" in twice.json()
    empty = editor_api.get(f"{LIST}?count=")
    assert empty.status_code == 400 and "count" in empty.json()


def test_an_export_refuses_count(editor_api):
    response = editor_api.get(f"{LIST}export/", {"count": "exact"})
    assert response.status_code == 400 and "count" in response.json()


def test_ogc_number_matched_is_left_out_when_counting_is_dear(client, settings, analyzed):
    url = "/ogc/collections/viewpoints/items"
    total = models.CulturalViewpoint.objects.filter(deleted_at__isnull=True).count()
    settings.COUNT_ROWS_MIN, settings.COUNT_ROWS_PER_FEATURE = 0, 2
    with CaptureQueriesContext(connection) as queries:
        body = client.get(url, {"limit": 2}).json()
    assert "numberMatched" not in body and body["numberReturned"] == 2
    assert counts_run(queries) == []
    assert any(link["rel"] == "next" for link in body["links"])
    settings.COUNT_ROWS_MIN = 100
    body = client.get(url, {"limit": 2}).json()
    assert body["numberMatched"] == total
