"""Serve the service as production does: prepare (tools/prepare.py: migrations, the sample data
and collectstatic, each skipped when nothing changed), then gunicorn with gunicorn.conf.py, a
background-job worker (procrastinate) and the live-update process (Server-Sent Events,
`manage.py serve_live`) beside it.

    .venv/bin/python tools/serve.py [--port 8000] [--host 127.0.0.1] [--no-worker] [--no-live]
                                    [--no-prepare] [--no-sample]

`make run` calls it. They run as children of this process: when one stops, the others are
stopped too, and Ctrl-C or SIGTERM stops all (jobs interrupted that way can be retried).

Live updates without a proxy: the live process listens on PORT+1 of the same host (LIVE_BIND),
pages connect to their own host on that port (LIVE_PORT) and it allows exactly the site's
origins (LIVE_CORS_ORIGINS: http://HOST:PORT, localhost and 127.0.0.1). Session cookies are not
port-bound, so the stream is the signed-in user's; its origin check and CORS are exact. Behind
a proxy that routes /live/ to it (deploy/nginx), set LIVE_PORT to empty: same origin.
It uses geo_service.settings_production (DEBUG off, whitenoise's
compressed, hashed static files). On 127.0.0.1 over plain HTTP (no TLS proxy in front) it
turns off the HTTPS-only settings unless the environment sets them; behind a TLS proxy set
SECURE_SSL_REDIRECT=1 etc. yourself (docs/OPERATIONS.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Seconds the job worker waits for the server to accept connections before it starts anyway.
READY_WAIT = 120
LOCAL_HTTP = {
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
    "SECURE_HSTS_PRELOAD": "0",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "0",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--no-worker", action="store_true", help="serve only; run job workers elsewhere"
    )
    parser.add_argument(
        "--no-prepare", action="store_true", help="no migrate, sample data or collectstatic"
    )
    parser.add_argument("--no-sample", action="store_true", help="do not load the sample data")
    parser.add_argument(
        "--no-live", action="store_true", help="no live-update process (pages do not update)"
    )
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings_production")
    env.setdefault("ALLOWED_HOSTS", f"{args.host},localhost,127.0.0.1")
    env.setdefault("WEB_BIND", f"{args.host}:{args.port}")
    if args.host in {"127.0.0.1", "localhost", "::1"}:
        for key, value in LOCAL_HTTP.items():
            env.setdefault(key, value)
    python = sys.executable
    if not args.no_prepare:
        # One process: migrate, the sample data and collectstatic, each only when needed.
        prepare = [python, str(ROOT / "tools" / "prepare.py")]
        if args.no_sample:
            prepare.append("--no-sample")
        subprocess.run(prepare, cwd=ROOT, env=env, check=True)
    gunicorn = str(Path(python).with_name("gunicorn"))
    conf = str(ROOT / "geo_service" / "gunicorn.conf.py")
    commands = [[gunicorn, "-c", conf]]
    if not args.no_worker:
        commands.append([python, "manage.py", "procrastinate", "worker"])
    if not args.no_live:
        live_env(env, args.host, args.port)
        commands.append([python, "manage.py", "serve_live"])
    else:
        env.setdefault("LIVE_PORT", "")
    sys.exit(supervise(commands, env, ready=lambda: accepts(env["WEB_BIND"])))


def live_env(env: dict, host: str, port: int) -> None:
    """The live process's address and the pages' way to it (unless the environment says)."""
    env.setdefault("LIVE_BIND", f"{host}:{port + 1}")
    env.setdefault("LIVE_PORT", env["LIVE_BIND"].rpartition(":")[2])
    names = dict.fromkeys((host, "localhost", "127.0.0.1"))
    origins = [f"http://{'[' + n + ']' if ':' in n else n}:{port}" for n in names]
    env.setdefault("LIVE_CORS_ORIGINS", ",".join(origins))


def accepts(bind: str) -> bool:
    """Whether the server's address (host:port, as WEB_BIND) accepts a connection."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):  # noqa: S104 (we only connect to it)
        host = "127.0.0.1"
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except (OSError, ValueError):
        return False


def supervise(commands: list[list[str]], env: dict, ready=None) -> int:
    """Run the commands side by side until one stops or we are told to stop; then stop all.

    The first command starts alone; the others once `ready()` is true (the server accepts
    connections) or after READY_WAIT seconds, so that they do not compete with its start."""
    children = [subprocess.Popen(commands[0], cwd=ROOT, env=env)]  # noqa: S603
    waiting = list(commands[1:])
    waiting_since = time.monotonic()
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while not stopping:
        if waiting and (ready is None or ready() or time.monotonic() - waiting_since > READY_WAIT):
            children += [subprocess.Popen(c, cwd=ROOT, env=env) for c in waiting]  # noqa: S603
            waiting = []
        ended = [c for c in children if c.poll() is not None]
        if ended:
            code = ended[0].returncode or 0
            print(f"serve: {' '.join(ended[0].args[:3])} stopped ({code}); stopping the rest")
            break
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


if __name__ == "__main__":
    main()
