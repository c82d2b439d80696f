"""This project beside tipg, pygeoapi and the SQL floor, and at city scale (issue 28's "Done when").

Usage: make bench-peers   (or .venv/bin/python bench/peers.py [--only pages,tiles,...])

Parts (`--only`, comma-separated; all by default), each printed as a markdown table followed
by its target lines (met, or missed by how much):
- pages: bbox pages of --sizes (10, 100, 1,000) in two bboxes (wide: ~82,000 buildings;
  block: ~8,400), REST and OGC beside the floor (the same SQL through psycopg, no web layer),
  tipg (default columns and ours) and pygeoapi, with the exact count of each bbox's match.
- documents: the OGC landing page, the collections and the REST layer index, with and without
  a token (no floor: what a client pays to connect).
- tiles: one z16 tile (cold, and warm from a server with the tile cache on), distinct cold
  tiles across z16–z18 of the old town (each round the next tile of a shuffled list, so no
  cache answers twice; the tile cache off), and the largest tile of z12–z18 over the old town.
- throughput: wrk at 8 and 32 connections, each target --wrk-rounds times in turns: pages of
  1,000 (wide bbox), distinct cold tiles (a Lua script walks the tile list), warm tiles.
- city: this project on the 200,000 set and on the 2,000,000 set (<db>_bench_city,
  `--city-suffix`), each beside its own floor: pages, distinct tiles, search, KPIs and as_of,
  paired ratios 2M / 200k; distinct tiles/s on both.
- profile: py-spy on our worker under wrk, a page and the distinct tiles: top frames.
- lighthouse: the scores in --lighthouse (bench/lighthouse.py's summary), if the file exists.
Peak RSS per worker (VmHWM) and the time from each server's command to its first answer end
every run.

Needs the bench databases (bench/make_data.py --buildings 200000 --hazards 20000; for city,
also --buildings 2000000 --hazards 200000 --db-suffix _bench_city) and the peers' venvs under
bench/.peers/ (`make bench-peers` makes them). Every server runs one worker process on
127.0.0.1. Latency: every server and the floor take turns, one request each per round on its
own keep-alive connection (so drift of a shared machine weighs on all alike), median and p95
over the rounds, and the paired ratio (median of the per-round ratios).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import benchdb
import peertables
from peerkit import (  # noqa: F401 (Http ... wait_up: re-exported for the other bench scripts)
    BOXES,
    OLD_TOWN,
    ROOT,
    TILE,
    Http,
    children,
    free_port,
    interleaved,
    load_average,
    ours,
    peak_rss_mb,
    pygeoapi,
    start,
    stop,
    tiles_inside,
    tipg,
    wait_up,
)
from peerparts import (
    part_city,
    part_documents,
    part_pages,
    part_profile,
    part_throughput,
    part_tiles,
)

PARTS = ("pages", "documents", "tiles", "throughput", "city", "profile", "lighthouse")
NEEDS = {  # part -> the servers it asks
    "pages": ("ours", "tipg", "pygeoapi"),
    "documents": ("ours",),
    "tiles": ("ours", "ours-warm", "tipg"),
    "throughput": ("ours", "ours-warm", "tipg", "pygeoapi"),
    "city": ("ours", "ours-city"),
    "profile": ("ours",),
}


class Bench:
    """The servers of one run, started once for every part that needs them."""

    def __init__(self, args, parts):
        from django.conf import settings
        from django.contrib.auth import get_user_model

        from layers.auth.tokens import ApiToken
        from layers.domain import registry
        from layers.query import access
        from layers.query.mvt import tile_properties

        self.args, self.parts = args, parts
        self.db = settings.DATABASES["default"]["NAME"]
        self.city_db = self.db.removesuffix(benchdb.suffix()) + args.city_suffix
        self.logdir = Path(tempfile.mkdtemp(prefix="bench-peers-"))
        editor = get_user_model().objects.get(username="demo-editor")
        self.token, key = ApiToken.issue(editor, "bench-peers")
        self.auth = {"Authorization": f"Token {key}"}
        spec = registry.get("buildings")
        self.page_columns = ",".join(
            spec.model._meta.get_field(n).column for n in access.output_fields(editor, spec)
        )
        self.tile_columns = ",".join(
            ["id"]  # our tiles carry the id as a property too (QGIS shows no feature id)
            + [spec.model._meta.get_field(n).column for n in tile_properties(spec, editor, 16)]
        )
        self.tiles = tiles_inside(OLD_TOWN, (16, 17, 18))
        self.listing = self.logdir / "tiles.txt"
        self.listing.write_text("".join(f"{z}/{x}/{y}\n" for z, x, y in self.tiles))
        self.servers = {}  # name -> (proc, base)
        self.started = {}  # name -> seconds from the command to the first answer
        self.results = {"load": {"start": load_average()}, "tiles listed": len(self.tiles)}

    def launch(self) -> None:
        wanted = {name for part in self.parts for name in NEEDS.get(part, ())}
        if "ours-city" in wanted:
            self._copy_token(self.city_db)
        probes = {"tipg": "/collections", "pygeoapi": "/collections?f=json"}
        # One at a time: the time from the command to the first answer is a figure.
        for name in ("ours", "ours-warm", "ours-city", "tipg", "pygeoapi"):
            if name not in wanted:
                continue
            began = time.monotonic()
            if name.startswith("ours"):
                db = self.city_db if name == "ours-city" else self.db
                got = ours(db, self.logdir, name, "3600" if name == "ours-warm" else "0")
            else:
                got = {"tipg": tipg, "pygeoapi": pygeoapi}[name](self.db, self.logdir)
            if got:
                self.servers[name] = got
                wait_up(got[1] + probes.get(name, "/healthz"), got[0])
                self.started[name] = time.monotonic() - began
        print(f"  first answer after start, s: {self.started}", file=sys.stderr)

    def _copy_token(self, dbname: str) -> None:
        """The same token (its digest) for the demo editor of the city database."""
        from peerkit import connect

        with connect(dbname) as conn:
            conn.execute("DELETE FROM layers_apitoken WHERE name = 'bench-peers'")
            conn.execute(
                "INSERT INTO layers_apitoken (name, prefix, key_digest, created_at, user_id) "
                "SELECT %s, %s, %s, now(), id FROM auth_user WHERE username = 'demo-editor'",
                [self.token.name, self.token.prefix, self.token.key_digest],
            )

    def base(self, name: str) -> str | None:
        got = self.servers.get(name)
        return got[1] if got else None

    def close(self) -> None:
        from peerkit import connect

        from layers.auth.tokens import ApiToken

        for proc, _base in self.servers.values():
            stop(proc)
        ApiToken.objects.filter(name="bench-peers").delete()
        if "ours-city" in self.servers:
            with connect(self.city_db) as conn:
                conn.execute("DELETE FROM layers_apitoken WHERE name = 'bench-peers'")

    def rss(self) -> dict:
        return {
            name: peak_rss_mb(children(proc.pid) or [proc.pid])
            for name, (proc, _base) in self.servers.items()
        }

    # -- the URLs --------------------------------------------------------------------------
    def page_targets(self, size: int, box: str) -> dict:
        bbox, out = BOXES[box], {}
        if base := self.base("ours"):
            out["REST"] = (f"{base}/api/v1/buildings/?bbox={bbox}&page_size={size}", self.auth)
            out["OGC"] = (
                f"{base}/ogc/collections/buildings/items?bbox={bbox}&limit={size}",
                self.auth,
            )
        if base := self.base("tipg"):
            items = f"{base}/collections/public.layers_building/items?bbox={bbox}&limit={size}"
            out["tipg"] = (items, {})
            out["tipg same"] = (f"{items}&properties={self.page_columns}", {})
        if base := self.base("pygeoapi"):
            out["pygeoapi"] = (
                f"{base}/collections/buildings/items?bbox={bbox}&limit={size}&f=json",
                {},
            )
        return out

    def tile_prefixes(self) -> dict:
        """name -> (base, path prefix before z/x/y, suffix, headers)."""
        out = {}
        for name, key in (("ours", "ours"), ("warm", "ours-warm"), ("city", "ours-city")):
            if base := self.base(key):
                out[name] = (base, "/tiles/buildings/", ".pbf", self.auth)
        if base := self.base("tipg"):
            prefix = "/collections/public.layers_building/tiles/WebMercatorQuad/"
            out["tipg"] = (base, prefix, "", {})
            out["tipg same"] = (base, prefix, f"?properties={self.tile_columns}", {})
        return out

    def cycle(self, name: str, tiles) -> Http:
        base, prefix, suffix, headers = self.tile_prefixes()[name]
        paths = [f"{prefix}{z}/{x}/{y}{suffix}" for z, x, y in tiles]
        return Http(base + paths[0], headers, paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"parts: {','.join(PARTS)}")
    parser.add_argument("--repeat", type=int, default=30, help="rounds of latency requests")
    parser.add_argument("--tile-rounds", type=int, default=60, help="distinct tiles timed")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--wrk-rounds", type=int, default=2, help="wrk runs per target, averaged")
    parser.add_argument("--sizes", default="10,100,1000", help="page sizes (comma-separated)")
    parser.add_argument("--city-suffix", default="_bench_city", help="the 2M set's database")
    parser.add_argument("--lighthouse", default=str(ROOT / "bench/results/lighthouse.json"))
    parser.add_argument("--profile-seconds", type=int, default=15)
    parser.add_argument("--flame-svg", action="store_true", help="also record flame graphs")
    parser.add_argument("--json", help="write every figure to this file")
    parser.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="longest wait (s) for an idle machine before each measurement (0: none)",
    )
    args = parser.parse_args()
    import peerkit

    peerkit.SETTLE["longest"] = args.settle
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"--only: unknown part(s) {', '.join(sorted(unknown))}; one of {PARTS}")
    sizes = [int(n) for n in args.sizes.split(",")]
    benchdb.setup()
    began = time.monotonic()
    bench = Bench(args, parts)
    results = bench.results
    try:
        bench.launch()
        results["started"] = bench.started
        if "pages" in parts:
            results["pages"] = part_pages(bench, sizes)
        if "documents" in parts:
            results["documents"] = part_documents(bench)
        if "tiles" in parts:
            results["tiles"] = part_tiles(bench)
        if "throughput" in parts:
            results["throughput"] = part_throughput(bench, sizes)
        if "city" in parts:
            results["city"] = part_city(bench, sizes)
        results["rss"] = bench.rss()  # after the bench, before the profile's extra load
        if "profile" in parts:
            results["profile"] = part_profile(bench)
    finally:
        bench.close()
    if "lighthouse" in parts:
        results["lighthouse"] = peertables.read_lighthouse(Path(args.lighthouse))
    results["load"]["end"] = load_average()
    results["seconds"] = time.monotonic() - began
    results["databases"] = {"200k": bench.db, "2M": bench.city_db}
    print(peertables.report(results, parts, sizes, BOXES, TILE))
    print(f"\nlogs: {bench.logdir}; {results['seconds'] / 60:.1f} min")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str, ensure_ascii=False))


if __name__ == "__main__":
    main()
