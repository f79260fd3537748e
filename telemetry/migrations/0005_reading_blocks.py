"""The readings of closed days compacted into per-machine hour blocks (telemetry.models.ReadingBlock).

PostgreSQL: the table is partitioned by range of start, one partition a UTC day, which the
compaction creates as it needs them (telemetry.services.readings_compact); no default partition, as
every block is written into a day the compaction created first. SQLite keeps the plain table the
model describes and never compacts (the demo keeps its raw readings).
"""

import django.db.models.deletion
from django.db import migrations, models

import telemetry.models

TABLE = "telemetry_readingblock"


def blocks_partition(apps, schema_editor):
    """The plain table CreateModel made becomes partitioned by start, same columns, key and foreign key."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'f') ORDER BY contype DESC",
            [TABLE],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            f"CREATE TABLE {TABLE}_partitioned (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING STORAGE "
            "INCLUDING COMPRESSION) PARTITION BY RANGE (start)"
        )
        cursor.execute(f"DROP TABLE {TABLE}")
        cursor.execute(f"ALTER TABLE {TABLE}_partitioned RENAME TO {TABLE}")
        for name, definition, _ in constraints:  # the key first, then the foreign key
            cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")


class Migration(migrations.Migration):
    dependencies = [
        ("telemetry", "0004_reading_partitions"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReadingBlock",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "machine_id", "start", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("start", models.DateTimeField(help_text="Start of the hour (UTC) the block covers")),
                ("metrics", telemetry.models.BlockArrayField(base_field=models.CharField(max_length=40), size=None)),
                ("offsets_us", telemetry.models.BlockArrayField(base_field=models.BigIntegerField(), size=None)),
                (
                    "metric_values",
                    telemetry.models.BlockArrayField(
                        base_field=telemetry.models.BlockArrayField(
                            base_field=telemetry.models.Float4Field(null=True), size=None
                        ),
                        size=None,
                    ),
                ),
                (
                    "error_codes",
                    telemetry.models.BlockArrayField(
                        base_field=models.CharField(max_length=32, null=True), null=True, size=None
                    ),
                ),
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
                "ordering": ["machine", "start"],
            },
        ),
        migrations.RunPython(blocks_partition, migrations.RunPython.noop, elidable=False),
    ]
