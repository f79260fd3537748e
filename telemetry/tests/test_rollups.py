"""Per-minute roll-ups equal the aggregates of the raw readings, whatever order and duplicates come in."""

import datetime
import random

import pytest
from django.db.models import Count, FloatField, Max, Min, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncMinute

from telemetry.ingest import ReadingRow
from telemetry.models import Reading, ReadingMinute
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 11, 26, 8, 0, tzinfo=datetime.UTC)


def raw_aggregates(metric: str) -> dict:
    value = Cast(KT(f"metrics__{metric}"), FloatField())
    rows = (
        Reading.objects.filter(metrics__has_key=metric)
        .annotate(minute=TruncMinute("ts"), value=value)
        .values("machine_id", "minute")
        .annotate(n=Count("*"), total=Sum("value"), low=Min("value"), high=Max("value"))
    )
    return {(r["machine_id"], r["minute"]): (r["n"], round(r["total"], 9), r["low"], r["high"]) for r in rows}


def rollup_aggregates(metric: str) -> dict:
    return {
        (r.machine_id, r.minute): (r.count, round(r.total, 9), r.minimum, r.maximum)
        for r in ReadingMinute.objects.filter(metric=metric)
    }


def test_rollups_equal_raw_aggregates_across_batches_duplicates_and_late_readings():
    machines = [MachineFactory(), MachineFactory()]
    rng = random.Random(7)
    rows = [
        ReadingRow(
            machine.id,
            machine.code,
            START + datetime.timedelta(seconds=7 * n + rng.random()),
            {"vibration": round(rng.uniform(1, 3), 3), "temperature": round(rng.uniform(40, 60), 2)},
        )
        for machine in machines
        for n in range(60)  # 7 minutes of readings each
    ]
    rng.shuffle(rows)  # late readings land in minutes that already have a roll-up
    for start in range(0, len(rows), 25):
        readings_ingest(rows=rows[start : start + 25])
    result = readings_ingest(rows=rows[:40])  # a redelivery: nothing may be counted twice

    assert result.stored == 0
    assert result.duplicates == 40
    for metric in ("vibration", "temperature"):
        assert rollup_aggregates(metric) == raw_aggregates(metric)
    assert ReadingMinute.objects.filter(metric="vibration").aggregate(n=Sum("count"))["n"] == 120


def test_a_duplicate_inside_one_batch_is_stored_and_rolled_up_once():
    machine = MachineFactory()
    row = ReadingRow(machine.id, machine.code, START, {"vibration": 2.0})
    result = readings_ingest(rows=[row, row])
    assert (result.stored, result.duplicates) == (1, 1)
    [minute] = ReadingMinute.objects.all()
    assert (minute.count, minute.mean, minute.minute) == (1, 2.0, START)
