"""Lighthouse (mobile, simulated 4G) on the public pages, served as `make run` serves them.

Usage: make bench-lighthouse   (or .venv/bin/python bench/lighthouse.py [--runs 3] [--out PATH])

Starts tools/serve.py (gunicorn with geo_service.settings_production, DEBUG off, the job
worker and the live process: what `make run` starts) on a free port of this worktree's
database, asks each page once to warm the workers, then runs Lighthouse (npm, installed into
bench/.lighthouse/, gitignored) with Debian's Chromium on `/`, `/tour/`, the tour's first stop
page and the public report page `/report/`, --runs times each, taking turns between the
pages. Lighthouse's defaults: mobile form factor, simulated throttling (slow 4G, 4x CPU).
Each figure is the median of the runs. Writes a JSON summary to --out (bench/peers.py reads
it for its Lighthouse column) and prints a markdown table. `--base URL` measures a server that
already runs instead.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PREFIX = ROOT / "bench" / ".lighthouse"
LIGHTHOUSE = PREFIX / "node_modules" / ".bin" / "lighthouse"
# 12.2.3: the last release whose lock `npm ci` accepts on Node 20 (13 wants Node 22).
VERSION = "12.2.3"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = {
    "fcp_ms": "first-contentful-paint",
    "lcp_ms": "largest-contentful-paint",
    "cls": "cumulative-layout-shift",
    "tbt_ms": "total-blocking-time",
    "si_ms": "speed-index",
}
# The targets of issue 28, item 6.
TARGETS = {"score": 95, "lcp_ms": 2000, "cls": 0.05}


def install() -> None:
    if LIGHTHOUSE.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("bench-lighthouse: npm is missing (Debian: apt-get install npm)")
    PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund", "-E",
         f"lighthouse@{VERSION}"],
        check=True,
    )  # fmt: skip


def chromium() -> str:
    path = os.environ.get("CHROME_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise SystemExit("bench-lighthouse: Chromium is missing (Debian: apt-get install chromium)")
    return path


def free_pair() -> int:
    """A port P with P+1 free too (serve.py puts the live process on PORT+1)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            with socket.socket() as second:
                second.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise SystemExit("bench-lighthouse: no free pair of ports")


def get(url: str, timeout: float = 60) -> tuple[int, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def wait_up(url: str, proc, seconds: int = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench-lighthouse: the server exited with {proc.returncode}")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"bench-lighthouse: {url} did not answer in {seconds} s")


def stop_page(base: str) -> str:
    """The first stop of the walking route, as the tour links it (`/tour/stops/<n>/`)."""
    status, html = get(f"{base}/tour/")
    if status != 200:
        raise SystemExit(f"bench-lighthouse: /tour/ answered {status}")
    template = re.search(r'"stop_url":\s*"([^"]+)"', html)
    path = template.group(1) if template else "/tour/stops/{n}/"
    for n in range(1, 30):
        candidate = path.replace("{n}", str(n))
        if get(f"{base}{candidate}")[0] == 200:
            return candidate
    raise SystemExit("bench-lighthouse: no stop page answered")


def _cpu_times() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # all, idle + iowait


def settle(longest: float, idle: float = 0.5) -> float:
    """Wait until half the machine is idle (two one-second samples), at most `longest` seconds;
    the idle share seen last. Lighthouse's simulated CPU is the page's observed task times x 4:
    a busy machine inflates TBT, FCP and LCP alike."""
    deadline = time.monotonic() + longest
    calm, share = 0, 0.0
    while True:
        total, free = _cpu_times()
        time.sleep(1)
        total2, free2 = _cpu_times()
        share = (free2 - free) / max(1, total2 - total)
        calm = calm + 1 if share >= idle else 0
        if calm >= 2 or time.monotonic() >= deadline:
            return share


# Lighthouse sometimes loses the trace on a loaded machine (NO_NAVSTART): that run is retried.
TRIES = 3


def lighthouse(url: str, chrome: str, workdir: Path) -> dict:
    out = workdir / "report.json"
    for attempt in range(1, TRIES + 1):
        done = subprocess.run(
            [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
             "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
             "--only-categories=" + ",".join(CATEGORIES)],
            env={**os.environ, "CHROME_PATH": chrome},
        )  # fmt: skip
        if done.returncode == 0:
            break
        print(f"  {url}: Lighthouse failed (try {attempt} of {TRIES})", file=sys.stderr)
    else:
        raise SystemExit(f"bench-lighthouse: Lighthouse failed {TRIES} times on {url}")
    report = json.loads(out.read_text())
    audits = report["audits"]
    run = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    for key, audit in METRICS.items():
        value = audits[audit]["numericValue"]
        run[key] = round(value, 3) if key == "cls" else round(value)
    run["failing"] = sorted(
        ref["id"]
        for category in CATEGORIES
        for ref in report["categories"][category]["auditRefs"]
        if ref["weight"] > 0
        and audits[ref["id"]]["score"] is not None
        and audits[ref["id"]]["score"] < 0.9
    )
    run["benchmark_index"] = report["environment"]["benchmarkIndex"]
    run["load"] = os.getloadavg()[0]
    run["version"] = report["lighthouseVersion"]
    return run


def median(runs: list[dict], key: str):
    value = statistics.median(r[key] for r in runs)
    return round(value, 3) if key == "cls" else round(value)


def summarise(runs: list[dict]) -> dict:
    summary = {key: median(runs, key) for key in (*CATEGORIES, *METRICS)}
    failing = sorted({a for r in runs for a in r["failing"]})
    meets = (
        all(summary[c] >= TARGETS["score"] for c in CATEGORIES)
        and summary["lcp_ms"] < TARGETS["lcp_ms"]
        and summary["cls"] < TARGETS["cls"]
    )
    return {**summary, "meets_targets": meets, "failing_audits": failing, "runs": runs}


def table(pages: dict) -> str:
    lines = [
        "| page | perf | a11y | best practices | SEO | FCP | LCP | CLS | TBT | targets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path, s in pages.items():
        lines.append(
            f"| `{path}` | {s['performance']} | {s['accessibility']} | {s['best-practices']} "
            f"| {s['seo']} | {s['fcp_ms'] / 1000:.1f} s | {s['lcp_ms'] / 1000:.1f} s "
            f"| {s['cls']:.3f} | {s['tbt_ms']} ms | {'met' if s['meets_targets'] else 'missed'} |"
        )
    return "\n".join(lines)


def measure(servers: dict[str, str], runs: int, chrome: str, wait: float) -> dict:
    """{server name: {page: summary}}; every server's pages in turns, run after run, so that
    the drift of a shared machine weighs on all alike (a before/after comparison is paired)."""
    first = next(iter(servers.values()))
    paths = ["/", "/tour/", stop_page(first), "/report/"]
    for base in servers.values():
        for path in paths:  # warm: each worker's first map page imports folium
            for _ in range(2):
                get(f"{base}{path}")
    per_page = {name: {p: [] for p in paths} for name in servers}
    with tempfile.TemporaryDirectory(prefix="bench-lighthouse-") as tmp:
        for n in range(runs):
            for path in paths:
                for name, base in servers.items():
                    idle = settle(wait)
                    run = lighthouse(f"{base}{path}", chrome, Path(tmp))
                    run["idle_before"] = round(idle, 2)
                    print(f"  run {n + 1}/{runs} {name} {path}: "
                          + " ".join(f"{k}={run[k]}" for k in (*CATEGORIES, *METRICS)),
                          file=sys.stderr, flush=True)  # fmt: skip
                    per_page[name][path].append(run)
    return {name: {p: summarise(r) for p, r in pages.items()} for name, pages in per_page.items()}


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page (median)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "lighthouse.json"))
    parser.add_argument("--base", help="measure this running server instead of starting one")
    parser.add_argument(
        "--before",
        help="also measure this running server (e.g. the code before a change), in turns with"
        " ours; its figures go to the summary's 'before'",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=120.0,
        help="longest wait (s) before each run for half the CPU to be idle (0: none)",
    )
    args = parser.parse_args()
    # Stopped (SIGTERM), the servers started here are stopped too (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    install()
    chrome = chromium()
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    proc = None
    base = args.base.rstrip("/") if args.base else None
    if base is None:
        port = free_pair()
        log = Path(tempfile.mkdtemp(prefix="bench-lighthouse-")) / "serve.log"
        print(f"bench-lighthouse: serving on port {port} (log {log})", file=sys.stderr)
        with open(log, "wb") as sink:
            proc = subprocess.Popen(  # noqa: S603
                [sys.executable, str(ROOT / "tools" / "serve.py"), "--port", str(port)],
                cwd=ROOT, stdout=sink, stderr=sink, start_new_session=True,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
    try:
        if proc is not None:
            wait_up(f"{base}/", proc)
        servers = {"ours": base, **({"before": args.before.rstrip("/")} if args.before else {})}
        measured = measure(servers, args.runs, chrome, args.settle)
    finally:
        if proc is not None:
            proc.terminate()  # serve.py stops gunicorn, the worker and the live process
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    result = {
        "started": started,
        "commit": commit(),
        "lighthouse": next(iter(measured["ours"].values()))["runs"][0]["version"],
        "settings": "mobile, simulated throttling (Lighthouse defaults), headless Chromium",
        "runs_per_page": args.runs,
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "served_by": "tools/serve.py (make run)" if proc is not None else base,
        "targets": TARGETS,
        "pages": measured["ours"],
        **({"before": {"server": args.before, "pages": measured["before"]}} if args.before else {}),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(table(result["pages"]))
    if args.before:
        print(f"\nbefore ({args.before}):\n")
        print(table(result["before"]["pages"]))
    print(f"\n(median of {args.runs} runs; load average {os.getloadavg()[0]:.1f}; {out})")


if __name__ == "__main__":
    main()
