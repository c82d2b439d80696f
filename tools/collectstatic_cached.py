#!/usr/bin/env python
"""collectstatic only when the static sources changed since the last collection.

    .venv/bin/python tools/collectstatic_cached.py [--force]

`make run` (tools/serve.py) calls it on every start. A full collectstatic with the production
storage compresses every vendored file (about 40 s of CPU); when nothing changed it is skipped.

The fingerprint is the SHA-256 of every source file the staticfiles finders list (its
destination path, source path, size and modification time in nanoseconds) plus the settings
that shape the output (STATIC_ROOT, STATIC_URL, the storage backend, Django's version). It is
written beside STATIC_ROOT, as `<STATIC_ROOT>.sources.json`, after a successful collection and
removed before one starts (an interrupted run never leaves a valid-looking fingerprint). The
collection is also redone when STATIC_ROOT or the manifest storage's staticfiles.json is gone.

Prints one line saying what it did; exit status is collectstatic's.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fingerprint() -> tuple[str, int]:
    """(hex digest, number of source files) of what collectstatic would collect now."""
    import django
    from django.apps import apps
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    ignore = apps.get_app_config("staticfiles").ignore_patterns
    entries = []
    for finder in get_finders():
        for path, storage in finder.list(ignore):
            prefix = getattr(storage, "prefix", None) or ""
            source = storage.path(path)
            stat = os.stat(source)
            destination = f"{prefix}/{path}" if prefix else path
            entries.append(f"{destination}\0{source}\0{stat.st_size}\0{stat.st_mtime_ns}")
    entries.sort()
    digest = hashlib.sha256()
    backend = settings.STORAGES.get("staticfiles", {}).get("BACKEND", "")
    head = [str(settings.STATIC_ROOT), str(settings.STATIC_URL), backend, django.get_version()]
    for line in [*head, *entries]:
        digest.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest(), len(entries)


def sources_file() -> Path:
    from django.conf import settings

    root = Path(settings.STATIC_ROOT)
    return root.with_name(root.name + ".sources.json")


def collected_output_present() -> bool:
    from django.conf import settings

    root = Path(settings.STATIC_ROOT)
    if not root.is_dir():
        return False
    backend = settings.STORAGES.get("staticfiles", {}).get("BACKEND", "")
    return "Manifest" not in backend or (root / "staticfiles.json").is_file()


def recorded() -> str | None:
    try:
        return json.loads(sources_file().read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run(force: bool = False) -> str:
    """Collect if needed; returns "skipped" or "collected". Two starts at once (two servers on
    one checkout) take turns on a lock beside STATIC_ROOT; the second then finds the output
    current and skips."""
    marker = sources_file()
    marker.parent.mkdir(parents=True, exist_ok=True)
    with open(marker.with_name(marker.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _collect_if_needed(force)


def _collect_if_needed(force: bool) -> str:
    from django.core.management import call_command

    digest, count = fingerprint()
    if not force and recorded() == digest and collected_output_present():
        return "skipped"
    marker = sources_file()
    marker.unlink(missing_ok=True)
    call_command("collectstatic", interactive=False, verbosity=0)
    marker.write_text(
        json.dumps(
            {
                "sha256": digest,
                "files": count,
                "collected_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
            indent=2,
        )
        + "\n"
    )
    return "collected"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="collect even if nothing changed")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings_production")
    import django

    django.setup()
    from django.conf import settings

    started = time.monotonic()
    outcome = run(force=args.force)
    took = time.monotonic() - started
    if outcome == "skipped":
        print(f"collectstatic: skipped, sources unchanged ({sources_file()})", flush=True)
    else:
        print(f"collectstatic: collected into {settings.STATIC_ROOT} in {took:.1f} s", flush=True)


if __name__ == "__main__":
    main()
