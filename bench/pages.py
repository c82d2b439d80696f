"""Map pages in headless Chromium on the bench data set: HTML size and time to first features.

Usage: .venv/bin/python bench/pages.py [--repeat 5]
Starts a server on the bench database, opens each page as an editor (the tour anonymously) and
reports the page's HTML size and the median time from navigation start until the first layer's
features are drawn (the hh:loaded event).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

import benchdb

PAGES = ("/maps/planning/", "/maps/inspection/", "/tour/")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def main() -> None:
    args, user, _client = benchdb.start(__doc__, repeat=5)
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from playwright.sync_api import sync_playwright

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1"}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=benchdb.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/tour/", timeout=2)  # noqa: S310
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            print(f"median of {args.repeat}, headless Chromium, bench data set")
            for path in PAGES:
                context = browser.new_context(viewport={"width": 1280, "height": 860})
                if path != "/tour/":
                    context.add_cookies(
                        [
                            {
                                "name": settings.SESSION_COOKIE_NAME,
                                "value": store.session_key,
                                "domain": "127.0.0.1",
                                "path": "/",
                            }
                        ]
                    )
                page = context.new_page()
                page.add_init_script(
                    "document.addEventListener('hh:loaded', () => {"
                    " if (!window.__first) window.__first = performance.now(); });"
                )
                times, alls, size = [], [], 0
                for _ in range(args.repeat):
                    response = page.goto(base + path)
                    size = len(response.body())
                    page.wait_for_function(
                        "window.__first || (window.hehuachi && window.hehuachi.allReady() "
                        "&& Object.values(window.hehuachi.counts).some(n => n > 0))",
                        timeout=60000,
                    )
                    times.append(page.evaluate("window.__first || performance.now()") / 1000)
                    page.wait_for_function("window.hehuachi.allReady()", timeout=180000)
                    alls.append(page.evaluate("performance.now()") / 1000)
                counts = page.evaluate("Object.assign({}, window.hehuachi.counts)")
                print(
                    f"  {path:20} HTML {size / 1024:6.1f} KiB   first features "
                    f"{statistics.median(times) * 1000:6.0f} ms   all layers "
                    f"{statistics.median(alls) * 1000:7.0f} ms   drawn {counts}"
                )
                context.close()
            browser.close()
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
