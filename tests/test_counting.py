"""List totals (layers/query/counting.py): exact when cheap, the planner's estimate above a cap."""

from __future__ import annotations

import pytest
from django.test import override_settings

from layers.domain import models

pytestmark = pytest.mark.django_db
LIST = "/api/v1/buildings/"


@pytest.fixture
def editor_api(role_client):
    return role_client("editor")


def test_small_matches_are_counted_exactly(editor_api):
    body = editor_api.get(LIST, {"page_size": 10}).json()
    assert body["count"] == models.Building.objects.count() and body["count_exact"] is True


@override_settings(API_EXACT_COUNT=50)
def test_large_matches_get_the_planner_estimate_and_paging_still_reaches_the_end(editor_api):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE layers_building")  # the estimate comes from table statistics
    total = models.Building.objects.count()
    assert total > 50
    url, seen = f"{LIST}?page_size=300", []
    while url:
        body = editor_api.get(url).json()
        seen += [f["id"] for f in body["features"]]
        if body["next"]:
            assert body["count_exact"] is False
            # An estimate, not a guess: within a factor of two of the truth on fresh statistics.
            assert total / 2 <= body["count"] <= total * 2
        url = body["next"]
    assert len(seen) == len(set(seen)) == total
    # The last, short page proves the total: exact again.
    assert body["count"] == total and body["count_exact"] is True


@override_settings(API_EXACT_COUNT=50)
def test_a_filtered_match_under_the_cap_stays_exact(editor_api):
    building = models.Building.objects.order_by("pk").first()
    body = editor_api.get(LIST, {"q": building.name, "page_size": 1}).json()
    expected = models.Building.objects.filter(name__icontains=building.name).count()
    # A full page (page_size 1): the total is counted, not told by the page.
    assert len(body["features"]) == 1
    assert body["count"] == expected and body["count_exact"] is True


def test_ogc_number_matched_is_left_out_above_its_cap(client, settings):
    settings.OGC_MAX_COUNT = 5
    body = client.get("/ogc/collections/service-points/items", {"limit": 2}).json()
    assert "numberMatched" not in body and body["numberReturned"] == 2
    settings.OGC_MAX_COUNT = 10000
    body = client.get("/ogc/collections/service-points/items", {"limit": 2}).json()
    assert body["numberMatched"] == models.ServicePoint.objects.count()
