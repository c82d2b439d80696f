"""as_of=<date|date-time>: REST lists, OGC items and tiles answer from history (the geometry and
attributes each feature had then, deleted ones included); strictly parsed, never the future.

Time is moved by dating a feature's history records back (never by sleeping)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from layers.domain.models import RenovationSite
from layers.query import asof
from layers.query.params import ParamError
from layers.services import editing
from tests import factories

pytestmark = pytest.mark.django_db


def _age(obj, days: int):
    """Date every history record of `obj` `days` back: it has been as it is since then."""
    type(obj).history.filter(id=obj.pk).update(
        history_date=F("history_date") - dt.timedelta(days=days)
    )


def _yesterday() -> str:
    return (timezone.localdate() - dt.timedelta(days=1)).isoformat()


def _by_id(body) -> dict:
    return {f["id"]: f for f in body["features"]}


@pytest.fixture
def planner():
    return get_user_model().objects.get(username="demo-planner")


@pytest.fixture
def planner_client(client, planner):
    client.force_login(planner)
    return client


def test_a_site_edited_today_shows_its_old_status_as_of_yesterday(planner_client, planner):
    site = RenovationSite.objects.get(ref="RS-012")
    before = site.status
    _age(site, 3)
    editing.update(site, {"status": "vacating", "progress": 70}, planner)
    past = planner_client.get(f"/api/v1/renovation-sites/?as_of={_yesterday()}").json()
    feature = _by_id(past)[site.pk]
    assert feature["properties"]["status"] == before != "vacating"
    now = planner_client.get("/api/v1/renovation-sites/?as_of=" + timezone.localdate().isoformat())
    assert _by_id(now.json())[site.pk]["properties"]["status"] == "vacating"
    # Filters apply to the past: the site was not vacating yesterday.
    vacating = planner_client.get(f"/api/v1/renovation-sites/?as_of={_yesterday()}&status=vacating")
    assert site.pk not in _by_id(vacating.json())


def test_features_deleted_since_are_there_and_later_ones_are_not(planner_client):
    site = RenovationSite.objects.get(ref="RS-013")
    _age(site, 3)
    editing.soft_delete(site, None)
    assert site.pk not in _by_id(planner_client.get("/api/v1/renovation-sites/").json())
    past = planner_client.get(f"/api/v1/renovation-sites/?as_of={_yesterday()}").json()
    assert site.pk in _by_id(past)
    # Everything else was loaded today: it did not exist yesterday.
    assert list(_by_id(past)) == [site.pk]
    assert past["count"] == 1


def test_the_geometry_is_the_one_it_had(planner_client, planner):
    site = RenovationSite.objects.get(ref="RS-014")
    old = site.geom.extent
    _age(site, 3)
    moved = factories.multi(factories.rect(0, 0, 100, 100))
    editing.update(site, {"geom": moved}, planner)
    feature = _by_id(planner_client.get(f"/api/v1/renovation-sites/?as_of={_yesterday()}").json())[
        site.pk
    ]
    ring = feature["geometry"]["coordinates"][0][0]
    xs, ys = [c[0] for c in ring], [c[1] for c in ring]
    assert (min(xs), min(ys), max(xs), max(ys)) == pytest.approx(old, abs=1e-6)


def test_ogc_items_and_tiles_take_as_of(planner_client):
    site = RenovationSite.objects.get(ref="RS-011")
    _age(site, 3)
    items = planner_client.get(
        f"/ogc/collections/renovation-sites/items?as_of={_yesterday()}&limit=100"
    )
    assert items.status_code == 200, items.content
    assert [f["id"] for f in items.json()["features"]] == [site.pk]
    x, y = 13352, 6646  # a z14 tile over the old town
    tile = planner_client.get(f"/tiles/renovation-sites/14/{x}/{y}.pbf?as_of=2026-01-01")
    assert tile.status_code == 204  # nothing existed then
    bad = planner_client.get(f"/tiles/renovation-sites/14/{x}/{y}.pbf?as_of=tomorrow")
    assert bad.status_code == 400 and "as_of" in bad.json()


@pytest.mark.parametrize("raw", ["2999-01-01", "nope", "2026-13-01", "2026-12-07T25:00", "\x00"])
def test_bad_or_future_as_of_is_400_naming_it(planner_client, raw):
    response = planner_client.get("/api/v1/renovation-sites/", {"as_of": raw})
    assert response.status_code == 400
    assert "as_of" in response.json()
    ogc = planner_client.get("/ogc/collections/renovation-sites/items", {"as_of": raw})
    assert ogc.status_code == 400


def test_the_public_has_no_history(client):
    assert client.get(f"/api/v1/viewpoints/?as_of={_yesterday()}").status_code == 400


def test_parse_a_date_is_the_end_of_that_day_and_today_is_now():
    now = timezone.now()
    today = timezone.localdate(now).isoformat()
    assert asof.parse("as_of", today, now=now) == now
    end = asof.parse("as_of", "2026-06-30", now=now)
    assert timezone.localtime(end).date() == dt.date(2026, 6, 30)
    assert timezone.localtime(end + dt.timedelta(microseconds=1)).date() == dt.date(2026, 7, 1)
    with pytest.raises(ParamError):
        asof.parse("as_of", (now + dt.timedelta(minutes=5)).isoformat(), now=now)
