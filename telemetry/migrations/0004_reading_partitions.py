"""PostgreSQL: the readings table becomes partitioned by range of ts, keeping every reading in place.

The table as it is becomes the first partition, attached as is: PostgreSQL only reads it once to
check that every row lies in the partition's range, and copies nothing (bench/partitions.py
measures this against INSERT ... SELECT). Its range runs from the beginning of time to the next
midnight (UTC) after both its newest reading and the moment of the migration, so the readings still
coming in today go to it too. From that midnight on, telemetry.partitions creates one partition a
day ahead. A default partition takes any reading no other partition covers (one from further ahead
than the partitions created), so a reading is never refused for want of a partition.

An empty table (a new install) is not attached: it would hold nothing but cover every day before now.
SQLite keeps its one plain table: nothing to do.
"""

import datetime

from django.db import migrations

TABLE = "telemetry_reading"
ERROR_CODE_INDEX = "reading_error_code_idx"


def _first_day_after(moment: datetime.datetime) -> datetime.datetime:
    moment = moment.astimezone(datetime.UTC)
    return datetime.datetime.combine(moment.date(), datetime.time(), tzinfo=datetime.UTC) + datetime.timedelta(days=1)


def readings_partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # The newest reading machine by machine, each one a walk down the (machine_id, ts) key,
        # instead of a scan of the whole table for max(ts).
        cursor.execute(
            f"SELECT max(newest.ts) FROM telemetry_machine AS machine CROSS JOIN LATERAL "  # noqa: S608 - our names
            f"(SELECT max(ts) AS ts FROM {TABLE} WHERE machine_id = machine.id) AS newest"
        )
        newest = cursor.fetchone()[0]
        cursor.execute("SELECT now()")
        first_day = _first_day_after(max(filter(None, (newest, cursor.fetchone()[0]))))
        legacy = f"{TABLE}_before_{first_day:%Y_%b_%d}".lower()

        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
            [TABLE],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = %s::regclass", [ERROR_CODE_INDEX]
        )
        error_code_condition = cursor.fetchone()[0]

        # The old table's index and key names are free for the new table's (index names are per schema).
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {quote(legacy)}")
        cursor.execute(f"ALTER TABLE {quote(legacy)} RENAME CONSTRAINT {TABLE}_pkey TO {quote(legacy + '_pkey')}")
        cursor.execute(f"ALTER INDEX {ERROR_CODE_INDEX} RENAME TO {quote(legacy + '_error_code_idx')}")

        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {quote(legacy)} INCLUDING DEFAULTS INCLUDING STORAGE, "
            f"CONSTRAINT {TABLE}_pkey PRIMARY KEY (machine_id, ts)) PARTITION BY RANGE (ts)"
        )
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {quote(name)} {definition}")
        cursor.execute(f"CREATE INDEX {ERROR_CODE_INDEX} ON {TABLE} (machine_id, ts) WHERE {error_code_condition}")

        if newest is None:
            cursor.execute(f"DROP TABLE {quote(legacy)}")
        else:
            # Its key, foreign key and index match the new table's: they are attached, not built again.
            cursor.execute(
                f"ALTER TABLE {TABLE} ATTACH PARTITION {quote(legacy)} FOR VALUES FROM (MINVALUE) TO (%s)",
                [first_day.isoformat()],
            )
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")


def readings_unpartition(apps, schema_editor):
    """Back to one plain table; this way round every reading is copied."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
            [TABLE],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = %s::regclass", [ERROR_CODE_INDEX]
        )
        error_code_condition = cursor.fetchone()[0]
        cursor.execute(f"CREATE TABLE {TABLE}_plain (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING STORAGE)")
        cursor.execute(f"INSERT INTO {TABLE}_plain SELECT * FROM {TABLE}")  # noqa: S608 - our names
        cursor.execute(f"DROP TABLE {TABLE}")
        cursor.execute(f"ALTER TABLE {TABLE}_plain RENAME TO {TABLE}")
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (machine_id, ts)")
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
        cursor.execute(f"CREATE INDEX {ERROR_CODE_INDEX} ON {TABLE} (machine_id, ts) WHERE {error_code_condition}")


class Migration(migrations.Migration):
    # DDL on a table and its partitions in one transaction: all of it, or none.
    atomic = True

    dependencies = [("telemetry", "0003_payload_sources")]

    operations = [migrations.RunPython(readings_partition, readings_unpartition, elidable=False)]
