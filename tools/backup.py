#!/usr/bin/env python
"""Backup and restore of the whole service: the database (pg_dump -Fc) and both media
folders (public MEDIA_ROOT, private PRIVATE_MEDIA_ROOT with the hazard photos), with a
manifest listing every file's SHA-256.

    tools/backup.py backup  [--out DIR]            # default backups/<UTC time>/
    tools/backup.py restore DIR [--yes]            # into DATABASE_URL's (empty) database
    tools/backup.py prune   --dir DIR --keep N     # keep the newest N daily-* backups
    tools/backup.py daily   --dir DIR --keep N [--at 02:30] [--once]

`daily` (the compose stack's backup service) runs forever: every day at --at (BACKUP_TZ,
default Asia/Shanghai) a backup into DIR/daily-<UTC time>/, then `prune`; DIR/status.json says
when the last one succeeded or why it failed (tools/healthcheck.py backup reads it).

Restore checks every checksum before it touches anything, then pg_restore's the dump
(--no-owner --no-privileges, so it may restore as another role) and unpacks the media folders.
It refuses a database that already holds tables unless --yes is given (then --clean).
Exit status is non-zero with the reason on any problem. See docs/OPERATIONS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo_service.env import database_from_url, env  # noqa: E402

DUMP = "database.dump"
ARCHIVES = {"media": "MEDIA_ROOT", "private-media": "PRIVATE_MEDIA_ROOT"}
MANIFEST = "manifest.json"


class Refused(Exception):
    pass


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _database():
    url = env("DATABASE_URL")
    if not url:
        raise Refused("DATABASE_URL is not set")
    db = database_from_url(url)
    process_env = {**os.environ, "PGPASSWORD": db["PASSWORD"]}
    args = ["-h", db["HOST"] or "127.0.0.1", "-p", db["PORT"] or "5432", "-U", db["USER"]]
    return db, args, process_env


def media_dirs() -> dict[str, Path]:
    defaults = {"MEDIA_ROOT": ROOT / "media", "PRIVATE_MEDIA_ROOT": ROOT / "private-media"}
    return {name: Path(env(setting, str(defaults[setting]))) for name, setting in ARCHIVES.items()}


def backup(out: Path) -> Path:
    db, args, process_env = _database()
    out.mkdir(parents=True, exist_ok=False)
    dump = subprocess.run(
        ["pg_dump", "-Fc", *args, "-d", db["NAME"], "-f", str(out / DUMP)],
        env=process_env,
        capture_output=True,
        text=True,
    )
    if dump.returncode != 0:
        raise Refused(f"pg_dump failed: {dump.stderr.strip()}")
    files = {DUMP: sha256(out / DUMP)}
    media = {}
    for name, folder in media_dirs().items():
        archive = out / f"{name}.tar"
        with tarfile.open(archive, "w") as tar:
            if folder.exists():
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        tar.add(path, arcname=str(path.relative_to(folder)))
                        media[f"{name}/{path.relative_to(folder)}"] = sha256(path)
        files[archive.name] = sha256(archive)
    manifest = {
        "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": db["NAME"],
        "files": files,
        "media": media,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return out


def verify(folder: Path) -> dict:
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise Refused(f"{manifest_path} is missing")
    manifest = json.loads(manifest_path.read_text())
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.exists():
            raise Refused(f"{name} is missing from the backup")
        if sha256(path) != expected:
            raise Refused(f"{name}: checksum differs from the manifest (damaged backup)")
    return manifest


def restore(folder: Path, *, replace: bool) -> None:
    manifest = verify(folder)
    db, args, process_env = _database()
    tables = subprocess.run(
        [
            "psql",
            *args,
            "-d",
            db["NAME"],
            "-Atc",
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'spatial_ref_sys'",
        ],
        env=process_env,
        capture_output=True,
        text=True,
    )
    if tables.returncode != 0:
        raise Refused(f"cannot reach the database: {tables.stderr.strip()}")
    if int(tables.stdout.strip() or 0) and not replace:
        raise Refused(f"database {db['NAME']} is not empty; pass --yes to replace its contents")
    command = [
        "pg_restore",
        *args,
        "-d",
        db["NAME"],
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
    ]
    if replace:
        command += ["--clean", "--if-exists"]
    restored = subprocess.run(
        [*command, str(folder / DUMP)], env=process_env, capture_output=True, text=True
    )
    if restored.returncode != 0:
        raise Refused(f"pg_restore failed: {restored.stderr.strip()[-2000:]}")
    for name, target in media_dirs().items():
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(folder / f"{name}.tar") as tar:
            for member in tar.getmembers():
                # Only plain files and folders inside the target (no links, no ../, no /).
                parts = Path(member.name).parts
                if (
                    not (member.isfile() or member.isdir())
                    or member.name.startswith("/")
                    or (".." in parts)
                ):
                    raise Refused(f"{name}.tar: refusing the unsafe entry {member.name!r}")
            tar.extractall(target)  # noqa: S202 (every member checked above)
    for relative, expected in manifest["media"].items():
        name, _, rest = relative.partition("/")
        if sha256(media_dirs()[name] / rest) != expected:
            raise Refused(f"{relative}: restored file differs from the manifest")


DAILY_PREFIX = "daily-"
STATUS = "status.json"


def prune(folder: Path, keep: int, prefix: str = DAILY_PREFIX) -> list[Path]:
    """Remove all but the newest `keep` backups named prefix<UTC time> in `folder` (complete
    ones, with a manifest; an incomplete one older than the newest kept is removed too).
    Other folders (pre-upgrade-*, your own) are never touched. Returns what was removed."""
    if keep < 1:
        raise Refused("--keep must be at least 1")
    candidates = sorted(
        (p for p in folder.glob(prefix + "*") if p.is_dir()), key=lambda p: p.name, reverse=True
    )
    complete = [p for p in candidates if (p / MANIFEST).is_file()]
    kept = set(complete[:keep])
    oldest_kept = min((p.name for p in kept), default="")
    removed = []
    for path in candidates:
        if path in kept or (path not in complete and path.name > oldest_kept):
            continue  # kept, or an incomplete one newer than what we keep (may be running)
        shutil.rmtree(path)
        removed.append(path)
    return removed


def next_run(now: datetime, at: str, zone: str) -> datetime:
    """The next time of day `at` (HH:MM in `zone`) strictly after `now` (aware), as UTC."""
    hour, _, minute = at.partition(":")
    local = now.astimezone(ZoneInfo(zone))
    candidate = local.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
    if candidate <= local:
        candidate = (local + timedelta(days=1)).replace(
            hour=int(hour), minute=int(minute), second=0, microsecond=0
        )
    return candidate.astimezone(UTC)


def write_status(folder: Path, **values) -> None:
    path = folder / STATUS
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        status = {}
    status.update(values)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status, indent=2) + "\n")
    tmp.replace(path)


def daily_once(folder: Path, keep: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = folder / f"{DAILY_PREFIX}{stamp}"
    for n in range(1, 100):  # two rounds in one second: never touch the other one's folder
        if not out.exists():
            break
        out = folder / f"{DAILY_PREFIX}{stamp}-{n}"
    try:
        backup(out)
    except (Refused, OSError) as exc:
        shutil.rmtree(out, ignore_errors=True)  # ours: it did not exist before
        write_status(
            folder, last_error=str(exc), last_error_at=datetime.now(UTC).isoformat(), ok=False
        )
        raise
    prune(folder, keep)
    write_status(
        folder,
        last_ok=datetime.now(UTC).isoformat(),
        last_backup=out.name,
        ok=True,
        last_error=None,
    )
    return out


def daily(folder: Path, keep: int, at: str, zone: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_status(folder, started_at=datetime.now(UTC).isoformat())
    while True:
        due = next_run(datetime.now(UTC), at, zone)
        write_status(folder, next_run=due.isoformat())
        print(f"backup: next daily backup at {due.isoformat()}", flush=True)
        while (wait := (due - datetime.now(UTC)).total_seconds()) > 0:
            time.sleep(min(wait, 300))
        try:
            out = daily_once(folder, keep)
            print(f"backup: {out}", flush=True)
        except (Refused, OSError) as exc:
            print(f"backup: daily backup failed: {exc}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("backup")
    make.add_argument("--out", type=Path)
    back = sub.add_parser("restore")
    back.add_argument("folder", type=Path)
    back.add_argument("--yes", action="store_true", help="replace a non-empty database")
    trim = sub.add_parser("prune")
    trim.add_argument("--dir", type=Path, required=True)
    trim.add_argument("--keep", type=int, required=True)
    every = sub.add_parser("daily")
    every.add_argument("--dir", type=Path, required=True)
    every.add_argument("--keep", type=int, default=14)
    every.add_argument("--at", default="02:30", help="HH:MM in BACKUP_TZ")
    every.add_argument("--once", action="store_true", help="one backup and prune now, then exit")
    options = parser.parse_args(argv)
    try:
        if options.command == "prune":
            for path in prune(options.dir, options.keep):
                print(f"prune: removed {path}")
        elif options.command == "daily":
            if options.keep < 1:
                raise Refused("--keep must be at least 1")
            zone = os.environ.get("BACKUP_TZ", "Asia/Shanghai")
            next_run(datetime.now(UTC), options.at, zone)  # a bad --at or zone fails now
            if options.once:
                options.dir.mkdir(parents=True, exist_ok=True)
                print(f"backup: {daily_once(options.dir, options.keep)}")
            else:
                daily(options.dir, options.keep, options.at, zone)
        elif options.command == "backup":
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            out = backup(options.out or ROOT / "backups" / stamp)
            print(f"backup: {out}")
        else:
            restore(options.folder, replace=options.yes)
            print(f"restore: {options.folder} restored")
    except (Refused, ValueError, ZoneInfoNotFoundError) as exc:
        print(f"{options.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
