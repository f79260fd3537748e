"""The chart history API: buckets computed in the database, the roll-ups giving what the raw rows give."""

import datetime
import random

import pytest
import time_machine

from telemetry.ingest import ReadingRow
from telemetry.models import Reading
from telemetry.selectors import HistorySource, history_grid, reading_history
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 11, 20, 6, 0, tzinfo=datetime.UTC)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def present():
    """A day after START: the tier picked depends on how old a range is (raw readings are kept 30 days)."""
    with time_machine.travel(START + datetime.timedelta(days=1), tick=False):
        yield


@pytest.fixture
def reader(api_client, manager):
    api_client.force_authenticate(manager)
    return api_client


@pytest.fixture
def pump():
    pump_type = MachineTypeFactory(name="Centrifugal pump")
    MetricSpecFactory(machine_type=pump_type, name="vibration", unit="mm/s RMS")
    MetricSpecFactory(machine_type=pump_type, name="temperature", unit="°C", normal_min=10, normal_max=70, alarm_max=90)
    return MachineFactory(code="M-001", machine_type=pump_type)


def ingest_every(machine, *, seconds: float, hours: float, seed: int = 3) -> None:
    """Readings every `seconds` (with jitter) for `hours` from START, in shuffled batches like the listener's."""
    rng = random.Random(seed)
    rows = [
        ReadingRow(
            machine.id,
            machine.code,
            START + datetime.timedelta(seconds=seconds * n + rng.random() * seconds * 0.9),
            {"vibration": round(rng.uniform(1, 4), 3), "temperature": round(rng.uniform(40, 80), 2)},
        )
        for n in range(int(hours * 3600 / seconds))
    ]
    rng.shuffle(rows)
    for first in range(0, len(rows), 500):
        readings_ingest(rows=rows[first : first + 500])


@pytest.mark.parametrize(
    ("start_offset_s", "span_hours", "points"),
    [(0, 3, 180), (37, 3, 60), (1234, 2.5, 25), (0, 3, 2)],
    ids=["minute buckets", "2-minute buckets, unaligned start", "10-minute buckets", "one bucket"],
)
def test_rollup_buckets_equal_raw_aggregates(pump, start_offset_s, span_hours, points):
    ingest_every(pump, seconds=7, hours=3)
    start = START + datetime.timedelta(seconds=start_offset_s)
    end = start + datetime.timedelta(hours=span_hours)

    raw = reading_history(
        machine=pump, metrics=["vibration", "temperature"], start=start, end=end, points=points, source="readings"
    )
    rolled_up = reading_history(
        machine=pump, metrics=["vibration", "temperature"], start=start, end=end, points=points, source="minutes"
    )

    assert raw.grid == rolled_up.grid
    assert raw.grid.bucket_s % 60 == 0
    for raw_series, rollup_series in zip(raw.series, rolled_up.series, strict=True):
        assert raw_series.ts, "the window holds readings"
        assert rollup_series.ts == raw_series.ts
        assert rollup_series.count == raw_series.count
        assert rollup_series.min == raw_series.min
        assert rollup_series.max == raw_series.max
        assert rollup_series.avg == pytest.approx(raw_series.avg, rel=1e-12)
    in_window = Reading.objects.filter(
        ts__gte=EPOCH + datetime.timedelta(seconds=raw.grid.origin),
        ts__lt=EPOCH + datetime.timedelta(seconds=raw.grid.stop),
    )
    assert sum(raw.series[0].count) == in_window.count()


def test_buckets_hold_the_average_minimum_and_maximum_of_their_readings(pump):
    values = {0: 1.0, 3: 3.0, 5: 2.0, 12: 10.0, 14: 20.0}  # seconds after START: two 10-second buckets
    readings_ingest(
        rows=[
            ReadingRow(pump.id, pump.code, START + datetime.timedelta(seconds=second), {"vibration": value})
            for second, value in values.items()
        ]
    )

    history = reading_history(
        machine=pump, metrics=["vibration"], start=START, end=START + datetime.timedelta(seconds=20), points=3
    )

    [series] = history.series
    assert (history.source, history.grid.bucket_s) == (HistorySource.READINGS, 10)
    start_s = int(START.timestamp())
    assert series.ts == [start_s, start_s + 10]
    assert series.avg == [2.0, 15.0]
    assert series.min == [1.0, 10.0]
    assert series.max == [3.0, 20.0]
    assert series.count == [3, 2]


@pytest.mark.parametrize("span_s", [1, 59, 3600, 86_400, 7 * 86_400, 90 * 86_400, 366 * 86_400])
@pytest.mark.parametrize("points", [2, 10, 600, 5000])
def test_grid_never_has_more_buckets_than_points_and_covers_the_range(span_s, points):
    for offset in (0, 17, 3599, 86_399):
        start = START + datetime.timedelta(seconds=offset + 0.25)
        end = start + datetime.timedelta(seconds=span_s)
        grid = history_grid(start=start, end=end, points=points)
        assert grid.count <= points
        assert grid.origin <= start.timestamp()
        assert grid.stop >= end.timestamp()


def test_api_reads_roll_ups_for_a_week_and_raw_rows_for_an_hour(reader, pump):
    ingest_every(pump, seconds=30, hours=2)
    week_end = START + datetime.timedelta(hours=2)
    week = reader.get(
        "/api/machines/M-001/readings/",
        {
            "metric": "vibration",
            "from": (week_end - datetime.timedelta(days=7)).isoformat(),
            "to": week_end.isoformat(),
        },
    ).json()
    hour = reader.get(
        "/api/machines/M-001/readings/",
        {"metric": "vibration", "from": START.isoformat(), "to": (START + datetime.timedelta(hours=1)).isoformat()},
    ).json()

    assert (week["source"], week["bucket_seconds"]) == ("minutes", 1200)
    assert (hour["source"], hour["bucket_seconds"]) == ("readings", 10)
    [week_series] = week["series"]
    assert week_series["metric"] == "vibration"
    assert week_series["unit"] == "mm/s RMS"
    assert sum(week_series["count"]) == 240  # the two hours of readings, all in the week's buckets
    assert len(hour["series"][0]["ts"]) == 120
    assert len(week_series["ts"]) <= 600


def test_api_gives_every_metric_of_the_type_by_default_and_takes_a_comma_list(reader, pump):
    ingest_every(pump, seconds=60, hours=1)
    window = {"from": START.isoformat(), "to": (START + datetime.timedelta(hours=1)).isoformat(), "points": 61}

    every = reader.get("/api/machines/M-001/readings/", window).json()
    listed = reader.get("/api/machines/M-001/readings/", {**window, "metric": "vibration,temperature"}).json()

    assert [series["metric"] for series in every["series"]] == ["temperature", "vibration"]
    assert [series["metric"] for series in listed["series"]] == ["vibration", "temperature"]
    assert listed["series"][0]["count"] == [1] * 60


def test_api_caps_buckets_at_points(reader, pump):
    ingest_every(pump, seconds=5, hours=1)
    window = {"from": START.isoformat(), "to": (START + datetime.timedelta(hours=1)).isoformat()}

    for points in (2, 7, 50, 600):
        response = reader.get("/api/machines/M-001/readings/", {**window, "metric": "vibration", "points": points})
        assert len(response.json()["series"][0]["ts"]) <= points


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ({"metric": "pressure"}, "metric", "reports temperature, vibration, not pressure"),
        ({"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T09:00:00Z"}, "from", "is not before the end"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"}, "to", "at most 366 days"),
        ({"from": "yesterday"}, "from", "Datetime has wrong format"),
        ({"points": 1}, "points", "greater than or equal to 2"),
        ({"points": 100_000}, "points", "less than or equal to 5000"),
        ({"source": "days"}, "source", '"days" is not a valid choice'),
    ],
)
def test_api_refuses_bad_input_naming_the_field(reader, pump, query, field, says):
    response = reader.get("/api/machines/M-001/readings/", query)

    assert response.status_code == 400
    assert says in " ".join(response.json()[field])


def test_api_history_of_an_unknown_machine_is_404(reader, db):
    response = reader.get("/api/machines/M-404/readings/")
    assert response.status_code == 404
    assert "M-404" in response.json()["detail"]


def test_api_history_needs_a_role(api_client, user_without_role, pump):
    assert api_client.get("/api/machines/M-001/readings/").status_code == 401
    api_client.force_authenticate(user_without_role)
    assert api_client.get("/api/machines/M-001/readings/").status_code == 403
