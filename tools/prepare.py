#!/usr/bin/env python
"""Everything `make run` does before serving, in one Django process (each process start costs
seconds): apply migrations, load the sample data when it changed, collect static files when
they changed.

    .venv/bin/python tools/prepare.py [--no-sample] [--force]

- migrations: `migrate --noinput` (nothing to do is quick once Django is loaded);
- sample data: `load_sample_data` only when the fixtures, the loader or DEMO_PASSWORD changed
  since the last load into this very database (a stamp, `.sample-loaded.json` at the repo root,
  names the database by its name and OID, so a recreated database is loaded again), or the demo
  users are missing; `make sample` loads it unconditionally;
- static files: tools/collectstatic_cached.py (skipped when the sources did not change).

tools/serve.py runs it with the settings it serves with (production). --force does all three.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_STAMP = ROOT / ".sample-loaded.json"


def sample_digest() -> str:
    """The fixtures (names, sizes, times), the loader's source and the demo password's hash."""
    from geo_service.env import env
    from layers.services import sample

    digest = hashlib.sha256()
    folder = sample.fixtures_dir()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        name = path.relative_to(folder)
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    digest.update(Path(sample.__file__).read_bytes())
    digest.update(hashlib.sha256((env("DEMO_PASSWORD") or "").encode()).digest())
    return digest.hexdigest()


def database_identity() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_database() || ':' || oid FROM pg_database "
            "WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


def sample_users_present() -> bool:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username="demo-planner").exists()


def sample_is_current(digest: str, database: str) -> bool:
    try:
        stamp = json.loads(SAMPLE_STAMP.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or stamp.get("database") != database:
        return False
    return stamp.get("sha256") == digest and sample_users_present()


def load_sample(force: bool) -> str:
    from django.core.management import call_command

    digest, database = sample_digest(), database_identity()
    if not force and sample_is_current(digest, database):
        return "sample data: unchanged since the last load, skipped"
    SAMPLE_STAMP.unlink(missing_ok=True)
    call_command("load_sample_data", verbosity=0)
    SAMPLE_STAMP.write_text(json.dumps({"database": database, "sha256": digest}) + "\n")
    return "sample data: loaded"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-sample", action="store_true", help="do not load the sample data")
    parser.add_argument("--force", action="store_true", help="load and collect even if unchanged")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings_production")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tools import collectstatic_cached

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"prepare: migrations applied ({time.monotonic() - started:.1f} s)", flush=True)
    if not args.no_sample:
        step = time.monotonic()
        print(f"prepare: {load_sample(args.force)} ({time.monotonic() - step:.1f} s)", flush=True)
    step = time.monotonic()
    outcome = collectstatic_cached.run(force=args.force)
    what = (
        "skipped, sources unchanged"
        if outcome == "skipped"
        else f"collected into {settings.STATIC_ROOT}"
    )
    print(f"prepare: collectstatic {what} ({time.monotonic() - step:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
