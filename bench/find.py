"""GET /api/v1/search/ at bench scale, over HTTP through the real server, against the floor.

Usage: .venv/bin/python bench/find.py [--repeat 30]
Needs the bench data (bench/make_data.py). For each query, in turns (peers.interleaved): the
floor, the search's one statement (every readable layer's ordered, limited query joined by
UNION ALL) run through psycopg with no web layer; the same layers as one statement each in
sequence (how the search asked before); and the endpoint over HTTP (gunicorn, one worker,
keep-alive, an editor's token). Prints medians, p95 and the ratios.
"""

from __future__ import annotations

import argparse
import time
from urllib.parse import quote

import benchdb
import served
from peers import Http, interleaved

QUERIES = ("客车厂", "kcc", "局前街", "Bus Factory", "22号")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    benchdb.setup()
    import psycopg
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from layers.domain import registry
    from layers.query import search

    editor = get_user_model().objects.get(username="demo-editor")
    db = settings.DATABASES["default"]
    own = psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"],
        port=db["PORT"] or 5432, autocommit=True,
    )  # fmt: skip
    # Rows inserted after a GIN index was built wait in its pending list (read linearly) until
    # a vacuum moves them in; fresh statistics too, as autovacuum would give a live database.
    own.execute("VACUUM ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM layers_building WHERE deleted_at IS NULL")
        buildings = cursor.fetchone()[0]

    def statements(q: str) -> tuple[tuple[str, list], list[tuple[str, list]]]:
        """The search's one statement, and each layer's statement on its own."""
        query = search.parse({"q": q}, editor)
        parts = [
            rows
            for slug in query.layers
            if (rows := search._layer_rows(editor, registry.get(slug), q, query.limit)) is not None
        ]
        union = parts[0].union(*parts[1:], all=True)
        compiled = [part.query.get_compiler("default").as_sql() for part in parts]
        return union.query.get_compiler("default").as_sql(), compiled

    def sql_runner(batch):
        def run():
            start = time.perf_counter()
            rows = 0
            for sql, params in batch:
                rows += len(own.execute(sql, params).fetchall())
            return (time.perf_counter() - start) * 1000, rows, 200

        return run

    print(f"search over every layer ({buildings:,} buildings), median of {args.repeat} rounds:")
    with served.ours("find") as (base, headers):
        for q in QUERIES:
            one, each = statements(q)
            results = interleaved(
                {
                    "floor": sql_runner([one]),
                    "per layer": sql_runner(each),
                    "endpoint": Http(f"{base}/api/v1/search/?q={quote(q)}", headers),
                },
                args.repeat,
            )
            floor_ms = results["floor"][0]
            cells = []
            for name in ("floor", "per layer", "endpoint"):
                median, p95, _size, _status, paired = results[name]
                ratio = f" ({median / floor_ms:.2f}×; paired {paired:.2f}×)" if paired else ""
                cells.append(f"{name} {median:.1f} / {p95:.1f} ms{ratio}")
            print(f"  {q!r:14} " + " | ".join(cells) + f"  [{len(each)} layers]", flush=True)
    own.close()


if __name__ == "__main__":
    main()
