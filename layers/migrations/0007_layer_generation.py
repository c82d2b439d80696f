"""A generation number per layer table that every write bumps, in the database itself.

Statement-level triggers catch every path that writes (the write service, the admin, loaders,
imports, derived-link refreshes in raw SQL), on every node: the tile cache keys on it. A new
layer's migration adds the same triggers to its table (tests/test_tilecache.py checks each
registry layer has them).
"""

from django.db import migrations

TABLES = (
    "layers_community",
    "layers_gridcell",
    "layers_renovationsite",
    "layers_culturalviewpoint",
    "layers_pocketpark",
    "layers_building",
    "layers_safetyhazard",
    "layers_servicepoint",
    "layers_street",
    "layers_waterway",
    "layers_landmark",
)

FUNCTION = """
CREATE TABLE layers_generation (
    table_name text PRIMARY KEY,
    value bigint NOT NULL
);
CREATE FUNCTION layers_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Statements that touched no row (a derived refresh with nothing to change) keep it.
    IF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM old_rows LIMIT 1;
        IF NOT FOUND THEN RETURN NULL; END IF;
    ELSIF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM 1 FROM new_rows LIMIT 1;
        IF NOT FOUND THEN RETURN NULL; END IF;
    END IF;
    INSERT INTO layers_generation (table_name, value) VALUES (TG_TABLE_NAME, 1)
    ON CONFLICT (table_name) DO UPDATE SET value = layers_generation.value + 1;
    RETURN NULL;
END
$$;
"""


def triggers(table: str) -> str:
    return f"""
CREATE TRIGGER generation_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_generation();
CREATE TRIGGER generation_update AFTER UPDATE ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_generation();
CREATE TRIGGER generation_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_generation();
CREATE TRIGGER generation_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_generation();
"""


def drop_triggers(table: str) -> str:
    return "".join(
        f"DROP TRIGGER IF EXISTS generation_{event} ON {table};"
        for event in ("insert", "update", "delete", "truncate")
    )


class Migration(migrations.Migration):
    dependencies = [("layers", "0006_reference_layers")]

    operations = [
        migrations.RunSQL(
            FUNCTION + "".join(triggers(t) for t in TABLES),
            "".join(drop_triggers(t) for t in TABLES)
            + "DROP FUNCTION layers_bump_generation(); DROP TABLE layers_generation;",
        ),
    ]
