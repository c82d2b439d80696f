"""The editors' upload page /import/ (layers/portal/imports.py): roles, staging, mapping, run,
report, refusals (400, nothing changed) and its temporary folders."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from layers import models
from tests import io_files as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_tmp(settings, tmp_path):
    folder = tmp_path / "imports"
    folder.mkdir()
    settings.IMPORT_TMP_DIR = str(folder)
    return folder


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


def shapefile(tmp_path, n=3, prefix="PG") -> Path:
    data = f.frame(f.service_rows(n, prefix), f.points(n), key=4549)
    return f.write(data, tmp_path / "points.zip")


def test_only_editors_open_it(editor_client):
    from django.test import Client

    from tests.conftest import make_user

    assert Client().get("/import/").status_code == 302  # to the sign-in page
    planner = Client()
    planner.force_login(make_user("t-planner-io", "planner"))
    assert planner.get("/import/").status_code == 403
    assert planner.post("/import/", {"action": "cancel"}).status_code == 403
    page = editor_client.get("/import/")
    assert page.status_code == 200 and b'id="hh-import-form"' in page.content
    home = editor_client.get("/").content.decode()
    assert 'href="/import/"' in home


def test_upload_shows_the_mapping_then_runs(editor_client, tmp_path, private_tmp):
    page = editor_client.post(
        "/import/",
        {"action": "upload", "layer": "service-points", "file": upload(shapefile(tmp_path))},
    )
    assert page.status_code == 200, page.content.decode()[:500]
    html = page.content.decode()
    assert 'id="hh-import-mapping"' in html and "EPSG:4549" in html
    staged = list(private_tmp.iterdir())
    assert len(staged) == 1  # the upload waits in its own folder
    columns = editor_client.session["hehuachi_import"]["columns"]
    form = {"action": "run", "mode": "append", "crs": ""}
    for i, column in enumerate(columns):
        form[f"map_{i}"] = {"ref": "ref", "name": "name", "kind": "kind"}.get(column, "")
    report = editor_client.post("/import/", form)
    assert report.status_code == 200, report.content.decode()[:800]
    html = report.content.decode()
    assert 'id="hh-import-written">3<' in html and 'id="hh-import-progress"' in html
    points = models.ServicePoint.objects.filter(ref__startswith="PG-")
    assert points.count() == 3
    assert all(p.phone == "" for p in points)  # the phone column was set to "ignore"
    assert list(private_tmp.iterdir()) == []  # the staged file is gone
    again = editor_client.post("/import/", form)
    assert again.status_code == 400 and "file: 没有待导入的文件" in again.content.decode()


def test_a_bad_row_gives_400_and_writes_nothing(editor_client, tmp_path, private_tmp):
    rows = f.service_rows(3, "BAD")
    rows[2]["kind"] = "castle"
    path = f.write(f.frame(rows, f.points(3)), tmp_path / "bad.geojson")
    editor_client.post(
        "/import/", {"action": "upload", "layer": "service-points", "file": upload(path)}
    )
    columns = editor_client.session["hehuachi_import"]["columns"]
    form = {"action": "run", "mode": "append"}
    form.update(
        {f"map_{i}": c if c in ("ref", "name", "kind") else "" for i, c in enumerate(columns)}
    )
    report = editor_client.post("/import/", form)
    assert report.status_code == 400
    html = report.content.decode()
    assert 'id="hh-import-errors"' in html and "<td>3</td><td>kind</td>" in html
    assert not models.ServicePoint.objects.filter(ref__startswith="BAD-").exists()
    assert list(private_tmp.iterdir()) == []


def test_refused_uploads_say_why(editor_client, tmp_path, private_tmp):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../../evil.shp", b"x")
    cases = [
        ({"layer": "service-points", "file": upload(evil)}, "leaves the archive"),
        ({"layer": "service-points", "file": SimpleUploadedFile("a.exe", b"MZ")}, "not accepted"),
        ({"layer": "no-such-layer", "file": SimpleUploadedFile("a.csv", b"x")}, "layer:"),
        ({"layer": "service-points"}, "file:"),
        (
            {"layer": "service-points", "file": SimpleUploadedFile("a.csv", b"a,b\n1,2\n")},
            "geometry",
        ),
        (
            {"layer": "service-points", "file": SimpleUploadedFile("a.gpkg", b"not sqlite")},
            "cannot",
        ),
    ]
    before = models.ServicePoint.all_objects.count()
    for form, words in cases:
        page = editor_client.post("/import/", {"action": "upload", **form})
        assert page.status_code == 400, words
        assert words in page.content.decode(), (words, page.content.decode()[:400])
    assert models.ServicePoint.all_objects.count() == before
    assert list(private_tmp.iterdir()) == []


def test_run_refuses_a_field_that_is_not_importable(editor_client, tmp_path):
    editor_client.post(
        "/import/",
        {"action": "upload", "layer": "service-points", "file": upload(shapefile(tmp_path))},
    )
    page = editor_client.post("/import/", {"action": "run", "map_0": "grid_cell"})
    assert page.status_code == 400 and "map_0" in page.content.decode()
