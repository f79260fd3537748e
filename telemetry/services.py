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
    Machine,
    MachineType,
    Reading,
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
    How: _time_partitioned_prune."""
    return _time_partitioned_prune(Reading, "ts", before=before, dry_run=dry_run)


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


def _time_partition_drop(model: type[Reading | ReadingMinute | ReadingHour], partition: TimePartition) -> None:
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
