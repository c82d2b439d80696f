"""What a newcomer meets after `make run`: tools/serve.py itself (production settings, DEBUG
and nothing else in front of gunicorn, static files collected, a job worker beside it), walked
in Chromium across the home page, the tour, a stop, and the planning and inspection maps
signed in through the sign-in form. Not one request may fail: no 4xx/5xx answer, no request
the browser gave up on, no broken image."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import Visit
from tests.conftest import PASSWORD

# One worker runs this module: one `make run` server (its first start collects the static files).
pytestmark = [pytest.mark.browser, pytest.mark.django_db, pytest.mark.xdist_group("make_run")]

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def make_run(django_db_setup, django_db_blocker):
    """`make run`'s server (tools/serve.py) on the test database, which already holds the
    sample data (with the test password: --no-sample keeps it)."""
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    ports = []
    for _ in range(2):  # the server's and the live-update process's (not PORT+1: maybe taken)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    port, live_port = ports
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG", "SERVE_MEDIA", "WEB_BIND"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="geo_service.settings_production",
        DATABASE_URL=url,
        SECRET_KEY=secrets.token_urlsafe(64),
        WEB_ACCESS_LOG="-",
        LIVE_BIND=f"127.0.0.1:{live_port}",
        # libpq names its sessions so: the stop below waits for this server's own sessions,
        # not for those of the other servers this worker runs on the same test database.
        PGAPPNAME=f"hh-make-run-{port}",
    )
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below): never a pipe nobody drains
    server = subprocess.Popen(
        [sys.executable, "tools/serve.py", "--port", str(port), "--no-sample"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    # The first start may collect the static files (tools/collectstatic_cached.py): minutes.
    deadline = time.monotonic() + 900
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)
                log.seek(0)
                raise RuntimeError(log.read().decode(errors="replace")[-3000:]) from None
            time.sleep(0.5)
    yield base
    try:
        # The server's sessions carry the name (the job worker holds its LISTEN session once
        # it has started): else the wait below could see nothing and prove nothing.
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            for _ in range(300):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [env["PGAPPNAME"]],
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"no session named {env['PGAPPNAME']}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    log.seek(0)
    output = log.read().decode(errors="replace")
    log.close()
    assert "Traceback" not in output, output[-3000:]
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for _ in range(150):  # the server's sessions end before the test database is dropped
            cursor.execute(
                "SELECT application_name, state, query FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = %s",
                [db["NAME"], env["PGAPPNAME"]],
            )
            left = cursor.fetchall()
            if not left:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"sessions left after make run stopped: {left}")


class Recorder:
    """Every answer >= 400 and every request the browser gave up on, of one tab."""

    def __init__(self, tab: Visit):
        self.failed: list[str] = []
        self.media: list[str] = []
        tab.page.on("response", self.response)
        tab.page.on("requestfailed", self.request_failed)

    def response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")
        if "/media/" in response.url and response.status == 200:
            self.media.append(response.url)

    def request_failed(self, request):
        self.failed.append(f"failed ({request.failure}) {request.url}")


def broken_images(tab: Visit) -> list[str]:
    """Every image of the page loaded (lazy ones too, made eager), and those that failed."""
    tab.page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
    tab.page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    tab.page.wait_for_load_state("networkidle")
    return tab.page.evaluate(
        "Array.from(document.images).filter(i => i.naturalWidth === 0).map(i => i.src)"
    )


def settle(tab: Visit):
    tab.page.wait_for_load_state("networkidle")


def test_no_request_fails_from_home_to_the_inspection_map(browser, make_run):
    served = urllib.request.urlopen(make_run + "/", timeout=10)  # noqa: S310
    assert "gunicorn" in served.headers.get("Server", "")
    failed, media, errors = [], [], []

    def walk(username: str | None, paths: list[tuple[str, bool]]):
        """A tab of its own (a visitor's phone, a planner's and an inspector's computers)."""
        tab = Visit(browser, make_run)
        seen = Recorder(tab)
        try:
            if username:
                tab.sign_in(username, PASSWORD)
                if tab.page.url.rstrip("/") != make_run:
                    body = tab.page.locator("main").inner_text()[:500]
                    raise AssertionError(f"sign-in as {username} failed: {tab.page.url} {body}")
                settle(tab)
            for path, is_map in paths:
                assert tab.open(path).status == 200, path
                if is_map:
                    tab.wait_ready()
                settle(tab)
                assert broken_images(tab) == [], path
            tab.screenshot(f"make-run-{username or 'visitor'}")
        finally:
            failed.extend(seen.failed)
            media.extend(seen.media)
            errors.extend(tab.errors)
            tab.close()

    walk(None, [("/", False), ("/tour/", True), ("/tour/stops/1/", False)])
    walk("demo-planner", [("/maps/planning/", True)])
    walk("demo-inspector", [("/maps/inspection/", True)])
    assert failed == [], failed
    assert any("/media/viewpoints/" in url for url in media), "no picture was requested"
    assert errors == [], errors


def test_public_media_is_cacheable_and_private_photos_stay_private(make_run):
    with urllib.request.urlopen(make_run + "/media/viewpoints/VP-01.svg", timeout=10) as r:  # noqa: S310
        assert r.status == 200
        assert "public" in r.headers["Cache-Control"] and r.headers["ETag"]
        etag = r.headers["ETag"]
    again = urllib.request.Request(  # noqa: S310 (http: our own server)
        make_run + "/media/viewpoints/VP-01.svg", headers={"If-None-Match": etag}
    )
    with pytest.raises(urllib.error.HTTPError) as not_modified:
        urllib.request.urlopen(again, timeout=10)  # noqa: S310
    assert not_modified.value.code == 304
    for path in ("/media/../private-media/", "/hazard-photos/1/full.jpg"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(make_run + path, timeout=10)  # noqa: S310
        assert refused.value.code in (401, 403, 404), path
