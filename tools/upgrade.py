#!/usr/bin/env python
"""Apply migrations with a backup taken first; no backup, no migration.

    .venv/bin/python tools/upgrade.py [--out DIR | --out-dir DIR] [--if-needed]

`make upgrade` runs it after new code is in place (git pull, a new image). It backs up the
database and both media folders (tools/backup.py) into DIR (default backups/pre-upgrade-<UTC
time>/), then runs `manage.py migrate --noinput`. If the backup fails it stops with exit status
2 and migrates nothing.

--if-needed (the container's start, deploy/docker-entrypoint.sh): does nothing when no
migration is pending; skips the backup of a database that has no tables yet (a first start);
otherwise the same as above.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import backup as backups  # noqa: E402


def pending_migrations() -> tuple[bool, int]:
    """(whether the database has any table of ours yet, number of migrations to apply)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings")
    django.setup()
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    populated = "django_migrations" in connection.introspection.table_names()
    connection.close()
    return populated, len(plan)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="the backup folder (must not exist)")
    where.add_argument("--out-dir", type=Path, help="a folder for pre-upgrade-<time>/")
    parser.add_argument("--if-needed", action="store_true", help="only when migrations wait")
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or (args.out_dir or ROOT / "backups") / f"pre-upgrade-{stamp}"

    take_backup = True
    if args.if_needed:
        try:
            populated, count = pending_migrations()
        except Exception as exc:  # noqa: BLE001 (the reason, on one line, then stop)
            print(f"upgrade: cannot read the database's migrations: {exc}", file=sys.stderr)
            return 2
        if count == 0:
            print("upgrade: no migration to apply")
            return 0
        take_backup = populated
        print(f"upgrade: {count} migration(s) to apply")
        if not populated:
            print("upgrade: the database holds no table yet: nothing to back up")
    if take_backup:
        print(f"upgrade: backing up to {out} before migrating", flush=True)
        existed = out.exists()
        try:
            backups.backup(out)
        except (backups.Refused, OSError) as exc:
            if not existed:  # no half-written backup left to be mistaken for a good one
                shutil.rmtree(out, ignore_errors=True)
            print(f"upgrade: backup failed: {exc}", file=sys.stderr)
            print("upgrade: refused: nothing migrated", file=sys.stderr)
            return 2
        print(f"upgrade: backup {out} written", flush=True)
    migrated = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"], cwd=ROOT
    )
    if migrated.returncode != 0:
        print(
            f"upgrade: migrate failed ({migrated.returncode}); the backup before it: "
            f"{out if take_backup else 'none (empty database)'}",
            file=sys.stderr,
        )
        return migrated.returncode
    print("upgrade: migrations applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
