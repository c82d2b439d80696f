"""Background jobs and print-quality maps: rendering, the job engine with a real procrastinate
worker process (progress, report, failure, a worker killed mid-job and the retry), job pages."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from PIL import Image

from layers.domain import vocabularies as status
from layers.domain.models import Building, Community, Job, RenovationSite, SafetyHazard
from layers.io import printing
from layers.jobs import engine as jobs
from layers.query.params import ParamError

ROOT = Path(__file__).resolve().parent.parent
AREA = "119.93,31.765,119.97,31.80"


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


# --- rendering -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pdf_holds_the_legend_labels_in_chinese(tmp_path):
    params = printing.clean_params(
        {
            "layers": ["communities", "renovation-sites", "pocket-parks"],
            "bbox": AREA,
            "format": "pdf",
            "paper": "A3",
            "title": "荷花池街道改造项目图",
            "subtitle": "第二期",
        }
    )
    out = tmp_path / "map.pdf"
    report = printing.render(params, out)
    text = pdf_text(out)
    assert out.read_bytes().startswith(b"%PDF")
    # The statuses of the sites drawn, from the registry's palette, each in Chinese.
    site_statuses = set(RenovationSite.objects.values_list("status", flat=True))
    assert site_statuses
    for value in site_statuses:
        assert status.RENOVATION_STATUS.label(value) in text, value
    for title in ("社区", "改造项目", "法治口袋公园", "荷花池街道改造项目图", "第二期", "图例"):
        assert title in text
    assert "示意数据" in text and "EPSG:4549" in text and "m" in text
    assert report["features"]["renovation-sites"] == RenovationSite.objects.count()
    # A3 landscape: 420 x 297 mm.
    from pypdf import PdfReader

    box = PdfReader(out).pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (
        420,
        297,
    )


@pytest.mark.django_db
def test_png_has_the_requested_pixel_size(tmp_path):
    community = Community.objects.order_by("code").first()
    out = tmp_path / "map.png"
    call_command(
        "render_map",
        "--layers=communities,buildings,hazards",
        f"--community={community.code}",
        "--format=png",
        "--size=1234x567",
        f"--out={out}",
    )
    with Image.open(out) as image:
        assert image.size == (1234, 567)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"layers": ["nope"], "bbox": AREA}, "layers"),
        ({"layers": ["communities"]}, "bbox"),
        ({"layers": ["communities"], "bbox": AREA, "grid": "G01"}, "bbox"),
        ({"layers": ["communities"], "bbox": "1,2,3"}, "bbox"),
        ({"layers": ["communities"], "bbox": "0,0,1,1"}, "bbox"),
        ({"layers": ["communities"], "community": "no-such"}, "community"),
        ({"layers": ["communities"], "bbox": AREA, "format": "svg"}, "format"),
        ({"layers": ["communities"], "bbox": AREA, "paper": "B5"}, "paper"),
        ({"layers": ["communities"], "bbox": AREA, "format": "png", "size": "9x9"}, "size"),
        ({"layers": ["communities"], "bbox": AREA, "size": "800x600"}, "size"),
        ({"layers": ["communities"], "bbox": AREA, "title": "a\x00b"}, "title"),
    ],
)
def test_bad_print_parameters_are_refused_by_name(raw, field):
    with pytest.raises(ParamError) as caught:
        printing.clean_params(raw)
    assert caught.value.name == field


@pytest.mark.django_db
def test_render_map_command_exits_nonzero_naming_the_option(tmp_path):
    with pytest.raises(CommandError, match="grid"):
        call_command("render_map", "--layers=communities", "--grid=X9", f"--out={tmp_path}/a.pdf")
    assert not list(tmp_path.iterdir())


@pytest.mark.django_db
def test_a_role_reads_only_what_it_may_print():
    # The public may print only public layers (a job's owner is checked like a reader).
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(ParamError, match="layers"):
        printing.clean_params({"layers": ["hazards"], "bbox": AREA}, AnonymousUser())


# --- the engine with a real worker -----------------------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Worker:
    """`manage.py procrastinate worker` on the test database, in its own process group."""

    def __init__(self, log: Path, media: Path):
        self.log = log
        self.media = media
        self.process = None
        # Its database sessions carry this name (libpq's PGAPPNAME), so a test can tell them
        # from every other session on the test database.
        self.app_name = f"hh-test-worker-{os.getpid()}-{id(self):x}"

    def start(self):
        env = {**os.environ, "DATABASE_URL": _database_url(), "JOB_PROGRESS_INTERVAL": "0"}
        env["PRIVATE_MEDIA_ROOT"] = str(self.media)
        env["PGAPPNAME"] = self.app_name
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "procrastinate", "worker"],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def sessions(self, cursor) -> int:
        """How many database sessions this worker (or what is left of it) still holds."""
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [self.app_name]
        )
        return cursor.fetchone()[0]

    def kill(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker(django_db_setup, django_db_blocker, tmp_path, settings):
    # Outputs go to a folder of the test, where the worker process writes them too.
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    with django_db_blocker.unblock():
        before = set(Job.objects.values_list("pk", flat=True))
    running = Worker(tmp_path / "worker.log", settings.PRIVATE_MEDIA_ROOT).start()
    yield running
    running.stop()
    with django_db_blocker.unblock():
        Job.objects.exclude(pk__in=before).delete()
        # Leave the worker-less queue empty for the next tests.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'layers.run_job'")


def wait_for(job: Job, predicate, timeout: float = 90) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if predicate(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job.pk} stayed {job.status} ({job.message}; {job.error})")


@pytest.mark.slow
def test_a_render_job_reports_progress_and_its_output(worker, django_db_blocker):
    with django_db_blocker.unblock():
        planner = get_user_model().objects.get(username="demo-planner")
        job = jobs.start_job(
            "render_map",
            planner,
            {"layers": ["communities", "renovation-sites", "buildings"], "bbox": AREA},
        )
        assert job.status == Job.QUEUED and job.task_id
        wait_for(job, lambda j: j.finished)
        assert job.status == Job.SUCCEEDED, job.error
        assert job.attempts == 1
        assert (job.done, job.total) == (5, 5)  # three layers, then the file, then done
        assert job.report["features"]["buildings"] == Building.objects.count()
        assert "施工 Under construction" in job.report["legend"]
        output = jobs.output_path(job)
        assert output.is_file() and output.read_bytes().startswith(b"%PDF")
        assert "改造项目" in pdf_text(output)
        assert not jobs.workdir(job).exists()
        assert job.started_at <= job.finished_at


@pytest.mark.slow
def test_a_failing_job_says_why(worker, django_db_blocker):
    # The community was there when the job was queued and is gone when it runs.
    with django_db_blocker.unblock():
        job = Job.objects.create(
            kind="render_map",
            params={
                "layers": ["communities"],
                "community": "GONE-99",
                "format": "pdf",
                "paper": "A4",
                "orientation": "landscape",
                "title": "t",
                "subtitle": "",
            },
        )
        jobs._defer(job)
        wait_for(job, lambda j: j.finished)
    assert job.status == Job.FAILED
    assert "community" in job.error and "GONE-99" in job.error
    assert not job.output
    assert jobs.can_retry(job)


def _lock_waiters(cursor, db_name: str) -> int:
    cursor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
        [db_name],
    )
    return cursor.fetchone()[0]


@pytest.fixture
def keep_rows(django_db_blocker):
    """keep(obj): the committed row gets its columns back after the test, and the history
    records written meanwhile are removed (other tests see the sample data as loaded)."""
    from django.utils import timezone

    kept = []
    started = timezone.now()

    def keep(obj):
        table = obj._meta.db_table
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f"SELECT row_to_json(t)::text FROM {table} t WHERE id = %s", [obj.pk])  # noqa: S608
            kept.append((obj, cursor.fetchone()[0]))

    yield keep
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for obj, row in kept:
            table = obj._meta.db_table
            columns = ", ".join(f.column for f in obj._meta.concrete_fields if not f.primary_key)
            cursor.execute(
                f"UPDATE {table} SET ({columns}) = (SELECT {columns} FROM "  # noqa: S608
                f"json_populate_record(NULL::{table}, %s::json)) WHERE id = %s",
                [row, obj.pk],
            )
            history = obj.history.model._meta.db_table
            cursor.execute(
                f"DELETE FROM {history} WHERE id = %s AND history_date >= %s",  # noqa: S608
                [obj.pk, started],
            )


@pytest.mark.slow
def test_a_killed_worker_leaves_the_database_as_it_was_and_the_job_is_retried(
    worker, django_db_blocker, tmp_path, keep_rows
):
    """The job re-derives links in one transaction. A hazard row locked by another session
    holds it after it has already rewritten the buildings; the worker is killed there."""
    db = connection.settings_dict
    with django_db_blocker.unblock():
        building = Building.objects.exclude(community=None).order_by("pk").first()
        right_community = building.community_id
        wrong = Community.objects.exclude(pk=right_community).order_by("pk").first()
        hazard = SafetyHazard.objects.exclude(grid_cell=None).order_by("pk").first()
        right_grid = hazard.grid_cell_id
        keep_rows(building)
        keep_rows(hazard)
        with connection.cursor() as cursor:
            # Break two derived links behind the application's back (committed).
            cursor.execute(
                "UPDATE layers_building SET community_id = %s WHERE id = %s",
                [wrong.pk, building.pk],
            )
            cursor.execute(
                "UPDATE layers_safetyhazard SET grid_cell_id = NULL WHERE id = %s", [hazard.pk]
            )
        blocker = psycopg.connect(
            dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"],
            port=db["PORT"],
        )  # fmt: skip
        try:
            blocker.execute(
                "SELECT id FROM layers_safetyhazard WHERE id = %s FOR UPDATE", [hazard.pk]
            )
            editor = get_user_model().objects.get(username="demo-editor")
            job = jobs.start_job("refresh_derived", editor, {})
            # The job has rewritten the buildings and now waits for the locked hazard.
            wait_for(job, lambda j: j.status == Job.RUNNING and j.message == "hazards")
            with connection.cursor() as cursor:
                deadline = time.monotonic() + 60
                while _lock_waiters(cursor, db["NAME"]) == 0:
                    assert time.monotonic() < deadline, "the job never waited for the lock"
                    time.sleep(0.2)
            assert jobs.workdir(job).is_dir()
            worker.kill()
            # Its session ends with it and the transaction is rolled back. A backend waiting for
            # a lock notices its client is gone only once it has the lock: let the lock go.
            blocker.rollback()
            with connection.cursor() as cursor:
                deadline = time.monotonic() + 30
                while worker.sessions(cursor):
                    assert time.monotonic() < deadline, "the killed worker's session stayed"
                    time.sleep(0.1)
        finally:
            blocker.rollback()
            blocker.close()
        building.refresh_from_db()
        hazard.refresh_from_db()
        assert building.community_id == wrong.pk  # nothing half-written
        assert hazard.grid_cell_id is None
        job.refresh_from_db()
        assert job.status == Job.RUNNING and job.attempts == 1
        assert not jobs.can_retry(job)  # not stale yet: an operator forces it
        call_command("jobs", "retry", str(job.pk), "--force")
        fresh = Worker(tmp_path / "worker2.log", worker.media).start()
        try:
            wait_for(job, lambda j: j.finished)
        finally:
            fresh.stop()
        assert job.status == Job.SUCCEEDED, job.error
        assert job.attempts == 2
        assert job.report["buildings"]["by_link"]["community_id"] >= 1
        assert job.report["hazards"]["by_link"]["grid_cell_id"] >= 1
        building.refresh_from_db()
        hazard.refresh_from_db()
        assert building.community_id == right_community
        assert hazard.grid_cell_id == right_grid
        # The killed attempt's work folder is gone too.
        assert not jobs.workdir(job).exists()


def test_progress_writes_are_throttled_and_forced(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        job = Job.objects.create(kind="render_map", params={})
        try:
            progress = jobs.Progress(job, interval=3600)
            progress(done=1, total=4, message="first")  # the first write goes through
            assert Job.objects.get(pk=job.pk).done == 1
            progress(done=2)  # within the interval: held back
            assert Job.objects.get(pk=job.pk).done == 1
            progress(done=3, read=10, written=9, refused=1, force=True)
            row = Job.objects.get(pk=job.pk)
            assert (row.done, row.total, row.rows_read, row.rows_written, row.rows_refused) == (
                3,
                4,
                10,
                9,
                1,
            )
            progress(done=4)
            progress.close()  # the last value is always written
            assert Job.objects.get(pk=job.pk).done == 4
            with pytest.raises(TypeError):
                progress(rows=1)
        finally:
            job.delete()


# --- pages -----------------------------------------------------------------------------------


@pytest.fixture
def finished_job(db, tmp_path, settings):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    owner = get_user_model().objects.get(username="demo-planner")
    job = Job.objects.create(
        kind="render_map", params={}, user=owner, status=Job.SUCCEEDED, total=3, done=3,
        report={"features": {"communities": 4}},
    )  # fmt: skip
    folder = jobs.job_dir(job)
    folder.mkdir(parents=True)
    (folder / "output.pdf").write_bytes(b"%PDF-1.4 test")
    job.output = f"{job.pk}/output.pdf"
    job.save()
    return job


def _client(username):
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_a_job_is_shown_to_its_owner_and_editors_only(finished_job):
    for name in ("demo-planner", "demo-editor"):
        client = _client(name)
        assert client.get(f"/jobs/{finished_job.pk}/").status_code == 200
        state = client.get(f"/jobs/{finished_job.pk}/status.json").json()
        assert state["status"] == "succeeded" and state["percent"] == 100
        response = client.get(state["output"])
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"%PDF")
    stranger = _client("demo-inspector")
    for path in ("/", "/status.json", "/output"):
        assert stranger.get(f"/jobs/{finished_job.pk}{path}").status_code == 404
    from django.test import Client

    anonymous = Client().get(f"/jobs/{finished_job.pk}/status.json")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    mine = _client("demo-planner").get("/jobs/").content.decode()
    assert f"/jobs/{finished_job.pk}/" in mine
    assert f"/jobs/{finished_job.pk}/" not in _client("demo-editor").get("/jobs/").content.decode()


@pytest.mark.django_db
def test_print_action_refuses_bad_input_by_name_and_queues_nothing():
    planner = _client("demo-planner")
    page = planner.get("/maps/planning/").content.decode()
    assert 'id="hh-print"' in page
    before = Job.objects.count()
    for data, name in (
        ({"paper": "A4"}, "bbox"),
        ({"bbox": "119.94,31.77,x,31.79"}, "bbox"),
        ({"bbox": AREA, "paper": "Letter"}, "paper"),
        ({"bbox": AREA, "orientation": "up"}, "orientation"),
        ({"area": "street:1"}, "area"),
        ({"area": "site:999999"}, "site"),
        ({"area": "community:NOPE"}, "community"),
    ):
        response = planner.post("/maps/planning/print/", data)
        assert response.status_code == 400
        assert response.content.decode().startswith(name)
    assert Job.objects.count() == before
    # A role that may not open the map may not print it.
    assert (
        _client("demo-inspector").post("/maps/planning/print/", {"bbox": AREA}).status_code == 403
    )
    assert planner.post("/maps/tour/print/", {"bbox": AREA}).status_code == 404


@pytest.mark.django_db
def test_refresh_derived_jobs_are_for_editors():
    planner = get_user_model().objects.get(username="demo-planner")
    with pytest.raises(ParamError, match="editors"):
        jobs.start_job("refresh_derived", planner, {})
    with pytest.raises(ParamError, match="kind"):
        jobs.start_job("no-such-kind", planner, {})


@pytest.mark.django_db
def test_sweep_removes_the_work_folders_of_jobs_not_running(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    dead = Job.objects.create(kind="render_map", status=Job.RUNNING)
    live = Job.objects.create(kind="render_map", status=Job.RUNNING)
    for job in (dead, live):
        jobs.workdir(job).mkdir(parents=True)
        (jobs.workdir(job) / "part.tmp").write_bytes(b"half")
    # The dead attempt's job was marked failed (or retried); the live one still runs.
    Job.objects.filter(pk=dead.pk).update(status=Job.FAILED)
    assert jobs.sweep_workdirs(min_age=3600) == 0  # too fresh: could be an attempt starting
    assert jobs.sweep_workdirs(min_age=0) == 1
    assert not jobs.workdir(dead).exists()
    assert (jobs.workdir(live) / "part.tmp").exists()


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.slow
def test_render_map_job_on_the_command_line_shows_a_progress_bar(
    worker, django_db_blocker, tmp_path
):
    out = tmp_path / "cli.pdf"
    printed = io.StringIO()
    with django_db_blocker.unblock():
        call_command(
            "render_map",
            "--layers=communities,pocket-parks",
            f"--bbox={AREA}",
            "--job",
            "--wait",
            f"--out={out}",
            stdout=printed,
        )
    lines = printed.getvalue().splitlines()
    assert lines[0].startswith("Queued job")
    assert any(
        line.startswith("[####") and "100%" in line and "succeeded" in line for line in lines
    )
    assert out.read_bytes().startswith(b"%PDF")


@pytest.mark.django_db
def test_on_a_terminal_the_bar_is_redrawn_on_one_line():
    from django.core.management.base import OutputWrapper

    from layers.management.progress import wait_with_bar

    job = Job.objects.create(
        kind="render_map", status=Job.SUCCEEDED, total=4, done=4, rows_read=7, rows_written=6,
        rows_refused=1,
    )  # fmt: skip
    terminal = _Terminal()
    wait_with_bar(job, OutputWrapper(terminal))
    shown = terminal.getvalue()
    assert shown.startswith("\r[" + "#" * 30 + "]  100%  succeeded  4/4")
    assert "rows 7 read 6 written 1 refused" in shown
    assert shown.endswith("\n") and shown.count("\n") == 1


@pytest.mark.django_db
def test_a_wide_extent_is_kept_to_the_service_area(settings):
    params = printing.clean_params({"layers": ["communities"], "bbox": "119.0,31.0,121.0,32.5"})
    x0, y0, x1, y1 = settings.SERVICE_AREA
    m = printing.BBOX_MARGIN
    assert params["bbox"] == [x0 - m, y0 - m, x1 + m, y1 + m]
    png = printing.clean_params(
        {"layers": ["communities"], "bbox": AREA, "format": "png", "size": "800X600"}
    )
    assert png["size"] == [800, 600]
