"""Trigram indexes for `q` (docs/API.md): pg_trgm, and a GIN index on UPPER(column) for the
columns `q` searches on each layer table (Django's icontains is UPPER(col::text) LIKE
UPPER(%text%), which these indexes serve), so partial matches of a name or an 编号 stay fast at
20,000 hazards. pg_trgm is a trusted extension: the database owner may create it without
being a superuser (the test database and tools/devdb.py's per-checkout databases included).
"""

from django.db import migrations

COLUMNS = {
    "layers_community": ("name", "name_en", "ref", "code"),
    "layers_gridcell": ("name", "name_en", "ref", "code"),
    "layers_renovationsite": ("name", "name_en", "ref"),
    "layers_culturalviewpoint": ("name", "name_en", "ref"),
    "layers_pocketpark": ("name", "name_en", "ref"),
    "layers_building": ("name", "name_en", "ref"),
    "layers_safetyhazard": ("name", "name_en", "ref", "description", "responsible_unit"),
    "layers_servicepoint": ("name", "name_en", "ref"),
    "layers_street": ("name", "name_en", "ref"),
    "layers_waterway": ("name", "name_en", "ref"),
    "layers_landmark": ("name", "name_en", "ref"),
}


def _name(table: str, column: str) -> str:
    return f"{table.removeprefix('layers_')}_{column}_trgm"


FORWARD = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"] + [
    f"CREATE INDEX IF NOT EXISTS {_name(t, c)} ON {t} USING gin (UPPER({c}::text) gin_trgm_ops)"
    for t, columns in COLUMNS.items()
    for c in columns
]
BACKWARD = [
    f"DROP INDEX IF EXISTS {_name(t, c)}" for t, columns in COLUMNS.items() for c in columns
]


class Migration(migrations.Migration):
    dependencies = [("layers", "0012_notifications")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
