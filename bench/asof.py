"""as_of against a plain list: a 1,000-feature bbox page of /api/v1/buildings/ now, and the
same page as of today from the history (query/asof.py). The goal: within 3× of the plain list.

Usage: .venv/bin/python bench/asof.py [--repeat 20]
Needs the bench data (bench/make_data.py). Prints medians and the ratio; in-process client.
"""

from __future__ import annotations

import statistics

import benchdb

BBOX = (119.940, 31.775, 119.960, 31.790)


def main() -> None:
    args, user, client = benchdb.start(__doc__, repeat=20)
    from django.utils import timezone

    plain = "/api/v1/buildings/?bbox={},{},{},{}&page_size=1000".format(*BBOX)
    past = plain + "&as_of=" + timezone.localdate().isoformat()

    def get(url):
        def run():
            response = client.get(url)
            assert response.status_code == 200, response.content[:300]
            return response

        return run

    a, b = get(plain), get(past)
    count_now, count_then = len(a().json()["features"]), len(b().json()["features"])
    results = {
        "plain list": statistics.median(benchdb.timed(a, args.repeat)),
        "as_of today": statistics.median(benchdb.timed(b, args.repeat)),
    }
    print(f"1,000-feature bbox page of buildings, median of {args.repeat}:")
    for name, seconds in results.items():
        print(f"  {name:12} {seconds * 1000:8.1f} ms")
    ratio = results["as_of today"] / results["plain list"]
    print(f"  as_of / plain: {ratio:.2f}×  ({count_now} and {count_then} features)")


if __name__ == "__main__":
    main()
