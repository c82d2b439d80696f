"""What each middleware of settings.MIDDLEWARE costs on an API read, in process.

Usage: .venv/bin/python bench/middleware_cost.py [--repeat 300]

A timing middleware is put before, between and after the others; a middleware's own time is
the time from its timer to the next one going in, plus from the next one's return to its own
on the way out. Medians over the requests (REST and OGC pages of 10 in the bench's wide bbox,
with a token), on the bench database. In-process: the figures are the middleware's Python, not
HTTP (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import benchdb

MARKS: list[tuple[int, str, float]] = []


def timer(index: int):
    class Timer:
        def __init__(self, get_response):
            self.get_response = get_response

        def __call__(self, request):
            MARKS.append((index, "in", time.perf_counter()))
            response = self.get_response(request)
            MARKS.append((index, "out", time.perf_counter()))
            return response

    return Timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    benchdb.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from layers.auth.tokens import ApiToken

    names = list(settings.MIDDLEWARE)
    module = sys.modules[__name__]
    chain = []
    for i, name in enumerate(names):
        setattr(module, f"T{i}", timer(i))
        chain += [f"{__name__}.T{i}", name]
    setattr(module, f"T{len(names)}", timer(len(names)))
    chain.append(f"{__name__}.T{len(names)}")
    settings.MIDDLEWARE = chain
    editor = get_user_model().objects.get(username="demo-editor")
    _token, key = ApiToken.issue(editor, "bench-middleware")
    box = "119.940,31.775,119.960,31.790"
    urls = {
        "REST": f"/api/v1/buildings/?bbox={box}&page_size=10",
        "OGC": f"/ogc/collections/buildings/items?bbox={box}&limit=10",
    }
    try:
        for label, url in urls.items():
            client = Client(HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR="127.0.0.1")
            own = {name: [] for name in names}
            view, total = [], []
            for n in range(args.repeat + 5):
                MARKS.clear()
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.content[:200]
                if n < 5:
                    continue
                at = {(i, way): t for i, way, t in MARKS}
                for i, name in enumerate(names):
                    going = at[(i + 1, "in")] - at[(i, "in")]
                    back = at[(i, "out")] - at[(i + 1, "out")]
                    own[name].append((going + back) * 1e6)
                last = len(names)
                view.append((at[(last, "out")] - at[(last, "in")]) * 1e6)
                total.append(elapsed * 1e6)
            print(f"\n{label} {url}: median of {args.repeat}")
            for name in names:
                print(f"  {statistics.median(own[name]):7.0f} µs  {name}")
            print(f"  {sum(statistics.median(v) for v in own.values()):7.0f} µs  all middleware")
            print(f"  {statistics.median(view):7.0f} µs  URL resolution and the view")
            print(f"  {statistics.median(total):7.0f} µs  the test client's whole request")
    finally:
        ApiToken.objects.filter(name="bench-middleware").delete()


if __name__ == "__main__":
    main()
