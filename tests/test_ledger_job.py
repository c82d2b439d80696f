"""The hazard ledger streamed (issue 28 item 2): openpyxl's write-only workbook holds the same
sheet as before (headers, rows, formats), written from a server-side cursor in chunks with
progress; as a job its file is private to its owner and editors; the direct download is
refused above LEDGER_DIRECT_ROWS, where the API and the dashboard start the job instead."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from layers.domain import clock
from layers.domain import vocabularies as status
from layers.domain.models import Job, SafetyHazard
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER
from layers.io import ledger
from layers.jobs import engine as jobs
from layers.jobs.kinds import ledger as ledger_jobs
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

LEDGER = "/api/v1/hazards/ledger.xlsx"


def signed_in(username: str, role: str | None, **kwargs) -> Client:
    client = Client()
    client.force_login(make_user(username, role, **kwargs))
    return client


def expected_rows(queryset) -> list[tuple]:
    """What the ledger's rows hold: `ledger.row` of each hazard, as openpyxl reads them back
    (a date comes back as a datetime at midnight, an empty text as an empty cell)."""
    import datetime as dt

    def cell(value):
        if type(value) is dt.date:
            return dt.datetime.combine(value, dt.time())
        return None if value == "" else value

    today = clock.today()
    return [
        tuple(cell(v) for v in ledger.row(hazard, today))
        for hazard in ledger.with_rectification(queryset)
    ]


def test_the_streamed_workbook_holds_the_same_sheet(monkeypatch):
    monkeypatch.setattr(ledger, "CHUNK_ROWS", 7)  # several chunks of the cursor
    hazards = SafetyHazard.objects.filter(deleted_at__isnull=True).order_by("ref", "pk")
    calls = []
    out = io.BytesIO()
    rows = ledger.write(hazards, out, lambda done, total: calls.append((done, total)))
    total = hazards.count()
    assert rows == total > 14
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["隐患台账"]
    sheet = book.active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ledger.HEADERS
    assert values[1:] == expected_rows(hazards)
    # The look: bold shaded centred headers, frozen first row, a filter over every row, the
    # column widths, date and time formats.
    head = sheet["A1"]
    assert head.font.b and head.fill.fgColor.rgb.endswith("DDE6F0")
    assert head.alignment.horizontal == "center"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:Q{total + 1}"
    assert [sheet.column_dimensions[c].width for c in "ABIQ"] == [12, 28, 12, 11]
    assert sheet["G2"].number_format == ledger.DATETIME_FORMAT
    assert sheet["I2"].number_format == ledger.DATE_FORMAT
    # Progress after every chunk of 7, then the end.
    assert [done for done, _ in calls] == [*range(7, total + 1, 7), total]
    assert {t for _, t in calls} == {total}


@pytest.fixture
def private(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return tmp_path


def test_the_ledger_job_writes_a_private_workbook(private, monkeypatch):
    monkeypatch.setattr(ledger, "CHUNK_ROWS", 10)
    owner = make_user("t-ledger-owner", INSPECTOR)
    job = jobs.start_job(ledger_jobs.KIND, owner, {"filters": {"status": ["found", "assigned"]}})
    seen = []
    real = jobs.Progress.__call__

    def recording(self, *, force=False, **values):
        seen.append(values)
        return real(self, force=force, **values)

    monkeypatch.setattr(jobs.Progress, "__call__", recording)
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.SUCCEEDED, job.error
    matching = SafetyHazard.objects.filter(
        deleted_at__isnull=True, status__in=["found", "assigned"]
    )
    total = matching.count()
    assert total > 0 and job.report["rows"] == total == job.done == job.total
    done = [v["done"] for v in seen if "done" in v]
    assert done == sorted(done) and done[0] == 0 and done[-1] == total
    assert jobs.output_path(job).is_file()
    assert str(private) in str(jobs.output_path(job))  # under PRIVATE_MEDIA_ROOT

    url = f"/jobs/{job.pk}/output"
    for client in (Client(), signed_in("t-ledger-other", INSPECTOR)):
        response = client.get(url)
        assert response.status_code in (302, 404), response.status_code  # sign-in / not yours
    owner_client = Client()
    owner_client.force_login(owner)
    for client in (owner_client, signed_in("t-ledger-editor", EDITOR, staff=True)):
        response = client.get(url)
        assert response.status_code == 200
        assert "hazard-ledger-" in response["Content-Disposition"]
        book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        rows = list(book.active.iter_rows(values_only=True))
        assert rows[0] == ledger.HEADERS and len(rows) - 1 == total
        labels = {status.HAZARD_STATUS.label(v) for v in ("found", "assigned")}
        assert {r[9] for r in rows[1:]} <= labels  # the filter held


def test_a_bad_ledger_filter_queues_nothing():
    user = make_user("t-ledger-bad", PLANNER)
    before = Job.objects.count()
    with pytest.raises(jobs.ParamError) as caught:
        jobs.start_job(ledger_jobs.KIND, user, {"filters": {"status": ["nonsense"]}})
    assert caught.value.name == "status"
    with pytest.raises(jobs.ParamError):
        jobs.start_job(ledger_jobs.KIND, make_user("t-ledger-none", None), {"filters": {}})
    assert Job.objects.count() == before


def test_a_large_ledger_is_a_job_on_the_api_and_the_dashboard(settings):
    settings.LEDGER_DIRECT_ROWS = 5
    client = signed_in("t-ledger-planner", PLANNER)
    refused = client.get(LEDGER)
    assert refused.status_code == 400 and "ledger" in refused.json()
    assert client.get(f"{LEDGER}?q=no-such-hazard-at-all").status_code == 200  # 0 rows: direct
    started = client.post(f"{LEDGER}?status=found")
    assert started.status_code == 202, started.content
    job = Job.objects.get(pk=started.json()["job"])
    assert job.kind == "hazard_ledger" and job.params == {"filters": {"status": ["found"]}}
    assert started["Location"] == f"/jobs/{job.pk}/"
    assert client.post(f"{LEDGER}?status=nonsense").status_code == 400
    assert Client().post(LEDGER).status_code in (401, 403)

    page = client.get("/dashboard/").content.decode()
    assert 'id="hh-ledger-job"' in page and 'id="hh-ledger"' not in page
    moved = client.post("/hazards/ledger/")
    assert moved.status_code == 302
    newest = Job.objects.filter(kind="hazard_ledger").latest("pk")
    assert moved["Location"] == f"/jobs/{newest.pk}/" and newest.user.username == "t-ledger-planner"
    nobody = signed_in("t-ledger-nobody", None)
    assert nobody.post("/hazards/ledger/").status_code == 403
    assert Job.objects.filter(kind="hazard_ledger").count() == 2
    settings.LEDGER_DIRECT_ROWS = 20000
    page = client.get("/dashboard/").content.decode()
    assert 'id="hh-ledger"' in page and 'id="hh-ledger-job"' not in page


def test_only_the_owner_and_editors_see_the_ledger_job(private):
    owner = get_user_model().objects.get(username="demo-planner")
    job = jobs.start_job(ledger_jobs.KIND, owner, {"filters": {}})
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.SUCCEEDED
    stranger = Client()
    stranger.force_login(get_user_model().objects.get(username="demo-inspector"))
    assert stranger.get(f"/jobs/{job.pk}/output").status_code == 404
    assert stranger.get(f"/jobs/{job.pk}/status.json").status_code == 404
