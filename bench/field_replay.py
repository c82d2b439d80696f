#!/usr/bin/env python
"""A day of field work on a bad network: the field app's outbox (static/js/outbox.js, in
Chromium) sends a grid worker's day through a proxy that drops 1 request in 3 and delays the
others 0.5-3 s. It reports the requests sent, the retries, and photos taken against photos
stored; and checks exactly once: one hazard per report, one event per step, every photo
stored once with the very bytes the outbox held.

The day, over --rounds working hours: each hour the worker reports a new hazard with
--photos photos, starts one of their tasks and records the rectification (with a photo) of
the task started the hour before. Entries go into the real page's outbox
(`hehuachiOutbox.addReport/addStep`, the same calls the forms make, photos resized on the
"phone"), which sends them in order with Idempotency-Keys and backs off after failures.

The proxy (in this script, between Chromium and gunicorn) treats the API and the task list
(what the outbox and the page's data use): every third request, by a seeded draw, is dropped,
half of them before reaching the server (the connection is cut) and half after the server
answered (the answer is lost: the write was applied); the others wait 0.5-3 s. The page
shell, static files, tiles and sign-in pass untouched (a phone has them in its cache).

It starts gunicorn on the database of DATABASE_URL (the sample data), makes --rounds tasks for
grid-01 (named BENCH-REPLAY, removed with everything the day made at the end), and prints a
JSON summary. Never a test; docs/benchmarks.md keeps the figures.

    .venv/bin/python bench/field_replay.py [--rounds 8] [--photos 3] [--seed 25]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MARK = "BENCH-REPLAY"
# The worker's password for this run only (set, then put back): the day signs in by the form.
PASSWORD = "bench-Replay-2026"  # noqa: S105 (a throwaway of the bench, restored after)
CLEAN = ("/static/", "/tiles/", "/basemap/", "/accounts/", "/i18n/", "/live/", "/field/sw.js",
         "/field/manifest", "/favicon")  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class BadNetwork:
    """Counts, and the fate of each request: pass, drop before, drop after, or delay."""

    def __init__(self, seed: int, upstream: tuple[str, int]):
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.upstream = upstream
        self.counts = {"requests": 0, "flaky": 0, "dropped_before": 0, "dropped_after": 0,
                       "delayed": 0, "replayed": 0, "writes": 0}  # fmt: skip
        self.delay_total = 0.0

    def fate(self, path: str, method: str) -> tuple[str, float]:
        with self.lock:
            self.counts["requests"] += 1
            clean = path.startswith(CLEAN) or (method == "GET" and path.split("?")[0] == "/field/")
            if clean:
                return "pass", 0.0
            self.counts["flaky"] += 1
            if method == "POST":
                self.counts["writes"] += 1
            if self.random.random() < 1 / 3:
                which = "dropped_before" if self.random.random() < 0.5 else "dropped_after"
                self.counts[which] += 1
                return which, 0.0
            delay = self.random.uniform(0.5, 3.0)
            self.counts["delayed"] += 1
            self.delay_total += delay
            return "delay", delay


def proxy_handler(network: BadNetwork):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            fate, delay = network.fate(self.path, self.command)
            if fate == "dropped_before":
                self.close_connection = True
                return
            upstream = http.client.HTTPConnection(*network.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            upstream.close()
            if answer.getheader("Idempotent-Replayed") == "true":
                with network.lock:
                    network.counts["replayed"] += 1
            if fate == "dropped_after":  # applied, but the phone never hears it
                self.close_connection = True
                return
            time.sleep(delay)
            self.send_response_only(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any  # noqa: N815

        def log_message(self, *args):
            pass

    return Handler


def jpeg(n: int) -> bytes:
    """A phone-sized photo (3000 x 2000 with grain, so that it must be resized)."""
    from PIL import Image, ImageFilter

    rng = random.Random(n)
    image = Image.effect_noise((3000, 2000), 40).convert("RGB").filter(ImageFilter.GaussianBlur(1))
    tint = Image.new("RGB", image.size, (rng.randrange(256), rng.randrange(256), 120))
    out = io.BytesIO()
    Image.blend(image, tint, 0.5).save(out, "JPEG", quality=90)
    return out.getvalue()


ADD = """async ([kind, options, photos]) => {
  const files = photos.map((p, i) => new File(
    [Uint8Array.from(atob(p), c => c.charCodeAt(0))], `p${i}.jpg`, {type: 'image/jpeg'}));
  const box = window.hehuachiOutbox;
  const id = kind === 'report'
    ? await box.addReport({...options, files})
    : await box.addStep({...options, files});
  const entry = (await box.list()).find(e => e.id === id);
  const digests = [];
  for (const p of entry.photos) {
    const hash = await crypto.subtle.digest('SHA-256', await p.blob.arrayBuffer());
    const hex = Array.from(new Uint8Array(hash)).map(b => b.toString(16).padStart(2, '0'));
    digests.push(hex.join(''));
  }
  box.sync();
  return digests;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="working hours (new reports)")
    parser.add_argument("--photos", type=int, default=3, help="photos per new report")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the day")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.gis.geos import Point

    from layers.domain import registry
    from layers.domain.models import GridCell, HazardEvent, HazardPhoto, SafetyHazard
    from layers.services import editing, workflow

    users = get_user_model().objects
    leader, worker = users.get(username="demo-editor"), users.get(username="grid-01")
    saved_password = worker.password
    worker.set_password(PASSWORD)
    worker.save(update_fields=["password"])
    cell = GridCell.objects.get(code="HHC-01-01")
    minx, miny, maxx, maxy = cell.geom.extent
    spots = [
        Point(minx + (maxx - minx) * (0.2 + 0.6 * (i % 4) / 3),
              miny + (maxy - miny) * (0.2 + 0.6 * (i // 4) / 3), srid=4326)
        for i in range(16)
    ]  # fmt: skip
    spots = [p for p in spots if cell.geom.contains(p)]
    tasks = []
    for n in range(args.rounds):
        hazard = editing.create_as(
            registry.get("hazards"),
            {"name": f"{MARK} task {n}", "category": "wiring", "level": "general",
             "geom": spots[n % len(spots)]},
            leader,
        )  # fmt: skip
        workflow.perform(hazard.pk, "report", leader, {})
        workflow.perform(hazard.pk, "assign", leader,
                         {"responsible_unit": "物业", "assignee": "grid-01"})  # fmt: skip
        tasks.append(hazard.pk)

    port, proxy_port = free_port(), free_port()
    env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "LIVE_PORT": "",
           "WEB_BIND": f"127.0.0.1:{port}", "WEB_ACCESS_LOG": os.devnull,
           "THROTTLE_ANON_API": "", "AXES_FAILURE_LIMIT": "1000"}  # fmt: skip
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "geo_service/gunicorn.conf.py"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    network = BadNetwork(args.seed, ("127.0.0.1", port))
    proxy = ThreadingHTTPServer(("127.0.0.1", proxy_port), proxy_handler(network))
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    taken: list[str] = []
    summary: dict = {}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/healthz")
                break
            except OSError:
                if gunicorn.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.3)
        summary = day(args, f"http://127.0.0.1:{proxy_port}", tasks, spots, taken, network)
    finally:
        proxy.shutdown()
        os.killpg(gunicorn.pid, signal.SIGKILL)
        gunicorn.wait(timeout=10)
        worker.password = saved_password
        worker.save(update_fields=["password"])

    mine = SafetyHazard.all_objects.filter(name__startswith=MARK)
    reports = mine.exclude(pk__in=tasks)
    photos = HazardPhoto.objects.filter(hazard__in=mine)
    stored = sorted(photos.values_list("source_sha256", flat=True))
    events = HazardEvent.objects.filter(hazard__in=mine, actor=worker)
    per_step: dict = {}
    for hazard_id, action in events.values_list("hazard_id", "action"):
        per_step[(hazard_id, action)] = per_step.get((hazard_id, action), 0) + 1
    summary.update(
        proxy=network.counts,
        proxy_delay_s=round(network.delay_total, 1),
        reports_made=args.rounds,
        hazards_created=reports.count(),
        steps_recorded=summary["steps"],
        # The worker's events: each report's "found" and "report", and each step.
        events_expected=2 * args.rounds + summary["steps"],
        events_stored=sum(per_step.values()),
        any_step_twice=any(n > 1 for n in per_step.values()),
        photos_taken=len(taken),
        photos_stored=len(stored),
        photos_identical=stored == sorted(taken),
    )
    summary.pop("steps")
    for photo in photos:
        photo.image.delete(save=False)
        photo.thumbnail.delete(save=False)
    pks = list(mine.values_list("pk", flat=True))
    mine.delete()
    SafetyHazard.history.filter(id__in=pks).delete()
    print(json.dumps(summary, indent=2, ensure_ascii=False))


def day(args, base: str, tasks: list[int], spots, taken: list[str], network) -> dict:
    from playwright.sync_api import sync_playwright

    from layers.domain.models import SafetyHazard
    from tests.browser.conftest import FLAGS as flags

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    steps = 0
    started = time.monotonic()
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM below, beside Playwright's loop
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=flags)
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = context.new_page()
        page.goto(base + "/accounts/login/")
        page.fill("#id_username", "grid-01")
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.click("#hh-login-submit")
        page.goto(base + "/field/")
        wait(page, "window.hehuachiOutbox && window.hehuachiOutbox.urls.hazards", 120)
        for hour in range(args.rounds):
            spot = spots[(hour + 7) % len(spots)]
            photos = [base64.b64encode(jpeg(hour * 10 + i)).decode() for i in range(args.photos)]
            feature = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [spot.x + 3e-5, spot.y + 3e-5]},
                "properties": {"name": f"{MARK} report {hour}", "category": "ebike",
                               "level": "general", "description": "巡查发现"},
            }  # fmt: skip
            taken += page.evaluate(ADD, ["report", {"feature": feature, "seen": []}, photos])
            start = tasks[hour]
            version = SafetyHazard.objects.get(pk=start).version
            page.evaluate(ADD, ["step", {"hazard": start, "name": "", "version": version,
                                         "body": {"action": "start"}}, []])  # fmt: skip
            steps += 1
            if hour:
                done = tasks[hour - 1]
                version = SafetyHazard.objects.get(pk=done).version
                photo = [base64.b64encode(jpeg(1000 + hour)).decode()]
                taken += page.evaluate(ADD, ["step", {
                    "hazard": done, "name": "", "version": version,
                    "body": {"action": "rectify", "note": "已整改"}}, photo])  # fmt: skip
                steps += 1
            # The hour's work is sent (with retries) before the next hour's.
            sent = "window.hehuachiOutbox.list().then(l => l.every(e => e.state !== 'pending'))"
            wait(page, sent, args.timeout - (time.monotonic() - started))
        left = page.evaluate(
            "window.hehuachiOutbox.list().then(l => l.map(e => [e.kind, e.state, e.error]))"
        )
        outbox = page.evaluate(
            "({requests: hehuachiOutbox.requests, retries: hehuachiOutbox.retries,"
            " photosStored: hehuachiOutbox.photosStored})"
        )
        browser.close()
    return {
        "seconds": round(time.monotonic() - started, 1),
        "outbox_requests_sent": outbox["requests"],
        "outbox_retry_rounds": outbox["retries"],
        "outbox_photos_acknowledged": outbox["photosStored"],
        "left_in_outbox": left,
        "steps": steps,
    }


def wait(page, expression: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for: {expression}")
        page.wait_for_timeout(200)


if __name__ == "__main__":
    main()
