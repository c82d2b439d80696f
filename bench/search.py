"""`q` on the hazards (issue 23.7): a partial 编号 match among the bench hazards
(`make_data.py --hazards 20000` for the issue's figure), with the trigram indexes (migration
0011) against the same statement with bitmap scans off (what it costs without them).

Usage: .venv/bin/python bench/search.py [--repeat 30] [--q BENCH-H1234]
Needs the bench data (bench/make_data.py). In-process Django client, one connection.
"""

from __future__ import annotations

import statistics

import benchdb


def main() -> None:
    import sys

    q = "BENCH-H1234"
    if "--q" in sys.argv:
        at = sys.argv.index("--q")
        q = sys.argv[at + 1]
        del sys.argv[at : at + 2]
    args, _user, client = benchdb.start(__doc__, repeat=30)
    from django.db import connection

    from layers.domain import registry
    from layers.domain.models import SafetyHazard
    from layers.query import filters

    url = f"/api/v1/hazards/?q={q}&page_size=100"
    queryset = filters.by_text(SafetyHazard.objects.order_by(), registry.get("hazards"), q)
    sql, params = queryset.values("id").query.sql_with_params()

    def floor(indexes: bool):
        def run():
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                if not indexes:
                    cursor.execute("SET LOCAL enable_bitmapscan = off")
                cursor.execute(sql, params)
                rows = cursor.fetchall()
                cursor.execute("COMMIT")
                return rows

        return run

    def endpoint():
        response = client.get(url)
        assert response.status_code == 200
        return response.content

    with connection.cursor() as cursor:
        # Rows inserted after the GIN indexes were built sit in their pending lists, which a
        # search reads linearly until (auto)vacuum moves them into the index: do it now.
        cursor.execute("VACUUM ANALYZE layers_safetyhazard")
        cursor.execute("SELECT count(*) FROM layers_safetyhazard")
        total = cursor.fetchone()[0]
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
    matched = len(floor(True)())
    for fn in (floor(True), floor(False), endpoint):
        fn()
    results = {
        "SQL, trigram indexes": statistics.median(benchdb.timed(floor(True), args.repeat)),
        "SQL, no index (scan)": statistics.median(benchdb.timed(floor(False), args.repeat)),
        "endpoint": statistics.median(benchdb.timed(endpoint, args.repeat)),
    }
    print(f"q={q} among {total} hazards ({matched} match), median of {args.repeat}:")
    base = results["SQL, trigram indexes"]
    for name, seconds in results.items():
        print(f"  {name:22} {seconds * 1000:8.2f} ms   {seconds / base:6.2f}× indexed")
    print("  plan uses the trigram index:", "trgm" in plan)


if __name__ == "__main__":
    main()
