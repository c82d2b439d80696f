"""The tour's stop pages: /tour/stops/<n>/ in both languages, previous/next with the walk
between stops (measured by PostGIS here), and stop-<n>.html in the published site."""

from __future__ import annotations

import math
import re

import pytest
from django.core.management import call_command
from django.db import connection

from layers.domain.models import CulturalViewpoint

pytestmark = pytest.mark.django_db


def leg_metres(a: int, b: int) -> int:
    """PostGIS: the straight leg between two stops, in metres of EPSG:4549."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Length(ST_Transform(ST_MakeLine(a.geom, b.geom), 4549))"
            " FROM layers_culturalviewpoint a, layers_culturalviewpoint b"
            " WHERE a.tour_order = %s AND b.tour_order = %s",
            [a, b],
        )
        return round(cursor.fetchone()[0])


def stops() -> list[CulturalViewpoint]:
    return list(CulturalViewpoint.objects.order_by("tour_order"))


@pytest.mark.parametrize(("language", "lang"), [("zh-CN", "zh"), ("en", "en")])
def test_every_stop_page_answers_in_both_languages(client, language, lang):
    all_stops = stops()
    assert len(all_stops) >= 10
    for i, vp in enumerate(all_stops):
        n = vp.tour_order
        response = client.get(f"/tour/stops/{n}/", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, n
        html = response.content.decode()
        assert html.count(vp.name) >= 1 and vp.name_en in html
        text = vp.description_en if lang == "en" else vp.description
        assert text in html
        hours = vp.opening_hours_en if lang == "en" else vp.opening_hours
        assert hours in html
        assert f'src="/media/{vp.photo.name}"' in html
        label = "Opening hours" if lang == "en" else "开放时间"
        assert f"<strong>{label}:</strong>" in html
        links = dict(re.findall(r'id="hh-(prev|next)" href="([^"]+)"', html))
        if i > 0:
            before = all_stops[i - 1].tour_order
            assert links["prev"] == f"/tour/stops/{before}/"
            metres = leg_metres(before, n)
            assert f'data-metres="{metres}"' in html
            assert f'data-minutes="{max(1, math.ceil(metres / 75))}"' in html
        else:
            assert "prev" not in links
        if i < len(all_stops) - 1:
            assert links["next"] == f"/tour/stops/{all_stops[i + 1].tour_order}/"
        else:
            assert "next" not in links
        assert f'href="http://testserver/tour/stops/{n}/"' in html  # the shareable link


@pytest.mark.parametrize("path", ["/tour/stops/0/", "/tour/stops/999/", "/tour/stops/x/"])
def test_unknown_stops_are_404(client, path):
    assert client.get(path).status_code == 404


def test_the_tour_links_every_stop_and_the_stop_map_highlights_its_stop(client):
    html = client.get("/tour/").content.decode()
    assert '"stop_url": "/tour/stops/{n}/"' in html
    stop = client.get("/tour/stops/3/").content.decode()
    assert '"current": 3' in stop and '"centre": [' in stop


def test_deleted_stops_have_no_page(client):
    vp = CulturalViewpoint.objects.get(tour_order=2)
    vp.delete()  # soft delete
    assert client.get("/tour/stops/2/").status_code == 404
    html = client.get("/tour/stops/3/").content.decode()
    assert 'href="/tour/stops/1/"' in html  # previous skips the deleted stop


@pytest.mark.slow
def test_published_site_has_every_stop_page_in_both_languages(tmp_path):
    call_command("publish_tour", "--out", str(tmp_path / "site"))
    site = tmp_path / "site"
    for vp in stops():
        n = vp.tour_order
        zh = (site / f"stop-{n}.html").read_text(encoding="utf-8")
        en = (site / f"stop-{n}-en.html").read_text(encoding="utf-8")
        assert vp.description in zh and vp.description_en in en
        assert f'href="stop-{n}-en.html"' in zh and f'href="stop-{n}.html"' in en  # language
        assert "/static/" not in zh and 'src="/media/' not in zh
        assert f'src="media/{vp.photo.name}"' in zh
        assert (site / "media" / vp.photo.name).is_file()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert '"stop_url": "stop-{n}.html"' in index
