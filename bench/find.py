"""GET /api/v1/search/ at bench scale against the floor: the same per-layer trigram queries as
raw SQL on the buildings table (the largest), and a sequential scan without the indexes.

Usage: .venv/bin/python bench/search.py [--repeat 30]
Needs the bench data (bench/make_data.py). Prints medians and ratios; in-process Django client.
"""

from __future__ import annotations

import statistics
from urllib.parse import quote

import benchdb

QUERIES = ("客车厂", "kcc", "局前街", "Bus Factory", "22号")


def main() -> None:
    args, user, client = benchdb.start(__doc__, repeat=30)
    from django.db import connection

    count_sql = "SELECT count(*) FROM layers_building WHERE deleted_at IS NULL"
    with connection.cursor() as cursor:
        cursor.execute(count_sql)
        buildings = cursor.fetchone()[0]
    floor_sql = """
        SELECT id, name FROM layers_building
        WHERE deleted_at IS NULL AND (upper(name) LIKE upper(%s) OR upper(name_en) LIKE upper(%s)
              OR upper(ref) LIKE upper(%s)
              OR upper(address) LIKE upper(%s) {initials})
    """

    def floor(q):
        # As the endpoint asks: the initials only for ASCII letters and digits.
        initials = q.isascii() and q.replace(" ", "").isalnum() and " " not in q
        sql = floor_sql.format(initials="OR hh_initials(name) LIKE %s" if initials else "")

        def run():
            like = f"%{q}%"
            values = [like, like, like, like] + ([f"{q.lower()}%"] if initials else [])
            with connection.cursor() as cursor:
                cursor.execute(sql, values)
                return cursor.fetchall()

        return run

    def endpoint(q):
        url = "/api/v1/search/?q=" + quote(q)

        def run():
            response = client.get(url)
            assert response.status_code == 200, response.content
            return response

        return run

    print(f"search over every layer ({buildings:,} buildings), median of {args.repeat}:")
    for q in QUERIES:
        a, b = floor(q), endpoint(q)
        a(), b()  # warm
        t_floor = statistics.median(benchdb.timed(a, args.repeat))
        t_end = statistics.median(benchdb.timed(b, args.repeat))
        groups = b().json()["groups"]
        hits = sum(len(g["results"]) for g in groups)
        print(
            f"  {q!r:14} floor (buildings only) {t_floor * 1000:7.1f} ms   "
            f"endpoint (11 layers) {t_end * 1000:7.1f} ms   {t_end / t_floor:5.1f}×  "
            f"({hits} results in {len(groups)} layers)"
        )


if __name__ == "__main__":
    main()
