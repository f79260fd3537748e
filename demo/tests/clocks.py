"""The "now"s at which the date-sensitive paths are run (test_any_date, bench/demo_dates.py): at least
one a season, a leap day, both daylight-saving changes inside the replayed window, a "now" in the
repeated hour of the autumn change and a zone with a half-hour offset. Plant-local times."""

import datetime
import zoneinfo

# (plant-local now, TIME_ZONE, name)
CLOCKS: tuple[tuple[str, str, str], ...] = (
    ("2026-01-01T00:00", "UTC", "new-year-midnight-utc"),
    ("2026-03-29T09:00", "Europe/Berlin", "after-spring-forward-berlin"),
    ("2026-06-21T15:30", "America/New_York", "midsummer-new-york"),
    ("2026-09-10T04:10", "Asia/Kolkata", "half-hour-offset-kolkata"),
    ("2026-10-25T02:30", "Europe/Berlin", "repeated-hour-berlin"),
    ("2026-11-01T20:00", "America/New_York", "after-fall-back-new-york"),
    ("2026-12-05T08:25", "UTC", "day-the-suite-failed"),
    ("2028-02-29T12:00", "Europe/Berlin", "leap-day-berlin"),
)


def plant_local(text: str, zone: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=zoneinfo.ZoneInfo(zone))
