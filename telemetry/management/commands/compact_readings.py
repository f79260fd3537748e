"""manage.py compact_readings: the closed days' raw readings into per-machine hour blocks (PostgreSQL)."""

from django.core.management.base import BaseCommand
from django.db import connection

from telemetry.services import readings_compact


class Command(BaseCommand):
    help = (
        "PostgreSQL: compact each closed UTC day's raw readings (over READINGS_COMPACT_AFTER_HOURS) into "
        "per-machine hour blocks, about 13 bytes a reading instead of 210, and merge late readings into "
        "the days compacted before. The listener does this every hour; this is for operators. Nothing to do "
        "on SQLite."
    )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite keeps its raw readings: nothing to compact")
            return
        result = readings_compact()
        if result.busy:
            self.stdout.write("another compaction is running: nothing done")
            return
        days = ", ".join(day.isoformat() for day in result.days) or "none"
        self.stdout.write(
            f"compacted {result.readings:,} readings into hour blocks (days: {days}; late readings: {result.late:,})"
        )
