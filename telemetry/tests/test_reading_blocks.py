"""PostgreSQL: closed days' readings compacted into per-machine hour blocks (readings_compact): every
reading kept (µs instants exactly, values as float32), the duplicate rule, late readings, retention."""

import datetime
import io
import struct
import threading

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from telemetry import services
from telemetry.ingest import ReadingRow
from telemetry.models import Machine, Reading, ReadingBlock, ReadingMinute
from telemetry.selectors import (
    HistorySource,
    machine_newest_reading_ts,
    newest_reading_ts,
    reading_error_code_times,
    reading_history,
    time_partitions,
)
from telemetry.services import readings_compact, readings_ingest
from telemetry.tests.factories import MachineFactory
from telemetry.tests.test_listener import listener_for

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="blocks are PostgreSQL's (SQLite keeps its raw readings); CI runs this on PostgreSQL",
)

UTC = datetime.UTC
DAY = datetime.datetime(2031, 3, 10, tzinfo=UTC)
BLOCKS = ReadingBlock._meta.db_table
VALUES_EXACTLY = "metric_values::float8[]"  # the driver would read a real as its shortest decimal


def at(hour: int, second: float = 0, microsecond: int = 0) -> datetime.datetime:
    return DAY + datetime.timedelta(hours=hour, seconds=second, microseconds=microsecond)


def as_float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def create_ahead(now: datetime.datetime) -> None:
    from telemetry.partitions import reading_partitions_create_ahead  # noqa: PLC0415 - PostgreSQL only

    with time_machine.travel(now, tick=False):
        reading_partitions_create_ahead()


def compact(now: datetime.datetime):
    with time_machine.travel(now, tick=False):
        return readings_compact()


def stored(machine) -> dict[datetime.datetime, tuple[dict, str]]:
    """Every reading of the machine, as rows or in blocks: ts → (metrics, error code)."""
    rows = {ts: (metrics, code) for ts, metrics, code in machine_rows(machine)}
    return rows | block_readings(machine)


def machine_rows(machine):
    return Reading.objects.filter(machine=machine).values_list("ts", "metrics", "error_code")


def block_readings(machine) -> dict[datetime.datetime, tuple[dict, str]]:
    """The readings in the machine's blocks, values as stored (float4 widened exactly to float8)."""
    readings = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT start, metrics, offsets_us, {VALUES_EXACTLY}, error_codes FROM {BLOCKS} WHERE machine_id = %s",  # noqa: S608
            [machine.id],
        )
        for start, names, offsets, values, codes in cursor.fetchall():
            assert offsets == sorted(offsets)
            for i, offset in enumerate(offsets):
                metrics = {name: row[i] for name, row in zip(names, values, strict=True) if row[i] is not None}
                readings[start + datetime.timedelta(microseconds=offset)] = (
                    metrics,
                    (codes or [None] * len(offsets))[i] or "",
                )
    return readings


def ingest(machine, readings):
    return readings_ingest(
        rows=[ReadingRow(machine.id, machine.code, ts, metrics, error_code=code) for ts, metrics, code in readings]
    )


@pytest.fixture
def machine(db):
    create_ahead(at(0))
    return MachineFactory(code="M-001")


def test_a_closed_day_becomes_hour_blocks_keeping_each_instant_exactly_and_each_value_as_float32(machine):
    readings = [
        (at(0, 0, 1), {"vibration": 1480.123, "temperature": 61.57}, ""),
        (at(0, 1, 999_999), {"vibration": 2.1}, "E-42"),  # no temperature
        (at(0, 59 * 60 + 59, 123_456), {"vibration": -0.000123456789, "temperature": 1e30}, ""),
        (at(13, 17, 42), {"current": 14.000001}, ""),
        (at(23, 3599, 999_999), {}, ""),
    ]
    ingest(machine, readings)
    minutes_before = list(ReadingMinute.objects.values_list("metric", "minute", "count", "total"))

    result = compact(DAY + datetime.timedelta(days=1, hours=3))

    assert result.days == [DAY.date()]
    assert result.readings == len(readings)
    assert not Reading.objects.filter(machine=machine).exists()
    assert "telemetry_reading_2031_mar_10" not in {p.table for p in time_partitions(Reading)}
    assert "telemetry_readingblock_2031_mar_10" in {p.table for p in time_partitions(ReadingBlock)}
    assert sorted(ReadingBlock.objects.values_list("start", flat=True)) == [at(0), at(13), at(23)]
    expected = {
        ts: ({name: as_float32(value) for name, value in metrics.items()}, code) for ts, metrics, code in readings
    }
    assert block_readings(machine) == expected
    assert block_readings(machine)[at(0, 0, 1)][0]["vibration"] == 1480.123046875
    # The roll-ups are not touched.
    assert list(ReadingMinute.objects.values_list("metric", "minute", "count", "total")) == minutes_before


def test_a_day_not_over_for_the_setting_hours_is_not_compacted(machine, settings):
    settings.READINGS_COMPACT_AFTER_HOURS = 3
    ingest(machine, [(at(5), {"vibration": 2.0}, "")])

    result = compact(DAY + datetime.timedelta(days=1, hours=2, minutes=59))

    assert result.days == []
    assert Reading.objects.count() == 1
    assert compact(DAY + datetime.timedelta(days=1, hours=3)).days == [DAY.date()]
    assert Reading.objects.count() == 0


def test_a_reading_redelivered_after_its_day_was_compacted_changes_nothing(machine):
    first = (at(7, 30, 250_000), {"vibration": 2.5, "temperature": 60.25}, "E-7")
    ingest(machine, [first, (at(7, 31), {"vibration": 2.75}, "")])
    compact(DAY + datetime.timedelta(days=1, hours=3))
    minutes_before = list(ReadingMinute.objects.values_list("machine_id", "metric", "minute", "count", "total"))
    blocks_before = list(ReadingBlock.objects.values_list("start", "offsets_us", "metric_values", "error_codes"))

    with time_machine.travel(DAY + datetime.timedelta(days=2), tick=False):
        result = ingest(machine, [(first[0], {"vibration": 9.0}, ""), (at(7, 31), {"vibration": 9.0}, "")])

    assert (result.stored, result.duplicates) == (0, 2)
    assert not Reading.objects.filter(machine=machine).exists()
    assert (
        list(ReadingBlock.objects.values_list("start", "offsets_us", "metric_values", "error_codes")) == blocks_before
    )
    assert list(ReadingMinute.objects.values_list("machine_id", "metric", "minute", "count", "total")) == minutes_before


def test_a_late_reading_of_a_compacted_day_is_merged_into_its_block_by_the_next_compaction(machine):
    ingest(machine, [(at(7, 30), {"vibration": 2.5}, ""), (at(7, 32), {"vibration": 3.5}, "")])
    compact(DAY + datetime.timedelta(days=1, hours=3))

    with time_machine.travel(DAY + datetime.timedelta(days=1, hours=5), tick=False):
        late = ingest(machine, [(at(7, 31), {"vibration": 3.0, "current": 12.5}, "E-9")])
    assert late.stored == 1
    assert Reading.objects.filter(machine=machine).count() == 1  # in the default partition meanwhile
    assert ReadingMinute.objects.get(metric="vibration").count == 3

    result = compact(DAY + datetime.timedelta(days=1, hours=6))

    assert (result.days, result.late) == ([], 1)
    assert not Reading.objects.filter(machine=machine).exists()
    assert ReadingBlock.objects.count() == 1
    assert block_readings(machine) == {
        at(7, 30): ({"vibration": 2.5}, ""),
        at(7, 31): ({"vibration": 3.0, "current": 12.5}, "E-9"),
        at(7, 32): ({"vibration": 3.5}, ""),
    }
    assert compact(DAY + datetime.timedelta(days=1, hours=7)).readings == 0


def test_chart_buckets_of_raw_readings_are_the_same_before_and_after_compaction(machine):
    values = [1480.123, 61.57, 2.1, 0.3, 1e-7, 99999.9, 7.25, 3.14159]
    ingest(
        machine,
        [
            (at(9, second * 3.5, 17), {"vibration": value, "temperature": 40 + second / 8}, "")
            for second, value in enumerate(values * 20)
        ],
    )
    window = {"machine": machine, "metrics": ["vibration", "temperature", "current"], "points": 120}
    window |= {"start": at(8, 3500), "end": at(9, 600), "source": HistorySource.READINGS}
    before = reading_history(**window)

    compact(DAY + datetime.timedelta(days=1, hours=3))

    assert ReadingBlock.objects.exists()
    assert not Reading.objects.filter(machine=machine).exists()
    after = reading_history(**window)
    assert after == before
    assert sum(before.series[0].count) == len(values) * 20
    assert max(before.series[0].max) == 99999.9


def test_error_codes_and_the_newest_reading_are_read_from_blocks(machine):
    silent = MachineFactory(code="M-002")
    today = DAY + datetime.timedelta(days=1, hours=2)
    ingest(machine, [(at(6, 10), {"vibration": 2.0}, "E-1"), (at(6, 11), {"vibration": 2.0}, "")])
    ingest(machine, [(at(18, 0, 5), {"vibration": 2.0}, "E-2")])
    ingest(silent, [(at(21, 0, 999_999), {"vibration": 2.0}, "")])
    with time_machine.travel(today, tick=False):
        ingest(machine, [(today, {"vibration": 2.0}, "E-3")])
    compact(DAY + datetime.timedelta(days=1, hours=3))

    everything = reading_error_code_times(
        spans=[([machine.id, silent.id], at(6, 10))], end=DAY + datetime.timedelta(days=2)
    )
    assert everything == [(machine.id, at(6, 10)), (machine.id, at(18, 0, 5)), (machine.id, today)]
    since = reading_error_code_times(spans=[([machine.id], at(6, 11))], end=at(20))
    assert since == [(machine.id, at(18, 0, 5))]

    assert newest_reading_ts() == today
    newest = dict(Machine.objects.annotate(newest=machine_newest_reading_ts()).values_list("code", "newest"))
    assert newest == {"M-001": today, "M-002": at(21, 0, 999_999)}


def test_prune_drops_whole_days_of_blocks_and_cuts_the_hour_that_straddles_the_limit(machine):
    next_day = DAY + datetime.timedelta(days=1)
    ingest(machine, [(at(hour, 5), {"vibration": 1.0}, "") for hour in (1, 2, 23)])
    ingest(
        machine,
        [
            (next_day + datetime.timedelta(hours=4, minutes=m), {"vibration": 2.0}, "E-1" if m else "")
            for m in (0, 20, 40)
        ],
    )
    ingest(machine, [(next_day + datetime.timedelta(hours=9), {"vibration": 3.0}, "")])
    compact(DAY + datetime.timedelta(days=2, hours=3))
    assert ReadingBlock.objects.count() == 5
    limit = next_day + datetime.timedelta(hours=4, minutes=30)

    with time_machine.travel(limit + datetime.timedelta(days=7), tick=False):
        out = io.StringIO()
        call_command("prune_readings", "--older-than", "7", "--dry-run", stdout=out)
        assert out.getvalue().startswith("would delete 5 readings")
        call_command("prune_readings", "--older-than", "7", stdout=out)

    assert "deleted 5 readings" in out.getvalue()
    assert "telemetry_readingblock_2031_mar_10" not in {p.table for p in time_partitions(ReadingBlock)}
    assert block_readings(machine) == {
        next_day + datetime.timedelta(hours=4, minutes=40): ({"vibration": 2.0}, "E-1"),
        next_day + datetime.timedelta(hours=9): ({"vibration": 3.0}, ""),
    }


def test_a_compaction_interrupted_in_the_middle_loses_nothing_and_the_next_one_finishes(machine, monkeypatch):
    readings = [(at(hour, 1), {"vibration": float(hour)}, "") for hour in (3, 4, 5)]
    ingest(machine, readings)

    def crash(*args, **kwargs):
        raise RuntimeError("killed between the blocks and the drop")

    monkeypatch.setattr(services, "_time_partition_drop", crash)
    with pytest.raises(RuntimeError):
        compact(DAY + datetime.timedelta(days=1, hours=3))
    assert not ReadingBlock.objects.exists()
    assert sorted(Reading.objects.values_list("ts", flat=True)) == [ts for ts, _, _ in readings]

    monkeypatch.undo()
    assert compact(DAY + datetime.timedelta(days=1, hours=3)).readings == 3
    assert block_readings(machine) == {ts: (metrics, code) for ts, metrics, code in readings}
    assert not Reading.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_compactions_at_once_move_each_reading_once():
    create_ahead(at(0))
    machine = MachineFactory(code="M-001")
    readings = [(at(hour, second), {"vibration": 2.0}, "") for hour in range(24) for second in (1, 2)]
    ingest(machine, readings)
    results = []
    start_together = threading.Barrier(2)

    def compact_in_a_thread():
        try:
            start_together.wait()
            results.append(readings_compact(now=DAY + datetime.timedelta(days=1, hours=3)))
        finally:
            connection.close()

    threads = [threading.Thread(target=compact_in_a_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(result.readings for result in results) == len(readings)
    assert len(block_readings(machine)) == len(readings)
    assert ReadingBlock.objects.count() == 24
    assert not Reading.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_compaction_while_another_holds_the_lock_does_nothing():
    create_ahead(at(0))
    machine = MachineFactory(code="M-001")
    ingest(machine, [(at(1), {"vibration": 2.0}, "")])
    holding, release = threading.Event(), threading.Event()

    def hold_the_run_lock():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [services._COMPACTION_RUN_LOCK])
                holding.set()
                release.wait(10)
                cursor.execute("SELECT pg_advisory_unlock(%s)", [services._COMPACTION_RUN_LOCK])
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_run_lock)
    holder.start()
    try:
        assert holding.wait(10)
        result = readings_compact(now=DAY + datetime.timedelta(days=1, hours=3))
    finally:
        release.set()
        holder.join()

    assert result.busy
    assert Reading.objects.count() == 1
    assert readings_compact(now=DAY + datetime.timedelta(days=1, hours=3)).readings == 1


@pytest.mark.django_db(transaction=True)
def test_the_listener_compacts_in_a_thread_of_its_own_and_the_command_does_it_for_operators():
    create_ahead(at(0))
    machine = MachineFactory(code="M-001")
    ingest(machine, [(at(1), {"vibration": 2.0}, ""), (at(2), {"vibration": 2.5}, "")])
    listener = listener_for()

    with time_machine.travel(DAY + datetime.timedelta(days=1, hours=3), tick=False):
        thread = listener.compaction_start()
        assert thread is not None
        assert thread.name == "readings-compaction"
        thread.join(30)
        assert not thread.is_alive()
        assert not Reading.objects.exists()
        assert len(block_readings(machine)) == 2

        ingest(machine, [(at(3), {"vibration": 3.0}, "")])  # late: the default partition
        out = io.StringIO()
        call_command("compact_readings", stdout=out)
    assert out.getvalue() == "compacted 1 readings into hour blocks (days: none; late readings: 1)\n"
    assert len(block_readings(machine)) == 3


def relation_file(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relfilenode FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


def test_the_minutes_of_the_day_before_the_one_compacted_are_rewritten_once_and_keep_every_roll_up(machine):
    next_day = DAY + datetime.timedelta(days=1)
    ingest(machine, [(at(h, s), {"vibration": float(h + s)}, "") for h in (1, 2) for s in (0, 1, 61)])
    ingest(machine, [(next_day + datetime.timedelta(hours=1, seconds=s), {"vibration": 7.0}, "") for s in (0, 1)])
    # Upserted again and again, as every batch of the ingest does to the current minute.
    for second in range(2, 20):
        ingest(machine, [(at(1, second), {"vibration": 1.0}, "")])
    roll_ups = set(ReadingMinute.objects.values_list("metric", "minute", "count", "total", "minimum", "maximum"))
    files = {day: relation_file(f"telemetry_readingminute_{day:%Y_%b_%d}".lower()) for day in (DAY, next_day)}

    assert compact(DAY + datetime.timedelta(days=1, hours=3)).days == [DAY.date()]
    # The day compacted is not rewritten yet: the predictor's windows still reach its minutes.
    assert relation_file(f"telemetry_readingminute_{DAY:%Y_%b_%d}".lower()) == files[DAY]

    assert compact(DAY + datetime.timedelta(days=2, hours=3)).days == [next_day.date()]
    assert relation_file(f"telemetry_readingminute_{DAY:%Y_%b_%d}".lower()) != files[DAY]
    assert relation_file(f"telemetry_readingminute_{next_day:%Y_%b_%d}".lower()) == files[next_day]
    assert (
        set(ReadingMinute.objects.values_list("metric", "minute", "count", "total", "minimum", "maximum")) == roll_ups
    )
