"""manage.py prune_rollups: roll the closed hours up, then drop old per-minute and per-hour roll-ups
(whole days' and months' partitions on PostgreSQL). The listener does the same every hour."""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from telemetry.services import hours_rollup, rollups_prune


class Command(BaseCommand):
    help = (
        "Roll the closed hours up from the per-minute roll-ups, then delete the per-minute roll-ups older than "
        "--minutes-older-than DAYS (default READINGS_MINUTES_RETENTION_DAYS) and the per-hour ones older than "
        "--hours-older-than DAYS (default READINGS_HOURS_RETENTION_DAYS). Minutes go only once their hour is "
        "rolled up. On PostgreSQL whole partitions go. The listener does this every hour; run it by hand after "
        "changing the settings, or with --dry-run to count what would go. Raw readings: prune_readings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--minutes-older-than", type=float, metavar="DAYS", help="Keep this many days of minutes")
        parser.add_argument("--hours-older-than", type=float, metavar="DAYS", help="Keep this many days of hours")
        parser.add_argument("--dry-run", action="store_true", help="Count, roll up and delete nothing")

    def handle(self, *args, minutes_older_than: float | None, hours_older_than: float | None, dry_run: bool, **_):
        minutes_days = settings.READINGS_MINUTES_RETENTION_DAYS if minutes_older_than is None else minutes_older_than
        hours_days = settings.READINGS_HOURS_RETENTION_DAYS if hours_older_than is None else hours_older_than
        if minutes_days < 1:
            raise CommandError("--minutes-older-than must be at least 1 day: charts of the last day read them")
        if hours_days < minutes_days:
            raise CommandError(
                "--hours-older-than must be at least --minutes-older-than: charts need one tier or other"
            )
        now = timezone.now()
        if not dry_run:
            rolled = hours_rollup(now=now)
            self.stdout.write(
                f"rolled up {rolled.hours:,} hour rows to {rolled.rolled_up_to:%Y-%m-%d %H:%M %Z}"
                if rolled.rolled_up_to
                else "no per-minute roll-ups to roll up"
            )
        pruned = rollups_prune(
            minutes_before=now - datetime.timedelta(days=minutes_days),
            hours_before=now - datetime.timedelta(days=hours_days),
            dry_run=dry_run,
        )
        verb = "would delete" if dry_run else "deleted"
        cut = f"before {pruned.minutes_before:%Y-%m-%d %H:%M %Z}" if pruned.minutes_before else "(none rolled up yet)"
        self.stdout.write(f"{verb} {pruned.minutes:,} per-minute roll-ups {cut} and {pruned.hours:,} per-hour roll-ups")
