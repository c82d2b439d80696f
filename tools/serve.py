"""Serve the service as production does: collectstatic, then gunicorn with gunicorn.conf.py and
a background-job worker (procrastinate) beside it.

    .venv/bin/python tools/serve.py [--port 8000] [--host 127.0.0.1] [--no-worker]

`make run` calls it. The two run as children of this process: when one stops, the other is
stopped too, and Ctrl-C or SIGTERM stops both (jobs interrupted that way can be retried).
It uses geo_service.settings_production (DEBUG off, whitenoise's
compressed, hashed static files). On 127.0.0.1 over plain HTTP (no TLS proxy in front) it
turns off the HTTPS-only settings unless the environment sets them; behind a TLS proxy set
SECURE_SSL_REDIRECT=1 etc. yourself (docs/OPERATIONS.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings_production")
    env.setdefault("ALLOWED_HOSTS", f"{args.host},localhost,127.0.0.1")
    env.setdefault("WEB_BIND", f"{args.host}:{args.port}")
    if args.host in {"127.0.0.1", "localhost", "::1"}:
        for key, value in LOCAL_HTTP.items():
            env.setdefault(key, value)
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    gunicorn = str(Path(python).with_name("gunicorn"))
    conf = str(ROOT / "geo_service" / "gunicorn.conf.py")
    commands = [[gunicorn, "-c", conf]]
    if not args.no_worker:
        commands.append([python, "manage.py", "procrastinate", "worker"])
    sys.exit(supervise(commands, env))


def supervise(commands: list[list[str]], env: dict) -> int:
    """Run the commands side by side until one stops or we are told to stop; then stop all."""
    children = [subprocess.Popen(c, cwd=ROOT, env=env) for c in commands]  # noqa: S603
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while not stopping:
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
