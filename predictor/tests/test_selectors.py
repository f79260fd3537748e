import datetime

import numpy as np
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from predictor.selectors import error_code_times, machine_windows
from telemetry.ingest import ReadingRow
from telemetry.models import MachineStatus
from telemetry.services import readings_compact, readings_ingest
from telemetry.tests.factories import MachineFactory, MetricSpecFactory
from tickets.models import TicketOutcome, TicketStatus
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

END = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)


def test_windows_hold_minute_means_ranges_error_codes_and_the_last_repair():
    pump = MachineFactory(code="M-001")
    MetricSpecFactory(machine_type=pump.machine_type, name="vibration", normal_min=None, normal_max=4.5)
    rows = [
        ReadingRow(pump.id, "M-001", END - datetime.timedelta(minutes=3, seconds=s), {"vibration": v})
        for s, v in ((10, 2.0), (20, 4.0))
    ]
    rows.append(ReadingRow(pump.id, "M-001", END - datetime.timedelta(minutes=1), {"vibration": 9.0}, "E-BRG-01"))
    rows.append(ReadingRow(pump.id, "M-001", END - datetime.timedelta(hours=3), {"vibration": 1.0}))  # too old
    readings_ingest(rows=rows)
    resolved = END - datetime.timedelta(days=2)
    TicketFactory(
        machine=pump,
        status=TicketStatus.RESOLVED,
        started_at=resolved,
        resolved_at=resolved,
        outcome=TicketOutcome.PREVENTIVE_FIX,
        resolution_notes="Greased",
    )

    [window] = machine_windows(end=END, hours=2)

    assert window.machine_code == "M-001"
    assert list(window.values["vibration"]) == [3.0, 9.0]  # the mean of its minute, then the last reading
    assert list(window.ts) == [
        (END - datetime.timedelta(minutes=4)).timestamp() + 30,
        (END - datetime.timedelta(minutes=1)).timestamp() + 30,
    ]
    assert window.normal_ranges == {"vibration": (None, 4.5)}
    assert list(window.error_code_times) == [(END - datetime.timedelta(minutes=1)).timestamp()]
    assert window.last_repair_ts == resolved.timestamp()


def test_machines_that_are_down_are_left_out_and_silent_ones_have_empty_windows():
    MachineFactory(code="M-001", status=MachineStatus.DOWN)
    MachineFactory(code="M-002")
    [window] = machine_windows(end=timezone.now(), hours=1)
    assert (window.machine_code, len(window.ts)) == ("M-002", 0)
    assert isinstance(window.ts, np.ndarray)


def test_window_for_many_machines_takes_a_fixed_number_of_queries(django_assert_num_queries):
    for _ in range(20):
        MachineFactory()
    with django_assert_num_queries(5):
        assert len(machine_windows(end=timezone.now(), hours=12)) == 20


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compaction is PostgreSQL's; CI runs this on PostgreSQL")
@pytest.mark.django_db
def test_error_code_times_keep_the_codes_of_compacted_days():
    from telemetry.partitions import reading_partitions_create_ahead  # noqa: PLC0415 - PostgreSQL only

    day = datetime.datetime(2031, 5, 4, tzinfo=datetime.UTC)
    with time_machine.travel(day, tick=False):
        reading_partitions_create_ahead()
    machine = MachineFactory(code="M-001")
    coded = [day + datetime.timedelta(hours=hour, microseconds=7) for hour in (2, 9)]
    rows = [ReadingRow(machine.id, machine.code, ts, {"vibration": 2.0}, error_code="E-5") for ts in coded]
    readings_ingest(rows=[*rows, ReadingRow(machine.id, machine.code, day + datetime.timedelta(hours=3), {})])
    before = error_code_times(spans=[([machine.id], day)], end=day + datetime.timedelta(days=1))

    assert readings_compact(now=day + datetime.timedelta(days=1, hours=3)).readings == 3

    after = error_code_times(spans=[([machine.id], day)], end=day + datetime.timedelta(days=1))
    assert after[machine.id].tolist() == before[machine.id].tolist() == [ts.timestamp() for ts in coded]
