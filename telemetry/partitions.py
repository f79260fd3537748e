"""The daily partitions of the readings and their per-minute roll-ups on PostgreSQL, created ahead by
django-postgres-extra's manager.

One partition per UTC day and table (telemetry_reading_2026_dec_06 holds [2026-12-06 00:00,
2026-12-07 00:00) UTC, whatever the plant's TIME_ZONE: the database session runs in UTC;
telemetry_readingminute_2026_dec_06 the roll-ups of those minutes), today and the next
READINGS_PARTITIONS_AHEAD_DAYS days. The listener creates them at start-up and every hour; operators
can run `manage.py pgpartition --yes` (the library's command, reading `manager` below).

The manager creates and never deletes here: the readings' retention is prune_readings'
(telemetry.services.readings_prune), which also covers the partition the migration attached
(everything before partitioning) and the default partition; the roll-ups are kept. Only imported
on PostgreSQL: the library cannot load without its back-end.
"""

import datetime
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from psqlextra.partitioning import (
    PostgresCurrentTimePartitioningStrategy,
    PostgresPartitioningConfig,
    PostgresPartitioningManager,
    PostgresTimePartition,
    PostgresTimePartitionSize,
)

from telemetry.models import Reading, ReadingMinute
from telemetry.selectors import default_partition_holds, time_partitions

logger = logging.getLogger(__name__)


class DaysAhead(PostgresCurrentTimePartitioningStrategy):
    """Today's partition of the model's table and the next READINGS_PARTITIONS_AHEAD_DAYS days', less
    the days that a partition already covers (the one the migration attached holds up to the day
    after it ran)."""

    def __init__(self, model: type[Reading | ReadingMinute]):
        super().__init__(size=PostgresTimePartitionSize(days=1), count=0)
        self.model = model

    def to_create(self) -> Iterator[PostgresTimePartition]:
        # The setting is read on each run, not once at import, so that it can change under a test.
        self.count = settings.READINGS_PARTITIONS_AHEAD_DAYS + 1
        existing = time_partitions(self.model)
        [column] = self.model._partitioning_meta.key
        for partition in super().to_create():
            start = partition.start_datetime.replace(tzinfo=datetime.UTC)
            end = partition.end_datetime.replace(tzinfo=datetime.UTC)
            if any(other.overlaps(start, end) for other in existing):
                continue
            if default_partition_holds(self.model, column, start, end):
                # Rows of that day are in the default partition already (the upkeep stopped for
                # longer than the days ahead): PostgreSQL refuses a partition that would leave them
                # there, and moving them would be a copy. They stay in the default partition, which
                # prune_readings empties row by row once they are old enough.
                logger.warning(
                    "%s of %s are in the default partition already; that day gets no partition of its own",
                    self.model._meta.db_table,
                    start.date(),
                )
                continue
            yield partition


manager = PostgresPartitioningManager(
    [
        PostgresPartitioningConfig(model=Reading, strategy=DaysAhead(Reading)),
        PostgresPartitioningConfig(model=ReadingMinute, strategy=DaysAhead(ReadingMinute)),
    ]
)


def reading_partitions_create_ahead() -> list[str]:
    """Create the readings' and roll-ups' partitions missing from today to READINGS_PARTITIONS_AHEAD_DAYS
    ahead, each table's in one transaction; the names of those created."""
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
