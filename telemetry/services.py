"""Writes of the telemetry app: readings (one bulk write per batch), rejected messages, machines and
their status."""

import contextlib
import datetime
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import DataError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import error_first_line
from core.wiring import wired
from realtime.broadcast import broadcast_on_commit
from telemetry.ingest import LinkChange, ReadingRow, Rejection
from telemetry.models import (
    ListenerSlot,
    Machine,
    MachineType,
    Reading,
    ReadingBlock,
    ReadingHour,
    ReadingHourStale,
    ReadingMinute,
    RejectedMessage,
    RejectionKind,
    RollupWatermark,
)
from telemetry.mqtt import telemetry_topic
from telemetry.selectors import (
    TimePartition,
    default_partition_holds,
    hours_watermark,
    reading_partition_count,
    time_partitions,
)

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
        _late_hours_mark(rows)
        not_compacted, params = _not_compacted_filter(cursor, rows)
        # One statement: the readings not stored yet, then their per-minute roll-ups from exactly
        # those rows (a duplicate is in neither), then how many were new.
        cursor.execute(
            f"""
            WITH inserted AS (
                INSERT INTO {table} (machine_id, ts, metrics, error_code)
                SELECT machine_id, ts, coalesce(metrics, payload -> 'metrics'), error_code FROM {_STAGING_TABLE}
                {not_compacted}
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
            """,  # noqa: S608 - table names are ours
            params,
        )
        return cursor.fetchone()[0]


def _not_compacted_filter(cursor, rows: Sequence[ReadingRow]) -> tuple[str, list]:
    """The WHERE clause (on the staging table) that leaves out the readings stored in blocks already,
    for a batch that holds readings of days that may be compacted; nothing for the others.

    A closed day's readings are no longer rows once compacted, so the key's ON CONFLICT cannot see
    them. Only a batch with readings older than the horizon (late ones, redeliveries of old ones,
    history) pays for the look-up in the blocks, and only for those readings: a batch of current
    readings runs the statement it always did. The shared lock waits for a compaction moving days
    at this moment, so the look-up sees those days as blocks or as rows, never half-moved.
    """
    horizon = _ingest_compacted_horizon(timezone.now())
    if min(row.ts for row in rows) >= horizon:
        return "", []
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_COMPACTED_DAYS_LOCK])
    start, offset = _BLOCK_START_SQL.format(ts="staged.ts"), _BLOCK_OFFSET_SQL.format(ts="staged.ts")
    blocks = ReadingBlock._meta.db_table
    return (  # our names and fragments
        f"AS staged WHERE staged.ts >= %s OR NOT EXISTS (SELECT 1 FROM {blocks} AS b "  # noqa: S608
        f"WHERE b.machine_id = staged.machine_id AND b.start = {start} AND {offset} = ANY (b.offsets_us))",
        [horizon],
    )


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
    _late_hours_mark(new_rows)
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
    How: _time_partitioned_prune, then on PostgreSQL the compacted days' blocks (_blocks_prune)."""
    removed = _time_partitioned_prune(Reading, "ts", before=before, dry_run=dry_run)
    if connection.vendor == "postgresql":
        removed += _blocks_prune(before, dry_run=dry_run)
    return removed


def _time_partitioned_prune(
    model: type[Reading | ReadingMinute | ReadingHour], column: str, *, before: datetime.datetime, dry_run: bool
) -> int:
    """Remove the model's rows whose `column` is older than `before`; how many went (or would go).

    PostgreSQL: a partition whose whole range is older than `before` is dropped whole, at the cost
    of a file removal rather than a row deletion each (no dead rows, no vacuum). What is left older
    than `before` lies in the one partition that straddles it (or in the default partition); it is
    deleted row by row, one machine per transaction: each DELETE walks the key, which starts with the
    machine, PostgreSQL only looks at the partitions that can hold such rows, and no statement holds a
    lock over the whole table. SQLite has one table and only the second step.
    """
    removed = 0
    gone = Q()
    partitions = time_partitions(model)
    for partition in partitions:
        if partition.is_default or partition.end is None or partition.end > before:
            continue
        removed += reading_partition_count(partition)
        if partition.start is None:
            gone |= Q(**{f"{column}__lt": partition.end})
        else:
            gone |= Q(**{f"{column}__gte": partition.start, f"{column}__lt": partition.end})
        if not dry_run:
            _time_partition_drop(model, partition)
    if partitions and not _rows_may_remain_before(model, column, partitions, before):
        # A cut on a partition boundary (the roll-ups' hourly upkeep): the drops were all of it.
        return removed
    for machine_id in Machine.objects.order_by("id").values_list("id", flat=True):
        # Not what the partitions dropped held: gone already, or counted already on a dry run.
        old = model.objects.filter(machine_id=machine_id, **{f"{column}__lt": before}).exclude(gone)
        if dry_run:
            removed += old.count()
            continue
        with transaction.atomic():
            removed += old.delete()[0]
    return removed


def _rows_may_remain_before(
    model: type[Reading | ReadingMinute | ReadingHour],
    column: str,
    partitions: list[TimePartition],
    before: datetime.datetime,
) -> bool:
    """Whether rows older than `before` can be left once the partitions wholly older are dropped: in
    a partition that straddles `before`, or in the default partition."""
    oldest = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    straddles = any(
        not p.is_default and (p.start is None or p.start < before) and p.end is not None and p.end > before
        for p in partitions
    )
    return straddles or default_partition_holds(model, column, oldest, before)


def _blocks_prune(before: datetime.datetime, *, dry_run: bool) -> int:
    """The compacted days' part of readings_prune: whole days' partitions of blocks dropped, then the
    blocks left before `before` deleted and the one hour that straddles it cut, in one transaction."""
    table = ReadingBlock._meta.db_table
    removed = 0
    kept_partitions = []
    # Blocks before this are in the partitions dropped here (or counted already on a dry run).
    dropped_until = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    for partition in time_partitions(ReadingBlock):
        if partition.end is None or partition.end > before:
            kept_partitions.append(partition)
            continue
        dropped_until = max(dropped_until, partition.end)
        with connection.cursor() as cursor:
            quoted = connection.ops.quote_name(partition.table)
            cursor.execute(f"SELECT coalesce(sum(cardinality(offsets_us)), 0) FROM {quoted}")  # noqa: S608
            removed += cursor.fetchone()[0]
        if not dry_run:
            _time_partition_drop(ReadingBlock, partition)
    if not any(partition.start is None or partition.start < before for partition in kept_partitions):
        return removed
    # Per block of the straddling hour, how many of its readings are older than `before`.
    older = f"""
        SELECT machine_id, start, cardinality(offsets_us) AS readings,
               (SELECT count(*) FROM unnest(offsets_us) AS offset_us
                WHERE offset_us < (extract(epoch FROM %(before)s - start) * 1000000)::bigint) AS older
        FROM {table} WHERE start < %(before)s AND start > %(before)s - interval '1 hour'
    """  # noqa: S608 - our names
    whole = "start <= %(before)s - interval '1 hour' AND start >= %(dropped_until)s"
    with transaction.atomic(), connection.cursor() as cursor:
        if dry_run:
            cursor.execute(
                f"SELECT (SELECT coalesce(sum(cardinality(offsets_us)), 0) FROM {table} WHERE {whole}) "  # noqa: S608
                f"+ (SELECT coalesce(sum(older), 0) FROM ({older}) AS straddling)",
                {"before": before, "dropped_until": dropped_until},
            )
            return removed + cursor.fetchone()[0]
        cursor.execute(
            f"DELETE FROM {table} WHERE {whole} RETURNING cardinality(offsets_us)",  # noqa: S608
            {"before": before, "dropped_until": dropped_until},
        )
        removed += sum(count for (count,) in cursor.fetchall())
        cursor.execute(
            f"""
            WITH straddling AS ({older}),
            emptied AS (
                DELETE FROM {table} AS b USING straddling AS s
                WHERE b.machine_id = s.machine_id AND b.start = s.start AND s.older = s.readings
                RETURNING s.older
            ), cut AS (
                UPDATE {table} AS b SET offsets_us = b.offsets_us[s.older + 1:],
                    metric_values = b.metric_values[:][s.older + 1:], error_codes = b.error_codes[s.older + 1:]
                FROM straddling AS s
                WHERE b.machine_id = s.machine_id AND b.start = s.start AND s.older BETWEEN 1 AND s.readings - 1
                RETURNING s.older
            )
            SELECT (SELECT coalesce(sum(older), 0) FROM emptied) + (SELECT coalesce(sum(older), 0) FROM cut)
            """,  # noqa: S608 - our names
            {"before": before},
        )
        return removed + cursor.fetchone()[0]


def _time_partition_drop(
    model: type[Reading | ReadingMinute | ReadingHour | ReadingBlock], partition: TimePartition
) -> None:
    prefix = f"{model._meta.db_table}_"
    with transaction.atomic(), connection.schema_editor() as schema_editor:
        # Inside a caller's transaction that wrote to it, the deferred foreign-key checks of those rows
        # would forbid the DROP: they are run now (and the keys deferred again after, as Django has them).
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # django-postgres-extra's DROP, by the partition's name without the table's prefix.
        schema_editor.delete_partition(model, partition.table.removeprefix(prefix))
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")
    logger.info("dropped the partition %s (%s to %s)", partition.table, partition.start, partition.end)


# --- roll-up tiers: minutes into hours, and their retention ---------------------------------------------

# How long after an hour has closed the roll-up waits for readings still on their way (a gateway's
# buffer, a listener's batch) before it rolls the hour up.
HOURS_ROLLUP_LATENESS = datetime.timedelta(minutes=10)
# The ingest marks as late what is older than a shorter margin: a batch that read the clock just before
# a roll-up started and commits after it still marks every hour that roll-up can close (a batch takes
# seconds, not the 5 minutes between the two margins).
_LATE_MARK_MARGIN = HOURS_ROLLUP_LATENESS / 2
# The roll-up goes through the minutes a day at a time, one transaction each: a first run over months
# of minutes commits as it goes and can stop at its time budget.
_ROLLUP_CHUNK = datetime.timedelta(days=1)
# pg_try_advisory_lock's key for the roll-up tiers' upkeep ("MXTIERS1" as a number): one listener at a time.
_TIERS_LOCK_KEY = 0x4D5854494552_5331
_tiers_lock_sqlite = threading.Lock()


def hour_floor(moment: datetime.datetime) -> datetime.datetime:
    """The start of the UTC hour that holds `moment` (aware)."""
    return moment.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


def hours_rollup_cutoff(now: datetime.datetime) -> datetime.datetime:
    """The end of the hours a roll-up at `now` closes: the last closed hour that is past the lateness margin."""
    return hour_floor(now - HOURS_ROLLUP_LATENESS)


def _late_hours_mark(rows: Sequence[ReadingRow]) -> None:
    """Mark the hours of readings older than any hour a roll-up may have closed, so that the next one
    computes those hours again. The check is arithmetic on the batch: a batch of current readings (all
    of them, normally) writes nothing more."""
    if not rows:
        return
    bound = hour_floor(timezone.now() - _LATE_MARK_MARGIN)
    if min(row.ts for row in rows) >= bound:
        return
    adapt = connection.ops.adapt_datetimefield_value
    late = {(row.machine_id, hour_floor(row.ts)) for row in rows if row.ts < bound}
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {ReadingHourStale._meta.db_table} (machine_id, hour) VALUES (%s, %s) "  # noqa: S608 - ours
            "ON CONFLICT DO NOTHING",
            [(machine_id, adapt(hour)) for machine_id, hour in sorted(late)],
        )


def _hour_of(column: str) -> str:
    """SQL for the start of the UTC hour of a datetime column (PostgreSQL's session runs in UTC; SQLite
    keeps UTC text, 'YYYY-MM-DD HH:MM:SS', which this keeps comparable with what Django writes)."""
    if connection.vendor == "postgresql":
        return f"date_trunc('hour', {column})"
    return f"strftime('%%Y-%%m-%%d %%H:00:00', {column})"


def _hours_from_minutes_sql(*, one_machine: bool) -> str:
    """INSERT ... SELECT of the hours of the minutes in [%s, %s) (of one machine: its id first), which
    replaces an hour already there: running it again over the same minutes changes nothing."""
    hour = _hour_of("minute")
    machine = "machine_id = %s AND " if one_machine else ""
    return (
        f"INSERT INTO {ReadingHour._meta.db_table} AS h "  # noqa: S608 - the tables are ours
        "(machine_id, metric, hour, count, total, minimum, maximum) "
        f"SELECT machine_id, metric, {hour}, sum(count), sum(total), min(minimum), max(maximum) "
        f"FROM {ReadingMinute._meta.db_table} WHERE {machine}minute >= %s AND minute < %s "
        f"GROUP BY machine_id, metric, {hour} "
        "ON CONFLICT (machine_id, metric, hour) DO UPDATE SET count = excluded.count, total = excluded.total, "
        "minimum = excluded.minimum, maximum = excluded.maximum"
    )


@dataclass(frozen=True)
class HoursRollup:
    rolled_up_to: datetime.datetime | None  # every hour before it is in ReadingHour (None: no minutes yet)
    hours: int  # hour rows written from the range rolled up
    recomputed: int  # hours of late readings computed again
    done: bool  # False: it stopped at its time budget with closed hours left for the next run


def hours_rollup(*, now: datetime.datetime, budget_s: float | None = None) -> HoursRollup:
    """Roll the closed hours up from the per-minute roll-ups into ReadingHour, in the database.

    From the watermark (RollupWatermark: where the last run stopped; on a first run, the oldest
    minute's hour) to the last closed hour before `now` less HOURS_ROLLUP_LATENESS, a day per
    transaction, each moving the watermark on; then the hours that late readings marked
    (ReadingHourStale) are computed again. Idempotent: each hour's row is replaced, never added to.
    With `budget_s`, it stops after the day that went past it (done=False); the next run goes on.
    """
    started = time.monotonic()
    cutoff = hours_rollup_cutoff(now)
    watermark = hours_watermark()
    recomputed = _stale_hours_recompute(watermark=watermark, now=now)
    start = watermark or _oldest_minute_hour()
    if start is None:
        return HoursRollup(None, 0, recomputed, done=True)
    if start < cutoff and connection.vendor == "postgresql":
        # Here, not at the top: django-postgres-extra cannot even be imported without PostgreSQL.
        from telemetry.partitions import hour_partitions_create  # noqa: PLC0415

        # A first run over months of minutes writes months that have no partition yet (the manager
        # creates them from now on): theirs, rather than the default partition's.
        hour_partitions_create(start=start, end=cutoff)
    written = 0
    while start < cutoff:
        stop = min(cutoff, start + _ROLLUP_CHUNK)
        with transaction.atomic(), connection.cursor() as cursor:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.execute(_hours_from_minutes_sql(one_machine=False), [adapt(start), adapt(stop)])
            written += max(cursor.rowcount, 0)
            _watermark_advance(stop)
        start = stop
        if budget_s is not None and start < cutoff and time.monotonic() - started > budget_s:
            return HoursRollup(start, written, recomputed, done=False)
    return HoursRollup(start, written, recomputed, done=True)


def _watermark_advance(to: datetime.datetime) -> None:
    """Move the hours' watermark forward to `to`, never back (a roll-up run beside another by hand)."""
    watermarks = RollupWatermark.objects.filter(tier=RollupWatermark.HOURS)
    if not watermarks.filter(rolled_up_to__lt=to).update(rolled_up_to=to) and not watermarks.exists():
        RollupWatermark.objects.create(tier=RollupWatermark.HOURS, rolled_up_to=to)


def _oldest_minute_hour() -> datetime.datetime | None:
    """The hour of the oldest per-minute roll-up: each machine's oldest through its (machine, minute)
    index, the oldest of those, rather than a scan of the table."""
    oldest = None
    for machine_id in Machine.objects.values_list("id", flat=True):
        first = (
            ReadingMinute.objects.filter(machine_id=machine_id)
            .order_by("minute")
            .values_list("minute", flat=True)
            .first()
        )
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return None if oldest is None else hour_floor(oldest)


def _stale_hours_recompute(*, watermark: datetime.datetime | None, now: datetime.datetime) -> int:
    """Compute again the hours late readings marked, from their minutes; how many.

    The marks are taken (deleted) and the hours written in one transaction: a batch marking the same
    hour meanwhile either waits for it or leaves its mark for the next run. Marks at or after the
    watermark need nothing (the range roll-up has not reached them yet), nor do hours whose minutes
    retention may have removed (their hour row, from all their minutes, is the better figure).
    """
    minutes_kept_from = now - datetime.timedelta(days=settings.READINGS_MINUTES_RETENTION_DAYS - 1)
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ReadingHourStale._meta.db_table} RETURNING machine_id, hour")  # noqa: S608
        claimed = cursor.fetchall()
        if watermark is None:
            return 0
        hours = []
        for machine_id, claimed_hour in claimed:
            hour = _utc_datetime(claimed_hour)
            if minutes_kept_from <= hour < watermark:
                hours.append((machine_id, adapt(hour), adapt(hour + datetime.timedelta(hours=1))))
        if hours:
            cursor.executemany(_hours_from_minutes_sql(one_machine=True), hours)
    if hours:
        logger.info("rolled up %d hours again for their late readings", len(hours))
    return len(hours)


def _utc_datetime(value: datetime.datetime | str) -> datetime.datetime:
    """A datetime as a raw cursor returns it: aware on PostgreSQL; on SQLite naive UTC, or the text
    it keeps where the column's type is not known (RETURNING)."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


@dataclass(frozen=True)
class RollupsPruned:
    minutes: int
    hours: int
    minutes_before: datetime.datetime | None  # where the minutes were cut (None: none could go)


def rollups_prune(
    *, minutes_before: datetime.datetime, hours_before: datetime.datetime, dry_run: bool = False
) -> RollupsPruned:
    """Remove the per-minute roll-ups older than `minutes_before` and the per-hour ones older than
    `hours_before` (whole partitions on PostgreSQL, as _time_partitioned_prune does).

    Minutes go only once their hours are rolled up: the cut is moved back to the roll-up's watermark
    and to the oldest hour marked for another roll-up, whichever is earlier; with no roll-up yet, no
    minute goes. The cuts are moved back to the partitions' boundaries, UTC midnight for the minutes
    and the first of the UTC month for the hours: whole partitions go, no row is deleted one by one
    (and an hour keeps all its minutes or none).
    """
    watermark = hours_watermark()
    minutes_cut = None
    if watermark is not None:
        marked = ReadingHourStale.objects.order_by("hour").values_list("hour", flat=True).first()
        minutes_cut = hour_floor(min(filter(None, (minutes_before, watermark, marked)))).replace(hour=0)
    minutes = 0
    if minutes_cut is not None:
        minutes = _time_partitioned_prune(ReadingMinute, "minute", before=minutes_cut, dry_run=dry_run)
    hours_cut = hour_floor(hours_before).replace(day=1, hour=0)
    hours = _time_partitioned_prune(ReadingHour, "hour", before=hours_cut, dry_run=dry_run)
    return RollupsPruned(minutes=minutes, hours=hours, minutes_before=minutes_cut)


@contextlib.contextmanager
def _tiers_upkeep_lock() -> Iterator[bool]:
    """Whether this process may run the tiers' upkeep now: one listener of several (a PostgreSQL advisory
    lock of the session), one thread of the demo's (SQLite). Never waits: another one is at it."""
    if connection.vendor != "postgresql":
        acquired = _tiers_lock_sqlite.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                _tiers_lock_sqlite.release()
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_TIERS_LOCK_KEY])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_TIERS_LOCK_KEY])


def rollup_tiers_upkeep(*, now: datetime.datetime, budget_s: float | None = None) -> bool:
    """The listener's hourly care of the roll-up tiers: roll the closed hours up (hours_rollup), then
    remove the minutes older than READINGS_MINUTES_RETENTION_DAYS and the hours older than
    READINGS_HOURS_RETENTION_DAYS (rollups_prune). False when the roll-up stopped at `budget_s` with
    hours left (the caller comes back sooner); True too when another process holds the upkeep."""
    with _tiers_upkeep_lock() as acquired:
        if not acquired:
            return True
        rolled = hours_rollup(now=now, budget_s=budget_s)
        pruned = rollups_prune(
            minutes_before=now - datetime.timedelta(days=settings.READINGS_MINUTES_RETENTION_DAYS),
            hours_before=now - datetime.timedelta(days=settings.READINGS_HOURS_RETENTION_DAYS),
        )
    if rolled.hours or rolled.recomputed or pruned.minutes or pruned.hours:
        logger.info(
            "roll-up tiers: %d hour rows rolled up to %s, %d hours again; removed %d minute and %d hour rows",
            rolled.hours,
            rolled.rolled_up_to,
            rolled.recomputed,
            pruned.minutes,
            pruned.hours,
        )
    return rolled.done


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


# --- compaction of closed days into hour blocks (PostgreSQL) ----------------------------------------

# Advisory lock keys (arbitrary constants, unique to this use). One compaction at a time (listeners
# run it beside each other): a second one finds the run lock taken and leaves.
_COMPACTION_RUN_LOCK = 0x6D78_626C_6F63_6B31  # "mxblock1"
# Held exclusively by each compaction transaction and shared by an ingest batch that holds readings
# of days that may be compacted: that batch's duplicate check and insert then see the days either
# wholly as rows or wholly as blocks, never in the middle of a move.
_COMPACTED_DAYS_LOCK = 0x6D78_626C_6F63_6B32  # "mxblock2"
# Late readings can reach a day the compaction is about to move only this close to its horizon:
# the margin covers clocks of the listener and of the compacting process that disagree a little.
_HORIZON_CLOCK_MARGIN = datetime.timedelta(hours=1)

# The block of an instant: the UTC hour that holds it (date_bin from a midnight, so hours stay put).
_BLOCK_START_SQL = "date_bin('1 hour', {ts}, timestamptz '2000-01-01 00:00:00+00')"
# An instant as microseconds after its block's start: exact, as numeric (extract of an interval).
_BLOCK_OFFSET_SQL = "(extract(epoch FROM {ts} - " + _BLOCK_START_SQL + ") * 1000000)::bigint"


@dataclass(frozen=True)
class CompactionResult:
    days: list[datetime.date]  # the days whose readings' partition became blocks
    readings: int  # readings moved into blocks (those of the days and the late ones)
    late: int  # of which late readings merged into days compacted before
    busy: bool = False  # another compaction was running: this one did nothing


def compaction_horizon(*, now: datetime.datetime) -> datetime.datetime:
    """The midnight (UTC) before which readings are compacted into blocks: whole days only, each
    over for READINGS_COMPACT_AFTER_HOURS at least."""
    due = (now - datetime.timedelta(hours=settings.READINGS_COMPACT_AFTER_HOURS)).astimezone(datetime.UTC)
    return datetime.datetime.combine(due.date(), datetime.time(), tzinfo=datetime.UTC)


def _ingest_compacted_horizon(now: datetime.datetime) -> datetime.datetime:
    """What an ingest batch takes for the horizon: later than any compaction's by the clock margin."""
    return compaction_horizon(now=now + _HORIZON_CLOCK_MARGIN)


def readings_compact(*, now: datetime.datetime | None = None) -> CompactionResult:
    """Move the raw readings of every closed UTC day (over for READINGS_COMPACT_AFTER_HOURS) into
    per-machine hour blocks (telemetry.models.ReadingBlock), in SQL on the server; PostgreSQL only.

    Each day is one transaction: its blocks are written from its partition, then the partition is
    dropped, so an interrupted day keeps its rows and is done again by the next run. Readings that
    came late for a day compacted before (they went to the default partition, the day's partition
    being gone) are merged into its blocks, the value stored first winning for a ts stored twice,
    and removed from the default partition. The per-minute roll-ups are not touched. A second
    compaction while one runs (three listeners) does nothing (`busy`).
    """
    if connection.vendor != "postgresql":
        return CompactionResult([], 0, 0)
    horizon = compaction_horizon(now=now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_COMPACTION_RUN_LOCK])
        if not cursor.fetchone()[0]:
            logger.info("another compaction of the readings is running; leaving it to it")
            return CompactionResult([], 0, 0, busy=True)
    try:
        days, readings = [], 0
        for partition in time_partitions(Reading):
            if partition.is_default or partition.end is None or partition.end > horizon:
                continue
            readings += _reading_partition_compact(partition)
            days.append(partition.end.date() - datetime.timedelta(days=1))
            # The day before it is over by a day more: its minutes are final, rewritten once.
            minute_partition_rewrite(day_end=partition.end - datetime.timedelta(days=1))
        late = _default_partition_compact(horizon)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_COMPACTION_RUN_LOCK])
    if days or late:
        logger.info(
            "compacted %d readings into hour blocks: days %s, %d late ones",
            readings + late,
            ", ".join(day.isoformat() for day in days) or "none",
            late,
        )
    return CompactionResult(days, readings + late, late)


def minute_partition_rewrite(*, day_end: datetime.datetime) -> bool:
    """Rewrite the per-minute roll-ups' partition of the UTC day that ended at `day_end` (PostgreSQL),
    once readings_compact has moved the day after it into blocks; whether there was one to rewrite.

    Every ingest batch upserts the current minutes, so a day's partition is left with their dead
    versions: 46.7 bytes a reading as written against 10.2 rewritten (make bench-storage), which
    makes the 90 days of minutes the largest tier by far. Once the day is over by more than a day, no
    reading changes its minutes but a late one, and the predictor's 12-hour windows no longer reach
    it; CLUSTER on the key rewrites it in key order (one machine's metric over a range is then read
    from adjacent pages). It holds the partition's lock while it runs: a chart or a health model's
    learning over that day waits for it (bench-storage times it).
    """
    for partition in time_partitions(ReadingMinute):
        if partition.is_default or partition.end != day_end or partition.start != day_end - datetime.timedelta(days=1):
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT index.relname FROM pg_index AS x JOIN pg_class AS index ON index.oid = x.indexrelid "
                "WHERE x.indrelid = %s::regclass AND x.indisprimary",
                [partition.table],
            )
            [key_index] = cursor.fetchone()
            table, key = connection.ops.quote_name(partition.table), connection.ops.quote_name(key_index)
            started = time.monotonic()
            cursor.execute(f"CLUSTER {table} USING {key}")
            cursor.execute(f"ANALYZE {table}")
        logger.info(
            "rewrote the per-minute roll-ups of %s in %.1f s", partition.start.date(), time.monotonic() - started
        )
        return True
    return False


def _blocks_write_sql(source: str) -> str:
    """INSERT the blocks of the readings `source` yields (machine_id, ts, metrics jsonb, error_code;
    one row per machine and ts), replacing any block of the same machine and hour; returns each
    block's reading count.

    Grouped on the server: the rows never come to Python. Per block: the offsets in ts order, the
    metric names its readings carried (sorted), then per name the values in the same order (NULL
    where a reading lacked it), and the error codes only when one reading at least had one.
    """
    start = _BLOCK_START_SQL.format(ts="ts")
    offset = _BLOCK_OFFSET_SQL.format(ts="ts")
    return f"""
        INSERT INTO {ReadingBlock._meta.db_table} AS b
            (machine_id, start, metrics, offsets_us, metric_values, error_codes)
        SELECT grouped.machine_id, grouped.start, names.names, grouped.offsets,
               ARRAY(
                   SELECT ARRAY(
                       SELECT (reading.doc ->> metric.name)::real
                       FROM unnest(grouped.docs) WITH ORDINALITY AS reading(doc, i) ORDER BY reading.i
                   )
                   FROM unnest(names.names) WITH ORDINALITY AS metric(name, j) ORDER BY metric.j
               ),
               grouped.codes
        FROM (
            SELECT machine_id, {start} AS start,
                   array_agg({offset} ORDER BY ts) AS offsets,
                   array_agg(metrics ORDER BY ts) AS docs,
                   CASE WHEN bool_or(error_code <> '')
                        THEN array_agg(nullif(error_code, '') ORDER BY ts) END AS codes
            FROM ({source}) AS source
            GROUP BY 1, 2
        ) AS grouped
        CROSS JOIN LATERAL (
            SELECT coalesce(array_agg(DISTINCT key ORDER BY key), '{{}}') AS names
            FROM unnest(grouped.docs) AS doc, jsonb_object_keys(doc) AS key
        ) AS names
        ON CONFLICT (machine_id, start) DO UPDATE SET
            metrics = excluded.metrics, offsets_us = excluded.offsets_us,
            metric_values = excluded.metric_values, error_codes = excluded.error_codes
        RETURNING cardinality(b.offsets_us)
    """  # noqa: S608 - our names and fragments


def _block_readings_sql(where: str) -> str:
    """The readings of the blocks matching `where` (on alias b) as rows like the readings' own:
    machine_id, ts, metrics (jsonb of the float4 values), error_code."""
    table = ReadingBlock._meta.db_table
    return f"""
        SELECT kept.machine_id, kept.ts, coalesce(doc.metrics, '{{}}') AS metrics, kept.error_code
        FROM (
            SELECT b.machine_id, b.start + reading.offset_us * interval '1 microsecond' AS ts,
                   coalesce(reading.code, '') AS error_code
            FROM {table} AS b, unnest(b.offsets_us, b.error_codes) AS reading(offset_us, code)
            WHERE {where}
        ) AS kept
        LEFT JOIN (
            SELECT b.machine_id, b.start + value.offset_us * interval '1 microsecond' AS ts,
                   jsonb_object_agg(b.metrics[j], value.value) AS metrics
            FROM {table} AS b, generate_subscripts(b.metrics, 1) AS j,
                 unnest(b.offsets_us, b.metric_values[j:j][:]) AS value(offset_us, value)
            WHERE ({where}) AND value.value IS NOT NULL
            GROUP BY 1, 2
        ) AS doc USING (machine_id, ts)
    """  # noqa: S608 - our names and fragments


def _compacted_days_lock(cursor) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_COMPACTED_DAYS_LOCK])


def _block_partitions_ensure(first_day: datetime.date, last_day: datetime.date) -> None:
    """Create the blocks' daily partitions missing from first_day to last_day (both included)."""
    from psqlextra.partitioning import PostgresTimePartition, PostgresTimePartitionSize  # noqa: PLC0415

    existing = time_partitions(ReadingBlock)
    day = first_day
    while day <= last_day:
        start = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
        end = start + datetime.timedelta(days=1)
        if not any(partition.overlaps(start, end) for partition in existing):
            partition = PostgresTimePartition(size=PostgresTimePartitionSize(days=1), start_datetime=start)
            with connection.schema_editor(atomic=False) as schema_editor:
                partition.create(ReadingBlock, schema_editor)
        day += datetime.timedelta(days=1)


def _reading_partition_compact(partition: TimePartition) -> int:
    """One partition of the readings into blocks, then dropped, in one transaction; how many readings."""
    quote = connection.ops.quote_name
    table = quote(partition.table)
    with transaction.atomic(), connection.cursor() as cursor:
        _compacted_days_lock(cursor)
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition.table])
        if not cursor.fetchone()[0]:
            return 0  # done by a compaction that ran meanwhile
        first = partition.start
        if first is None:  # the partition the migration attached: from its oldest reading on
            cursor.execute(f"SELECT min(ts) FROM {table}")  # noqa: S608 - a partition's name
            first = cursor.fetchone()[0] or partition.end
        first_day = first.astimezone(datetime.UTC).date()
        last_day = partition.end.date() - datetime.timedelta(days=1)
        _block_partitions_ensure(first_day, last_day)
        source = f"SELECT machine_id, ts, metrics, error_code FROM {table}"  # noqa: S608
        day_start = datetime.datetime.combine(first_day, datetime.time(), tzinfo=datetime.UTC)
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {ReadingBlock._meta.db_table} WHERE start >= %s AND start < %s)",  # noqa: S608
            [day_start, partition.end],
        )
        if cursor.fetchone()[0]:
            # Blocks of these days exist already (readings that lay in the default partition):
            # the partition's readings are merged into them.
            blocks = f"b.start >= '{day_start.isoformat()}' AND b.start < '{partition.end.isoformat()}'"
            source = _readings_first_stored_sql(existing=_block_readings_sql(blocks), new=source)
        cursor.execute(_blocks_write_sql(source))
        readings = sum(count for (count,) in cursor.fetchall())
        # In the same transaction: a reading is in the partition or in a block, never in both nor in
        # neither. The DROP's lock on the readings' table is held only until the commit just after.
        _time_partition_drop(Reading, partition)
    return readings


def _readings_first_stored_sql(*, existing: str, new: str) -> str:
    """The readings of both queries, one per machine and ts: `existing`'s where both have one (the
    value stored first wins, as for a redelivered reading)."""
    return f"""
        SELECT DISTINCT ON (machine_id, ts) machine_id, ts, metrics, error_code
        FROM (
            SELECT machine_id, ts, metrics, error_code, 0 AS stored_later FROM ({existing}) AS existing
            UNION ALL
            SELECT machine_id, ts, metrics, error_code, 1 AS stored_later FROM ({new}) AS new
        ) AS readings
        ORDER BY machine_id, ts, stored_later
    """  # noqa: S608 - our fragments


_LATE_TABLE = "reading_late"


def _default_partition_compact(horizon: datetime.datetime) -> int:
    """The readings of the default partition from before the horizon (late ones of compacted days, or
    of days that never had a partition) merged into their blocks, in one transaction; how many."""
    default = next((p for p in time_partitions(Reading) if p.is_default), None)
    if default is None:
        return 0
    table = connection.ops.quote_name(default.table)
    start = _BLOCK_START_SQL.format(ts="ts")
    with transaction.atomic(), connection.cursor() as cursor:
        _compacted_days_lock(cursor)
        # Exactly these rows are merged and then deleted, whatever comes in meanwhile.
        cursor.execute(
            f"CREATE TEMP TABLE {_LATE_TABLE} ON COMMIT DROP AS "  # noqa: S608 - our names
            f"SELECT machine_id, ts, metrics, error_code FROM {table} WHERE ts < %s",
            [horizon],
        )
        cursor.execute(f"SELECT count(*), min(ts), max(ts) FROM {_LATE_TABLE}")  # noqa: S608
        count, first, last = cursor.fetchone()
        if not count:
            cursor.execute(f"DROP TABLE {_LATE_TABLE}")
            return 0
        _block_partitions_ensure(first.astimezone(datetime.UTC).date(), last.astimezone(datetime.UTC).date())
        touched = f"(b.machine_id, b.start) IN (SELECT DISTINCT machine_id, {start} FROM {_LATE_TABLE})"  # noqa: S608
        source = _readings_first_stored_sql(
            existing=_block_readings_sql(touched),
            new=f"SELECT machine_id, ts, metrics, error_code FROM {_LATE_TABLE}",  # noqa: S608
        )
        cursor.execute(_blocks_write_sql(source))
        cursor.execute(
            f"DELETE FROM {table} AS d USING {_LATE_TABLE} AS late "  # noqa: S608 - our names
            "WHERE d.machine_id = late.machine_id AND d.ts = late.ts"
        )
        cursor.execute(f"DROP TABLE {_LATE_TABLE}")
    return count


# --- the listeners' client-id slots (telemetry.slots) -----------------------------------------------


def listener_slot_claimed(*, group: str, slot: int, client_id: str, at: datetime.datetime) -> None:
    ListenerSlot.objects.update_or_create(
        group=group,
        slot=slot,
        defaults={"client_id": client_id, "claimed_at": at, "seen_at": at, "released_at": None},
    )


def listener_slot_seen(*, group: str, slot: int, at: datetime.datetime) -> None:
    ListenerSlot.objects.filter(group=group, slot=slot).update(seen_at=at)


def listener_slot_released(*, group: str, slot: int, at: datetime.datetime) -> None:
    ListenerSlot.objects.filter(group=group, slot=slot).update(seen_at=at, released_at=at)


def listener_slot_drained(*, group: str, slot: int, at: datetime.datetime) -> None:
    ListenerSlot.objects.filter(group=group, slot=slot).update(drained_at=at)
