#!/usr/bin/env python
"""Live updates: what holding --clients open pages costs the live-update process, and how fast
a change reaches them all. Against it, what the same pages would cost polling gunicorn.

It starts `manage.py serve_live` (DEBUG off) on the database of DATABASE_URL (the sample
data), makes --clients signed-in sessions (committed; deleted afterwards) of the sample
users with roles, and opens one stream per session from this process (asyncio sockets, as
EventSource reads them). Then it measures, on the live process only (/proc):

- connections held (the process's own count, /live/healthz) and resident memory, before and
  with the streams open;
- CPU per idle client: the process's CPU time over --idle seconds with every stream open and
  nothing changing (heartbeats every LIVE_HEARTBEAT s and session checks every
  LIVE_SESSION_CHECK s included), against the same span with no stream;
- push latency: --pushes hazard edits committed one at a time through the editing service;
  from each commit until the event arrived on every stream (p50, p99, max), and the CPU per
  push;
- the poll it replaces: one `GET /api/v1/hazards/?updated_since=<now>&page_size=1` (an empty
  page, the cheapest poll there is) in-process, median of 50, times the requests that
  --clients pages polling every 5 s would send.

    .venv/bin/python bench/sse.py [--clients 200] [--idle 60] [--pushes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health(port: int) -> str:
    url = f"http://127.0.0.1:{port}/live/healthz"
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (ours)
        return answer.read().decode().strip()


def sessions(n: int) -> list[str]:
    """n committed sessions, round robin over the sample users who have a role."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    users = list(
        get_user_model().objects.filter(groups__isnull=False).distinct().order_by("username")
    )
    keys = []
    for i in range(n):
        user = users[i % len(users)]
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys.append(store.session_key)
    return keys


class Client:
    def __init__(self):
        self.arrivals: list[float] = []
        self.writer = None

    async def open(self, port: int, session: str) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(
            (
                "GET /live/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Cookie: sessionid={session}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(head.decode(errors="replace"))
        self.reader = reader

    async def read(self) -> None:
        while True:
            line = await self.reader.readline()
            if not line:
                return
            if line.startswith(b"event: features"):
                self.arrivals.append(time.monotonic())


async def run(args, port: int, pid: int, keys: list[str]) -> dict:
    from asgiref.sync import sync_to_async
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from layers.domain.models import SafetyHazard
    from layers.services import editing

    out: dict = {}
    # Idle, no stream.
    start_cpu = cpu_seconds(pid)
    await asyncio.sleep(args.idle)
    out["idle_cpu_s_no_streams"] = cpu_seconds(pid) - start_cpu
    out["rss_mb_no_streams"] = rss_mb(pid)

    clients = [Client() for _ in keys]
    opened = time.monotonic()
    before = cpu_seconds(pid)
    for i in range(0, len(keys), 50):  # 50 at a time: as pages open, not one burst
        await asyncio.gather(
            *(c.open(port, k) for c, k in zip(clients[i : i + 50], keys[i : i + 50], strict=True))
        )
    out["open_s"] = time.monotonic() - opened
    out["open_cpu_ms_per_stream"] = (cpu_seconds(pid) - before) * 1000 / len(keys)
    readers = [asyncio.create_task(c.read()) for c in clients]
    await asyncio.sleep(2)
    out["held"] = health(port)
    out["rss_mb_streams"] = rss_mb(pid)

    # Idle, every stream open.
    start_cpu = cpu_seconds(pid)
    await asyncio.sleep(args.idle)
    idle = cpu_seconds(pid) - start_cpu
    out["idle_cpu_s_streams"] = idle

    # Pushes: one committed edit at a time, until every stream has it.
    leader = await sync_to_async(get_user_model().objects.get)(username="demo-editor")
    hazard_pk = await sync_to_async(
        lambda: SafetyHazard.objects.order_by("pk").values_list("pk", flat=True).first()
    )()

    def edit(n: int) -> float:
        with transaction.atomic():
            hazard = SafetyHazard.objects.get(pk=hazard_pk)
            editing.update(hazard, {"responsible_unit": f"bench {n}"}, leader)
        return time.monotonic()

    latencies, push_cpu = [], []
    for n in range(args.pushes):
        seen = [len(c.arrivals) for c in clients]
        before = cpu_seconds(pid)
        committed = await sync_to_async(edit)(n)
        deadline = time.monotonic() + 30
        while any(len(c.arrivals) == s for c, s in zip(clients, seen, strict=True)):
            if time.monotonic() > deadline:
                raise RuntimeError("a push did not reach every stream in 30 s")
            await asyncio.sleep(0.005)
        latencies.append(max(c.arrivals[-1] for c in clients) - committed)
        push_cpu.append(cpu_seconds(pid) - before)
        await asyncio.sleep(0.5)
    latencies.sort()
    out["push_p50_ms"] = statistics.median(latencies) * 1000
    out["push_p99_ms"] = latencies[int(0.99 * (len(latencies) - 1))] * 1000
    out["push_max_ms"] = latencies[-1] * 1000
    out["push_cpu_ms"] = statistics.median(push_cpu) * 1000
    for c in clients:
        c.writer.close()
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    return out


def poll_cost() -> float:
    """Median seconds of the cheapest poll, in-process (no HTTP, no server: a lower bound)."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    client = Client()
    client.force_login(get_user_model().objects.get(username="demo-inspector"))
    since = timezone.now().isoformat()
    url = f"/api/v1/hazards/?updated_since={since}&page_size=1"
    assert client.get(url).status_code == 200
    times = []
    for _ in range(50):
        started = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of each idle span")
    parser.add_argument("--pushes", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.sessions.models import Session

    keys = sessions(args.clients)
    port = free_port()
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "LIVE_MAX_CLIENTS": str(args.clients + 10)}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve_live", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health(port)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the live process did not start") from None
                time.sleep(0.3)
        result = asyncio.run(run(args, port, process.pid, keys))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        Session.objects.filter(session_key__in=keys).delete()
    poll = poll_cost()
    idle_extra = result["idle_cpu_s_streams"] - result["idle_cpu_s_no_streams"]
    result.update(
        clients=args.clients,
        idle_s=args.idle,
        heartbeat_s=settings.LIVE_HEARTBEAT,
        session_check_s=settings.LIVE_SESSION_CHECK,
        idle_cpu_percent_of_a_core=100 * result["idle_cpu_s_streams"] / args.idle,
        idle_cpu_us_per_client_per_s=1e6 * idle_extra / args.idle / args.clients,
        rss_kb_per_stream=1024
        * (result["rss_mb_streams"] - result["rss_mb_no_streams"])
        / args.clients,
        poll_ms_in_process=poll * 1000,
        poll_cpu_percent_of_a_core_every_5s=100 * poll * args.clients / 5,
    )
    print(
        json.dumps(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}, indent=2
        )
    )


if __name__ == "__main__":
    main()
