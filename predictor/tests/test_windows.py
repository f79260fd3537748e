"""Windows kept between ticks are the windows read whole, while each tick reads only what can have changed."""

import datetime

import numpy as np
import pytest

from predictor.ml.features import MachineWindow
from predictor.selectors import machine_windows
from predictor.windows import RecentWindows
from telemetry.ingest import ReadingRow
from telemetry.models import Machine, MachineStatus
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory, MetricSpecFactory
from tickets.models import TicketOutcome, TicketStatus
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

END = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)
HOURS = 2.0
MINUTE = datetime.timedelta(minutes=1)


def minutes_of_readings(machine: Machine, *, until: datetime.datetime, minutes: int, metrics=("vibration",)) -> None:
    """A reading every 20 s over the `minutes` before `until`, values that differ from minute to minute."""
    rows = []
    for second in range(0, minutes * 60, 20):
        ts = until - datetime.timedelta(seconds=second + 5)
        rows.append(ReadingRow(machine.id, machine.code, ts, dict.fromkeys(metrics, 2.0 + (second % 97) / 50)))
    readings_ingest(rows=rows)


def reading(machine: Machine, ts: datetime.datetime, value: float, error_code: str = "", metric="vibration") -> None:
    readings_ingest(rows=[ReadingRow(machine.id, machine.code, ts, {metric: value}, error_code)])


def assert_same_windows(kept: list[MachineWindow], whole: list[MachineWindow]) -> None:
    assert [window.machine_code for window in kept] == [window.machine_code for window in whole]
    for ours, theirs in zip(kept, whole, strict=True):
        assert np.array_equal(ours.ts, theirs.ts)
        assert list(ours.values) == list(theirs.values)
        for name, values in ours.values.items():
            assert np.array_equal(values, theirs.values[name], equal_nan=True)
        assert ours.normal_ranges == theirs.normal_ranges
        assert np.array_equal(ours.error_code_times, theirs.error_code_times)
        assert ours.last_repair_ts == theirs.last_repair_ts


@pytest.fixture
def plant() -> list[Machine]:
    machines = [MachineFactory() for _ in range(4)]
    for machine in machines:
        MetricSpecFactory(machine_type=machine.machine_type, name="vibration")
        minutes_of_readings(machine, until=END, minutes=150)
    return machines


def test_the_next_tick_reads_new_minutes_late_readings_and_new_metrics_like_a_whole_read(plant):
    windows = RecentWindows(hours=HOURS, late_readings=datetime.timedelta(minutes=5))
    assert_same_windows(windows.windows(end=END), machine_windows(end=END, hours=HOURS))

    later = END + 3 * MINUTE
    minutes_of_readings(plant[0], until=later, minutes=3)
    reading(plant[1], END - 2 * MINUTE, 40.0)  # late, into a minute already read: its mean changes
    reading(plant[1], later - MINUTE, 3.0, error_code="E-BRG-01")
    reading(plant[2], later - MINUTE, 61.0, metric="temperature")  # a metric not seen before
    resolved = later - MINUTE
    TicketFactory(
        machine=plant[3],
        status=TicketStatus.RESOLVED,
        started_at=resolved,
        resolved_at=resolved,
        outcome=TicketOutcome.PREVENTIVE_FIX,
        resolution_notes="Greased",
    )

    kept = windows.windows(end=later)

    assert_same_windows(kept, machine_windows(end=later, hours=HOURS))
    # The window moved on: minutes dropped at its start as new ones came.
    assert kept[0].ts[0] == (later - datetime.timedelta(hours=HOURS)).timestamp() + 30
    assert len(kept[0].ts) == HOURS * 60
    assert kept[1].error_code_times.tolist() == [(later - MINUTE).timestamp()]
    assert list(kept[2].values) == ["temperature", "vibration"]
    assert kept[3].last_repair_ts == resolved.timestamp()


def test_a_reading_later_than_late_readings_is_in_the_windows_within_the_full_refresh(plant):
    windows = RecentWindows(
        hours=HOURS, late_readings=datetime.timedelta(minutes=5), full_refresh=datetime.timedelta(minutes=10)
    )
    windows.windows(end=END)
    long_late = END - datetime.timedelta(minutes=40) + datetime.timedelta(seconds=1)
    reading(plant[2], long_late, 90.0)  # a gateway's buffer, 40 minutes late: that minute's mean jumps past 20

    # Each tick 2.5 minutes later reads a quarter of the machines whole, in turn.
    seen = []
    for tick in range(1, 5):
        end = END + tick * datetime.timedelta(seconds=150)
        window = windows.windows(end=end)[2]
        seen.append(bool(np.any(window.values["vibration"] > 20.0)))
    assert seen[-1]
    assert not seen[0]  # not at once: when the rotation got to it
    assert_same_windows(windows.windows(end=end), machine_windows(end=end, hours=HOURS))


def test_machines_that_start_running_are_read_whole_and_those_that_stop_are_left_out(plant):
    windows = RecentWindows(hours=HOURS)
    windows.windows(end=END)
    newcomer = MachineFactory()
    minutes_of_readings(newcomer, until=END, minutes=60)
    Machine.objects.filter(pk=plant[0].pk).update(status=MachineStatus.DOWN)

    later = END + MINUTE
    kept = windows.windows(end=later)

    assert [window.machine_code for window in kept] == [machine.code for machine in plant[1:]] + [newcomer.code]
    assert_same_windows(kept, machine_windows(end=later, hours=HOURS))
    assert len(kept[-1].ts) == 60


def test_a_tick_earlier_than_the_last_or_a_whole_window_later_reads_everything_again(plant):
    windows = RecentWindows(hours=HOURS)
    windows.windows(end=END)
    earlier = END - datetime.timedelta(minutes=30)
    assert_same_windows(windows.windows(end=earlier), machine_windows(end=earlier, hours=HOURS))
    much_later = earlier + datetime.timedelta(hours=HOURS)
    minutes_of_readings(plant[0], until=much_later, minutes=10)
    assert_same_windows(windows.windows(end=much_later), machine_windows(end=much_later, hours=HOURS))


def test_a_tick_reads_in_five_queries_whatever_the_number_of_machines(plant, django_assert_num_queries):
    windows = RecentWindows(hours=HOURS)
    with django_assert_num_queries(5):
        windows.windows(end=END)
    with django_assert_num_queries(5):
        windows.windows(end=END + datetime.timedelta(seconds=10))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="must be positive"):
        RecentWindows(hours=0)
