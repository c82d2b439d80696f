"""The progress report: two dates side by side per renovation site, on screen, XLSX and PDF."""

from __future__ import annotations

import datetime as dt
import io
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone
from openpyxl import load_workbook

from layers.domain.models import RenovationSite
from layers.services import editing

pytestmark = pytest.mark.django_db


@pytest.fixture
def planner_client(client):
    client.force_login(get_user_model().objects.get(username="demo-planner"))
    return client


def _dated_site():
    """RS-011 as it was three days ago, then moved on today."""
    site = RenovationSite.objects.get(ref="RS-011")
    RenovationSite.history.filter(id=site.pk).update(
        history_date=F("history_date") - dt.timedelta(days=3)
    )
    before = (site.status, site.progress)
    planner = get_user_model().objects.get(username="demo-planner")
    editing.update(site, {"status": "done", "progress": 100}, planner)
    return site, before


def test_the_report_shows_both_dates_and_the_change(planner_client):
    site, (stage, progress) = _dated_site()
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    today = timezone.localdate().isoformat()
    response = planner_client.get(f"/reports/progress/?first={yesterday}&second={today}")
    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index(site.name) :]
    row = row[: row.index("</tr>")]
    assert site.status_vocabulary.label(stage) in row and "完成" in row
    assert f"<td>{100 - progress}</td>" in row


def test_the_xlsx_and_the_pdf(planner_client):
    site, (stage, progress) = _dated_site()
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    response = planner_client.get(f"/reports/progress/?first={yesterday}&format=xlsx")
    assert response.status_code == 200
    assert "filename*=utf-8''" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[site.name][4:7] == (progress, 100, 100 - progress)
    pdf = planner_client.get(f"/reports/progress/?first={yesterday}&format=pdf")
    assert pdf.content.startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "改造项目进度报告" in text and "客车厂片区征收" in text


@pytest.mark.parametrize("query", ["first=2999-01-01", "second=nope", "format=doc", "x=1"])
def test_bad_values_are_400(planner_client, query):
    assert planner_client.get("/reports/progress/?" + query).status_code == 400


def test_only_planners_and_editors(client):
    assert client.get("/reports/progress/").status_code == 302
    client.force_login(get_user_model().objects.get(username="demo-inspector"))
    assert client.get("/reports/progress/").status_code == 403
