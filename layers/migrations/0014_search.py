"""Search (issue 26): trigram indexes (of the upper-cased text, as Django's case-insensitive
lookups compare it) on the names, references, codes and addresses of every
layer table, and pinyin initials of a name (`hh_initials('客车厂')` = 'kcc') in SQL.

pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
`hh_initials` maps each of the 6,763 characters of GB 2312 to the first letter of its most
common reading (pypinyin) with translate(), so it is IMMUTABLE and needs no table: an index
can hold it, and pg_dump/restore has nothing to resolve. Characters outside GB 2312 are kept
only when they are ASCII letters or digits.
"""

from django.db import migrations

# table -> the text columns searched besides name, name_en and ref (layers/query/search.py).
TABLES = {
    "layers_community": ("code",),
    "layers_gridcell": ("code",),
    "layers_renovationsite": (),
    "layers_culturalviewpoint": (),
    "layers_pocketpark": (),
    "layers_building": ("address",),
    "layers_safetyhazard": (),
    "layers_servicepoint": ("address",),
    "layers_street": (),
    "layers_waterway": (),
    "layers_landmark": (),
}


def _initials_table() -> tuple[str, str]:
    from pypinyin import Style, lazy_pinyin

    source, target = [], []
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                char = bytes((high, low)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            letter = lazy_pinyin(char, style=Style.FIRST_LETTER, errors="ignore")
            if letter and letter[0][:1].isascii() and letter[0][:1].isalpha():
                source.append(char)
                target.append(letter[0][0].lower())
    return "".join(source), "".join(target)


def _function_sql() -> str:
    source, target = _initials_table()
    return (
        "CREATE OR REPLACE FUNCTION hh_initials(value text) RETURNS text "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $body$ "
        f"SELECT regexp_replace(lower(translate(value, '{source}', '{target}')), "
        "'[^a-z0-9]+', '', 'g') $body$"
    )


def create(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(_function_sql())
        for table, extra in TABLES.items():
            for column in ("name", "name_en", "ref", *extra):
                # upper(): Django's iexact / istartswith / icontains compare UPPER(column).
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {table}_{column}_trgm "
                    f"ON {table} USING gin (upper({column}) gin_trgm_ops)"
                )
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_initials_trgm "
                f"ON {table} USING gin (hh_initials(name) gin_trgm_ops)"
            )


def drop(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for table, extra in TABLES.items():
            for column in ("name", "name_en", "ref", *extra, "initials"):
                cursor.execute(f"DROP INDEX IF EXISTS {table}_{column}_trgm")
        cursor.execute("DROP FUNCTION IF EXISTS hh_initials(text)")


class Migration(migrations.Migration):
    dependencies = [("layers", "0013_search_trigrams")]

    operations = [migrations.RunPython(create, drop)]
