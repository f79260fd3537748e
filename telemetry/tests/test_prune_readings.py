"""manage.py prune_readings: old raw readings go, their roll-ups and the recent readings stay."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from telemetry.ingest import ReadingRow
from telemetry.models import Reading, ReadingMinute
from telemetry.services import readings_compact, readings_ingest
from telemetry.tests.factories import MachineFactory


def ingest(machine, *moments: datetime.datetime) -> None:
    readings_ingest(rows=[ReadingRow(machine.id, machine.code, ts, {"vibration": 2.0}) for ts in moments])


@pytest.mark.django_db
def test_prune_deletes_old_readings_only_and_keeps_every_roll_up():
    now = timezone.now().replace(second=0, microsecond=0)
    first, second = MachineFactory(code="M-001"), MachineFactory(code="M-002")
    old = [now - datetime.timedelta(days=10, seconds=s) for s in (0, 1, 2)]
    recent = [now - datetime.timedelta(hours=1, seconds=s) for s in (0, 1)]
    ingest(first, *old, *recent)
    ingest(second, *old)
    rollups_before = list(
        ReadingMinute.objects.order_by("machine_id", "minute").values_list("machine_id", "minute", "count")
    )

    dry = io.StringIO()
    call_command("prune_readings", "--older-than", "7", "--dry-run", stdout=dry)
    assert dry.getvalue().startswith("would delete 6 readings")
    assert Reading.objects.count() == 8

    out = io.StringIO()
    call_command("prune_readings", "--older-than", "7", stdout=out)

    assert out.getvalue().startswith("deleted 6 readings")
    assert sorted(Reading.objects.values_list("ts", flat=True)) == sorted(recent)
    assert list(
        ReadingMinute.objects.order_by("machine_id", "minute").values_list("machine_id", "minute", "count")
    ) == (rollups_before)


def test_prune_refuses_to_keep_less_than_a_day():
    with pytest.raises(CommandError, match="at least 1 day"):
        call_command("prune_readings", "--older-than", "0.5")


@pytest.mark.skipif(
    connection.vendor == "postgresql", reason="the SQLite demo's side; PostgreSQL's is test_reading_blocks"
)
@pytest.mark.django_db
def test_sqlite_keeps_its_raw_readings_and_compacts_nothing():
    machine = MachineFactory(code="M-001")
    ingest(machine, timezone.now() - datetime.timedelta(days=3))
    out = io.StringIO()

    call_command("compact_readings", stdout=out)

    assert out.getvalue() == "SQLite keeps its raw readings: nothing to compact\n"
    assert readings_compact().readings == 0
    assert Reading.objects.count() == 1
