import datetime

import pytest
from django.db import IntegrityError, transaction

from telemetry.models import Machine, MetricSpec, Reading, RejectedMessage
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, ReadingFactory

pytestmark = pytest.mark.django_db

TS = datetime.datetime(2026, 11, 26, 8, 0, tzinfo=datetime.UTC)


def test_second_reading_for_same_machine_and_ts_is_refused():
    reading = ReadingFactory(ts=TS)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reading.objects.create(machine=reading.machine, ts=TS, metrics={"vibration": 9.9})


def test_same_instant_on_two_machines_is_two_readings():
    ReadingFactory(ts=TS)
    ReadingFactory(ts=TS)
    assert Reading.objects.filter(ts=TS).count() == 2


def test_redelivered_reading_changes_nothing_in_a_bulk_insert():
    machine = MachineFactory()
    Reading.objects.create(machine=machine, ts=TS, metrics={"vibration": 2.0})
    Reading.objects.bulk_create(
        [
            Reading(machine=machine, ts=TS, metrics={"vibration": 7.0}),
            Reading(machine=machine, ts=TS + datetime.timedelta(seconds=1), metrics={"vibration": 2.1}),
        ],
        ignore_conflicts=True,
    )
    assert list(Reading.objects.order_by("ts").values_list("metrics", flat=True)) == [
        {"vibration": 2.0},
        {"vibration": 2.1},
    ]


@pytest.mark.parametrize("code", ["", "M/001", "M+", "M#1", "M 001"])
def test_machine_code_that_would_break_the_topic_is_refused(code):
    machine_type = MachineTypeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Machine.objects.create(code=code, name="Pump", machine_type=machine_type)


def test_machine_codes_are_unique():
    MachineFactory(code="M-001")
    with pytest.raises(IntegrityError), transaction.atomic():
        MachineFactory(code="M-001")


def test_machine_status_outside_the_four_states_is_refused():
    machine = MachineFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Machine.objects.filter(pk=machine.pk).update(status="exploded")


@pytest.mark.parametrize(
    "limits",
    [
        {"normal_min": 5.0, "normal_max": 1.0},
        {"normal_min": 1.0, "alarm_min": 2.0},
        {"normal_max": 4.5, "alarm_max": 3.0},
    ],
    ids=["normal-range-reversed", "alarm-min-above-normal", "alarm-max-below-normal"],
)
def test_metric_ranges_must_nest(limits):
    machine_type = MachineTypeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        MetricSpec.objects.create(machine_type=machine_type, name="vibration", unit="mm/s RMS", **limits)


def test_metric_name_is_unique_per_machine_type():
    machine_type = MachineTypeFactory()
    MetricSpec.objects.create(machine_type=machine_type, name="vibration", unit="mm/s RMS")
    with pytest.raises(IntegrityError), transaction.atomic():
        MetricSpec.objects.create(machine_type=machine_type, name="vibration", unit="in/s")


def test_rejected_payload_that_is_not_utf8_is_kept_byte_for_byte():
    raw = b'{"ts": 1, "metrics": \xff\xfe}'
    message = RejectedMessage.objects.create(
        topic="plant/M-001/telemetry", payload=raw, payload_size=len(raw), reason="not UTF-8"
    )
    message.refresh_from_db()
    assert bytes(message.payload) == raw
    assert message.payload_preview == '{"ts": 1, "metrics": \ufffd\ufffd}'
