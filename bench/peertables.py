"""bench/peers.py's output: one markdown table per part and issue 28's target lines (met, or
missed by how much); the top frames of a py-spy profile; the Lighthouse summary, read
defensively."""

from __future__ import annotations

import json
from collections import Counter
from itertools import product
from pathlib import Path

LIGHTHOUSE_SCORES = ("performance", "accessibility", "best-practices", "seo")


def _cell(entry, floor_ms=None) -> str:
    if not entry:
        return "–"
    median, p95, size, status, ratio = entry[:5]
    if status != 200:
        return f"HTTP {status}"
    extra = ""
    if floor_ms:
        extra = f" ({median / floor_ms:.2f}×; paired {ratio:.2f}×, +{median - floor_ms:.1f} ms)"
    return f"{median:.1f} / {p95:.1f} ms{extra}, {size / 1024:.0f} KiB"


def _rate(rates: dict, name: str, clients=(8, 32)) -> str:
    got = (rates or {}).get(name)
    if not got:
        return "–"
    return " / ".join("–" if got.get(c) is None else f"{got[c]:.1f}" for c in clients)


def target(label: str, value, limit, unit: str = "", higher: bool = False) -> str:
    """A target line: met, or missed by how much (absolute and in per cent of the limit)."""
    if value is None:
        return f"- {label}: not measured (target {'≥' if higher else '≤'} {limit:g}{unit})"
    sign = "≥" if higher else "≤"
    met = value >= limit if higher else value <= limit
    text = f"- {label}: {value:.2f}{unit} (target {sign} {limit:g}{unit}): "
    if met:
        return text + "**met**"
    gap = abs(value - limit)
    return text + f"**missed** by {gap:.2f}{unit} ({gap / limit * 100:.0f}%)"


def pages(results: dict, sizes, boxes) -> list[str]:
    got = results["pages"]
    lines = [
        "| bbox, page size | floor: same SQL, psycopg | REST | OGC | tipg, every column "
        "| tipg, our columns | pygeoapi |",
        "|---|---|---|---|---|---|---|",
    ]
    for box, size in product(boxes, sizes):
        page = got[f"page {size} {box}"]
        floor = page["floor"][0]
        lines.append(
            f"| {box}, {size:,} | {_cell(page['floor'])} | {_cell(page.get('REST'), floor)} | "
            f"{_cell(page.get('OGC'), floor)} | {_cell(page.get('tipg'), floor)} | "
            f"{_cell(page.get('tipg same'), floor)} | {_cell(page.get('pygeoapi'), floor)} |"
        )
    for box in boxes:
        count = got[f"page {sizes[0]} {box}"].get("count")
        lines.append(f"| exact count of the {box} bbox's match (for scale) | {_cell(count)} |||||")
    lines.append("")
    for box, size, col in product(boxes, sizes, ("REST", "OGC")):
        page = got[f"page {size} {box}"]
        if page.get(col):
            over = page[col][0] - page["floor"][0]
            label = f"{col} page of {size:,}, {box} bbox"
            lines.append(target(f"{label}, over the floor", over, 3.0, " ms"))
            lines.append(target(f"{label}, paired ratio to the floor", page[col][4], 1.3, "×"))
    return lines


def documents(results: dict) -> list[str]:
    lines = ["| document | median / p95 |", "|---|---|"]
    for name, entry in results["documents"].items():
        lines.append(f"| {name} | {_cell(entry)} |")
    return lines


def tiles(results: dict, tile) -> list[str]:
    got = results["tiles"]
    one, distinct = got["tile"], got["distinct"]
    lines = [
        "| tiles | floor | this project | tipg, every column | tipg, our columns |",
        "|---|---|---|---|---|",
        f"| z16 tile {'/'.join(map(str, tile))}, cold | {_cell(one['floor'])} | "
        f"{_cell(one.get('ours'), one['floor'][0])} | {_cell(one.get('tipg'), one['floor'][0])} "
        f"| {_cell(one.get('tipg same'), one['floor'][0])} |",
        f"| the same tile warm (cache on): raw; brotli | | {_cell(one.get('warm'))}; "
        f"{_cell(one.get('warm br'))} | | |",
        f"| distinct cold tiles z16–z18 ({results['tiles listed']} listed; the first "
        f"{got.get('distinct timed')} timed, one each) | {_cell(distinct['floor'])} | "
        f"{_cell(distinct.get('ours'), distinct['floor'][0])} | "
        f"{_cell(distinct.get('tipg'), distinct['floor'][0])} | "
        f"{_cell(distinct.get('tipg same'), distinct['floor'][0])} |",
    ]
    sizes = ", ".join(
        f"z{z} {size / 1024:.0f} KiB ({n} tiles{'' if status == 200 else f', HTTP {status}'})"
        for z, (size, n, status) in sorted(got["largest"].items(), key=lambda i: int(i[0]))
    )
    lines += ["", f"Largest tile of ours over the old town, per zoom: {sizes}.", ""]
    if distinct.get("ours"):
        lines.append(
            target("distinct cold tiles, paired ratio to the floor", distinct["ours"][4], 1.5, "×")
        )
    if got["largest"]:
        biggest = max(size for size, _n, _s in got["largest"].values())
        lines.append(target("largest tile, z12–z18", biggest / 1024, 500, " KiB"))
    return lines


def throughput(results: dict) -> list[str]:
    got = results.get("throughput") or {}
    if not got:
        return ["(wrk is missing: no throughput)"]
    pr, tr, wr = got["page/s"], got["tile/s"], got["warm/s"]
    lines = [
        "| per second, wrk 8 / 32 connections | this project | tipg, every column "
        "| tipg, our columns | pygeoapi |",
        "|---|---|---|---|---|",
        f"| pages of 1,000 (wide bbox) | REST {_rate(pr, 'REST')}; OGC {_rate(pr, 'OGC')} | "
        f"{_rate(pr, 'tipg')} | {_rate(pr, 'tipg same')} | {_rate(pr, 'pygeoapi')} |",
        f"| distinct cold tiles z16–z18 | {_rate(tr, 'ours')} | {_rate(tr, 'tipg')} | "
        f"{_rate(tr, 'tipg same')} | – |",
        f"| one warm tile (cache on): raw; brotli | {_rate(wr, 'warm')}; {_rate(wr, 'warm br')} "
        "| | | |",
        "",
    ]
    for clients in (8, 32):
        best_tipg = _best(tr, ("tipg", "tipg same"), clients)
        ours = (tr.get("ours") or {}).get(clients)
        lines.append(
            target(
                f"distinct tiles/s at {clients} connections, ours / the faster tipg",
                ours / best_tipg if ours and best_tipg else None,
                3.0,
                "×",
                higher=True,
            )
        )
        best_tipg = _best(pr, ("tipg", "tipg same"), clients)
        for col in ("REST", "OGC"):
            ours = (pr.get(col) or {}).get(clients)
            lines.append(
                target(
                    f"{col} pages/s at {clients} connections, ours / the faster tipg",
                    ours / best_tipg if ours and best_tipg else None,
                    5.0,
                    "×",
                    higher=True,
                )
            )
    return lines


def _best(rates: dict, names, clients) -> float | None:
    found = [(rates.get(n) or {}).get(clients) for n in names]
    found = [v for v in found if v]
    return max(found) if found else None


def city(results: dict, sizes, boxes) -> list[str]:
    got = results["city"]
    lines = [
        "| request | floor 200k | floor 2M | ours 200k | ours 2M | 2M / 200k, paired "
        "| to the floor, 200k / 2M, paired |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, entry in got.items():
        if kind == "tile/s":
            continue
        pairs = entry.get("pairs", {})
        lines.append(
            f"| {kind} | {_cell(entry.get('floor'))} | {_cell(entry.get('floor 2M'))} | "
            f"{_cell(entry.get('200k'))} | {_cell(entry.get('2M'))} | "
            f"{pairs.get('2M / 200k', 0):.2f}× | {_pair(pairs, '200k / floor')} / "
            f"{_pair(pairs, '2M / floor 2M')} |"
        )
    if got.get("tile/s"):
        rates = got["tile/s"]
        lines.append(
            f"| distinct tiles/s, wrk 8 connections | | | {_rate(rates, 'ours', (8,))} | "
            f"{_rate(rates, 'city', (8,))} | | |"
        )
    lines.append("")
    for kind, entry in got.items():
        if kind == "tile/s":
            continue
        pairs = entry.get("pairs", {})
        lines.append(target(f"{kind}: 2M / 200k", pairs.get("2M / 200k"), 1.5, "×"))
        if "2M / floor 2M" in pairs:
            limit = 1.5 if "tiles" in kind else 1.3
            lines.append(target(f"{kind}: 2M / its floor", pairs["2M / floor 2M"], limit, "×"))
    rates = got.get("tile/s") or {}
    small, large = (rates.get("ours") or {}).get(8), (rates.get("city") or {}).get(8)
    lines.append(
        target(
            "distinct tiles/s, 200k / 2M (the time per tile, 2M / 200k)",
            small / large if small and large else None,
            1.5,
            "×",
        )
    )
    return lines


def _pair(pairs: dict, key: str) -> str:
    return f"{pairs[key]:.2f}×" if key in pairs else "–"


def rss_and_start(results: dict) -> list[str]:
    rss, started = results.get("rss", {}), results.get("started", {})
    names = sorted(set(rss) | set(started))
    lines = [
        "| server (one worker) | peak RSS (VmHWM) | start to first answer |",
        "|---|---|---|",
    ]
    for name in names:
        lines.append(f"| {name} | {rss.get(name, 0):.0f} MiB | {started.get(name, 0):.1f} s |")
    lines.append("")
    for name in ("ours", "ours-city"):
        if name in rss:
            lines.append(target(f"peak RSS per worker, {name}", rss[name], 180, " MiB"))
    if "ours" in started:
        lines.append(target("start to first answer, ours", started["ours"], 1.0, " s"))
    return lines


def profile(results: dict) -> list[str]:
    lines = []
    for name, entry in (results.get("profile") or {}).items():
        rate = entry.get("rate")
        lines.append(
            f"**{name}** under wrk (8 connections{f', {rate:.0f}/s' if rate else ''}); "
            f"{entry['top'].get('samples', 0)} busy samples ({entry['top'].get('idle', 0)} idle "
            f"left out); files: {', '.join(entry['files'])}"
        )
        lines += [
            "",
            "| by own time | % busy | by total time (our code, layers/) | % busy |",
            "|---|---|---|---|",
        ]
        own, total = entry["top"].get("own", []), entry["top"].get("total", [])
        for i in range(max(len(own), len(total))):
            a = own[i] if i < len(own) else ("", 0)
            b = total[i] if i < len(total) else ("", 0)
            lines.append(f"| `{a[0]}` | {a[1]:.1f} | `{b[0]}` | {b[1]:.1f} |")
        lines.append("")
    return lines or ["(no profile: needs wrk, bench/.peers/pyspy and root)"]


# Leaf frames of a thread that waits for work (gthread's pool, its poller): idle, not time
# spent on a request. A thread waiting on PostgreSQL (psycopg's Connection.wait) is not idle.
IDLE = (
    "_worker (concurrent/futures/thread.py)",
    "EpollSelector.select (selectors.py)",
    "Condition.wait (threading.py)",
)


def top_frames(path: Path, n: int = 5) -> dict:
    """From py-spy's raw (collapsed) stacks, idle threads left out: the n frames with the most
    own time (the leaf) and the n of our code (layers/) with the most total time, in % of the
    busy samples."""
    own, total, samples, idle = Counter(), Counter(), 0, 0
    try:
        text = path.read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        if frames[-1] in IDLE:
            idle += int(count)
            continue
        samples += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            if "(layers/" in frame:
                total[frame] += int(count)
    if not samples:
        return {}
    pct = 100 / samples
    return {
        "samples": samples,
        "idle": idle,
        "own": [(f, c * pct) for f, c in own.most_common(n)],
        "total": [(f, c * pct) for f, c in total.most_common(n)],
    }


def read_lighthouse(path: Path):
    """{page: {performance, accessibility, best-practices, seo, lcp_ms, cls, fcp_ms}} or a
    string saying why not. Scores of 0–1 are read as 0–100."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return f"{path} not found (bench/lighthouse.py writes it)"
    except (OSError, ValueError) as exc:
        return f"{path} unreadable: {exc}"
    if not isinstance(data, dict):
        return f"{path}: not an object of pages"
    out = {}
    for page, scores in data.items():
        if not isinstance(scores, dict):
            continue
        row = {}
        for key in (*LIGHTHOUSE_SCORES, "lcp_ms", "cls", "fcp_ms"):
            value = scores.get(key, scores.get(key.replace("-", "_")))
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = None
            if value is not None and key in LIGHTHOUSE_SCORES and value <= 1:
                value *= 100
            row[key] = value
        out[page] = row
    return out


def lighthouse(results: dict) -> list[str]:
    got = results.get("lighthouse")
    if not isinstance(got, dict):
        return [f"(no Lighthouse figures: {got})"]

    def fmt(value, digits=0):
        return "–" if value is None else f"{value:.{digits}f}"

    lines = [
        "| page | performance | accessibility | best practices | SEO | LCP | CLS | FCP |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for page, row in got.items():
        lines.append(
            f"| {page} | "
            + " | ".join(fmt(row[k]) for k in LIGHTHOUSE_SCORES)
            + f" | {fmt(row['lcp_ms'])} ms | {fmt(row['cls'], 3)} | {fmt(row['fcp_ms'])} ms |"
        )
    lines.append("")
    for page, row in got.items():
        for key in LIGHTHOUSE_SCORES:
            lines.append(target(f"{page} {key}", row[key], 95, higher=True))
        lines.append(target(f"{page} LCP", row["lcp_ms"], 2000, " ms"))
        lines.append(target(f"{page} CLS", row["cls"], 0.05))
    return lines


def report(results: dict, parts, sizes, boxes, tile) -> str:
    load = results["load"]
    out = [
        f"Databases: {results.get('databases')}; load average at start {load['start']}, "
        f"at end {load.get('end')}.",
    ]
    sections = (
        ("pages", "Pages of 10, 100 and 1,000", lambda: pages(results, sizes, boxes)),
        ("documents", "Documents a client asks on connecting", lambda: documents(results)),
        ("tiles", "Tiles", lambda: tiles(results, tile)),
        ("throughput", "Throughput (one worker each)", lambda: throughput(results)),
        (
            "city",
            "City scale: 2,000,000 buildings against 200,000",
            lambda: city(results, sizes, boxes),
        ),
        ("profile", "py-spy on our worker", lambda: profile(results)),
        ("lighthouse", "Lighthouse (bench/lighthouse.py's summary)", lambda: lighthouse(results)),
    )
    for part, title, make in sections:
        if part in parts and (part in results or part == "lighthouse"):
            out += ["", f"### {title}", "", *make()]
    if results.get("rss") or results.get("started"):
        out += ["", "### Workers", "", *rss_and_start(results)]
    return "\n".join(out)
