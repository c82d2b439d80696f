"""Headless Debian Chromium through Playwright, against the live_app server process."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; Django then refuses ORM calls
    # unless told they are safe here (tests only; removed again after the browser tests).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        with sync_playwright() as p:
            instance = p.chromium.launch(executable_path=executable, args=FLAGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _polled(page):
    """page.wait_for_function that polls from here with page.evaluate (the browser's debugger
    protocol, which the pages' Content-Security-Policy does not govern): Playwright's own
    polling evals the predicate inside the page, which the policy forbids."""
    import time

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    def wait(expression, arg=None, *, timeout=None, polling=None):
        deadline = time.monotonic() + (timeout or 30000) / 1000
        while True:
            value = page.evaluate(expression, arg)
            if value:
                return value
            if time.monotonic() > deadline:
                raise PlaywrightTimeout(f"wait_for_function: still false: {expression}")
            page.wait_for_timeout(50)

    return wait


class Visit:
    """A browser tab that records console errors and every request's origin."""

    def __init__(self, browser, base: str, viewport=None, **context_options):
        self.context = browser.new_context(
            viewport=viewport or {"width": 1280, "height": 860}, locale="zh-CN", **context_options
        )
        self.page = self.context.new_page()
        self.page.wait_for_function = _polled(self.page)
        self.base = base
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def sign_in(self, username: str, password: str = PASSWORD, next_path: str | None = None):
        """Through the site's own form, as a person does: /accounts/login/, then home."""
        path = "/accounts/login/" + (f"?next={next_path}" if next_path else "")
        assert self.page.goto(self.base + path).status == 200
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("#hh-login-submit")
        return self.page

    def sign_out(self):
        with self.page.expect_navigation():
            self.page.click("#hh-signout")
        return self.page

    def open(self, path: str):
        response = self.page.goto(self.base + path)
        return response

    def wait_ready(self, timeout=20000):
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                "window.hehuachi && Object.keys(window.hehuachi.layers).length > 0 "
                "&& window.hehuachi.allReady()",
                timeout=timeout,
            )
        except PlaywrightTimeout:
            raise AssertionError(
                f"page not ready: errors {self.errors}, requests {self.requests[-10:]}"
            ) from None

    def foreign_requests(self) -> list[str]:
        """Requests to anything but this service: its server, its live-update process (a port
        of its own when no proxy is in front), and the page's own data: and blob: URLs."""
        ours = (self.base, getattr(self.base, "live", self.base), "data:", "blob:")
        return [u for u in self.requests if not u.startswith(ours)]

    def counts(self) -> dict:
        return self.page.evaluate("Object.assign({}, window.hehuachi.counts)")

    def screenshot(self, name: str):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def close(self):
        self.context.close()


def _tabs(browser, base: str):
    """A maker of tabs on `base` (signed in through the form) and the tabs it opened."""
    opened = []

    def make(username: str | None = None, **kwargs) -> Visit:
        tab = Visit(browser, base, **kwargs)
        opened.append(tab)
        if username:
            tab.sign_in(username)
            assert tab.page.url.rstrip("/") == base, f"sign-in as {username} failed"
        return tab

    return make, opened


@pytest.fixture
def visit(browser, live_app):
    """visit(username) -> a tab signed in as that sample user through the sign-in form;
    visit(None) -> an anonymous tab."""
    make, opened = _tabs(browser, live_app)
    yield make
    for tab in opened:
        tab.close()


@pytest.fixture(scope="module")
def job_app(django_db_setup, django_db_blocker, tmp_path_factory):
    """A server and a real job worker (`manage.py procrastinate worker`) sharing a private
    media folder of this test module."""
    from django.test import override_settings

    from tests.conftest import start_server
    from tests.test_jobs import Worker

    folder = tmp_path_factory.mktemp("jobs")
    media = folder / "private"
    worker = Worker(folder / "worker.log", media).start()
    server = start_server(django_db_blocker, PRIVATE_MEDIA_ROOT=str(media))
    try:
        with override_settings(PRIVATE_MEDIA_ROOT=media):
            yield next(server)
    finally:
        worker.stop()
        # Stops the server and waits until no session uses the test database.
        for _ in server:
            pass


@pytest.fixture
def job_visit(browser, job_app):
    """Like `visit`, on the server that has a job worker beside it."""
    make, opened = _tabs(browser, job_app)
    yield make
    for tab in opened:
        tab.close()
