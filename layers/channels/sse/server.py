"""The live-update process: one asyncio process that holds every open page's event stream
(Server-Sent Events at LIVE_PATH) and LISTENs to PostgreSQL for the live layers' changes.

Why a process of its own (docs/HAZARDS.md, "A map that updates itself"): gunicorn's gthread
workers give each request a thread for its whole length, so 200 open maps would hold 200 of
the 8 x cores threads that serve everything else. Here an idle stream is a socket and a few
hundred bytes; one LISTEN connection serves them all (psycopg's AsyncConnection), and the Django
code that decides who sees what (push.py) runs in a small thread pool, once per kind of reader
per change, never once per stream.

- A change: the write's NOTIFY (layers/services/live.py) arrives on commit; notices arriving
  within LIVE_COALESCE seconds are pushed together, as `event: features` with the features as
  each reader may see them.
- A lost LISTEN connection is made again (backing off to 10 s); every stream is then sent
  `hello` again, and pages reload what they show (notices meanwhile were not kept).
- Every LIVE_HEARTBEAT seconds a comment line keeps idle streams and proxies open and finds
  closed ones; every LIVE_SESSION_CHECK seconds each stream's session is checked again.
- A stream that cannot keep up (more than MAX_BUFFER bytes unsent) is closed; its page
  reconnects and reloads.

HTTP: the process answers GET LIVE_PATH (the stream), GET /live/healthz, and nothing else; it
reads at most MAX_HEAD bytes of request head and checks Host against ALLOWED_HOSTS. The stream
is close-delimited (HTTP/1.1 with `Connection: close`): no chunked framing to get wrong, and the
proxy passes it unbuffered (`X-Accel-Buffering: no`). A request with an Origin header (a page
on another port, `make run` without a proxy) must come from an exact origin in
LIVE_CORS_ORIGINS or from the request's own host; it is answered with that origin and
credentials allowed, never `*`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import psycopg
from django.conf import settings
from django.db import connections
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host

from layers.channels.sse import push
from layers.domain import registry
from layers.services import live

MAX_HEAD = 16 * 1024
HEAD_TIMEOUT = 10.0
MAX_BUFFER = 1024 * 1024
HEALTH_PATH = "/live/healthz"


def log(message: str) -> None:
    print(f"live: {message}", file=sys.stderr, flush=True)


class Stream:
    """One open page: its socket and its reader."""

    __slots__ = ("reader", "writer")

    def __init__(self, writer: asyncio.StreamWriter, reader: push.Reader):
        self.writer = writer
        self.reader = reader

    def send(self, data: bytes) -> bool:
        if self.writer.is_closing():
            return False
        self.writer.write(data)
        if self.writer.transport.get_write_buffer_size() > MAX_BUFFER:
            self.close()
            return False
        return True

    def close(self) -> None:
        self.writer.close()


def _answer(status: str, body: str = "", headers: dict | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: text/plain; charset=utf-8"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    data = body.encode()
    lines += [f"Content-Length: {len(data)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + data


def parse_head(raw: bytes) -> tuple[str, str, dict[str, str]]:
    """(method, path, headers with lower-case names) of a request head; ValueError if it is not
    one. A repeated header keeps its first value (Cookie and Origin are sent once)."""
    text = raw.decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ValueError("request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ValueError("header line")
        headers.setdefault(name.lower(), value.strip())
    return parts[0], parts[1], headers


def allowed_origin(origin: str, host: str) -> bool:
    """An exact origin of LIVE_CORS_ORIGINS, or the origin of the request's own host."""
    if origin in settings.LIVE_CORS_ORIGINS:
        return True
    parsed = urlsplit(origin)
    return parsed.scheme in ("http", "https") and bool(host) and parsed.netloc == host


class LiveServer:
    def __init__(self, threads: int = 4):
        self.streams: set[Stream] = set()
        self.pending: dict[str, set[int]] = {}
        self.wake = asyncio.Event()
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="live")
        self.listening = False
        self.pushed = 0

    # -- HTTP ----------------------------------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            method, target, headers = parse_head(raw)
        except (asyncio.LimitOverrunError, ValueError):
            writer.write(_answer("400 Bad Request", "bad request\n"))
            await self._close(writer)
            return
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            await self._close(writer)
            return
        host = headers.get("host", "")
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            writer.write(_answer("400 Bad Request", "bad host\n"))
            await self._close(writer)
            return
        path = target.split("?", 1)[0]
        cors = {}
        origin = headers.get("origin")
        if origin is not None:
            if not allowed_origin(origin, host):
                writer.write(_answer("403 Forbidden", "origin not allowed\n"))
                await self._close(writer)
                return
            cors = {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
                "Vary": "Origin, Cookie",
            }
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            ok = self.listening
            status = "200 OK" if ok else "503 Service Unavailable"
            writer.write(
                _answer(status, f"{'ok' if ok else 'not listening'} {len(self.streams)}\n")
            )
            await self._close(writer)
            return
        if path != settings.LIVE_PATH:
            writer.write(_answer("404 Not Found", "not found\n", cors))
            await self._close(writer)
            return
        if method != "GET":
            writer.write(_answer("405 Method Not Allowed", "GET only\n", {**cors, "Allow": "GET"}))
            await self._close(writer)
            return
        if len(self.streams) >= settings.LIVE_MAX_CLIENTS:
            writer.write(
                _answer("503 Service Unavailable", "busy\n", {**cors, "Retry-After": "30"})
            )
            await self._close(writer)
            return
        loop = asyncio.get_running_loop()
        cookies = parse_cookie(headers.get("cookie", ""))
        whom = await loop.run_in_executor(self.executor, push.reader_for, cookies)
        if whom is None:
            writer.write(
                _answer("401 Unauthorized", "sign in\n", {**cors, "Cache-Control": "no-store"})
            )
            await self._close(writer)
            return
        head = [
            "HTTP/1.1 200 OK",
            "Content-Type: text/event-stream; charset=utf-8",
            "Cache-Control: no-store",
            "X-Accel-Buffering: no",
            "X-Content-Type-Options: nosniff",
            "Connection: close",
            *(f"{k}: {v}" for k, v in cors.items()),
            "",
            "",
        ]
        stream = Stream(writer, whom)
        writer.write("\r\n".join(head).encode() + b"retry: 3000\n\n" + push.hello(whom))
        self.streams.add(stream)
        try:
            while await reader.read(1024):  # a stream's client sends nothing more; EOF: gone
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            self.streams.discard(stream)
            await self._close(writer)

    @staticmethod
    async def _close(writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), 5)

    # -- PostgreSQL ----------------------------------------------------------------------------
    def note(self, payload: str) -> None:
        """One NOTIFY payload ({"layer": slug, "ids": [...]}) into the next push."""
        try:
            data = json.loads(payload)
            spec = registry.get(data["layer"])
            ids = {i for i in data["ids"] if isinstance(i, int)}
        except (ValueError, KeyError, TypeError):
            log(f"ignored notice {payload[:80]!r}")
            return
        if spec.live and ids:
            self.pending.setdefault(spec.slug, set()).update(ids)
            self.wake.set()

    async def listen(self) -> None:
        params = connections["default"].get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("pool", None)
        pause, first = 0.5, True
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {live.CHANNEL}")
                    self.listening, pause = True, 0.5
                    if not first:  # notices may have been missed: every page reloads
                        log("listening again; streams told to reload")
                        for stream in list(self.streams):
                            stream.send(push.hello(stream.reader))
                    first = False
                    async for notice in conn.notifies():
                        self.note(notice.payload)
            except (psycopg.Error, OSError) as exc:
                log(f"LISTEN connection lost ({exc.__class__.__name__}: {exc}); again in {pause} s")
            self.listening = False
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)

    async def flush(self) -> None:
        """Push what the notices named, once per kind of reader."""
        loop = asyncio.get_running_loop()
        while True:
            await self.wake.wait()
            await asyncio.sleep(settings.LIVE_COALESCE)
            self.wake.clear()
            changes, self.pending = self.pending, {}
            groups: dict[tuple, list[Stream]] = {}
            for stream in self.streams:
                groups.setdefault(stream.reader.view, []).append(stream)
            views = list(groups)
            results = await asyncio.gather(
                *(
                    loop.run_in_executor(self.executor, push.messages_for, v, changes)
                    for v in views
                ),
                return_exceptions=True,
            )
            for view, messages in zip(views, results, strict=True):
                if isinstance(messages, BaseException):
                    log(f"push failed: {messages!r}")
                    continue
                for stream in groups[view]:
                    for message in messages:
                        stream.send(message)
                self.pushed += len(messages) * len(groups[view])

    async def heartbeat(self) -> None:
        while True:
            await asyncio.sleep(settings.LIVE_HEARTBEAT)
            for stream in list(self.streams):
                stream.send(b": keep-alive\n\n")

    async def recheck(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(settings.LIVE_SESSION_CHECK)
            streams = list(self.streams)
            if not streams:
                continue
            try:
                now = await loop.run_in_executor(
                    self.executor, push.recheck, [s.reader for s in streams]
                )
            except Exception as exc:  # noqa: BLE001 (the database away: check again later)
                log(f"session check failed: {exc!r}")
                continue
            for stream in streams:
                current = now.get(stream.reader.session_key)
                if current is None or current.view != stream.reader.view:
                    stream.close()  # signed out or other rights: the page reconnects

    # -- running -------------------------------------------------------------------------------
    async def serve(self, host: str, port: int) -> None:
        server = await asyncio.start_server(self.handle, host, port, limit=MAX_HEAD, backlog=512)
        log(f"serving {settings.LIVE_PATH} on {host}:{port}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = [
            asyncio.create_task(job())
            for job in (self.listen, self.flush, self.heartbeat, self.recheck)
        ]
        started = time.monotonic()
        await stop.wait()
        log(f"stopping after {time.monotonic() - started:.0f} s, {len(self.streams)} streams")
        server.close()
        for stream in list(self.streams):
            stream.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.executor.shutdown(wait=False, cancel_futures=True)


def run(host: str, port: int, threads: int = 4) -> None:
    asyncio.run(LiveServer(threads).serve(host, port))
