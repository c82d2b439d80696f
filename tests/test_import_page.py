"""The editors' upload page /import/ (layers/channels/portal/imports.py): roles, staging, mapping,
run,
report, refusals (400, nothing changed) and its temporary folders."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from layers.domain import models
from layers.domain.models import Job
from layers.jobs import engine as jobs
from layers.jobs.kinds import imports as import_jobs
from layers.query.params import ParamError
from tests import io_files as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_tmp(settings, tmp_path):
    folder = tmp_path / "imports"
    folder.mkdir()
    settings.IMPORT_TMP_DIR = str(folder)
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return folder


def started_job(response) -> Job:
    """The job the run step started (it answers 303 to the job's page)."""
    assert response.status_code == 303, response.content.decode()[:800]
    job = Job.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert response["Location"] == f"/jobs/{job.pk}/"
    return job


def run_job(job: Job) -> Job:
    """Run the job in this process, as a worker would."""
    jobs.execute(job.pk)
    job.refresh_from_db()
    return job


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
    job = started_job(editor_client.post("/import/", form))
    assert job.kind == "import_layer" and job.status == Job.QUEUED
    assert job.params["mapping"]["phone"] is None and job.params["source"] == "points.zip"
    assert list(private_tmp.iterdir()) == []  # the staged folder moved into the job's folder
    assert (import_jobs.input_dir(job) / job.params["file"]).exists()
    assert "hehuachi_import" not in editor_client.session
    assert not models.ServicePoint.objects.filter(ref__startswith="PG-").exists()

    job = run_job(job)
    assert job.status == Job.SUCCEEDED, job.error
    assert (job.rows_read, job.rows_written, job.rows_refused) == (3, 3, 0)
    assert job.percent == 100
    lines = job.report["lines"]
    assert lines[0] == "service-points <- points.zip (append)"
    assert any(line.startswith("CRS EPSG:4549") for line in lines)
    assert "rows read 3, written 3 (created 3, updated 0), refused 0" in lines
    assert job.report["written"] == 3 and job.report["crs"] == "EPSG:4549"
    points = models.ServicePoint.objects.filter(ref__startswith="PG-")
    assert points.count() == 3
    assert all(p.phone == "" for p in points)  # the phone column was set to "ignore"
    assert not import_jobs.input_dir(job).exists()  # a definitive outcome: the input is gone
    page = editor_client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="hh-job-lines"' in page and "refused 0</li>" in page
    # The rows it wrote: the list filtered to them, and the maps zoomed to them.
    assert sorted(job.report["ids"]) == sorted(points.values_list("pk", flat=True))
    minx, miny, maxx, maxy = job.report["extent"]
    for p in points:
        assert minx - 1e-6 <= p.geom.x <= maxx + 1e-6 and miny - 1e-6 <= p.geom.y <= maxy + 1e-6
    status = editor_client.get(f"/jobs/{job.pk}/status.json").json()
    assert "ids" not in status["report"]  # they stay on the server
    links = [(link["kind"], link["href"]) for link in status["links"]]
    fit = ",".join(f"{v:.7f}" for v in job.report["extent"])
    assert links == [
        ("list", f"/admin/layers/servicepoint/?import_job={job.pk}"),
        ("map", f"/maps/planning/?fit={fit}&show=service-points"),
        ("map", f"/maps/inspection/?fit={fit}&show=service-points"),
    ]
    assert f'href="/admin/layers/servicepoint/?import_job={job.pk}"' in page
    listing = editor_client.get(links[0][1])
    assert listing.status_code == 200
    assert sorted(o.pk for o in listing.context["cl"].result_list) == sorted(job.report["ids"])
    planning = editor_client.get(links[1][1]).content.decode()
    assert f'"fit": [[{miny}, {minx}], [{maxy}, {maxx}]]' in planning
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
    job = run_job(started_job(editor_client.post("/import/", form)))
    assert job.status == Job.FAILED
    assert job.error == "1 bad row(s), nothing written; row 3: kind: " + job.report["errors"][0][2]
    # The refused import keeps its report: each bad row with its number, field and reason.
    assert job.report["errors"][0][:2] == [3, "kind"]
    assert any(line.startswith("row 3: kind: ") for line in job.report["lines"])
    assert (job.rows_read, job.rows_written, job.rows_refused) == (3, 0, 1)
    assert not models.ServicePoint.objects.filter(ref__startswith="BAD-").exists()
    assert list(private_tmp.iterdir()) == []
    assert not import_jobs.input_dir(job).exists()
    page = editor_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "row 3: kind: " in page and 'id="hh-job-error"' in page


def test_skip_invalid_writes_the_good_rows(editor_client, tmp_path):
    rows = f.service_rows(3, "SKP")
    rows[0]["kind"] = "castle"
    path = f.write(f.frame(rows, f.points(3)), tmp_path / "skip.geojson")
    editor_client.post(
        "/import/", {"action": "upload", "layer": "service-points", "file": upload(path)}
    )
    columns = editor_client.session["hehuachi_import"]["columns"]
    form = {"action": "run", "mode": "append", "skip_invalid": "on"}
    form.update(
        {f"map_{i}": c if c in ("ref", "name", "kind") else "" for i, c in enumerate(columns)}
    )
    job = run_job(started_job(editor_client.post("/import/", form)))
    assert job.status == Job.SUCCEEDED, job.error
    assert (job.rows_written, job.rows_refused) == (2, 1)
    assert models.ServicePoint.objects.filter(ref__startswith="SKP-").count() == 2


def test_an_unexpected_failure_keeps_the_input_for_a_retry(editor_client, tmp_path, monkeypatch):
    editor_client.post(
        "/import/",
        {"action": "upload", "layer": "service-points", "file": upload(shapefile(tmp_path))},
    )
    columns = editor_client.session["hehuachi_import"]["columns"]
    form = {"action": "run", "crs": ""}
    form.update(
        {f"map_{i}": c if c in ("ref", "name", "kind") else "" for i, c in enumerate(columns)}
    )
    job = started_job(editor_client.post("/import/", form))
    real = import_jobs.importer.run_import

    def broken(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(import_jobs.importer, "run_import", broken)
    job = run_job(job)
    assert job.status == Job.FAILED and job.error == "OSError: disk gone"
    assert (import_jobs.input_dir(job) / job.params["file"]).exists()  # kept for a retry
    monkeypatch.setattr(import_jobs.importer, "run_import", real)
    job = run_job(jobs.retry(job))
    assert job.status == Job.SUCCEEDED, job.error
    assert job.attempts == 2 and job.rows_written == 3
    assert models.ServicePoint.objects.filter(ref__startswith="PG-").count() == 3
    assert not import_jobs.input_dir(job).exists()


def test_job_params_are_checked_strictly(editor):
    from tests.conftest import make_user

    good = {"layer": "service-points", "file": "a.geojson"}
    assert import_jobs.clean_params(good, editor)["mode"] == "append"
    cases = [
        ({**good, "layer": "nope"}, "layer"),
        ({**good, "file": "../x.shp"}, "file"),
        ({**good, "file": "/etc/passwd"}, "file"),
        ({**good, "file": 3}, "file"),
        ({**good, "crs": "+proj=longlat"}, "crs"),
        ({**good, "crs": 4326}, "crs"),
        ({**good, "mode": "merge"}, "mode"),
        ({**good, "key": "grid_cell"}, "key"),
        ({**good, "skip_invalid": "on"}, "skip_invalid"),
        ({**good, "dry_run": 1}, "dry_run"),
        ({**good, "mapping": ["name"]}, "mapping"),
        ({**good, "mapping": {"a": "grid_cell"}}, "mapping"),
        ({**good, "cad_layer": "/vsicurl/x"}, "cad_layer"),
        ({**good, "extra": 1}, "extra"),
    ]
    for params, name in cases:
        with pytest.raises(ParamError) as caught:
            import_jobs.clean_params(params, editor)
        assert caught.value.name == name, (params, caught.value)
    before = Job.objects.count()  # (the browser tests' jobs are committed data)
    with pytest.raises(ParamError) as caught:
        jobs.start_job("import_layer", make_user("t-inspector-ij", "inspector"), good)
    assert caught.value.name == "layer" and "may not edit" in str(caught.value)
    assert Job.objects.count() == before


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


def test_the_command_queues_a_job_with_its_input(editor, tmp_path):
    from django.core.management import CommandError, call_command

    rows = f.service_rows(2, "CMD")
    path = f.write(f.frame(rows, f.points(2), key=4549), tmp_path / "cmd.zip")
    args = ["import_layer", "service-points", str(path), "--job"]
    earlier = set(Job.objects.values_list("pk", flat=True))  # committed by other tests
    with pytest.raises(CommandError, match="--job needs --user"):
        call_command(*args)
    with pytest.raises(CommandError, match="key: "):
        call_command(*args, "--user", editor.username, "--key", "grid_cell")
    assert set(Job.objects.values_list("pk", flat=True)) == earlier  # refused: nothing queued
    call_command(*args, "--user", editor.username)
    job = Job.objects.exclude(pk__in=earlier).get(kind="import_layer")
    assert job.user == editor and job.params["file"] == "data"
    assert job.params["source"] == "cmd.zip"
    assert (import_jobs.input_dir(job) / "data").is_dir()
    job = run_job(job)
    assert job.status == Job.SUCCEEDED, job.error
    assert job.rows_written == 2 and job.report["crs"] == "EPSG:4549"
    assert models.ServicePoint.objects.filter(ref__startswith="CMD-").count() == 2
    assert not import_jobs.input_dir(job).exists()
