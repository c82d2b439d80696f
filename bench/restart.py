#!/usr/bin/env python
"""How long `make run` takes until it serves: a first start and then restarts.

    .venv/bin/python bench/restart.py [--port 8123] [--starts 3]

Each start runs `make run PORT=...` from this checkout (set-up, collectstatic when the static
sources changed, gunicorn and the job worker) and measures the wall time until GET / answers
200 and a public media file (the tour's first picture) answers 200; then it stops the server
with SIGTERM and waits until it has gone. Prints one line per start and a JSON summary. The
figure goes into docs/OPERATIONS.md ("Fast restarts"); never a test assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our server)
            return response.status == 200
    except OSError:
        return False


def one_start(port: int, log: Path) -> dict:
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while not answers(base + "/"):
            if process.poll() is not None:
                raise SystemExit(f"make run stopped ({process.returncode}); see {log}")
            if time.monotonic() - started > 600:
                raise SystemExit(f"make run did not serve within 600 s; see {log}")
            time.sleep(0.1)
        serving = time.monotonic() - started
        media = answers(base + "/media/viewpoints/VP-01.svg")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    return {
        "seconds_to_serve": round(serving, 1),
        "media_ok": media,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    log = ROOT / "bench" / "restart.log"
    log.unlink(missing_ok=True)
    results = []
    for n in range(args.starts):
        result = one_start(args.port, log)
        results.append(result)
        print(
            f"start {n + 1}: serving after {result['seconds_to_serve']} s"
            f" (load average {result['load_average_1min']} on {os.cpu_count()} cores)",
            flush=True,
        )
    print(json.dumps({"starts": results}, indent=2))


if __name__ == "__main__":
    main()
