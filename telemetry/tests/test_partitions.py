"""The readings' daily partitions on PostgreSQL: created ahead, a reading in its UTC day's partition
whatever the plant's zone, retention by dropping whole days, the duplicate rule unchanged."""

import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from telemetry.ingest import ReadingRow
from telemetry.models import Reading, ReadingMinute
from telemetry.mqtt import telemetry_topic
from telemetry.selectors import time_partitions
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory
from telemetry.tests.test_listener import ListenerThread, listener_for, payload, receive_all

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="partitions are PostgreSQL's (SQLite keeps one plain table); CI runs this on PostgreSQL",
)

UTC = datetime.UTC


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def create_ahead() -> list[str]:
    from telemetry.partitions import reading_partitions_create_ahead  # noqa: PLC0415 - PostgreSQL only

    return reading_partitions_create_ahead()


def day_partitions() -> dict[str, tuple[datetime.datetime, datetime.datetime]]:
    return {p.table: (p.start, p.end) for p in time_partitions(Reading) if p.start is not None and p.end is not None}


def partition_of_each_reading() -> dict[datetime.datetime, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ts, tableoid::regclass::text FROM {Reading._meta.db_table}")  # noqa: S608
        return dict(cursor.fetchall())


def partition_of_each_rollup() -> dict[datetime.datetime, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT minute, tableoid::regclass::text FROM {ReadingMinute._meta.db_table}")  # noqa: S608
        return dict(cursor.fetchall())


def ingest(machine, *moments: datetime.datetime):
    return readings_ingest(rows=[ReadingRow(machine.id, machine.code, ts, {"vibration": 2.0}) for ts in moments])


@pytest.mark.django_db
def test_partitions_are_created_for_today_and_the_days_ahead_once(settings):
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 3
    with time_machine.travel(at("2031-03-10T13:45:00+00:00"), tick=False):
        created = create_ahead()
        again = create_ahead()

    expected = {
        f"telemetry_reading_2031_mar_{day}": (
            datetime.datetime(2031, 3, day, tzinfo=UTC),
            datetime.datetime(2031, 3, day + 1, tzinfo=UTC),
        )
        for day in (10, 11, 12, 13)
    }
    rollups = [name.replace("telemetry_reading_", "telemetry_readingminute_") for name in expected]
    assert sorted(created) == sorted([*expected, *rollups, "telemetry_readinghour_2031_mar"])
    assert again == []
    assert expected.items() <= day_partitions().items()
    assert {p.table for p in time_partitions(ReadingMinute)} >= set(rollups)


@pytest.mark.django_db
def test_pgpartition_creates_the_next_day_for_operators(settings):
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 2
    with time_machine.travel(at("2031-04-01T08:00:00+00:00"), tick=False):
        create_ahead()
    with time_machine.travel(at("2031-04-02T08:00:00+00:00"), tick=False):
        call_command("pgpartition", "--yes", stdout=io.StringIO())

    assert day_partitions()["telemetry_reading_2031_apr_04"] == (
        datetime.datetime(2031, 4, 4, tzinfo=UTC),
        datetime.datetime(2031, 4, 5, tzinfo=UTC),
    )


@pytest.mark.django_db
def test_readings_land_in_their_utc_days_partition_at_day_edges_in_a_non_utc_time_zone(settings):
    settings.TIME_ZONE = "America/Chicago"
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 2
    chicago = zoneinfo.ZoneInfo("America/Chicago")
    machine = MachineFactory(code="M-001")
    # Plant-local noon of the 10th, 17:00 UTC: the partitions of the 10th (UTC) to the 12th.
    with time_machine.travel(datetime.datetime(2031, 3, 10, 12, 0, tzinfo=chicago), tick=False):
        create_ahead()
    last_instant_of_the_10th = at("2031-03-10T23:59:59.999999+00:00")
    first_instant_of_the_11th = at("2031-03-11T00:00:00+00:00")
    # Plant-local evening of the 10th: already the 11th in UTC.
    chicago_evening_of_the_10th = datetime.datetime(2031, 3, 10, 20, 0, tzinfo=chicago)
    chicago_midnight_of_the_12th = datetime.datetime(2031, 3, 12, 0, 0, tzinfo=chicago)
    ingest(
        machine,
        last_instant_of_the_10th,
        first_instant_of_the_11th,
        chicago_evening_of_the_10th,
        chicago_midnight_of_the_12th,
    )

    assert partition_of_each_reading() == {
        last_instant_of_the_10th: "telemetry_reading_2031_mar_10",
        first_instant_of_the_11th: "telemetry_reading_2031_mar_11",
        chicago_evening_of_the_10th: "telemetry_reading_2031_mar_11",  # 01:00 UTC on the 11th
        chicago_midnight_of_the_12th: "telemetry_reading_2031_mar_12",  # 05:00 UTC (CDT) on the 12th
    }
    # Their roll-ups, by the minute each falls in, in the partitions of the same UTC days.
    assert partition_of_each_rollup() == {
        at("2031-03-10T23:59:00+00:00"): "telemetry_readingminute_2031_mar_10",
        first_instant_of_the_11th: "telemetry_readingminute_2031_mar_11",
        chicago_evening_of_the_10th: "telemetry_readingminute_2031_mar_11",
        chicago_midnight_of_the_12th: "telemetry_readingminute_2031_mar_12",
    }
    # The partitions' bounds are UTC midnights, not the plant's.
    assert day_partitions()["telemetry_reading_2031_mar_11"] == (
        datetime.datetime(2031, 3, 11, tzinfo=UTC),
        datetime.datetime(2031, 3, 12, tzinfo=UTC),
    )


@pytest.mark.django_db
def test_a_reading_with_no_days_partition_goes_to_the_default_partition():
    machine = MachineFactory(code="M-001")
    far_ahead = at("2035-01-01T00:00:00+00:00")  # further than any partition created ahead
    assert ingest(machine, far_ahead).stored == 1
    assert partition_of_each_reading() == {far_ahead: "telemetry_reading_default"}


@pytest.mark.django_db
def test_prune_drops_whole_days_and_deletes_only_in_the_partition_straddling_the_cut_off(settings):
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 3
    first, second = MachineFactory(code="M-001"), MachineFactory(code="M-002")
    with time_machine.travel(at("2031-05-01T00:30:00+00:00"), tick=False):
        create_ahead()
    first_day = [at("2031-05-01T00:00:00+00:00") + datetime.timedelta(hours=h) for h in range(0, 24, 4)]
    second_day_early = [at("2031-05-02T01:00:00+00:00"), at("2031-05-02T11:59:59+00:00")]
    second_day_late = [at("2031-05-02T12:00:00+00:00"), at("2031-05-02T23:00:00+00:00")]
    third_day = [at("2031-05-03T06:00:00+00:00")]
    for machine in (first, second):
        ingest(machine, *first_day, *second_day_early, *second_day_late, *third_day)
    rollups_before = list(ReadingMinute.objects.order_by("machine_id", "minute").values_list("machine_id", "minute"))

    with time_machine.travel(at("2031-05-03T12:00:00+00:00"), tick=False):
        dry = io.StringIO()
        call_command("prune_readings", "--older-than", "1", "--dry-run", stdout=dry)
        assert "telemetry_reading_2031_may_01" in day_partitions()
        out = io.StringIO()
        call_command("prune_readings", "--older-than", "1", stdout=out)

    gone = 2 * (len(first_day) + len(second_day_early))
    assert dry.getvalue().startswith(f"would delete {gone} readings")
    assert out.getvalue().startswith(f"deleted {gone} readings")
    partitions = day_partitions()
    assert "telemetry_reading_2031_may_01" not in partitions  # dropped whole
    assert {"telemetry_reading_2031_may_02", "telemetry_reading_2031_may_03"} <= partitions.keys()
    kept = sorted(second_day_late + third_day) * 2
    assert sorted(Reading.objects.values_list("ts", flat=True)) == sorted(kept)
    assert list(ReadingMinute.objects.order_by("machine_id", "minute").values_list("machine_id", "minute")) == (
        rollups_before
    )


@pytest.mark.django_db
def test_prune_deletes_old_readings_from_the_default_partition_too():
    machine = MachineFactory(code="M-001")
    with time_machine.travel(at("2031-06-20T00:00:00+00:00"), tick=False):
        old, recent = at("2031-06-01T00:00:00+00:00"), at("2031-06-19T00:00:00+00:00")
        ingest(machine, old, recent)  # no day partitions: both in the default one
        out = io.StringIO()
        call_command("prune_readings", "--older-than", "7", stdout=out)

    assert out.getvalue().startswith("deleted 1 readings")
    assert list(Reading.objects.values_list("ts", flat=True)) == [recent]


@pytest.mark.django_db
def test_a_day_already_in_the_default_partition_gets_no_partition_and_loses_nothing(settings):
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 1
    machine = MachineFactory(code="M-001")
    early = at("2031-07-02T10:00:00+00:00")
    ingest(machine, early)  # before its day had a partition: the upkeep was not running
    with time_machine.travel(at("2031-07-01T12:00:00+00:00"), tick=False):
        created = create_ahead()

    assert created == [
        "telemetry_reading_2031_jul_01",
        "telemetry_readingminute_2031_jul_01",
        "telemetry_readinghour_2031_jul",
    ]
    assert partition_of_each_reading() == {early: "telemetry_reading_default"}


@pytest.mark.django_db
def test_the_listener_keeps_the_duplicate_rule_on_the_partitioned_table(settings):
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 1
    MachineFactory(code="M-001")
    listener = listener_for()
    with time_machine.travel(at("2031-08-15T09:00:00+00:00"), tick=False):
        assert listener.partitions_upkeep()
        in_a_day_partition = at("2031-08-15T08:59:00+00:00")
        in_the_default_partition = at("2031-08-01T00:00:00+00:00")
        for ts in (in_a_day_partition, in_the_default_partition):
            first = receive_all(listener, [(telemetry_topic("M-001"), payload(ts, vibration=2.0))])
            listener.batch_commit(first, ack=lambda mids: None)
            again = receive_all(listener, [(telemetry_topic("M-001"), payload(ts, vibration=9.9))] * 2)
            listener.batch_commit(again, ack=lambda mids: None)

    assert partition_of_each_reading() == {
        in_a_day_partition: "telemetry_reading_2031_aug_15",
        in_the_default_partition: "telemetry_reading_default",
    }
    assert list(Reading.objects.values_list("metrics", flat=True)) == [{"vibration": 2.0}] * 2
    assert (listener.stats.stored, listener.stats.duplicates) == (2, 4)


@pytest.mark.django_db(transaction=True)
def test_the_listener_creates_the_days_ahead_as_it_starts(settings):
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 2
    with time_machine.travel(at("2031-09-01T23:30:00+00:00"), tick=True), ListenerThread(listener_for()):
        partitions = day_partitions()

    assert {f"telemetry_reading_2031_sep_0{day}" for day in (1, 2, 3)} <= partitions.keys()
