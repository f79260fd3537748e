import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from psqlextra.types import PostgresPartitioningMethod

from telemetry.mapping_rules import MAX_PATH_LENGTH, SourceSpec, TimeFormat, filters_overlap, source_spec_build

# Machine codes and metric names end up in MQTT topics and JSON keys: no '/', '+', '#' or spaces.
machine_code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    "Use letters, digits, '-', '_' or '.', starting with a letter or digit (e.g. M-001).",
)
metric_name_validator = RegexValidator(
    r"^[a-z][a-z0-9_]*$", "Use lower-case letters, digits and '_', starting with a letter."
)


class MachineType(models.Model):
    """A kind of machine (pump, motor, compressor) and the metrics its sensors report."""

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class MetricSpec(models.Model):
    """One metric a machine type reports, its unit, and the ranges a reading is judged by.

    Inside the normal range all is well; between normal and alarm limits the machine is degraded;
    past an alarm limit the reading alarms. Any limit may be left open.
    """

    machine_type = models.ForeignKey(MachineType, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(max_length=40, validators=[metric_name_validator])
    unit = models.CharField(max_length=16, help_text="e.g. mm/s RMS, °C, A, bar")
    normal_min = models.FloatField(null=True, blank=True)
    normal_max = models.FloatField(null=True, blank=True)
    alarm_min = models.FloatField(null=True, blank=True)
    alarm_max = models.FloatField(null=True, blank=True)
    physical_min = models.FloatField(
        null=True,
        blank=True,
        help_text="The lowest value the sensor can read at all (0 for an RMS, a current, a speed). "
        "A value outside the physical range is a sensor fault: kept aside, never stored as a reading.",
    )
    physical_max = models.FloatField(
        null=True, blank=True, help_text="The highest value the sensor can read at all (its full scale)."
    )

    class Meta:
        ordering = ["machine_type", "name"]
        constraints = [
            models.UniqueConstraint(fields=["machine_type", "name"], name="metricspec_unique_name_per_type"),
            models.CheckConstraint(
                condition=Q(normal_min__isnull=True) | Q(normal_max__isnull=True) | Q(normal_min__lte=F("normal_max")),
                name="metricspec_normal_range_ordered",
                violation_error_message="The normal minimum must not exceed the normal maximum.",
            ),
            models.CheckConstraint(
                condition=Q(alarm_min__isnull=True) | Q(normal_min__isnull=True) | Q(alarm_min__lte=F("normal_min")),
                name="metricspec_alarm_min_below_normal",
                violation_error_message="The alarm minimum must not be above the normal minimum.",
            ),
            models.CheckConstraint(
                condition=Q(alarm_max__isnull=True) | Q(normal_max__isnull=True) | Q(alarm_max__gte=F("normal_max")),
                name="metricspec_alarm_max_above_normal",
                violation_error_message="The alarm maximum must not be below the normal maximum.",
            ),
            # The physical range holds every limit: a limit the sensor cannot read would never be met.
            models.CheckConstraint(
                condition=Q(physical_min__isnull=True)
                | (
                    (Q(physical_max__isnull=True) | Q(physical_min__lte=F("physical_max")))
                    & (Q(normal_min__isnull=True) | Q(physical_min__lte=F("normal_min")))
                    & (Q(normal_max__isnull=True) | Q(physical_min__lte=F("normal_max")))
                    & (Q(alarm_min__isnull=True) | Q(physical_min__lte=F("alarm_min")))
                ),
                name="metricspec_physical_min_below_limits",
                violation_error_message="The physical minimum must be at or below every other limit.",
            ),
            models.CheckConstraint(
                condition=Q(physical_max__isnull=True)
                | (
                    (Q(normal_max__isnull=True) | Q(physical_max__gte=F("normal_max")))
                    & (Q(normal_min__isnull=True) | Q(physical_max__gte=F("normal_min")))
                    & (Q(alarm_max__isnull=True) | Q(physical_max__gte=F("alarm_max")))
                ),
                name="metricspec_physical_max_above_limits",
                violation_error_message="The physical maximum must be at or above every other limit.",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.unit})"


class MachineStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"
    MAINTENANCE = "maintenance", "Under maintenance"


class Machine(models.Model):
    Status = MachineStatus

    code = models.CharField(
        max_length=32, unique=True, validators=[machine_code_validator], help_text="Used in the MQTT topic."
    )
    name = models.CharField(max_length=120)
    machine_type = models.ForeignKey(MachineType, on_delete=models.PROTECT, related_name="machines")
    line = models.CharField(max_length=60, blank=True, help_text="Production line, e.g. Line 2")
    location = models.CharField(max_length=120, blank=True, help_text="Hall, bay or position")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    status_changed_at = models.DateTimeField(default=timezone.now)
    installed_at = models.DateField(null=True, blank=True)
    # Set when the machine's gateway says its link is down (a Sparkplug B death), cleared when it is
    # back: the predictor warns about the machine at once instead of waiting for its readings to age.
    offline_since = models.DateTimeField(null=True, blank=True)
    offline_reason = models.CharField(max_length=200, blank=True, db_default="")

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["line", "code"], name="machine_line_code_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=MachineStatus.values), name="machine_status_valid"),
            models.CheckConstraint(
                condition=~Q(code="")
                & ~Q(code__contains="/")
                & ~Q(code__contains="+")
                & ~Q(code__contains="#")
                & ~Q(code__contains=" "),
                name="machine_code_topic_safe",
                violation_error_message="A machine code cannot be empty or contain '/', '+', '#' or spaces.",
            ),
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"

    @property
    def topic(self) -> str:
        return f"plant/{self.code}/telemetry"


if settings.DATABASES["default"]["ENGINE"] == "psqlextra.backend":
    from psqlextra.models import PostgresPartitionedModel as PartitionedByTime
else:
    # django-postgres-extra's models cannot even be imported without its back-end (their default
    # manager refuses), and SQLite (the demo) has no partitions: plain models there.
    PartitionedByTime = models.Model


class Reading(PartitionedByTime):
    """One sensor message of one machine: every metric it carried, at one instant.

    Storage: one wide row per message, metrics in a JSON object, keyed by (machine, ts).
    - Ingest: a message is one row, so a batch of N messages is N rows in one COPY; a row per metric
      would multiply rows, index entries and WAL by the number of metrics.
    - Duplicates: the contract's rule "same machine and ts changes nothing" is exactly the key, so
      `ON CONFLICT DO NOTHING` makes redelivery idempotent.
    - Types differ in their metrics (a compressor reports pressure, a motor current): JSON holds
      any type's set without a column per metric or a migration per new sensor.
    - Charts: the key (machine, ts) is also the index for "one machine over a time range". Charts
      over days read per-minute roll-ups (count/sum/min/max per machine, metric and minute), kept
      current by the ingest batch, so they never aggregate millions of raw rows; raw rows serve
      short ranges and the predictor's recent window.
    The key is the primary key itself (no surrogate id): one index to maintain instead of two.

    On PostgreSQL the table is partitioned by range of ts, one partition a day (telemetry.partitions):
    retention drops a whole day instead of deleting its rows one by one. SQLite keeps one plain table.
    """

    pk = models.CompositePrimaryKey("machine_id", "ts")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="readings", db_index=False)
    ts = models.DateTimeField()
    metrics = models.JSONField(help_text='e.g. {"vibration": 2.1, "temperature": 61.5}')
    error_code = models.CharField(max_length=32, blank=True, help_text="Reported by the machine itself")

    # The plain manager on either back-end: django-postgres-extra's adds nothing the readings use.
    objects = models.Manager()

    class Meta:
        ordering = ["machine", "ts"]
        # The few readings that carry an error code, by machine and time: the predictor asks for a
        # day of them every tick, which the key alone would answer by reading the whole day.
        indexes = [models.Index(fields=["machine", "ts"], condition=~Q(error_code=""), name="reading_error_code_idx")]

    class PartitioningMeta:
        method = PostgresPartitioningMethod.RANGE
        key = ["ts"]

    def __str__(self):
        return f"{self.machine_id} @ {self.ts:%Y-%m-%d %H:%M:%S}"


class Float4Field(models.FloatField):
    """A float stored in 4 bytes (PostgreSQL's real): about 7 significant digits, what sensors give."""

    def db_type(self, connection):
        return "real" if connection.vendor == "postgresql" else super().db_type(connection)


class BlockArrayField(ArrayField):
    """A PostgreSQL array. SQLite has no arrays and never compacts readings: a text column there, so
    that the table exists on both back-ends with one migration."""

    def db_type(self, connection):
        return super().db_type(connection) if connection.vendor == "postgresql" else "text"


class ReadingBlock(PartitionedByTime):
    """The readings of one machine over one hour of a closed day, compacted into one row (PostgreSQL).

    A row per reading costs some 60 bytes before its data (tuple header, item pointer, key entry);
    a block pays that once for up to 3,600 readings, and PostgreSQL compresses its arrays (pglz)
    because they are larger than a page's share. Measured (bench/storage.py): about 13 bytes per
    4-metric reading, key included, against 210 for the jsonb rows.

    - `offsets_us[i]`: reading i's instant in microseconds after `start`, ascending: the exact ts.
    - `metrics`: the metric names the block's readings carried, sorted.
    - `metric_values[m][i]`: metric m of reading i as float4 (NULL where reading i lacked it): one
      metric's values lie together, which compresses better and is what a chart of one metric reads.
    - `error_codes[i]`: reading i's error code, NULL where none; the column is NULL when no reading
      of the block carried one (most blocks).

    Written only by telemetry.services.readings_compact from a closed day's readings; the day's
    partition of the readings is dropped in the same transaction, so a reading is in one or the
    other. Partitioned by day like the readings (partitions created by the compaction as needed).
    """

    SPAN = datetime.timedelta(hours=1)

    pk = models.CompositePrimaryKey("machine_id", "start")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="+", db_index=False)
    start = models.DateTimeField(help_text="Start of the hour (UTC) the block covers")
    metrics = BlockArrayField(models.CharField(max_length=40))
    offsets_us = BlockArrayField(models.BigIntegerField())
    metric_values = BlockArrayField(BlockArrayField(Float4Field(null=True)))
    error_codes = BlockArrayField(models.CharField(max_length=32, null=True), null=True)

    objects = models.Manager()

    class Meta:
        ordering = ["machine", "start"]

    class PartitioningMeta:
        method = PostgresPartitioningMethod.RANGE
        key = ["start"]

    def __str__(self):
        return f"{self.machine_id} @ {self.start:%Y-%m-%d %H:%M} ({len(self.offsets_us)} readings)"


class RejectionKind(models.TextChoices):
    PAYLOAD = "payload", "Not a reading (shape, time or value)"
    MACHINE = "machine", "Unknown machine"
    METRIC = "metric", "Metrics the machine type does not report"
    RANGE = "range", "Values outside the sensor's physical range"
    DATABASE = "database", "Refused by the database"
    SEQUENCE = "sequence", "Messages lost in between (sequence gap)"


class RejectedMessage(models.Model):
    """An MQTT message (or the part of one) that could not be stored, kept with the reason so nothing
    is lost silently."""

    Kind = RejectionKind
    PAYLOAD_LIMIT = 64 * 1024

    topic = models.CharField(max_length=255)
    machine_code = models.CharField(max_length=64, blank=True, help_text="From the topic, when it has one")
    payload = models.BinaryField(help_text=f"The raw bytes, cut at {PAYLOAD_LIMIT // 1024} KiB")
    payload_size = models.PositiveIntegerField(help_text="Size of the original payload in bytes")
    reason = models.CharField(max_length=500)
    kind = models.CharField(max_length=10, choices=RejectionKind.choices, db_default=RejectionKind.PAYLOAD)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["-received_at"], name="rejected_received_idx"),
            models.Index(fields=["machine_code", "-received_at"], name="rejected_machine_idx"),
            # The predictor asks every tick which machines sent physically impossible values lately.
            models.Index(fields=["received_at"], condition=Q(kind="range"), name="rejected_range_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RejectionKind.values), name="rejectedmessage_kind_valid")
        ]

    def __str__(self):
        return f"{self.topic}: {self.reason}"

    @property
    def payload_preview(self) -> str:
        """The payload as text for people; bytes that are not UTF-8 show as replacement characters."""
        return bytes(self.payload).decode("utf-8", errors="replace")


class MetricAggregate(models.Model):
    """What the per-minute and per-hour roll-ups keep of one metric over their span: the sum, not the
    mean, so that a late reading can be added in (the mean is total / count)."""

    count = models.PositiveIntegerField()
    total = models.FloatField()
    minimum = models.FloatField()
    maximum = models.FloatField()

    class Meta:
        abstract = True

    @property
    def mean(self) -> float:
        return self.total / self.count


class ReadingMinute(MetricAggregate, PartitionedByTime):
    """Per-minute aggregates of one metric of one machine: what charts over days and the predictor's
    windows read, instead of millions of raw rows.

    Kept current by the ingest batch itself (telemetry.services.readings_ingest), from the readings
    it actually inserted, so a redelivered duplicate is never counted twice. The mean is
    total / count; the sum, not the mean, is stored so that a late reading can be added in.

    On PostgreSQL partitioned by range of minute, one partition a (UTC) day, like the readings.
    """

    pk = models.CompositePrimaryKey("machine_id", "metric", "minute")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="+", db_index=False)
    metric = models.CharField(max_length=40)
    minute = models.DateTimeField(help_text="Start of the minute (UTC)")

    # The plain manager on either back-end, as for the readings.
    objects = models.Manager()

    class Meta:
        ordering = ["machine", "metric", "minute"]
        # The primary key (machine, metric, minute) serves "one metric of one machine over a range";
        # this one serves "every metric of these machines since t" (the predictor's windows).
        indexes = [models.Index(fields=["machine", "minute"], name="readingminute_machine_minute")]

    class PartitioningMeta:
        method = PostgresPartitioningMethod.RANGE
        key = ["minute"]

    def __str__(self):
        return f"{self.machine_id} {self.metric} {self.minute:%Y-%m-%d %H:%M}"


class ReadingHour(MetricAggregate, PartitionedByTime):
    """Per-hour aggregates of one metric of one machine, rolled up from the per-minute ones: what
    charts over months and years read, kept for years after the minutes are gone.

    Written only by the hour roll-up (telemetry.services.hours_rollup), which aggregates closed hours
    of ReadingMinute in the database and replaces an hour's row when it runs again, so re-running it
    changes nothing. Same shape as ReadingMinute; the mean is total / count.

    On PostgreSQL partitioned by range of hour, one partition a (UTC) month: a year is 12 of them.
    """

    pk = models.CompositePrimaryKey("machine_id", "metric", "hour")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="+", db_index=False)
    metric = models.CharField(max_length=40)
    hour = models.DateTimeField(help_text="Start of the hour (UTC)")

    # The plain manager on either back-end, as for the readings.
    objects = models.Manager()

    class Meta:
        ordering = ["machine", "metric", "hour"]

    class PartitioningMeta:
        method = PostgresPartitioningMethod.RANGE
        key = ["hour"]

    def __str__(self):
        return f"{self.machine_id} {self.metric} {self.hour:%Y-%m-%d %H:00}"


class RollupWatermark(models.Model):
    """How far a roll-up tier is complete: every hour before `rolled_up_to` is in ReadingHour (the
    hours from it on are read from the minutes). One row per tier; only the roll-up moves it, forward."""

    HOURS = "hours"

    tier = models.CharField(max_length=16, primary_key=True)
    rolled_up_to = models.DateTimeField()

    def __str__(self):
        return f"{self.tier} rolled up to {self.rolled_up_to:%Y-%m-%d %H:%M}"


class ListenerSlot(models.Model):
    """A client id of the listeners of a shared group (`maintainx-listener-<group>-<slot>`): held by one
    listener at a time under a PostgreSQL advisory lock (telemetry.slots). A listener that stops keeps
    its broker session and its turn in the group, so the one that takes the slot next resumes it with
    what was queued meanwhile; a slot nobody has held for a while is drained by the listeners left."""

    group = models.CharField(max_length=64)
    slot = models.PositiveSmallIntegerField()
    client_id = models.CharField(max_length=64)
    claimed_at = models.DateTimeField(help_text="When a listener last took it")
    seen_at = models.DateTimeField(help_text="The holder's last sign of life")
    released_at = models.DateTimeField(null=True, blank=True, help_text="When its holder stopped cleanly")
    drained_at = models.DateTimeField(
        null=True, blank=True, help_text="When another listener last stored its session's share and left the group"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "slot"], name="listenerslot_one_per_group_slot")]

    def __str__(self):
        return self.client_id


class ReadingHourStale(models.Model):
    """An hour of a machine that got readings after the hour roll-up may have passed it: the next
    roll-up computes that hour again from its minutes. Written by the ingest batch only when it
    carries such late readings."""

    pk = models.CompositePrimaryKey("machine_id", "hour")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField(help_text="Start of the hour (UTC)")

    def __str__(self):
        return f"{self.machine_id} {self.hour:%Y-%m-%d %H:00} to roll up again"


class PayloadSource(models.Model):
    """Another gateway's payload shape (Telegraf, ThingsBoard, a flat JSON object) mapped onto readings.

    The listener reads the enabled sources again every few seconds, subscribes to their topic filters
    and decodes their messages with telemetry.mappings.MappedSource. The grammar of paths and field
    mappings is in telemetry.mapping_rules; the unit conversions are in telemetry.units.
    """

    TimeFormat = TimeFormat

    name = models.CharField(max_length=80, unique=True)
    enabled = models.BooleanField(default=True)
    topic_filter = models.CharField(
        max_length=255,
        help_text="The MQTT filter the gateway publishes on, with + and # (e.g. telegraf/#). "
        "Not plant/+/telemetry nor spBv1.0/…, which MaintainX decodes itself; the listener adds $share itself.",
    )
    machine_topic_level = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Take the machine code from this level of the topic, counting from 0 "
        "(1 in thingsboard/M-001/telemetry). Either this or the machine path.",
    )
    machine_path = models.CharField(
        max_length=MAX_PATH_LENGTH,
        blank=True,
        help_text="Or take it from this path in the document, keys joined by dots (e.g. tags.host).",
    )
    ts_path = models.CharField(
        "time path", max_length=MAX_PATH_LENGTH, default="ts", help_text="Where the reading's time is (e.g. timestamp)."
    )
    ts_format = models.CharField("time format", max_length=10, choices=TimeFormat.CHOICES, default=TimeFormat.AUTO)
    metrics_path = models.CharField(
        max_length=MAX_PATH_LENGTH,
        blank=True,
        help_text="The object whose members are the metrics (e.g. fields, values). "
        "Empty: the document's own members, less the ones holding the time and the machine code.",
    )
    readings_path = models.CharField(
        max_length=MAX_PATH_LENGTH,
        blank=True,
        help_text="For documents holding an array of readings: where the array is. Paths are then looked up in "
        "each reading first, then in the document around it. A document that is itself an array is read "
        "as one reading per element without this.",
    )
    field_mappings = models.JSONField(
        default=dict,
        blank=True,
        help_text='Gateway field → metric: {"temp": "temperature", '
        '"vib_ips": {"metric": "vibration", "from_unit": "in/s", "to_unit": "mm/s"}}. '
        "Units: in/s→mm/s, mil→µm, g→m/s², °F→°C, K→°C, psi→bar, kPa→bar.",
    )
    only_mapped_fields = models.BooleanField(
        default=False,
        help_text="Store only the fields named in the mappings and ignore the others "
        "(otherwise the others are stored under their own names).",
    )
    sample_topic = models.CharField(
        max_length=255, blank=True, help_text="A topic the gateway publishes on, for the preview below."
    )
    sample_payload = models.TextField(blank=True, help_text="A message the gateway sends, for the preview below.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(machine_topic_level__isnull=False) & Q(machine_path=""))
                | (Q(machine_topic_level__isnull=True) & ~Q(machine_path="")),
                name="payloadsource_one_machine_code_origin",
                violation_error_message="Take the machine code either from a topic level or from a path, not both.",
            ),
            models.CheckConstraint(
                condition=~Q(ts_path=""),
                name="payloadsource_ts_path_given",
                violation_error_message="A reading needs a time: give the time path.",
            ),
            models.CheckConstraint(
                condition=Q(ts_format__in=TimeFormat.VALUES),
                name="payloadsource_ts_format_valid",
                violation_error_message="Unknown time format.",
            ),
            # What the database can see of topic_filter_problem: the literal prefixes. Wildcards that
            # overlap the reserved topics (#, +/+/telemetry) are caught by clean().
            models.CheckConstraint(
                condition=~Q(topic_filter="")
                & ~Q(topic_filter__startswith="$")
                & ~Q(topic_filter__startswith="plant/")
                & ~Q(topic_filter__startswith="spBv1.0/")
                & ~Q(topic_filter="plant")
                & ~Q(topic_filter="spBv1.0"),
                name="payloadsource_topic_filter_not_reserved",
                violation_error_message="The topic filter cannot be empty, start with $, "
                "or lie under plant/ or spBv1.0/ (MaintainX decodes those itself).",
            ),
        ]

    def __str__(self):
        return self.name

    def spec_build(self) -> tuple[SourceSpec | None, dict[str, list[str]]]:
        return source_spec_build(
            name=self.name,
            topic_filter=self.topic_filter,
            machine_topic_level=self.machine_topic_level,
            machine_path=self.machine_path,
            ts_path=self.ts_path,
            ts_format=self.ts_format,
            metrics_path=self.metrics_path,
            readings_path=self.readings_path,
            field_mappings=self.field_mappings,
            only_mapped_fields=self.only_mapped_fields,
        )

    def clean(self):
        _, problems = self.spec_build()
        if self.enabled and "topic_filter" not in problems:
            # Two enabled sources on one topic would leave the listener to pick one by name order.
            for other in PayloadSource.objects.filter(enabled=True).exclude(pk=self.pk).only("name", "topic_filter"):
                if filters_overlap(self.topic_filter, other.topic_filter):
                    problems.setdefault("topic_filter", []).append(
                        f"it overlaps the filter {other.topic_filter} of the enabled source {other.name!r}"
                    )
        if problems:
            raise ValidationError(problems)
