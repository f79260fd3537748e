"""The storage tiers of the readings: raw, per-minute and per-hour roll-ups. Which tier a chart reads,
the hours rolled up from the minutes (the same figures, idempotently, late readings included), and
the roll-ups' retention. Both back-ends; PostgreSQL's partitions are in test_partitions_hours.py."""

import datetime
import io
import random

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Max, Min, Sum

from telemetry.ingest import ReadingRow
from telemetry.listener import TelemetryListener
from telemetry.models import ReadingHour, ReadingHourStale, ReadingMinute, RollupWatermark
from telemetry.selectors import HistorySource, history_plan, hours_watermark, reading_history
from telemetry.services import hours_rollup, readings_ingest, rollups_prune
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory
from telemetry.tests.test_listener import listener_for

UTC = datetime.UTC
# The present of every test here, pinned: nothing depends on the day the tests run.
NOW = datetime.datetime(2031, 5, 14, 10, 23, 17, tzinfo=UTC)
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
METRICS = ["vibration", "temperature"]


@pytest.fixture
def pump(db):
    pump_type = MachineTypeFactory(name="Centrifugal pump")
    MetricSpecFactory(machine_type=pump_type, name="vibration", unit="mm/s RMS")
    MetricSpecFactory(machine_type=pump_type, name="temperature", unit="°C")
    return MachineFactory(code="M-001", machine_type=pump_type)


def readings(machine, start: datetime.datetime, *, hours: float, seconds: float = 20, seed: int = 5) -> list:
    rng = random.Random(seed)
    return [
        ReadingRow(
            machine.id,
            machine.code,
            start + datetime.timedelta(seconds=seconds * n + rng.random() * seconds * 0.9),
            {"vibration": round(rng.uniform(1, 4), 3), "temperature": round(rng.uniform(40, 80), 2)},
        )
        for n in range(int(hours * 3600 / seconds))
    ]


def ingest_at(now: datetime.datetime, rows: list) -> None:
    """Ingest as the listener would at `now`, in batches of 500."""
    with time_machine.travel(now, tick=False):
        for first in range(0, len(rows), 500):
            readings_ingest(rows=rows[first : first + 500])


def hour_rows() -> dict:
    return {
        (row.machine_id, row.metric, row.hour): (row.count, row.total, row.minimum, row.maximum)
        for row in ReadingHour.objects.all()
    }


# --- which tier a chart reads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "age", "source", "bucket_s"),
    [
        (HOUR, HOUR, HistorySource.READINGS, 10),
        (DAY, DAY, HistorySource.MINUTES, 180),
        (7 * DAY, 7 * DAY, HistorySource.MINUTES, 1200),
        (30 * DAY, 30 * DAY, HistorySource.HOURS, 7200),
        (90 * DAY, 90 * DAY, HistorySource.HOURS, 21600),
        (365 * DAY, 365 * DAY, HistorySource.HOURS, 86400),
        # Starts older than a tier keeps: the next coarser tier, on a grid of its resolution.
        (HOUR, 30 * DAY, HistorySource.READINGS, 10),  # exactly the raw retention: still kept
        (HOUR, 30 * DAY + datetime.timedelta(seconds=1), HistorySource.MINUTES, 60),
        (DAY, 31 * DAY, HistorySource.MINUTES, 180),
        (HOUR, 90 * DAY, HistorySource.MINUTES, 60),
        (HOUR, 90 * DAY + datetime.timedelta(seconds=1), HistorySource.HOURS, 3600),
        (DAY, 91 * DAY, HistorySource.HOURS, 3600),
        (7 * DAY, 100 * DAY, HistorySource.HOURS, 3600),
        (HOUR, 3000 * DAY, HistorySource.HOURS, 3600),
    ],
    ids=lambda value: str(value) if not isinstance(value, datetime.timedelta) else f"{value.total_seconds():g}s",
)
def test_the_chart_reads_the_coarsest_tier_that_fits_its_buckets_and_still_holds_its_start(
    settings, span, age, source, bucket_s
):
    settings.READINGS_RAW_RETENTION_DAYS, settings.READINGS_MINUTES_RETENTION_DAYS = 30, 90
    start = NOW - age
    grid, picked = history_plan(start=start, end=start + span, points=600, now=NOW)

    assert (picked, grid.bucket_s) == (source, bucket_s)
    assert grid.count <= 600
    assert grid.origin <= start.timestamp()
    assert grid.stop >= (start + span).timestamp()


def test_a_source_asked_for_gets_a_grid_of_its_resolution():
    grid, source = history_plan(start=NOW - HOUR, end=NOW, points=600, now=NOW, source=HistorySource.HOURS)

    assert (source, grid.bucket_s) == (HistorySource.HOURS, 3600)


def test_the_retention_settings_move_the_tiers_edges(settings):
    settings.READINGS_RAW_RETENTION_DAYS, settings.READINGS_MINUTES_RETENTION_DAYS = 7, 14
    week_ago = NOW - 8 * DAY
    fortnight_ago = NOW - 15 * DAY

    assert history_plan(start=week_ago, end=week_ago + HOUR, points=600, now=NOW)[1] == HistorySource.MINUTES
    assert history_plan(start=fortnight_ago, end=fortnight_ago + HOUR, points=600, now=NOW)[1] == HistorySource.HOURS


# --- rolling the hours up ------------------------------------------------------------------------------


def test_the_hours_hold_what_their_minutes_hold(pump):
    start = NOW.replace(minute=0, second=0) - 5 * HOUR
    ingest_at(NOW, readings(pump, start + datetime.timedelta(minutes=17), hours=4.5))

    rolled = hours_rollup(now=NOW)

    # 10:23 less the 10 minutes' lateness: the hours before 10:00 are closed.
    assert rolled.rolled_up_to == NOW.replace(minute=0, second=0) == hours_watermark()
    assert rolled.done
    minutes = (
        ReadingMinute.objects.filter(minute__lt=rolled.rolled_up_to)
        .values_list("machine_id", "metric", "minute__hour")
        .annotate(n=Sum("count"), total=Sum("total"), low=Min("minimum"), high=Max("maximum"))
    )
    expected = {
        (machine_id, metric, hour): (n, total, low, high) for machine_id, metric, hour, n, total, low, high in minutes
    }
    hours = {(machine_id, metric, hour.hour): figures for (machine_id, metric, hour), figures in hour_rows().items()}
    assert hours.keys() == expected.keys()
    assert len(hours) == 5 * 2  # 05:00 to 09:00, two metrics
    for key, (n, total, low, high) in expected.items():
        assert hours[key][0] == n
        assert hours[key][1] == pytest.approx(total, rel=1e-12)
        assert hours[key][2:] == (low, high)


def test_the_hour_tier_gives_the_minute_tiers_figures_over_whole_hours(pump):
    start = NOW.replace(minute=0, second=0) - 6 * HOUR
    ingest_at(NOW, readings(pump, start, hours=6.3))
    hours_rollup(now=NOW)

    def history(source):
        return reading_history(machine=pump, metrics=METRICS, start=start, end=NOW, points=8, source=source, now=NOW)

    from_hours, from_minutes = history(HistorySource.HOURS), history(HistorySource.MINUTES)

    assert from_hours.grid == from_minutes.grid
    assert from_hours.grid.bucket_s == 3600
    for hours, minutes in zip(from_hours.series, from_minutes.series, strict=True):
        assert len(hours.ts) == 7  # six rolled-up hours and the current one, read from its minutes
        assert hours.ts == minutes.ts
        assert hours.count == minutes.count
        assert hours.min == minutes.min
        assert hours.max == minutes.max
        assert hours.avg == pytest.approx(minutes.avg, rel=1e-12)


def test_a_year_chart_shows_the_hour_not_rolled_up_yet(pump):
    ingest_at(NOW, readings(pump, NOW - 3 * HOUR, hours=3, seconds=60))
    hours_rollup(now=NOW)

    history = reading_history(machine=pump, metrics=["vibration"], start=NOW - 365 * DAY, end=NOW, now=NOW)

    [series] = history.series
    assert (history.source, history.grid.bucket_s) == (HistorySource.HOURS, 86400)
    assert series.count == [180]  # one day's bucket: the rolled-up hours and the minutes after them
    assert hours_watermark() == NOW.replace(minute=0, second=0)
    assert ReadingMinute.objects.filter(minute__gte=hours_watermark()).exists()  # the current hour's


def test_rolling_up_again_changes_nothing(pump):
    start = NOW.replace(minute=0, second=0) - 3 * HOUR
    ingest_at(NOW, readings(pump, start, hours=3))
    first = hours_rollup(now=NOW)
    before = hour_rows()

    again = hours_rollup(now=NOW)
    RollupWatermark.objects.all().delete()  # as on a first run: from the oldest minute
    from_scratch = hours_rollup(now=NOW)

    assert first.hours == 6
    assert again.hours == 0
    assert from_scratch.hours == 6
    assert hour_rows() == before


def test_late_readings_have_their_hour_rolled_up_again(pump):
    hour = NOW.replace(minute=0, second=0) - 2 * HOUR
    ingest_at(NOW, readings(pump, hour, hours=2))
    hours_rollup(now=NOW)
    counted = hour_rows()[(pump.id, "vibration", hour)][0]

    late = ReadingRow(pump.id, pump.code, hour + datetime.timedelta(minutes=30, seconds=1), {"vibration": 99.0})
    ingest_at(NOW + datetime.timedelta(minutes=5), [late])
    assert list(ReadingHourStale.objects.values_list("machine_id", "hour")) == [(pump.id, hour)]
    rolled = hours_rollup(now=NOW + datetime.timedelta(minutes=5))

    assert rolled.recomputed == 1
    assert not ReadingHourStale.objects.exists()
    count, _, _, high = hour_rows()[(pump.id, "vibration", hour)]
    assert (count, high) == (counted + 1, 99.0)


def test_current_readings_mark_no_hour(pump):
    ingest_at(NOW, readings(pump, NOW - datetime.timedelta(minutes=4), hours=0.05))

    assert not ReadingHourStale.objects.exists()


def test_hours_are_those_of_utc_at_a_month_edge_whatever_the_plants_zone(settings, pump):
    settings.TIME_ZONE = "America/Chicago"  # the evening of 31 January there is February in UTC
    evening = datetime.datetime(2031, 1, 31, 22, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=-6)))
    now = evening + 3 * HOUR
    ingest_at(now, readings(pump, evening, hours=1, seconds=60))
    hours_rollup(now=now)

    assert sorted({hour for _, _, hour in hour_rows()}) == [
        datetime.datetime(2031, 2, 1, 4, tzinfo=UTC),
        datetime.datetime(2031, 2, 1, 5, tzinfo=UTC),
    ]


# --- retention of the roll-ups -----------------------------------------------------------------------


def test_minutes_go_after_their_retention_only_once_their_hours_are_rolled_up(pump):
    old = NOW.replace(minute=0, second=0) - 100 * DAY
    recent = NOW.replace(minute=0, second=0) - 3 * HOUR
    ingest_at(NOW, readings(pump, old, hours=2, seconds=60) + readings(pump, recent, hours=2, seconds=60))
    cut = NOW - 90 * DAY

    not_yet = rollups_prune(minutes_before=cut, hours_before=NOW - 3650 * DAY)
    assert (not_yet.minutes, not_yet.minutes_before) == (0, None)  # nothing rolled up: every minute stays

    hours_rollup(now=NOW)
    pruned = rollups_prune(minutes_before=cut, hours_before=NOW - 3650 * DAY)

    assert pruned.minutes == 2 * 120  # the old two hours' minutes, two metrics
    assert not ReadingMinute.objects.filter(minute__lt=cut).exists()
    assert ReadingMinute.objects.filter(minute__gte=recent).count() == 2 * 120
    assert ReadingHour.objects.filter(hour__lt=cut).count() == 2 * 2  # their hours are kept
    assert pruned.hours == 0


def test_minutes_of_hours_waiting_for_another_roll_up_stay(pump):
    old = NOW.replace(minute=0, second=0) - 100 * DAY
    ingest_at(NOW, readings(pump, old, hours=2, seconds=60))
    hours_rollup(now=NOW)
    ReadingHourStale.objects.create(machine=pump, hour=old + HOUR)

    pruned = rollups_prune(minutes_before=NOW - 90 * DAY, hours_before=NOW - 3650 * DAY)

    assert pruned.minutes_before == old.replace(hour=0)  # that hour's UTC midnight: a partition's edge
    assert ReadingMinute.objects.filter(minute__gte=old + HOUR).count() == 2 * 60


def test_hours_go_after_their_retention(pump):
    ReadingHour.objects.create(
        machine=pump, metric="vibration", hour=NOW - 11 * 365 * DAY, count=1, total=1, minimum=1, maximum=1
    )
    kept = ReadingHour.objects.create(
        machine=pump, metric="vibration", hour=NOW - 9 * 365 * DAY, count=1, total=1, minimum=1, maximum=1
    )

    pruned = rollups_prune(minutes_before=NOW - 90 * DAY, hours_before=NOW - 3650 * DAY)

    assert pruned.hours == 1
    assert list(ReadingHour.objects.all()) == [kept]


def test_prune_rollups_rolls_up_then_counts_or_deletes(pump):
    old = NOW.replace(minute=0, second=0) - 100 * DAY
    ingest_at(NOW, readings(pump, old, hours=1, seconds=60))
    out = io.StringIO()

    with time_machine.travel(NOW, tick=False):
        call_command("prune_rollups", "--dry-run", stdout=out)
        assert ReadingMinute.objects.count() == 120
        call_command("prune_rollups", "--minutes-older-than", "90", stdout=out)

    assert "per-minute roll-ups (none rolled up yet)" in out.getvalue()  # the dry run rolls nothing up
    assert "deleted 120 per-minute roll-ups" in out.getvalue()
    assert not ReadingMinute.objects.exists()
    assert ReadingHour.objects.count() == 2


# --- the listener's upkeep ---------------------------------------------------------------------------


def test_the_listeners_upkeep_rolls_the_hours_up(pump):
    ingest_at(NOW, readings(pump, NOW - 3 * HOUR, hours=3, seconds=60))
    listener: TelemetryListener = listener_for()

    with time_machine.travel(NOW, tick=False):
        assert listener.partitions_upkeep()

    assert hours_watermark() == NOW.replace(minute=0, second=0)
    assert ReadingHour.objects.filter(hour__lt=NOW - HOUR).exists()


def test_the_listeners_upkeep_stops_at_its_budget_and_asks_to_come_back(pump):
    ingest_at(
        NOW, readings(pump, NOW - 5 * DAY, hours=1, seconds=600) + readings(pump, NOW - HOUR, hours=1, seconds=600)
    )
    listener: TelemetryListener = listener_for(rollups_upkeep_budget=0.0)

    with time_machine.travel(NOW, tick=False):
        assert not listener.partitions_upkeep()  # a day rolled up, four more to go
        first = hours_watermark()
        while not listener.partitions_upkeep():
            pass

    assert first < NOW - 3 * DAY
    assert hours_watermark() == NOW.replace(minute=0, second=0)


# --- the history API ---------------------------------------------------------------------------------


def test_the_api_answers_a_year_from_the_hourly_roll_ups(api_client, manager, pump):
    ingest_at(NOW, readings(pump, NOW - 30 * HOUR, hours=30, seconds=300))
    hours_rollup(now=NOW)
    api_client.force_authenticate(manager)
    window = {"metric": "vibration", "from": (NOW - 365 * DAY).isoformat(), "to": NOW.isoformat()}

    with time_machine.travel(NOW, tick=False):
        year = api_client.get("/api/machines/M-001/readings/", window).json()
        asked = api_client.get("/api/machines/M-001/readings/", {**window, "source": "minutes"}).json()

    assert (year["source"], year["bucket_seconds"]) == ("hours", 86400)
    assert sum(year["series"][0]["count"]) == 30 * 12  # every reading, the current hour's included
    assert (asked["source"], asked["bucket_seconds"]) == ("minutes", 86400)
    assert asked["series"][0]["count"] == year["series"][0]["count"]


def test_the_api_refuses_an_unknown_source_naming_the_field(api_client, manager, pump):
    api_client.force_authenticate(manager)

    response = api_client.get("/api/machines/M-001/readings/", {"source": "weeks"})

    assert response.status_code == 400
    assert '"weeks" is not a valid choice' in response.json()["source"][0]
