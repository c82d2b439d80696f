"""Damaged uploads and what their errors show (issue 27): a damaged spreadsheet is refused
with 400 like a damaged zip, and every message names the user's file, never the folder the
service keeps it in."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from layers.domain import models
from layers.io import importer, read
from layers.jobs import engine as jobs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_tmp(settings, tmp_path):
    folder = tmp_path / "imports"
    folder.mkdir()
    settings.IMPORT_TMP_DIR = str(folder)
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return folder


def good_xlsx() -> bytes:
    book = Workbook()
    book.active.append(["name", "lon", "lat"])
    book.active.append(["A", 119.95, 31.78])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def damaged_workbooks() -> dict[str, bytes]:
    data = good_xlsx()
    no_sheet = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(no_sheet, "w") as out:
        for item in source.infolist():
            if "worksheets" not in item.filename:
                out.writestr(item, source.read(item))
    bad_xml = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(bad_xml, "w") as out:
        for item in source.infolist():
            body = source.read(item)
            out.writestr(item, body[: len(body) // 2] if "sheet1" in item.filename else body)
    return {
        "truncated": data[: len(data) // 2],
        "not a zip": b"PK\x03\x04 but nothing else",
        "text": "名称,lon,lat\n".encode(),
        "no worksheet": no_sheet.getvalue(),
        "broken sheet XML": bad_xml.getvalue(),
    }


def assert_no_server_path(text: str, *folders) -> None:
    for folder in folders:
        assert str(folder) not in text
    assert "hehuachi-import" not in text and "/tmp/" not in text  # noqa: S108
    assert "upload.xlsx" not in text and "upload.gpkg" not in text


@pytest.mark.parametrize("case", list(damaged_workbooks()))
def test_a_damaged_workbook_upload_is_400_naming_the_users_file(editor_client, private_tmp, case):
    body = damaged_workbooks()[case]
    before = models.ServicePoint.all_objects.count()
    page = editor_client.post(
        "/import/",
        {
            "action": "upload",
            "layer": "service-points",
            "file": SimpleUploadedFile("服务点 2026.xlsx", body),
        },
    )
    assert page.status_code == 400, page.content.decode()[:500]
    text = page.content.decode()
    assert "服务点 2026.xlsx" in text and "XLSX" in text
    assert_no_server_path(text, private_tmp)
    assert models.ServicePoint.all_objects.count() == before
    assert list(private_tmp.iterdir()) == []


def test_other_damaged_files_name_the_users_file(editor_client, private_tmp):
    cases = {
        "parks.gpkg": b"SQLite format 3\x00" + b"\x00" * 200,
        "parks.geojson": b'{"type": "FeatureCollection", "features": [',
        "parks.kml": b"<kml><Document><Placemark>",
        "parks.zip": b"PK\x05\x06" + b"\x00" * 18,
        "parks.csv": b"\xff\xfe\x00\x00garbage",
    }
    for name, body in cases.items():
        page = editor_client.post(
            "/import/",
            {"action": "upload", "layer": "service-points", "file": SimpleUploadedFile(name, body)},
        )
        assert page.status_code == 400, (name, page.content.decode()[:500])
        text = page.content.decode()
        assert_no_server_path(text, private_tmp)
        if not name.endswith(".zip"):
            assert name in text, (name, text[:2000])


def test_the_reader_and_the_job_name_the_file_as_given(tmp_path, editor, settings):
    staged = tmp_path / "hehuachi-import-staged-0123" / "upload.xlsx"
    staged.parent.mkdir()
    staged.write_bytes(damaged_workbooks()["truncated"])
    with pytest.raises(read.ReadError) as caught:
        read.read(staged, shown="台账.xlsx")
    assert str(caught.value).startswith("台账.xlsx: not a readable XLSX workbook")
    assert str(staged.parent) not in str(caught.value)
    report = importer.run_import("service-points", staged, source="台账.xlsx", user=editor)
    assert report.source == "台账.xlsx" and "台账.xlsx" in report.fatal
    assert "hehuachi-import" not in report.fatal
    # Through the import job (the page's run step): refused with the report, not crashed.
    job = jobs.start_job(
        "import_layer",
        editor,
        {"layer": "service-points", "file": "upload.xlsx", "source": "台账.xlsx"},
    )
    from layers.jobs.kinds import imports as import_jobs

    folder = import_jobs.input_dir(job)
    folder.mkdir(parents=True)
    (folder / "upload.xlsx").write_bytes(damaged_workbooks()["no worksheet"])
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert job.status == job.FAILED
    assert "台账.xlsx" in job.error and "XLSX" in job.error
    assert str(settings.PRIVATE_MEDIA_ROOT) not in job.error and "upload.xlsx" not in job.error


def test_unexpected_job_errors_show_no_server_folder():
    from layers.jobs.engine import _reason

    text = _reason(FileNotFoundError(2, "No such file", "/srv/private-media/jobs/4/input/a.xlsx"))
    assert "/srv" not in text and "a.xlsx" in text
