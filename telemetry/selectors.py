import datetime
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    BigIntegerField,
    Count,
    DateTimeField,
    Expression,
    F,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from paho.mqtt.client import topic_matches_sub

from telemetry.ingest import DecodedReading, MachineDirectory, Rejection
from telemetry.mappings import MappedSource
from telemetry.models import (
    ListenerSlot,
    Machine,
    MetricSpec,
    PayloadSource,
    Reading,
    ReadingBlock,
    ReadingHour,
    ReadingMinute,
    RejectedMessage,
    RejectionKind,
    RollupWatermark,
)
from telemetry.units import unit_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SensorFault:
    """Why a machine's sensors cannot be trusted now, as seen at ingest."""

    offline: bool  # its gateway said its link is down (else: it sent physically impossible values)
    detail: str


def machines_sensor_faults(*, now: datetime.datetime, within: datetime.timedelta) -> dict[str, SensorFault]:
    """Machines whose link their gateway reported down, and machines that sent a value outside its
    sensor's physical range within `within` before `now` (the latest such value), by code."""
    faults = {
        code: SensorFault(True, f"link down since {since:%Y-%m-%d %H:%M} UTC: {reason}")
        for code, since, reason in Machine.objects.filter(offline_since__isnull=False).values_list(
            "code", "offline_since", "offline_reason"
        )
    }
    impossible = (
        RejectedMessage.objects.filter(kind=RejectionKind.RANGE, received_at__gt=now - within, received_at__lte=now)
        .order_by("machine_code", "-received_at")
        .values_list("machine_code", "reason")
    )
    for code, reason in impossible:
        faults.setdefault(code, SensorFault(False, reason))
    return faults


def machine_list() -> QuerySet[Machine]:
    """Machines with their type and its metric specs, in two queries whatever the count."""
    return Machine.objects.select_related("machine_type").prefetch_related(
        Prefetch("machine_type__metrics", queryset=MetricSpec.objects.order_by("name"))
    )


async def machine_exists(code: str) -> bool:
    return await Machine.objects.filter(code=code).aexists()


def machine_get(*, code: str) -> Machine:
    """The machine with this code; raises Machine.DoesNotExist."""
    return machine_list().get(code=code)


# --- history for charts -------------------------------------------------------------------------

# Bucket widths a chart can label; the grid is aligned to multiples of the width since the epoch, so
# the buckets of a sliding window stay put between refetches and, from a minute up, hold whole minutes.
_BUCKET_STEPS_S = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200)
_DAY_S = 86400


class HistorySource:
    """The storage tiers a chart's buckets are aggregated from, finest first."""

    READINGS = "readings"  # the raw table, kept READINGS_RAW_RETENTION_DAYS
    MINUTES = "minutes"  # the per-minute roll-ups, kept READINGS_MINUTES_RETENTION_DAYS
    HOURS = "hours"  # the per-hour roll-ups, kept READINGS_HOURS_RETENTION_DAYS

    CHOICES = (READINGS, MINUTES, HOURS)
    # The bucket width each tier can be aggregated into: a multiple of its rows' span.
    RESOLUTION_S = {READINGS: 1, MINUTES: 60, HOURS: 3600}

    @staticmethod
    def retention_days(source: str) -> int:
        return {
            HistorySource.READINGS: settings.READINGS_RAW_RETENTION_DAYS,
            HistorySource.MINUTES: settings.READINGS_MINUTES_RETENTION_DAYS,
            HistorySource.HOURS: settings.READINGS_HOURS_RETENTION_DAYS,
        }[source]


@dataclass(frozen=True)
class HistoryGrid:
    """Buckets of `bucket_s` seconds from `origin` (epoch seconds) up to `stop`, covering the asked range."""

    origin: int
    bucket_s: int
    count: int

    @property
    def stop(self) -> int:
        return self.origin + self.bucket_s * self.count


def history_grid(
    *, start: datetime.datetime, end: datetime.datetime, points: int, min_bucket_s: int = 1
) -> HistoryGrid:
    """The narrowest grid of whole buckets over [start, end) with at most `points` buckets (points ≥ 2),
    and buckets of at least `min_bucket_s` (a tier's resolution: 60, 3600).

    Any width of at least span / (points - 1) fits, whatever the alignment: the aligned origin adds
    less than one bucket to the span. Every step from a minute up is a whole number of minutes, and from
    an hour up of hours, so the narrowest step of at least a tier's resolution is a multiple of it.
    """
    start_s, end_s = start.timestamp(), end.timestamp()
    needed = max((end_s - start_s) / (points - 1), min_bucket_s)
    bucket_s = next((step for step in _BUCKET_STEPS_S if step >= needed), None)
    if bucket_s is None:
        bucket_s = _DAY_S * math.ceil(needed / _DAY_S)
    origin = math.floor(start_s / bucket_s) * bucket_s
    count = max(1, math.ceil((end_s - origin) / bucket_s))
    return HistoryGrid(origin=origin, bucket_s=bucket_s, count=count)


def history_source_for(grid: HistoryGrid) -> str:
    """The coarsest tier whose rows fit the grid's buckets: the fewest rows for the same figures
    (hours hold 1/60 of the minutes' rows, which hold 1/60 of the raw ones at 1 Hz). The grid's start
    must still be kept by that tier (history_plan coarsens the grid when it is not)."""
    for source in reversed(HistorySource.CHOICES):
        if grid.bucket_s % HistorySource.RESOLUTION_S[source] == 0:
            return source
    return HistorySource.READINGS


def _tier_keeps(source: str, *, start: datetime.datetime, now: datetime.datetime) -> bool:
    return start >= now - datetime.timedelta(days=HistorySource.retention_days(source))


def history_plan(
    *, start: datetime.datetime, end: datetime.datetime, points: int, now: datetime.datetime, source: str | None = None
) -> tuple[HistoryGrid, str]:
    """The grid and the tier a chart over [start, end) is aggregated from.

    By default the tier history_source_for picks; when that tier no longer holds the range's start
    (raw readings older than READINGS_RAW_RETENTION_DAYS are gone, minutes older than
    READINGS_MINUTES_RETENTION_DAYS), the next coarser one that does, with the grid coarsened to its
    resolution: fewer, wider buckets rather than a chart with its first part missing. A `source`
    asked for is used as it is, on a grid of at least its resolution.
    """
    if source is not None:
        grid = history_grid(start=start, end=end, points=points, min_bucket_s=HistorySource.RESOLUTION_S[source])
        return grid, source
    grid = history_grid(start=start, end=end, points=points)
    source = history_source_for(grid)
    tiers = HistorySource.CHOICES
    for coarser in tiers[tiers.index(source) :]:
        if _tier_keeps(coarser, start=start, now=now) or coarser == tiers[-1]:
            break
    if coarser != source:
        resolution = HistorySource.RESOLUTION_S[coarser]
        grid = history_grid(start=start, end=end, points=points, min_bucket_s=resolution)
    return grid, coarser


def hours_watermark() -> datetime.datetime | None:
    """Where the hour roll-up stands: every hour before it is in ReadingHour; None before its first run."""
    return RollupWatermark.objects.filter(tier=RollupWatermark.HOURS).values_list("rolled_up_to", flat=True).first()


class _BucketStart(Func):
    """The start (epoch seconds) of the grid's bucket that holds the expression's instant, in the database.

    PostgreSQL: date_bin, then date_part, which is double precision (extract() is numeric since
    PostgreSQL 14, several times slower per row). SQLite keeps datetimes as UTC text; whole seconds
    are enough there, since the origin and the width are whole seconds and so a fraction of a second
    never moves a reading across a bucket boundary. Integers out, so no datetime is parsed per bucket.
    """

    output_field = BigIntegerField()

    def __init__(self, expression, *, grid: HistoryGrid):
        self.origin, self.bucket_s = int(grid.origin), int(grid.bucket_s)
        super().__init__(expression)

    def as_postgresql(self, compiler, connection, **extra_context):
        binned = f"date_bin('{self.bucket_s} seconds'::interval, %(expressions)s, to_timestamp({self.origin}))"
        template = f"date_part('epoch', {binned})::bigint"
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        seconds = "CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"
        template = f"({self.origin} + ({seconds} - {self.origin}) / {self.bucket_s} * {self.bucket_s})"
        return self.as_sql(compiler, connection, template=template, **extra_context)


@dataclass(frozen=True)
class MetricHistory:
    """One metric's buckets, as columns (what chart libraries take): bucket starts in epoch seconds."""

    metric: str
    ts: list[int]
    avg: list[float]
    min: list[float]
    max: list[float]
    count: list[int]


@dataclass(frozen=True)
class ReadingHistory:
    grid: HistoryGrid
    source: str
    series: list[MetricHistory]


def reading_history(
    *,
    machine: Machine,
    metrics: Sequence[str],
    start: datetime.datetime,
    end: datetime.datetime,
    points: int = 600,
    source: str | None = None,
    now: datetime.datetime | None = None,
) -> ReadingHistory:
    """Average, minimum and maximum of each metric per bucket over [start, end), at most `points`
    buckets, aggregated in the database; buckets without readings are left out.

    The tier (`source`) and the grid are history_plan's, as of `now` (default: the present); every
    tier gives the same figures on the same grid.
    """
    grid, source = history_plan(start=start, end=end, points=points, now=now or timezone.now(), source=source)
    window_start = datetime.datetime.fromtimestamp(grid.origin, tz=datetime.UTC)
    window_stop = datetime.datetime.fromtimestamp(grid.stop, tz=datetime.UTC)
    if source == HistorySource.HOURS:
        rows = _hour_buckets(machine, metrics, grid, window_start, window_stop)
    elif source == HistorySource.MINUTES:
        rows = _minute_buckets(machine, metrics, grid, window_start, window_stop)
    else:
        rows = _reading_buckets(machine, metrics, grid, window_start, window_stop)
    series = {metric: MetricHistory(metric, [], [], [], [], []) for metric in metrics}
    for metric, bucket, avg, low, high, count in rows:
        history = series[metric]
        history.ts.append(bucket)
        history.avg.append(avg)
        history.min.append(low)
        history.max.append(high)
        history.count.append(count)
    return ReadingHistory(grid=grid, source=source, series=list(series.values()))


def _minute_buckets(machine, metrics, grid, window_start, window_stop):
    rows = (
        ReadingMinute.objects.filter(
            machine=machine, metric__in=list(metrics), minute__gte=window_start, minute__lt=window_stop
        )
        .annotate(bucket=_BucketStart("minute", grid=grid))
        .values("metric", "bucket")
        .annotate(n=Sum("count"), low=Min("minimum"), high=Max("maximum"), total=Sum("total"))
        .annotate(avg=F("total") / Cast(F("n"), FloatField()))
        .order_by("metric", "bucket")
        .values_list("metric", "bucket", "avg", "low", "high", "n")
    )
    return list(rows)


def _hour_buckets(machine, metrics, grid, window_start, window_stop):
    """The hour roll-ups up to the roll-up's watermark and the minutes from it on, in one query
    (UNION ALL, aggregated together): the hours not rolled up yet, the current one among them, are
    in the chart too. The minutes of rolled-up hours stay until their retention, so a roll-up that
    moves the watermark meanwhile changes nothing in the figures."""
    watermark = hours_watermark() or window_start
    watermark = min(max(watermark, window_start), window_stop)
    parts = (
        ReadingHour.objects.filter(
            machine=machine, metric__in=list(metrics), hour__gte=window_start, hour__lt=watermark
        ).annotate(bucket=_BucketStart("hour", grid=grid)),
        ReadingMinute.objects.filter(
            machine=machine, metric__in=list(metrics), minute__gte=watermark, minute__lt=window_stop
        ).annotate(bucket=_BucketStart("minute", grid=grid)),
    )
    sql, params = [], []
    for part in parts:
        # The same columns in the same order from both tables; no ORDER BY inside a UNION's member.
        part_sql, part_params = (
            part.order_by()
            .values_list("metric", "bucket", "count", "total", "minimum", "maximum")
            .query.sql_with_params()
        )
        sql.append(part_sql)
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT metric, bucket, sum(total) / sum(count), min(minimum), max(maximum), sum(count) "  # noqa: S608
            f"FROM ({' UNION ALL '.join(sql)}) AS tiers GROUP BY metric, bucket ORDER BY metric, bucket",
            params,
        )
        return cursor.fetchall()


def _reading_buckets(machine, metrics, grid, window_start, window_stop):
    """One scan of the machine's raw readings in the window, every metric aggregated in that scan.

    PostgreSQL: the rows of the open days and the blocks of the compacted ones, in one statement. A
    block's float4 is read as its shortest decimal (1480.123 for 1480.123046875), which is the value
    the reading was sent with whenever that had at most 6 significant digits, so the buckets of a
    day are the same before and after its compaction (the mean adds them up in time order, so
    that not even its last bit depends on where they are read from).
    """
    if connection.vendor == "postgresql":
        return _reading_and_block_buckets(machine, metrics, grid, window_start, window_stop)
    aggregates = {}
    for index, metric in enumerate(metrics):
        value = Cast(KT(f"metrics__{metric}"), FloatField())
        aggregates |= {
            f"avg{index}": Avg(value),
            f"low{index}": Min(value),
            f"high{index}": Max(value),
            f"n{index}": Count(value),
        }
    buckets = list(
        Reading.objects.filter(machine=machine, ts__gte=window_start, ts__lt=window_stop)
        .annotate(bucket=_BucketStart("ts", grid=grid))
        .values("bucket")
        .annotate(**aggregates)
        .order_by("bucket")
    )
    return [
        (metric, row["bucket"], row[f"avg{index}"], row[f"low{index}"], row[f"high{index}"], row[f"n{index}"])
        for index, metric in enumerate(metrics)
        for row in buckets
        if row[f"n{index}"]
    ]


def _reading_and_block_buckets(machine, metrics, grid, window_start, window_stop):
    bucket = (
        f"date_part('epoch', date_bin('{int(grid.bucket_s)} seconds'::interval, ts, to_timestamp({int(grid.origin)})))"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH wanted AS (
                SELECT metric, position FROM unnest(%(metrics)s::text[]) WITH ORDINALITY AS w(metric, position)
            ),
            readings AS (
                SELECT r.ts, wanted.position, (r.metrics ->> wanted.metric)::float8 AS value
                FROM {Reading._meta.db_table} AS r CROSS JOIN wanted
                WHERE r.machine_id = %(machine)s AND r.ts >= %(start)s AND r.ts < %(stop)s
                UNION ALL
                SELECT b.start + v.offset_us * interval '1 microsecond', wanted.position, v.value::text::float8
                FROM {ReadingBlock._meta.db_table} AS b CROSS JOIN wanted
                CROSS JOIN LATERAL (SELECT array_position(b.metrics, wanted.metric::varchar) AS j) AS m
                CROSS JOIN LATERAL unnest(b.offsets_us, b.metric_values[m.j:m.j][:]) AS v(offset_us, value)
                WHERE b.machine_id = %(machine)s AND b.start > %(start)s - interval '1 hour' AND b.start < %(stop)s
                  AND m.j IS NOT NULL
            )
            SELECT position, {bucket}::bigint AS bucket, avg(value ORDER BY ts), min(value), max(value), count(value)
            FROM readings WHERE ts >= %(start)s AND ts < %(stop)s
            GROUP BY 1, 2 HAVING count(value) > 0 ORDER BY 1, 2
            """,  # noqa: S608 - our names; the grid's numbers are integers
            {"metrics": list(metrics), "machine": machine.pk, "start": window_start, "stop": window_stop},
        )
        rows = cursor.fetchall()
    return [(metrics[position - 1], bucket, avg, low, high, count) for position, bucket, avg, low, high, count in rows]


def minute_summaries(*, machine: Machine, start: datetime.datetime, end: datetime.datetime) -> dict[str, list]:
    """Each metric's per-minute roll-ups in [start, end], oldest first: [minute (ISO 8601), mean,
    minimum, maximum] (a ticket keeps them as the evidence its alert was raised on)."""
    metrics: dict[str, list] = {}
    for metric, minute, count, total, low, high in (
        ReadingMinute.objects.filter(machine=machine, minute__gte=start, minute__lte=end)
        .order_by("metric", "minute")
        .values_list("metric", "minute", "count", "total", "minimum", "maximum")
    ):
        metrics.setdefault(metric, []).append([minute.isoformat(), round(total / count, 4), low, high])
    return metrics


def reading_error_code_times(
    *, spans: Sequence[tuple[Sequence[int], datetime.datetime]], end: datetime.datetime
) -> list[tuple[int, datetime.datetime]]:
    """(machine id, ts) of the readings that carried an error code, by machine then ts, for each
    (machine ids, start) span from its start to `end`, in one query.

    PostgreSQL: the rows of the days not compacted yet (through the partial index of the readings
    with a code) and the blocks of the compacted ones; most blocks carry no code at all (their
    error_codes is NULL) and are passed over without reading their arrays."""
    spans = [(list(ids), start) for ids, start in spans if len(ids)]
    if not spans:
        return []
    condition = Q()
    for ids, start in spans:
        condition |= Q(machine_id__in=ids, ts__gte=start)
    rows = Reading.objects.filter(condition, ts__lte=end).exclude(error_code="").values_list("machine_id", "ts")
    if connection.vendor != "postgresql":
        return list(rows.order_by("machine_id", "ts"))
    rows_sql, rows_params = rows.order_by().query.sql_with_params()
    conditions, params = [], []
    for machine_ids, start in spans:
        conditions.append("(b.machine_id = ANY (%s) AND b.start > %s - interval '1 hour' AND reading.ts >= %s)")
        params += [machine_ids, start, start]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            {rows_sql}
            UNION ALL
            SELECT b.machine_id, reading.ts
            FROM {ReadingBlock._meta.db_table} AS b
            CROSS JOIN LATERAL (
                SELECT b.start + e.offset_us * interval '1 microsecond' AS ts, e.code
                FROM unnest(b.offsets_us, b.error_codes) AS e(offset_us, code)
            ) AS reading
            WHERE b.error_codes IS NOT NULL AND b.start <= %s AND reading.code IS NOT NULL
              AND reading.ts <= %s AND ({" OR ".join(conditions)})
            ORDER BY 1, 2
            """,  # noqa: S608 - our names and Django's SQL
            [*rows_params, end, end, *params],
        )
        return cursor.fetchall()


class _BlockNewestTs(Func):
    """The instant of a block's last reading: its start plus its last offset."""

    output_field = DateTimeField()

    def __init__(self):
        super().__init__(F("start"), F("offsets_us"))

    def as_sql(self, compiler, connection, **extra_context):
        start, start_params = compiler.compile(self.source_expressions[0])
        offsets, offsets_params = compiler.compile(self.source_expressions[1])
        sql = f"({start} + {offsets}[cardinality({offsets})] * interval '1 microsecond')"
        return sql, [*start_params, *offsets_params, *offsets_params]


def machine_newest_reading_ts() -> Expression:
    """An expression for Machine querysets: the machine's newest reading's ts, or None. Its newest row
    through the (machine, ts) key; only for a machine that has none (silent since before the days
    not compacted yet, PostgreSQL), its newest block through the (machine, start) key."""
    newest_row = Subquery(Reading.objects.filter(machine=OuterRef("pk")).order_by("-ts").values("ts")[:1])
    if connection.vendor != "postgresql":
        return newest_row
    newest_block = Subquery(
        ReadingBlock.objects.filter(machine=OuterRef("pk")).order_by("-start").values(newest=_BlockNewestTs())[:1]
    )
    # COALESCE reads its second argument only when the first is NULL.
    return Coalesce(newest_row, newest_block)


def newest_reading_ts() -> datetime.datetime | None:
    """When the plant last reported anything: each machine's newest reading through the (machine, ts)
    key, then the latest of those, so it costs one index probe per machine, not a scan of the readings."""
    newest = Machine.objects.annotate(newest=machine_newest_reading_ts()).aggregate(latest=Max("newest"))
    return newest["latest"]


# --- payload sources ------------------------------------------------------------------------------


def payload_source_decoders() -> list[MappedSource]:
    """The enabled payload sources as decoders, by name: what the listener serves beside the contract
    (its `sources=`). A source whose settings were saved around their validation is left out with a
    log line rather than stopping the others."""
    decoders = []
    for source in PayloadSource.objects.filter(enabled=True).order_by("name"):
        try:
            decoders.append(MappedSource.from_source(source))
        except ValueError as exc:
            logger.warning("%s; not listening to it", exc)
    return decoders


@dataclass(frozen=True)
class SampleReading:
    machine_code: str
    ts: datetime.datetime
    metrics: dict[str, float]


@dataclass(frozen=True)
class SamplePreview:
    """What decoding a source's sample message would store, and what it would keep aside and why."""

    readings: list[SampleReading]
    rejections: list[str]
    # Settings that decode but may not store what the supervisor means (units, unknown metrics).
    warnings: list[str]


def payload_source_preview(source: PayloadSource, *, now: datetime.datetime) -> SamplePreview:
    """Decode the source's sample payload on its sample topic, then look its machines and metrics up
    as the listener would (MachineDirectory.rows_from): reads only, writes nothing."""
    try:
        decoder = MappedSource.from_source(source)
    except ValueError as exc:
        return SamplePreview([], [], [str(exc)])
    warnings = _mapping_unit_warnings(decoder)
    if not source.sample_payload:
        return SamplePreview([], [], [*warnings, "no sample payload to decode"])
    topic = source.sample_topic
    if not topic:
        return SamplePreview([], [], [*warnings, "give the sample topic the sample payload came on"])
    if not any(topic_matches_sub(topic_filter, topic) for topic_filter in decoder.topic_filters()):
        warnings.append(f"the sample topic {topic!r} does not match the filter {source.topic_filter!r}")
    items = decoder.decode(topic, source.sample_payload.encode(), now=now)
    decoded = [item for item in items if isinstance(item, DecodedReading)]
    rejections = [item.reason for item in items if isinstance(item, Rejection)]
    rows, kept_aside = MachineDirectory().rows_from(decoded) if decoded else ([], [])
    return SamplePreview(
        readings=[SampleReading(row.machine_code, row.ts, row.metrics) for row in rows],
        rejections=rejections + [rejection.reason for rejection in kept_aside],
        warnings=warnings,
    )


def _mapping_unit_warnings(decoder: MappedSource) -> list[str]:
    """Mapped metrics that no machine type reports, and conversions into another unit than the one
    the machine types report the metric in (compared as telemetry.units.unit_key does)."""
    mappings = decoder.spec.field_mappings.values()
    units: dict[str, set[str]] = {}
    for name, unit in MetricSpec.objects.filter(name__in={m.metric for m in mappings}).values_list("name", "unit"):
        units.setdefault(name, set()).add(unit)
    warnings = []
    for mapping in mappings:
        known = units.get(mapping.metric)
        if not known:
            warnings.append(f"no machine type reports metric {mapping.metric!r} (field {mapping.field!r})")
        elif mapping.to_unit and any(unit_key(unit) != unit_key(mapping.to_unit) for unit in known):
            warnings.append(
                f"field {mapping.field!r} is converted to {mapping.to_unit}, but machine types report "
                f"{mapping.metric} in {', '.join(sorted(known))}"
            )
    return warnings


@dataclass(frozen=True)
class TimePartition:
    """One partition of a table partitioned by time (PostgreSQL: the readings, their roll-ups) and the
    range it holds: [start, end), None where the range is open (the partition the migration attached
    starts at the beginning of time). The default partition holds whatever no other does, and has neither."""

    table: str
    start: datetime.datetime | None
    end: datetime.datetime | None
    is_default: bool = False

    def overlaps(self, start: datetime.datetime, end: datetime.datetime) -> bool:
        if self.is_default:
            return False
        return (self.start is None or self.start < end) and (self.end is None or start < self.end)


_RANGE_BOUND = re.compile(r"^FOR VALUES FROM \((?P<start>[^)]*)\) TO \((?P<end>[^)]*)\)$")


def _range_bound(text: str) -> datetime.datetime | None:
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    # Shown as a quoted literal in the session's zone, which Django sets to UTC.
    return datetime.datetime.fromisoformat(text.strip("'"))


def time_partitions(model: type[Reading | ReadingMinute | ReadingHour] = Reading) -> list[TimePartition]:
    """The partitions of the model's table, oldest first, the default one last; [] on SQLite (no partitions)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname, pg_get_expr(child.relpartbound, child.oid) FROM pg_inherits "
            "JOIN pg_class AS child ON child.oid = pg_inherits.inhrelid WHERE pg_inherits.inhparent = %s::regclass",
            [model._meta.db_table],
        )
        rows = cursor.fetchall()
    partitions = []
    for table, bound in rows:
        if bound == "DEFAULT":
            partitions.append(TimePartition(table, None, None, is_default=True))
            continue
        match = _RANGE_BOUND.match(bound)
        if match is None:
            raise ValueError(f"unexpected bound of the partition {table}: {bound}")
        partitions.append(TimePartition(table, _range_bound(match["start"]), _range_bound(match["end"])))
    oldest = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    return sorted(partitions, key=lambda p: (p.is_default, p.start or oldest))


def default_partition_holds(
    model: type[Reading | ReadingMinute | ReadingHour], column: str, start: datetime.datetime, end: datetime.datetime
) -> bool:
    """Whether the default partition of the model's table holds rows whose `column` is in [start, end)."""
    default = next((p.table for p in time_partitions(model) if p.is_default), None)
    if default is None:
        return False
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {quote(default)} WHERE {quote(column)} >= %s AND {quote(column)} < %s)",  # noqa: S608
            [start, end],
        )
        return cursor.fetchone()[0]


def reading_partition_count(partition: TimePartition) -> int:
    """How many readings the partition holds."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(partition.table)}")  # noqa: S608 - a partition's name
        return cursor.fetchone()[0]


def listener_slots_to_drain(*, group: str, quiet_before: datetime.datetime) -> list[int]:
    """The group's slots whose holder has given no sign of life since `quiet_before` and that no
    listener drained since it was last taken (telemetry.slots)."""
    return list(
        ListenerSlot.objects.filter(group=group, seen_at__lt=quiet_before)
        .filter(Q(drained_at__isnull=True) | Q(drained_at__lt=F("claimed_at")))
        .order_by("slot")
        .values_list("slot", flat=True)
    )
