"""Compiled list pages (layers/query/pages.py) and the REST list without DRF's machinery
(layers/channels/api/fastlist.py) answer exactly what the ORM path answers: the same bytes,
the same headers, the same errors, for every layer, role and parameter tried here."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

from layers.auth.tokens import ApiToken
from layers.domain import models, registry
from layers.query import pages
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

BOX = "119.9400,31.7750,119.9600,31.7900"
LAYERS = [spec.slug for spec in registry.LAYERS]
REST_QUERIES = [
    "",
    f"bbox={BOX}",
    f"bbox={BOX}&page_size=3",
    f"bbox={BOX}&page_size=3&page=2",
    "page_size=2&page=3&count=exact",
    "page_size=5&count=estimate",
    "page=1000&page_size=1000",
    f"bbox={BOX}&page_size=1000",
]
OGC_QUERIES = [
    "",
    f"bbox={BOX}&limit=3",
    f"bbox={BOX}&limit=3&offset=4",
    "limit=2&offset=1000000",
    f"bbox={BOX}&limit=5&f=json",
    "bbox=31.7750,119.9400,31.7900,119.9600&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326",
    "bbox=3514000,494000,3519000,497000"
    "&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4549&limit=4",
    "crs=http://www.opengis.net/def/crs/EPSG/0/4326&limit=4",
]
# Answers the fast path hands to the ORM/DRF path: each must stay that path's own.
ERRORS = [
    "bbox=1,2,3",
    "bbox=",
    "page=0",
    "page_size=100000",
    "count=maybe",
    "page=1&page=2",
    "nonsense=1",
]


@pytest.fixture
def callers(db):
    """name -> a test Client: anonymous, a session per role, a Token header per role."""
    out = {"anonymous": Client()}
    for role in ("planner", "inspector", "editor"):
        user = make_user(f"t-{role}", role, staff=role == "editor")
        session = Client()
        session.force_login(user)
        out[f"{role} session"] = session
        _token, key = ApiToken.issue(user, "fast-pages")
        out[f"{role} token"] = Client(HTTP_AUTHORIZATION=f"Token {key}")
    return out


def answer(client, url: str, **headers):
    response = client.get(url, **headers)
    body = response.content
    if url.startswith("/ogc/"):  # the one value that differs from one second to the next
        body = re.sub(rb'"timeStamp": "[^"]+"', b'"timeStamp": ""', body)
    return response.status_code, sorted(response.items()), body


def both_paths(settings, client, url: str, **headers):
    """(fast answer, the ORM path's answer, whether the compiled pages served it)."""
    settings.FAST_PAGES = True
    before = dict(pages.stats)
    answer(client, url, **headers)  # compiles the shape (or not)
    fast = answer(client, url, **headers)  # from the compiled statement
    served = pages.stats["reused"] > before["reused"]
    settings.FAST_PAGES = False
    slow = answer(client, url, **headers)
    return fast, slow, served


# Every layer for every caller: seconds each (`make test-fast` leaves them to `make test`).
@pytest.mark.slow
@pytest.mark.parametrize("query", REST_QUERIES)
def test_rest_pages_are_the_orm_paths_bytes(settings, callers, query):
    served = 0
    for who, client in callers.items():
        for slug in LAYERS:
            url = f"/api/v1/{slug}/?{query}"
            fast, slow, used = both_paths(settings, client, url)
            assert fast == slow, f"{who} {url}"
            served += used
            if used:
                assert fast[0] == 200
    # Vacuous unless the compiled path answered: every readable layer, for every caller.
    assert served >= len(LAYERS) * (len(callers) - 1)


@pytest.mark.slow
@pytest.mark.parametrize("query", OGC_QUERIES)
def test_ogc_items_are_the_orm_paths_bytes(settings, callers, query):
    served = 0
    for who, client in callers.items():
        for slug in LAYERS:
            url = f"/ogc/collections/{slug}/items?{query}"
            fast, slow, used = both_paths(settings, client, url)
            assert fast == slow, f"{who} {url}"
            served += used
    assert served >= len(LAYERS) * (len(callers) - 1)


@pytest.mark.parametrize("query", ERRORS)
def test_errors_are_the_viewsets_own(settings, callers, query):
    for who in ("anonymous", "planner token", "editor session"):
        for slug in ("buildings", "pocket-parks", "hazards"):
            url = f"/api/v1/{slug}/?{query}"
            fast, slow, _used = both_paths(settings, callers[who], url)
            assert fast == slow, f"{who} {url}"
            assert fast[0] in (400, 401, 403), f"{who} {url}: {fast[0]}"


def test_headers_and_credentials_are_the_viewsets_own(settings, callers):
    url = f"/api/v1/pocket-parks/?bbox={BOX}"
    cases = [
        ("anonymous", {"HTTP_ACCEPT": "text/html"}),  # DRF: 406
        ("anonymous", {"HTTP_ACCEPT": "application/geo+json"}),
        ("anonymous", {"HTTP_ACCEPT": "text/html, application/json;q=0.9"}),
        ("anonymous", {"HTTP_AUTHORIZATION": "Token wrong"}),  # 401
        ("anonymous", {"HTTP_AUTHORIZATION": "Basic eDp5"}),
        ("editor session", {"HTTP_ORIGIN": "http://elsewhere.example"}),
        ("editor token", {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}),
    ]
    for who, headers in cases:
        fast, slow, _used = both_paths(settings, callers[who], url, **headers)
        assert fast == slow, f"{who} {headers}"


def test_anonymous_callers_are_throttled_once_per_request(settings, callers):
    settings.API_THROTTLE_RATES = {"anon": "3/min"}
    settings.FAST_PAGES = True
    client = callers["anonymous"]
    url = f"/api/v1/pocket-parks/?bbox={BOX}"
    statuses = [client.get(url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert pages.stats["reused"] > 0


def test_a_write_shows_on_the_next_page(settings, callers):
    """The statement is compiled once; the data is read per request."""
    settings.FAST_PAGES = True
    client = callers["editor token"]
    url = "/api/v1/pocket-parks/?page_size=1000"
    first = client.get(url).json()
    park = models.PocketPark.objects.order_by("pk").first()
    park.name = "改过的名字"
    park.save()
    second = client.get(url).json()
    names = {f["id"]: f["properties"]["name"] for f in second["features"]}
    assert names[park.pk] == "改过的名字" and first != second


def test_overdue_follows_the_service_clock(settings, callers):
    """A hazard's `overdue` compares with the service clock's today, which the compiled
    statement holds: moving the clock must not serve yesterday's answer."""
    client = callers["editor token"]
    url = "/api/v1/hazards/?page_size=1000"

    def overdue(today: str) -> set[int]:
        with override_settings(SERVICE_TODAY=today, SERVICE_CLOCK_OFFSET="", FAST_PAGES=True):
            pages.stats["reused"] = 0
            client.get(url)
            body = client.get(url).json()
            assert pages.stats["reused"] > 0
        return {f["id"] for f in body["features"] if f["properties"]["overdue"]}

    early, late = overdue("2000-01-01"), overdue("2100-01-01")
    assert early != late
    with override_settings(SERVICE_TODAY="2100-01-01", SERVICE_CLOCK_OFFSET="", FAST_PAGES=False):
        body = client.get(url).json()
    assert late == {f["id"] for f in body["features"] if f["properties"]["overdue"]}
