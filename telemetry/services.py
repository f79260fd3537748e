"""Writes of the telemetry app: readings (one bulk write per batch), rejected messages, machines and
their status."""

import datetime
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import DataError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import error_first_line
from core.wiring import wired
from realtime.broadcast import broadcast_on_commit
from telemetry.ingest import LinkChange, ReadingRow, Rejection
from telemetry.models import Machine, MachineType, Reading, ReadingMinute, RejectedMessage, RejectionKind
from telemetry.mqtt import telemetry_topic
from telemetry.selectors import TimePartition, reading_partition_count, time_partitions

logger = logging.getLogger(__name__)

UNCLASSIFIED_TYPE = "Unclassified"


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int
    rejected: int


def readings_ingest(
    *,
    rows: Sequence[ReadingRow],
    rejections: Sequence[Rejection] = (),
    links: Sequence[LinkChange] = (),
    on_commit: Callable[[Sequence[ReadingRow]], None] | None = None,
    reports_now: datetime.datetime | None = None,
) -> IngestResult:
    """Store a batch in one transaction: readings idempotently on (machine, ts), rejections as rows,
    and the machines' links going down or up (`links`, in the order they happened).

    A reading whose machine and ts are already stored is a duplicate (a redelivery) and changes
    nothing. `on_commit` runs with the batch's rows once the transaction has committed. Readings
    that carry an error code go to MACHINE_REPORTS_HANDLER (wired to the tickets app) as the
    machine's failure reports, judged as of `reports_now` (the present unless given: a replay of
    history passes its simulated present).

    A reading the database refuses as data (DataError: something the checks in telemetry.ingest do
    not foresee) must not hold up the others, nor come back forever on redelivery: the batch is
    split until the refused readings are found, and they are kept as rejections with the
    database's reason.
    """
    try:
        return _readings_ingest_once(rows, rejections, links, on_commit, reports_now)
    except DataError as exc:
        if not rows:
            raise
        if len(rows) == 1:
            refused = _refused_rejection(rows[0], exc)
            logger.warning("the database refused a reading of %s: %s", rows[0].machine_code, refused.reason)
            return readings_ingest(
                rows=[], rejections=[*rejections, refused], links=links, on_commit=on_commit, reports_now=reports_now
            )
        half = len(rows) // 2
        first = readings_ingest(
            rows=rows[:half], rejections=rejections, links=links, on_commit=on_commit, reports_now=reports_now
        )
        second = readings_ingest(rows=rows[half:], on_commit=on_commit, reports_now=reports_now)
        return IngestResult(
            stored=first.stored + second.stored,
            duplicates=first.duplicates + second.duplicates,
            rejected=first.rejected + second.rejected,
        )


def _refused_rejection(row: ReadingRow, exc: DataError) -> Rejection:
    problem = error_first_line(exc)
    payload = row.payload
    if payload is None:  # a reading that came in no message of its own (history, a re-encoded one)
        payload = json.dumps({"ts": row.ts.isoformat(), "metrics": row.metrics}).encode()
    return Rejection(
        telemetry_topic(row.machine_code),
        payload,
        f"the database refused it: {problem}",
        row.machine_code,
        RejectionKind.DATABASE,
    )


def _readings_ingest_once(
    rows: Sequence[ReadingRow],
    rejections: Sequence[Rejection],
    links: Sequence[LinkChange],
    on_commit: Callable[[Sequence[ReadingRow]], None] | None,
    reports_now: datetime.datetime | None,
) -> IngestResult:
    with transaction.atomic():
        stored = _readings_insert(rows) if rows else 0
        for change in links:
            machine_link_set(change)
        if reports := [row for row in rows if row.error_code]:
            wired("MACHINE_REPORTS_HANDLER")(reports=reports, now=reports_now)
        if rejections:
            received_at = timezone.now()
            RejectedMessage.objects.bulk_create([r.to_model(received_at=received_at) for r in rejections])
        if on_commit is not None and rows:
            # robust: a failing broadcast is logged and cannot undo or hide the committed batch.
            transaction.on_commit(lambda: on_commit(rows), robust=True)
    return IngestResult(stored=stored, duplicates=len(rows) - stored, rejected=len(rejections))


def _readings_insert(rows: Sequence[ReadingRow]) -> int:
    """Insert the rows, skipping any (machine, ts) already stored; returns how many were new."""
    if connection.vendor == "postgresql":
        return _readings_copy(rows)
    return _readings_insert_or_ignore(rows)


_STAGING_TABLE = "reading_staging"


def _copy_field(text: str) -> str:
    """Escape what COPY's text format gives a meaning; most messages have none of it."""
    if "\\" in text or "\n" in text or "\r" in text or "\t" in text:
        return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return text


def _readings_copy(rows: Sequence[ReadingRow]) -> int:
    """COPY into a session-local staging table, then one INSERT … ON CONFLICT DO NOTHING.

    COPY is PostgreSQL's fastest path in, but it cannot skip conflicts; the staging table takes
    the batch as it is and the INSERT drops the duplicates in one statement. A row that came in a
    message is sent as that message, and PostgreSQL takes its "metrics" out, on its own core,
    instead of the listener encoding every reading's metrics again.
    """
    table = Reading._meta.db_table
    rollup = ReadingMinute._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING_TABLE} "
            "(machine_id bigint, ts timestamptz, payload jsonb, metrics jsonb, error_code varchar(32)) "
            "ON COMMIT DELETE ROWS"
        )
        # Machine ids, timestamps and error codes (checked against a strict pattern) need no escaping.
        lines = "".join(
            f"{row.machine_id}\t{row.ts.isoformat()}\t{_copy_field(row.payload.decode())}\t\\N\t{row.error_code}\n"
            if row.payload is not None
            else f"{row.machine_id}\t{row.ts.isoformat()}\t\\N\t{json.dumps(row.metrics)}\t{row.error_code}\n"
            for row in rows
        )
        columns = "machine_id, ts, payload, metrics, error_code"
        # The driver's own cursor for COPY: wrapped, so that its errors are Django's like the rest
        # (a DataError is a refused reading, an OperationalError an outage).
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {_STAGING_TABLE} ({columns}) FROM STDIN") as copy,
        ):
            copy.write(lines)
        # One statement: the readings not stored yet, then their per-minute roll-ups from exactly
        # those rows (a duplicate is in neither), then how many were new.
        cursor.execute(
            f"""
            WITH inserted AS (
                INSERT INTO {table} (machine_id, ts, metrics, error_code)
                SELECT machine_id, ts, coalesce(metrics, payload -> 'metrics'), error_code FROM {_STAGING_TABLE}
                ON CONFLICT DO NOTHING
                RETURNING machine_id, ts, metrics
            ), rolled_up AS (
                INSERT INTO {rollup} AS r (machine_id, metric, minute, count, total, minimum, maximum)
                SELECT machine_id, m.key, date_trunc('minute', ts), count(*),
                       sum(m.value::float8), min(m.value::float8), max(m.value::float8)
                FROM inserted, jsonb_each_text(metrics) AS m(key, value)
                GROUP BY 1, 2, 3
                ON CONFLICT (machine_id, metric, minute) DO UPDATE SET
                    count = r.count + excluded.count,
                    total = r.total + excluded.total,
                    minimum = least(r.minimum, excluded.minimum),
                    maximum = greatest(r.maximum, excluded.maximum)
            )
            SELECT count(*) FROM inserted
            """  # noqa: S608 - table names are ours
        )
        return cursor.fetchone()[0]


def _readings_insert_or_ignore(rows: Sequence[ReadingRow]) -> int:
    """SQLite: find which rows are new, insert them and roll them up (the embedded demo's volumes)."""
    table = Reading._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    # Keys are compared as stored (SQLite keeps datetimes as text), one query for the whole batch.
    keys = {(row.machine_id, adapt(row.ts)) for row in rows}
    machine_ids = {machine_id for machine_id, _ in keys}
    stored = set(
        Reading.objects.filter(
            machine_id__in=machine_ids, ts__gte=min(row.ts for row in rows), ts__lte=max(row.ts for row in rows)
        ).values_list("machine_id", "ts")
    )
    stored = {(machine_id, adapt(ts)) for machine_id, ts in stored}
    new_rows = []
    for row in rows:
        key = (row.machine_id, adapt(row.ts))
        if key not in stored:
            stored.add(key)  # a duplicate inside the batch counts once
            new_rows.append(row)
    if not new_rows:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT OR IGNORE INTO {table} (machine_id, ts, metrics, error_code) VALUES (%s, %s, %s, %s)",  # noqa: S608
            [(row.machine_id, adapt(row.ts), json.dumps(row.metrics), row.error_code) for row in new_rows],
        )
    _minutes_add(new_rows)
    return len(new_rows)


def _minutes_add(rows: Sequence[ReadingRow]) -> None:
    """Add rows to their per-minute roll-ups (SQLite's path; PostgreSQL does it in the insert)."""
    aggregates: dict[tuple[int, str, datetime.datetime], list[float]] = {}
    for row in rows:
        minute = row.ts.astimezone(datetime.UTC).replace(second=0, microsecond=0)
        for metric, value in row.metrics.items():
            aggregate = aggregates.get((row.machine_id, metric, minute))
            if aggregate is None:
                aggregates[(row.machine_id, metric, minute)] = [1, value, value, value]
            else:
                aggregate[0] += 1
                aggregate[1] += value
                aggregate[2] = min(aggregate[2], value)
                aggregate[3] = max(aggregate[3], value)
    # One upsert that adds to what is stored, as PostgreSQL's path does (Django's can only replace).
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {ReadingMinute._meta.db_table} AS r "  # noqa: S608 - the table name is ours
            "(machine_id, metric, minute, count, total, minimum, maximum) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (machine_id, metric, minute) DO UPDATE SET count = r.count + excluded.count, "
            "total = r.total + excluded.total, minimum = min(r.minimum, excluded.minimum), "
            "maximum = max(r.maximum, excluded.maximum)",
            [
                (machine_id, metric, adapt(minute), n, total, low, high)
                for (machine_id, metric, minute), (n, total, low, high) in aggregates.items()
            ],
        )


def machine_auto_register(code: str) -> Machine:
    """Register a machine first seen on the wire (TELEMETRY_AUTO_REGISTER=1).

    It gets the "Unclassified" type, which lists no metrics and so accepts any, until a supervisor
    gives it its real type in the admin.
    """
    machine_type, _ = MachineType.objects.get_or_create(
        name=UNCLASSIFIED_TYPE,
        defaults={"description": "Machines registered automatically from their telemetry; give each its type."},
    )
    machine, _ = Machine.objects.get_or_create(code=code, defaults={"name": code, "machine_type": machine_type})
    return machine


def machine_link_set(change: LinkChange) -> bool:
    """Record that a machine's link went down (or came back), as its gateway said. A change older than
    the one recorded is ignored (messages of one batch arrive in order; a redelivery may not)."""
    machines = Machine.objects.filter(code=change.machine_code)
    if change.online:
        updated = machines.filter(offline_since__lte=change.at).update(offline_since=None, offline_reason="")
    else:
        updated = machines.filter(Q(offline_since__isnull=True) | Q(offline_since__lt=change.at)).update(
            offline_since=change.at, offline_reason=change.detail[:200]
        )
    if updated:
        logger.info("%s: link %s (%s)", change.machine_code, "back" if change.online else "down", change.detail)
    return bool(updated)


def readings_prune(*, before: datetime.datetime, dry_run: bool = False) -> int:
    """Remove the raw readings older than `before`, keeping their per-minute roll-ups (charts over
    long ranges and the predictor read those); how many went (or would go, with `dry_run`).

    PostgreSQL: a partition whose whole range is older than `before` is dropped whole, at the cost
    of a file removal rather than a row deletion each (no dead rows, no vacuum). What is left older
    than `before` lies in the one partition that straddles it (or in the default partition); it is
    deleted row by row, one machine per transaction: each DELETE walks the (machine, ts) key,
    PostgreSQL only looks at the partitions that can hold such rows, and no statement holds a lock
    over the whole table. SQLite has one table and only the second step.
    """
    removed = 0
    gone = Q()
    for partition in time_partitions(Reading):
        if partition.is_default or partition.end is None or partition.end > before:
            continue
        removed += reading_partition_count(partition)
        gone |= Q(ts__lt=partition.end) if partition.start is None else Q(ts__gte=partition.start, ts__lt=partition.end)
        if not dry_run:
            _reading_partition_drop(partition)
    for machine_id in Machine.objects.order_by("id").values_list("id", flat=True):
        # Not what the partitions dropped held: gone already, or counted already on a dry run.
        old = Reading.objects.filter(machine_id=machine_id, ts__lt=before).exclude(gone)
        if dry_run:
            removed += old.count()
            continue
        with transaction.atomic():
            removed += old.delete()[0]
    return removed


def _reading_partition_drop(partition: TimePartition) -> None:
    prefix = f"{Reading._meta.db_table}_"
    with transaction.atomic(), connection.schema_editor() as schema_editor:
        # Inside a caller's transaction that wrote to it, the deferred foreign-key checks of those rows
        # would forbid the DROP: they are run now (and the keys deferred again after, as Django has them).
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # django-postgres-extra's DROP, by the partition's name without the table's prefix.
        schema_editor.delete_partition(Reading, partition.table.removeprefix(prefix))
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")
    logger.info("dropped the readings' partition %s (%s to %s)", partition.table, partition.start, partition.end)


def machine_status_set(
    *, machine: Machine, status: str, at: datetime.datetime, only_from: Iterable[str] | None = None
) -> bool:
    """Move the machine to `status` (from one of `only_from`, when given); pushes the change."""
    machines = Machine.objects.filter(pk=machine.pk).exclude(status=status)
    if only_from is not None:
        machines = machines.filter(status__in=list(only_from))
    if not machines.update(status=status, status_changed_at=at):
        return False
    machine.status, machine.status_changed_at = status, at
    broadcast_on_commit({"type": "machine", "event": "status", "machine": machine.code, "status": status})
    return True
