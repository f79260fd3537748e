"""PostgreSQL: the readings and their per-minute roll-ups become partitioned by time (ts, minute),
keeping every row in place.

Each table as it is becomes its first partition, attached as is: PostgreSQL only reads it once to
check that every row lies in the partition's range, and copies nothing (bench/partitions.py
measures this against INSERT ... SELECT). Its range runs from the beginning of time to the next
midnight (UTC) after both its newest row and the moment of the migration, so the readings still
coming in today go to it too. From that midnight on, telemetry.partitions creates one partition a
day ahead. A default partition takes any reading no other partition covers (one from further ahead
than the partitions created), so a reading is never refused for want of a partition.

An empty table (a new install) is not kept: it would hold nothing but cover every day before now.
SQLite keeps its one plain table: nothing to do.
"""

import datetime

from django.db import migrations

# Each table partitioned, by the column its ranges are of. Both keys hold that column, as PostgreSQL
# requires of a partitioned table's unique keys.
PARTITIONED = (("telemetry_reading", "ts"), ("telemetry_readingminute", "minute"))


def _first_day_after(moment: datetime.datetime) -> datetime.datetime:
    moment = moment.astimezone(datetime.UTC)
    return datetime.datetime.combine(moment.date(), datetime.time(), tzinfo=datetime.UTC) + datetime.timedelta(days=1)


def _table_shape(cursor, table: str) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    """The table's primary key, foreign keys and other indexes, as their definitions."""
    cursor.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [table]
    )
    primary_key = cursor.fetchone()[0]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    foreign_keys = cursor.fetchall()
    cursor.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = %s::regclass AND NOT indisprimary ORDER BY 1",
        [table],
    )
    return primary_key, foreign_keys, cursor.fetchall()


def _table_partition(connection, cursor, table: str, column: str) -> None:
    quote = connection.ops.quote_name
    # The newest row machine by machine, each one a walk down an index that starts with
    # (machine_id, column), instead of a scan of the whole table.
    cursor.execute(
        f"SELECT max(newest.at) FROM telemetry_machine AS machine CROSS JOIN LATERAL "  # noqa: S608 - our names
        f"(SELECT max({column}) AS at FROM {table} WHERE machine_id = machine.id) AS newest"
    )
    newest = cursor.fetchone()[0]
    cursor.execute("SELECT now()")
    first_day = _first_day_after(max(filter(None, (newest, cursor.fetchone()[0]))))
    legacy = f"{table}_before_{first_day:%Y_%b_%d}".lower()
    primary_key, foreign_keys, indexes = _table_shape(cursor, table)

    # The old table's key and index names are freed for the new table's (index names are per schema).
    cursor.execute(f"ALTER TABLE {table} RENAME TO {quote(legacy)}")
    cursor.execute(f"ALTER TABLE {quote(legacy)} RENAME CONSTRAINT {table}_pkey TO {quote(legacy + '_pkey')}")
    for number, (name, _) in enumerate(indexes):
        cursor.execute(f"ALTER INDEX {quote(name)} RENAME TO {quote(f'{legacy}_index_{number}')}")

    cursor.execute(
        f"CREATE TABLE {table} (LIKE {quote(legacy)} INCLUDING DEFAULTS INCLUDING STORAGE, "
        f"CONSTRAINT {table}_pkey {primary_key}) PARTITION BY RANGE ({column})"
    )
    for name, definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
    for _, definition in indexes:
        cursor.execute(definition)  # "CREATE INDEX name ON table ...": the new table now has the name

    if newest is None:
        cursor.execute(f"DROP TABLE {quote(legacy)}")
    else:
        # Its key, foreign keys and indexes match the new table's: they are attached, not built again.
        cursor.execute(
            f"ALTER TABLE {table} ATTACH PARTITION {quote(legacy)} FOR VALUES FROM (MINVALUE) TO (%s)",
            [first_day.isoformat()],
        )
    cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")


def readings_partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table, column in PARTITIONED:
            _table_partition(connection, cursor, table, column)


def _table_unpartition(connection, cursor, table: str) -> None:
    primary_key, foreign_keys, indexes = _table_shape(cursor, table)
    cursor.execute(f"CREATE TABLE {table}_plain (LIKE {table} INCLUDING DEFAULTS INCLUDING STORAGE)")
    cursor.execute(f"INSERT INTO {table}_plain SELECT * FROM {table}")  # noqa: S608 - our names
    cursor.execute(f"DROP TABLE {table}")
    cursor.execute(f"ALTER TABLE {table}_plain RENAME TO {table}")
    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey {primary_key}")
    for name, definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
    for _, definition in indexes:
        cursor.execute(definition.replace(" ON ONLY ", " ON "))


def readings_unpartition(apps, schema_editor):
    """Back to plain tables; this way round every row is copied."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table, _ in PARTITIONED:
            _table_unpartition(connection, cursor, table)


class Migration(migrations.Migration):
    # DDL on a table and its partitions in one transaction: all of it, or none.
    atomic = True

    dependencies = [("telemetry", "0003_payload_sources")]

    operations = [migrations.RunPython(readings_partition, readings_unpartition, elidable=False)]
