"""The repo's .env file: `KEY=VALUE` lines, `#` comments, optional quotes around a value.

Standard library only, with no import of the project: read by geo_service/env.py (the settings)
and by tools/devdb.py (run by the system python3 before the virtualenv exists), which also
writes it. One reader, so both always agree on what .env says.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV_FILE = REPO / ".env"


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """The keys and values of `path` ({} when it does not exist)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values
