"""The daily partitions of the readings and their per-minute roll-ups, and the monthly partitions of
the per-hour roll-ups, on PostgreSQL, created ahead by django-postgres-extra's manager.

One partition per UTC day and table (telemetry_reading_2026_dec_06 holds [2026-12-06 00:00,
2026-12-07 00:00) UTC, whatever the plant's TIME_ZONE: the database session runs in UTC;
telemetry_readingminute_2026_dec_06 the roll-ups of those minutes), today and the next
READINGS_PARTITIONS_AHEAD_DAYS days. The hour roll-ups: one partition per UTC month
(telemetry_readinghour_2026_dec), this month's and those the days ahead reach into. The listener
creates them at start-up and every hour; operators can run `manage.py pgpartition --yes` (the
library's command, reading `manager` below).

The manager creates and never deletes here: the readings' retention is prune_readings'
(telemetry.services.readings_prune), the roll-ups' is telemetry.services.rollups_prune; both also
cover the partition the migration attached (everything before partitioning) and the default
partition. Only imported on PostgreSQL: the library cannot load without its back-end.
"""

import datetime
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psqlextra.partitioning import (
    PostgresCurrentTimePartitioningStrategy,
    PostgresPartitioningConfig,
    PostgresPartitioningManager,
    PostgresTimePartition,
    PostgresTimePartitionSize,
)
from psqlextra.partitioning.time_partition_size import PostgresTimePartitionUnit

from telemetry.models import Reading, ReadingHour, ReadingMinute
from telemetry.selectors import TimePartition, default_partition_holds, time_partitions

logger = logging.getLogger(__name__)


class PartitionsAhead(PostgresCurrentTimePartitioningStrategy):
    """The current partition of the model's table and those up to READINGS_PARTITIONS_AHEAD_DAYS days
    ahead, each `size` long (a day, a month), less the ranges that a partition already covers (the one
    the migration attached holds up to the day after it ran)."""

    def __init__(self, model: type[Reading | ReadingMinute | ReadingHour], size: PostgresTimePartitionSize):
        super().__init__(size=size, count=0)
        self.model = model

    def _count_for(self, days_ahead: int) -> int:
        """How many partitions, the current one included, reach `days_ahead` days from now."""
        if self.size.unit == PostgresTimePartitionUnit.DAYS:
            return days_ahead // self.size.value + 1
        # Months: the current one to the one the last day ahead falls in.
        now = timezone.now().astimezone(datetime.UTC)
        last = now + datetime.timedelta(days=days_ahead)
        return ((last.year - now.year) * 12 + last.month - now.month) // self.size.value + 1

    def get_start_datetime(self) -> datetime.datetime:
        # From midnight (UTC): the library's month start keeps the hour of the moment it is given
        # (PostgresTimePartitionSize.start), which would make a month's partition begin at 13:00.
        return timezone.now().astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def to_create(self) -> Iterator[PostgresTimePartition]:
        # The setting is read on each run, not once at import, so that it can change under a test.
        self.count = self._count_for(settings.READINGS_PARTITIONS_AHEAD_DAYS)
        existing = time_partitions(self.model)
        for partition in super().to_create():
            if self.creatable(partition, existing):
                yield partition

    def creatable(self, partition: PostgresTimePartition, existing: list[TimePartition]) -> bool:
        """Whether the partition can be created: no other covers any of its range, and the default
        partition holds none of its rows."""
        start = partition.start_datetime.replace(tzinfo=datetime.UTC)
        end = partition.end_datetime.replace(tzinfo=datetime.UTC)
        if any(other.overlaps(start, end) for other in existing):
            return False
        [column] = self.model._partitioning_meta.key
        if default_partition_holds(self.model, column, start, end):
            # Rows of that range are in the default partition already (the upkeep stopped for
            # longer than the days ahead): PostgreSQL refuses a partition that would leave them
            # there, and moving them would be a copy. They stay in the default partition, which
            # the prunes empty row by row once they are old enough.
            logger.warning(
                "%s of %s are in the default partition already; that range gets no partition of its own",
                self.model._meta.db_table,
                start.date(),
            )
            return False
        return True


class DaysAhead(PartitionsAhead):
    """One partition a UTC day: the readings and their per-minute roll-ups."""

    def __init__(self, model: type[Reading | ReadingMinute]):
        super().__init__(model, PostgresTimePartitionSize(days=1))


class MonthsAhead(PartitionsAhead):
    """One partition a UTC month: the per-hour roll-ups, kept for years (12 partitions a year)."""

    def __init__(self, model: type[ReadingHour]):
        super().__init__(model, PostgresTimePartitionSize(months=1))


manager = PostgresPartitioningManager(
    [
        PostgresPartitioningConfig(model=Reading, strategy=DaysAhead(Reading)),
        PostgresPartitioningConfig(model=ReadingMinute, strategy=DaysAhead(ReadingMinute)),
        PostgresPartitioningConfig(model=ReadingHour, strategy=MonthsAhead(ReadingHour)),
    ]
)


def reading_partitions_create_ahead() -> list[str]:
    """Create the readings' and roll-ups' partitions missing from now to READINGS_PARTITIONS_AHEAD_DAYS
    ahead (days for the readings and minutes, months for the hours), each table's in one transaction;
    the names of those created."""
    plan = manager.plan(skip_delete=True, using=connection.alias)
    plan.apply(using=connection.alias)
    created = [
        f"{model_plan.config.model._meta.db_table}_{partition.name()}"
        for model_plan in plan.model_plans
        for partition in model_plan.creations
    ]
    if created:
        logger.info("created the partitions %s", ", ".join(created))
    return created


_hour_partitions = MonthsAhead(ReadingHour)


def hour_partitions_create(*, start: datetime.datetime, end: datetime.datetime) -> list[str]:
    """Create the hour roll-ups' monthly partitions missing over [start, end), past months included
    (a first roll-up over the minutes kept from before), in one transaction; the names of those created."""
    existing = time_partitions(ReadingHour)
    month = start.astimezone(datetime.UTC).replace(tzinfo=None, day=1, hour=0, minute=0, second=0, microsecond=0)
    end = end.astimezone(datetime.UTC).replace(tzinfo=None)
    created = []
    with transaction.atomic(), connection.schema_editor() as schema_editor:
        while month < end:
            partition = PostgresTimePartition(size=_hour_partitions.size, start_datetime=month)
            if _hour_partitions.creatable(partition, existing):
                partition.create(ReadingHour, schema_editor)
                created.append(f"{ReadingHour._meta.db_table}_{partition.name()}")
            month = partition.end_datetime
    if created:
        logger.info("created the partitions %s", ", ".join(created))
    return created
