"""Point Django at the bench database (<name>_bench) before anything imports settings.

`BENCH_DB_SUFFIX` (environment) picks another bench database beside it: `_bench_city` is the
2,000,000-building city set (bench/make_data.py --db-suffix _bench_city; bench/README.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


DEFAULT_SUFFIX = "_bench"


def suffix() -> str:
    return os.environ.get("BENCH_DB_SUFFIX") or DEFAULT_SUFFIX


def setup(db_suffix: str | None = None) -> str:
    """Point Django at <name><suffix> (default `_bench`, or BENCH_DB_SUFFIX); its name."""
    from geo_service.env import env

    if db_suffix:
        os.environ["BENCH_DB_SUFFIX"] = db_suffix
    url = env("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set (run `make db` first)")
    if "BENCH_BASE_DATABASE_URL" in os.environ:  # a second setup() in one process
        url = os.environ["BENCH_BASE_DATABASE_URL"]
    os.environ["BENCH_BASE_DATABASE_URL"] = url
    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    bench_url = f"{base}/{name}{suffix()}"
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    return name + suffix()


def bench_url(db_suffix: str) -> str:
    """The postgres:// URL of another bench database beside the one setup() chose."""
    base, _, _name = os.environ["BENCH_BASE_DATABASE_URL"].rpartition("/")
    name = _name.split("?")[0]
    return f"{base}/{name}{db_suffix}"


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
