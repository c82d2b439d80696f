"""Headless Debian Chromium through Playwright, against the live_app server process."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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


BROWSER_USERS = ("demo-planner", "demo-editor", "grid-01")


@pytest.fixture(scope="session")
def session_cookie(live_app, django_db_blocker):
    """session_cookie(username) -> a cookie of a committed session for that user.

    Sessions are created here, before any test's transaction, so the server process sees them.
    """
    from urllib.parse import urlparse

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    host = urlparse(live_app).hostname
    keys = {}
    with django_db_blocker.unblock():
        for username in BROWSER_USERS:
            user = get_user_model().objects.get(username=username)
            store = SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.save()
            keys[username] = store.session_key

    def make(username: str) -> dict:
        return {
            "name": settings.SESSION_COOKIE_NAME,
            "value": keys[username],
            "domain": host,
            "path": "/",
        }

    return make


class Visit:
    """A browser tab that records console errors and every request's origin."""

    def __init__(self, browser, base: str, cookie: dict | None, viewport=None):
        self.context = browser.new_context(
            viewport=viewport or {"width": 1280, "height": 860}, locale="zh-CN"
        )
        if cookie:
            self.context.add_cookies([cookie])
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

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

    def counts(self) -> dict:
        return self.page.evaluate("Object.assign({}, window.hehuachi.counts)")

    def screenshot(self, name: str):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, live_app, session_cookie):
    opened = []

    def make(username: str | None = None, **kwargs) -> Visit:
        cookie = session_cookie(username) if username else None
        tab = Visit(browser, live_app, cookie, **kwargs)
        opened.append(tab)
        return tab

    yield make
    for tab in opened:
        tab.close()
