"""Serve the service as production does: collectstatic, then gunicorn with gunicorn.conf.py.

    .venv/bin/python tools/serve.py [--port 8000] [--host 127.0.0.1]

`make run` calls it. It uses geo_service.settings_production (DEBUG off, whitenoise's
compressed, hashed static files). On 127.0.0.1 over plain HTTP (no TLS proxy in front) it
turns off the HTTPS-only settings unless the environment sets them; behind a TLS proxy set
SECURE_SSL_REDIRECT=1 etc. yourself (docs/OPERATIONS.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
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
    os.chdir(ROOT)
    os.execve(gunicorn, [gunicorn, "-c", conf], env)  # noqa: S606 (our own venv's gunicorn)


if __name__ == "__main__":
    main()
