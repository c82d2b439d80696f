"""as_of against a plain list, over HTTP through the real server: a 1,000-feature bbox page of
/api/v1/buildings/ now, and the same page as of today from the history (query/asof.py). The
goal: within 3× of the plain list.

Usage: .venv/bin/python bench/asof.py [--repeat 20]
Needs the bench data (bench/make_data.py). Our gunicorn (one worker, keep-alive, an editor's
token); the two requests take turns (peers.interleaved). Prints medians, p95 and the ratio.
"""

from __future__ import annotations

import argparse

import benchdb
import served
from peers import Http, interleaved

BBOX = (119.940, 31.775, 119.960, 31.790)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    benchdb.setup()
    from django.utils import timezone

    plain = "/api/v1/buildings/?bbox={},{},{},{}&page_size=1000".format(*BBOX)
    past = plain + "&as_of=" + timezone.localdate().isoformat()
    with served.ours("asof") as (base, headers):
        results = interleaved(
            {"plain list": Http(base + plain, headers), "as_of today": Http(base + past, headers)},
            args.repeat,
        )
    print(f"1,000-feature bbox page of buildings over HTTP, {args.repeat} rounds:")
    for name, (median, p95, size, status, _paired) in results.items():
        print(f"  {name:12} {median:8.1f} / {p95:8.1f} ms  {size / 1024:7.0f} KiB  HTTP {status}")
    ratio = results["as_of today"][0] / results["plain list"][0]
    print(f"  as_of / plain: {ratio:.2f}×")


if __name__ == "__main__":
    main()
