"""Point Django at the bench database (<name>_bench) before anything imports settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup() -> str:
    from geo_service.env import env

    url = env("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set (run `make db` first)")
    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    bench_url = f"{base}/{name}_bench"
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    return name + "_bench"


def ensure_database(name: str) -> None:
    """Create the bench database from the PostGIS template (as `make db` prepared it)."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    template = (db.get("TEST") or {}).get("TEMPLATE") or "template_postgis"
    conninfo = {
        "host": db["HOST"],
        "port": db["PORT"] or None,
        "user": db["USER"],
        "password": db["PASSWORD"],
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            has_template = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [template]
            ).fetchone()
            suffix = f" TEMPLATE {template}" if has_template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')


def gunicorn(env: dict, log):
    """This project's gunicorn (geo_service/gunicorn.conf.py, as in production) in a process
    group of its own (stop it with os.killpg), logging to the file `log`."""
    import subprocess

    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            str(ROOT / "geo_service" / "gunicorn.conf.py"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )


def timed(fn, repeat: int) -> list[float]:
    import time

    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def start(description: str, repeat: int):
    """Parse --repeat, use the bench database, log an editor in: (args, user, client)."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeat", type=int, default=repeat)
    args = parser.parse_args()
    setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.get(username="demo-editor")
    client = Client()
    client.force_login(user)
    return args, user, client
