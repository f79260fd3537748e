"""The per-hour roll-ups' monthly partitions on PostgreSQL, and the roll-up tiers' retention by dropping
whole partitions: created ahead, a month's hours in their UTC month's partition whatever the plant's
zone, past months created by a first roll-up, minutes' days dropped only once their hours are rolled up."""

import datetime

import psycopg
import pytest
import time_machine
from django.db import connection

from telemetry.models import ReadingHour, ReadingMinute
from telemetry.selectors import time_partitions
from telemetry.services import hours_rollup, rollups_prune
from telemetry.tests.factories import MachineFactory
from telemetry.tests.test_partitions import at, create_ahead
from telemetry.tests.test_rollup_tiers import ingest_at, readings

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="partitions are PostgreSQL's (SQLite keeps one plain table); CI runs this on PostgreSQL",
)

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)


def partition_names(model) -> set[str]:
    return {p.table for p in time_partitions(model)}


def partition_of_each_hour() -> dict[datetime.datetime, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT hour, tableoid::regclass::text FROM {ReadingHour._meta.db_table}")  # noqa: S608
        return dict(cursor.fetchall())


@pytest.mark.django_db
def test_the_hours_months_are_created_ahead_once(settings):
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 7
    with time_machine.travel(at("2031-01-29T13:00:00+00:00"), tick=False):
        created = create_ahead()
        again = create_ahead()

    assert [name for name in created if name.startswith("telemetry_readinghour_")] == [
        "telemetry_readinghour_2031_jan",
        "telemetry_readinghour_2031_feb",
    ]
    assert again == []
    bounds = {p.table: (p.start, p.end) for p in time_partitions(ReadingHour)}
    assert bounds["telemetry_readinghour_2031_feb"] == (
        datetime.datetime(2031, 2, 1, tzinfo=UTC),
        datetime.datetime(2031, 3, 1, tzinfo=UTC),
    )
    assert "telemetry_readinghour_2031_mar" not in bounds


@pytest.mark.django_db
def test_an_hour_goes_to_its_utc_months_partition_whatever_the_plants_zone(settings):
    settings.TIME_ZONE = "America/Chicago"  # the evening of 31 January there is February in UTC
    machine = MachineFactory(code="M-001")
    evening = datetime.datetime(2031, 1, 31, 22, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=-6)))
    with time_machine.travel(evening, tick=False):
        create_ahead()
    ingest_at(evening + datetime.timedelta(hours=3), readings(machine, evening, hours=1, seconds=60))

    hours_rollup(now=evening + datetime.timedelta(hours=3))

    assert partition_of_each_hour() == {
        datetime.datetime(2031, 2, 1, 4, tzinfo=UTC): "telemetry_readinghour_2031_feb",
        datetime.datetime(2031, 2, 1, 5, tzinfo=UTC): "telemetry_readinghour_2031_feb",
    }


@pytest.mark.django_db
def test_a_first_roll_up_creates_the_past_months_it_writes(settings):
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 1
    machine = MachineFactory(code="M-001")
    now = at("2031-06-10T12:00:00+00:00")
    ingest_at(now, readings(machine, at("2031-04-20T10:00:00+00:00"), hours=1, seconds=300))

    hours_rollup(now=now)

    assert set(partition_of_each_hour().values()) == {"telemetry_readinghour_2031_apr"}
    assert {"telemetry_readinghour_2031_apr", "telemetry_readinghour_2031_may", "telemetry_readinghour_2031_jun"} <= (
        partition_names(ReadingHour)
    )


@pytest.mark.django_db
def test_the_minutes_days_are_dropped_only_once_their_hours_are_rolled_up(settings):
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 1
    machine = MachineFactory(code="M-001")
    old_day = at("2031-03-01T00:00:00+00:00")
    with time_machine.travel(old_day, tick=False):
        create_ahead()  # 1 and 2 March
    now = old_day + 100 * DAY
    with time_machine.travel(now, tick=False):
        create_ahead()
    ingest_at(now, readings(machine, old_day + datetime.timedelta(hours=6), hours=2, seconds=60))
    ingest_at(now, readings(machine, now - datetime.timedelta(hours=3), hours=2, seconds=60))
    day_partition = "telemetry_readingminute_2031_mar_01"

    rollups_prune(minutes_before=now - 90 * DAY, hours_before=now - 3650 * DAY)
    assert day_partition in partition_names(ReadingMinute)  # no hour rolled up yet: kept

    hours_rollup(now=now)
    pruned = rollups_prune(minutes_before=now - 90 * DAY, hours_before=now - 3650 * DAY)

    assert pruned.minutes == 2 * 120
    names = partition_names(ReadingMinute)
    assert day_partition not in names
    assert "telemetry_readingminute_2031_mar_02" not in names  # empty, older than the cut: gone too
    assert f"telemetry_readingminute_{now:%Y_%b_%d}".lower() in names
    assert ReadingHour.objects.filter(hour__lt=now - 90 * DAY).count() == 2 * 2


@pytest.mark.django_db
def test_the_hours_months_are_dropped_after_their_retention(settings):
    settings.READINGS_PARTITIONS_AHEAD_DAYS = 1
    machine = MachineFactory(code="M-001")
    now = at("2031-06-10T12:00:00+00:00")
    from telemetry.partitions import hour_partitions_create  # noqa: PLC0415 - PostgreSQL only

    hour_partitions_create(start=at("2021-04-01T00:00:00+00:00"), end=at("2021-08-01T00:00:00+00:00"))
    for month in (at("2021-04-10T00:00:00+00:00"), at("2021-07-10T00:00:00+00:00")):
        ReadingHour.objects.create(
            machine=machine, metric="vibration", hour=month, count=1, total=1, minimum=1, maximum=1
        )

    pruned = rollups_prune(minutes_before=now - 90 * DAY, hours_before=now - 3650 * DAY)

    assert pruned.hours == 1
    names = partition_names(ReadingHour)
    assert "telemetry_readinghour_2021_apr" not in names
    assert "telemetry_readinghour_2021_may" not in names
    assert "telemetry_readinghour_2021_jul" in names


@pytest.mark.django_db
def test_one_listener_at_a_time_upkeeps_the_tiers():
    from telemetry.services import _TIERS_LOCK_KEY, rollup_tiers_upkeep  # noqa: PLC0415 - the key under test
    from telemetry.tests.test_rollup_tiers import NOW  # noqa: PLC0415

    machine = MachineFactory(code="M-001")
    ingest_at(NOW, readings(machine, NOW - datetime.timedelta(hours=3), hours=2, seconds=600))
    # Another listener's session on the same database, holding the upkeep.
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", [_TIERS_LOCK_KEY]).fetchone()[0]
        assert rollup_tiers_upkeep(now=NOW)  # nothing done here: the other one is at it
        assert not ReadingHour.objects.exists()
        # It ends its upkeep. Released here, not by closing the connection: the server ends a closed
        # session a moment later, and on a busy machine the next try came first (seen once in CI).
        assert other.execute("SELECT pg_advisory_unlock(%s)", [_TIERS_LOCK_KEY]).fetchone()[0]

    assert rollup_tiers_upkeep(now=NOW)
    assert ReadingHour.objects.exists()
