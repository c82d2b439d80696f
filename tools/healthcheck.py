#!/usr/bin/env python
"""Health checks of the compose stack's containers (docker-compose.yml), without Django (each
runs every 30 s: it must be cheap). Exit status 0 when healthy, 1 with the reason otherwise.

    python tools/healthcheck.py http URL        # 2xx within 5 s (the app's /healthz)
    python tools/healthcheck.py worker          # a job worker's heartbeat is recent
    python tools/healthcheck.py backup DIR      # the daily backup has not failed or stalled
"""

from __future__ import annotations

import json
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo_service.env import env  # noqa: E402 (the env file only, no Django)

# A daily backup is late once this much has passed since the last good one (or the start).
BACKUP_LATE = timedelta(hours=26)


def http(url: str) -> str | None:
    request = urllib.request.Request(url)  # noqa: S310 (http: our own server)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (our own)
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except OSError as exc:
        return f"{url}: {exc}"


def worker() -> str | None:
    import psycopg

    max_age = int(env("READY_WORKER_MAX_AGE", "120"))
    try:
        with psycopg.connect(env("DATABASE_URL") or "", connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT EXTRACT(EPOCH FROM now() - max(last_heartbeat)) FROM procrastinate_workers"
            ).fetchone()
    except psycopg.Error as exc:
        return f"database: {str(exc).strip()}"
    if row[0] is None:
        return "no job worker has reported"
    if row[0] > max_age:
        return f"the freshest worker heartbeat is {row[0]:.0f} s old (> {max_age})"
    return None


def backup(folder: Path, now: datetime | None = None) -> str | None:
    now = now or datetime.now(UTC)
    try:
        status = json.loads((folder / "status.json").read_text())
    except (OSError, ValueError) as exc:
        return f"no backup status: {exc}"
    if status.get("ok") is False:
        return f"the last daily backup failed: {status.get('last_error')}"
    since = status.get("last_ok") or status.get("started_at")
    if not since:
        return "the backup loop has not started"
    if now - datetime.fromisoformat(since) > BACKUP_LATE:
        return f"no good backup since {since}"
    return None


def main(argv: list[str]) -> int:
    if argv[:1] == ["http"] and len(argv) == 2:
        problem = http(argv[1])
    elif argv == ["worker"]:
        problem = worker()
    elif argv[:1] == ["backup"] and len(argv) == 2:
        problem = backup(Path(argv[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
