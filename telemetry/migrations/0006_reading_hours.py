"""The per-hour roll-ups (ReadingHour), the roll-up's watermark and the hours it must compute again.

PostgreSQL: the new, empty table becomes partitioned by range of hour, with a default partition, by the
same steps as 0004 took for the readings (an empty table is not kept as a first partition); the monthly
partitions are created ahead by telemetry.partitions. SQLite keeps a plain table.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

# The steps of 0004, by its module (a migration's name starts with a digit: no plain import).
_reading_partitions = importlib.import_module("telemetry.migrations.0004_reading_partitions")


def reading_hours_partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        _reading_partitions._table_partition(connection, cursor, "telemetry_readinghour", "hour")


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("telemetry", "0005_reading_blocks"),
    ]

    operations = [
        migrations.CreateModel(
            name="RollupWatermark",
            fields=[
                ("tier", models.CharField(max_length=16, primary_key=True, serialize=False)),
                ("rolled_up_to", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="ReadingHour",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "machine_id", "metric", "hour", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("metric", models.CharField(max_length=40)),
                ("hour", models.DateTimeField(help_text="Start of the hour (UTC)")),
                ("count", models.PositiveIntegerField()),
                ("total", models.FloatField()),
                ("minimum", models.FloatField()),
                ("maximum", models.FloatField()),
                (
                    "machine",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="telemetry.machine",
                    ),
                ),
            ],
            options={
                "ordering": ["machine", "metric", "hour"],
            },
        ),
        migrations.CreateModel(
            name="ReadingHourStale",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "machine_id", "hour", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("hour", models.DateTimeField(help_text="Start of the hour (UTC)")),
                (
                    "machine",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="telemetry.machine",
                    ),
                ),
            ],
        ),
        # Back: the partitioned table goes whole with DeleteModel.
        migrations.RunPython(reading_hours_partition, migrations.RunPython.noop, elidable=False),
    ]
