"""The generalized buildings of the low zooms (layers/domain/models/generalized.py).

- `layers_buildingblock`: one row per grid cell and level (z12-z15), with a partial GiST index
  per level (a tile asks for one level) and the generation triggers of migration 0007, so the
  tile cache sees each rebuild.
- `layers_generalizedsource`: the buildings' generation each rebuild read.
- A trigger on `layers_generation`: when the buildings' generation moves (any write, any
  channel, any node; an import of many rows in one transaction moves it once per statement),
  it queues ONE procrastinate job `layers.generalize_buildings`, DEBOUNCE seconds ahead. The
  queueing lock lets only one such job wait at a time, so a burst of edits or an import
  gives one rebuild; the lock makes rebuilds run one after the other. Queued in the writer's
  transaction: an edit rolled back queues nothing.
- The first build is queued here, for the buildings an existing database already holds.
"""

import django.contrib.gis.db.models.fields
from django.db import migrations, models

LEVELS = (12, 13, 14, 15)
DEBOUNCE = 30  # seconds: edits within this time of the first one share its rebuild
TABLE = "layers_buildingblock"


def _generation_triggers(table: str) -> str:
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


FORWARD = (
    "".join(
        f"CREATE INDEX layers_bblock_z{z}_geom ON {TABLE} USING gist (geom) WHERE level = {z};"
        for z in LEVELS
    )
    + _generation_triggers(TABLE)
    + f"""
CREATE FUNCTION layers_queue_generalize_buildings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args, scheduled_at)
    VALUES ('jobs', 'layers.generalize_buildings', 'generalize_buildings',
            'generalize_buildings', '{{}}', now() + interval '{DEBOUNCE} seconds')
    ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER generalize_buildings AFTER INSERT OR UPDATE ON layers_generation
    FOR EACH ROW WHEN (NEW.table_name = 'layers_building')
    EXECUTE FUNCTION layers_queue_generalize_buildings();
-- The first build, for the buildings already there (a worker runs it after the migration).
INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args)
VALUES ('jobs', 'layers.generalize_buildings', 'generalize_buildings',
        'generalize_buildings', '{{}}')
ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING;
"""
)

BACKWARD = (
    "DROP TRIGGER IF EXISTS generalize_buildings ON layers_generation;"
    "DROP FUNCTION IF EXISTS layers_queue_generalize_buildings();"
    + "".join(f"DROP INDEX IF EXISTS layers_bblock_z{z}_geom;" for z in LEVELS)
)


class Migration(migrations.Migration):
    dependencies = [
        ("layers", "0017_report_limits_and_clock"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [
        migrations.CreateModel(
            name="GeneralizedSource",
            fields=[
                ("name", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("source_generation", models.BigIntegerField()),
                ("refreshed_at", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="BuildingBlock",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("level", models.PositiveSmallIntegerField(verbose_name="缩放级别")),
                ("cell_x", models.IntegerField()),
                ("cell_y", models.IntegerField()),
                (
                    "geom",
                    django.contrib.gis.db.models.fields.PolygonField(
                        spatial_index=False, srid=3857
                    ),
                ),
                ("buildings", models.PositiveIntegerField(verbose_name="建筑数")),
                ("status", models.CharField(max_length=32, verbose_name="主要使用状态")),
                ("counts", models.JSONField(default=dict, verbose_name="各状态建筑数")),
            ],
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
