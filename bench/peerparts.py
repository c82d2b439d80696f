"""The parts of bench/peers.py (pages, documents, tiles, throughput, city, profile): each asks
the servers of a `peers.Bench` and returns its figures; bench/peertables.py prints them."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import quote

import peertables
from peerkit import (
    BOXES,
    OLD_TOWN,
    PEERS,
    TILE,
    Http,
    children,
    floor_statements,
    floors,
    interleaved,
    paired,
    settle,
    tiles_touching,
    wrk,
)

if TYPE_CHECKING:
    from peers import Bench


def measure(kind: str, runners: dict, rounds: int, raw: dict | None = None) -> dict:
    settle()
    out = interleaved(runners, rounds, raw)
    for name, entry in out.items():
        print(f"  {kind} {name}: {entry}", file=sys.stderr)
    return out


def part_pages(bench: Bench, sizes: list[int]) -> dict:
    statements = floor_statements(BOXES, sizes, {})
    floor = floors(statements, bench.db)
    out = {}
    for box in BOXES:
        for size in sizes:
            runners = {"floor": floor[f"page {size} {box}"]}
            if size == sizes[0]:
                runners["count"] = floor[f"count {box}"]  # what an exact count costs
            for name, (url, headers) in bench.page_targets(size, box).items():
                runners[name] = Http(url, headers)
            out[f"page {size} {box}"] = measure(f"page {size} {box}", runners, bench.args.repeat)
    return out


def part_documents(bench: Bench) -> dict:
    base, auth = bench.base("ours"), bench.auth
    targets = {
        "OGC landing": (f"{base}/ogc/", auth),
        "OGC collections, token": (f"{base}/ogc/collections", auth),
        "OGC collections, anonymous": (f"{base}/ogc/collections", {}),
        "REST layer index, token": (f"{base}/api/v1/layers/", auth),
        "REST layer index, anonymous": (f"{base}/api/v1/layers/", {}),
    }
    runners = {name: Http(url, headers) for name, (url, headers) in targets.items()}
    return measure("documents", runners, bench.args.repeat)


def part_tiles(bench: Bench) -> dict:
    distinct = bench.tiles[: bench.args.tile_rounds]
    statements = floor_statements({}, [], {"tile": [TILE], "tiles": distinct})
    floor = floors(statements, bench.db)
    one = {"floor": floor["tile"]}
    prefixes = bench.tile_prefixes()
    for name in ("ours", "tipg", "tipg same", "warm"):
        if name in prefixes:
            base, prefix, suffix, headers = prefixes[name]
            url = f"{base}{prefix}{'/'.join(map(str, TILE))}{suffix}"
            one[name] = Http(url, headers)  # one URL: warmed up twice first
            if name == "warm":
                one["warm br"] = Http(url, {**headers, "Accept-Encoding": "br, gzip"})
    out = {"tile": measure("tile", one, bench.args.repeat)}
    runners = {"floor": floor["tiles"]}
    for name in ("ours", "tipg", "tipg same"):
        if name in prefixes:
            runners[name] = bench.cycle(name, distinct)
    out["distinct"] = measure("distinct tiles", runners, len(distinct))
    out["distinct timed"] = len(distinct)
    # The largest tile of each zoom over the old town (z16–z18: the distinct list).
    largest = {}
    if "ours" in prefixes:
        for z in (12, 13, 14, 15, 16, 17, 18):
            listing = (
                tiles_touching(OLD_TOWN, z) if z < 16 else [t for t in bench.tiles if t[0] == z]
            )
            fetch = bench.cycle("ours", listing)
            got = [fetch() for _ in listing]
            largest[z] = (max(size for _ms, size, _s in got), len(listing), got[0][2])
    out["largest"] = largest
    return out


def _rates(bench: Bench, targets: dict, clients_list, tiles: bool) -> dict:
    """name -> clients -> mean requests/s over --wrk-rounds runs in turns."""
    rates = {}
    names = list(targets)
    for clients in clients_list:
        got = {name: [] for name in names}
        for i in range(bench.args.wrk_rounds):
            shift = i % len(names)
            for name in names[shift:] + names[:shift]:
                url, headers, listing = targets[name]
                settle()
                got[name].append(
                    wrk(url, headers, clients, bench.args.duration, listing if tiles else None)
                )
        for name, values in got.items():
            values = [v for v in values if v is not None]
            rates.setdefault(name, {})[clients] = statistics.mean(values) if values else None
    print(f"  rates: {rates}", file=sys.stderr)
    return rates


def tile_wrk_targets(bench: Bench, names) -> dict:
    out = {}
    for name, (base, prefix, suffix, headers) in bench.tile_prefixes().items():
        if name in names:
            out[name] = (base + "/", headers, (prefix, suffix, bench.listing))
    return out


def part_throughput(bench: Bench, sizes: list[int]) -> dict:
    if not shutil.which("wrk"):
        return {}
    pages = {
        name: (url, headers, None)
        for name, (url, headers) in bench.page_targets(max(sizes), "wide").items()
    }
    out = {"page/s": _rates(bench, pages, (8, 32), tiles=False)}
    out["tile/s"] = _rates(
        bench, tile_wrk_targets(bench, ("ours", "tipg", "tipg same")), (8, 32), True
    )
    base, prefix, suffix, headers = bench.tile_prefixes()["warm"]
    url = f"{base}{prefix}{'/'.join(map(str, TILE))}{suffix}"
    warm = {
        "warm": (url, headers, None),
        "warm br": (url, {**headers, "Accept-Encoding": "br, gzip"}, None),
    }
    out["warm/s"] = _rates(bench, warm, (8, 32), tiles=False)
    return out


def part_city(bench: Bench, sizes: list[int]) -> dict:
    """Ours on the 200,000 set against ours on the 2,000,000 set, each beside its floor."""
    distinct = bench.tiles[: bench.args.tile_rounds]
    statements = floor_statements(BOXES, sizes, {"tiles": distinct})
    small, large = floors(statements, bench.db), floors(statements, bench.city_db)
    base, city, auth = bench.base("ours"), bench.base("ours-city"), bench.auth
    today = date.today().isoformat()
    wide = BOXES["wide"]
    paths = {
        **{
            f"page {size} {box}": f"/api/v1/buildings/?bbox={BOXES[box]}&page_size={size}"
            for box in BOXES
            for size in sizes
        },
        "search 局前街": f"/api/v1/search/?q={quote('局前街')}",
        "search 22号": f"/api/v1/search/?q={quote('22号')}",
        "hazards q=BENCH-H1234": "/api/v1/hazards/?q=BENCH-H1234&page_size=100",
        "KPIs by grid": "/api/v1/hazards/kpis/?by=grid",
        "KPIs by month": "/api/v1/hazards/kpis/?by=month",
        "as_of, page of 1,000": f"/api/v1/buildings/?bbox={wide}&page_size=1000&as_of={today}",
    }
    out = {}
    for kind, path in paths.items():
        runners = {"200k": Http(base + path, auth), "2M": Http(city + path, auth)}
        if kind.startswith("page "):
            runners = {"floor": small[kind], "floor 2M": large[kind], **runners}
        raw = {}
        out[kind] = measure(f"city {kind}", runners, bench.args.repeat, raw)
        out[kind]["pairs"] = _city_pairs(raw)
    runners = {
        "floor": small["tiles"],
        "floor 2M": large["tiles"],
        "200k": bench.cycle("ours", distinct),
        "2M": bench.cycle("city", distinct),
    }
    raw = {}
    out["distinct tiles"] = measure("city tiles", runners, len(distinct), raw)
    out["distinct tiles"]["pairs"] = _city_pairs(raw)
    if shutil.which("wrk"):
        targets = tile_wrk_targets(bench, ("ours", "city"))
        out["tile/s"] = _rates(bench, targets, (8,), tiles=True)
    return out


def _city_pairs(raw: dict) -> dict:
    pairs = {"2M / 200k": paired(raw, "2M", "200k")}
    if "floor" in raw:
        pairs["200k / floor"] = paired(raw, "200k", "floor")
        pairs["2M / floor 2M"] = paired(raw, "2M", "floor 2M")
        pairs["floor 2M / floor"] = paired(raw, "floor 2M", "floor")
    return pairs


def part_profile(bench: Bench) -> dict:
    """py-spy (ptrace: run as root) on our worker while wrk loads it: collapsed stacks, their
    top frames, and with --flame-svg a flame graph from a second run under the same load."""
    spy = PEERS / "pyspy" / "bin" / "py-spy"
    if not spy.exists() or not shutil.which("wrk"):
        print("  profile: needs wrk and bench/.peers/pyspy (make bench-peers)", file=sys.stderr)
        return {}
    proc, base = bench.servers["ours"]
    worker = (children(proc.pid) or [proc.pid])[0]
    loads = {
        "page": (f"{base}/api/v1/buildings/?bbox={BOXES['block']}&page_size=100", None),
        "distinct tiles": (base + "/", ("/tiles/buildings/", ".pbf", bench.listing)),
    }
    seconds = bench.args.profile_seconds
    out = {}
    for name, (url, tiles) in loads.items():
        stem = bench.logdir / f"profile-{name.replace(' ', '-')}"
        formats = [("raw", stem.with_suffix(".txt"))]
        if bench.args.flame_svg:
            formats.append(("flamegraph", stem.with_suffix(".svg")))
        rates = []
        for fmt, path in formats:
            settle()
            load = threading.Thread(
                target=lambda url=url, tiles=tiles, rates=rates: rates.append(
                    wrk(url, bench.auth, 8, seconds + 2, tiles)
                )
            )
            load.start()
            time.sleep(1)
            done = subprocess.run(
                [str(spy), "record", "--pid", str(worker), "--duration", str(seconds)]
                + ["--rate", "200", "--nolineno", "--format", fmt, "-o", str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                print(f"  py-spy: {done.stderr[-500:]}", file=sys.stderr)
            load.join()
        out[name] = {
            "rate": rates[0] if rates else None,
            "top": peertables.top_frames(stem.with_suffix(".txt")),
            "files": [str(path) for _fmt, path in formats],
        }
    return out
