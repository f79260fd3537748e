"""manage.py prune_readings: drop old raw readings (whole days' partitions on PostgreSQL), keep their
per-minute roll-ups."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from telemetry.services import readings_prune


class Command(BaseCommand):
    help = (
        "Delete raw readings older than --older-than DAYS: on PostgreSQL each day's partition older than that "
        "(of rows, or of the hour blocks compacted days became) is dropped whole, and the rest is deleted "
        "machine by machine. Their per-minute roll-ups "
        "stay, so charts over long ranges and the predictor (which read the roll-ups) are unaffected; what "
        "goes is the per-second detail of charts shorter than a few hours and of training from the database. "
        "--dry-run counts what would go. Run it from cron or a scheduler, e.g. daily."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=float, required=True, metavar="DAYS", help="Keep this many days")
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing")

    def handle(self, *args, older_than: float, dry_run: bool, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day: charts of the last hours read raw readings")
        before = timezone.now() - datetime.timedelta(days=older_than)
        count = readings_prune(before=before, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {count:,} readings older than {before:%Y-%m-%d %H:%M %Z} (roll-ups kept)")
