"""as_of reads (layers/query/asof.py): an index on (id, history_id, history_date) of every
historical table tells whether a feature has a newer record by an instant in one index probe,
instead of a scan of the history."""

from django.db import migrations

TABLES = (
    "layers_historicalcommunity",
    "layers_historicalgridcell",
    "layers_historicalrenovationsite",
    "layers_historicalculturalviewpoint",
    "layers_historicalpocketpark",
    "layers_historicalbuilding",
    "layers_historicalsafetyhazard",
    "layers_historicalservicepoint",
    "layers_historicalstreet",
    "layers_historicalwaterway",
    "layers_historicallandmark",
)


class Migration(migrations.Migration):
    dependencies = [("layers", "0014_search")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {table}_asof ON {table} (id, history_id, history_date)",
            f"DROP INDEX IF EXISTS {table}_asof",
        )
        for table in TABLES
    ]
