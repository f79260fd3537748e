"""run_predictor --partition i/K: K workers score a plant between them, every machine by exactly one
partition, the plant-wide jobs once, and still one alert and one ticket per sick machine, even when two
workers run the same partition at once."""

import datetime
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, connections

from catalogue.models import INSPECT_ERROR_CODE, FailureMode
from predictor.models import MachineHealth
from predictor.partitions import WHOLE_PLANT, Partition
from predictor.scoring import Scorer
from predictor.selectors import machines_to_score
from telemetry.ingest import ReadingRow
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory
from tickets.models import ALERT_OPEN_STATUSES, Alert, Ticket
from tickets.services import ticket_create
from tickets.tests.factories import ErrorCodeFactory

NOW = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Codes as plants name machines: numbered, with a line, with spaces, beyond ASCII.
CODES = [f"M-{n:04d}" for n in range(1, 1001)] + ["LINE2-PRESS-07", "Kühlpumpe 3", "压缩机-1", "x"]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 16])
def test_the_partitions_cover_every_machine_code_exactly_once(count):
    partitions = [Partition(index, count) for index in range(count)]

    holders = {code: [str(p) for p in partitions if p.holds(code)] for code in CODES}

    assert {code: len(held_by) for code, held_by in holders.items()} == dict.fromkeys(CODES, 1)
    # A hash, not a range of codes: every worker gets a fair part of a numbered plant.
    sizes = [sum(p.holds(code) for code in CODES) for p in partitions]
    assert min(sizes) >= len(CODES) / count / 2


def test_a_machine_is_in_the_same_partition_in_every_process_whatever_its_hash_seed():
    """Python's own hash() of a string changes with PYTHONHASHSEED; workers on other hosts must agree."""
    script = (
        "import sys; from predictor.partitions import Partition; "
        "print(''.join(str(i) for code in sys.argv[1:] for i in range(5) if Partition(i, 5).holds(code)))"
    )
    here = "".join(str(i) for code in CODES[:50] for i in range(5) if Partition(i, 5).holds(code))

    for seed in ("1", "2"):
        there = subprocess.run(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-c", script, *CODES[:50]],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        assert there == here


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4/4", "partition index must be from 0 to 3, not 4"),
        ("0/0", "partition count must be at least 1, not 0"),
        ("-1/3", "partition must be i/K with whole numbers, e.g. 0/4, not '-1/3'"),
        ("1", "partition must be i/K with whole numbers, e.g. 0/4, not '1'"),
        ("a/b", "partition must be i/K with whole numbers, e.g. 0/4, not 'a/b'"),
    ],
)
def test_a_partition_that_is_not_i_of_k_is_refused_naming_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        Partition.parse(text)


def test_run_predictor_refuses_a_bad_partition_naming_the_option():
    with pytest.raises(CommandError, match="argument --partition: partition index must be from 0 to 2, not 3"):
        call_command("run_predictor", "--partition", "3/3", "--once")


def test_run_predictor_says_which_partition_it_scored(db):
    out = io.StringIO()
    call_command("run_predictor", "--partition", "1/3", "--once", stdout=out)
    assert out.getvalue().startswith("scored 0 machines of partition 1/3, skipped 0 with sensor warnings in ")


@pytest.fixture
def pumps(db):
    """Twelve pumps whose vibration has been past its alarm limit (7.1) for the last 8 minutes."""
    pump = MachineTypeFactory(name="Centrifugal pump")
    MetricSpecFactory(machine_type=pump, name="vibration", alarm_max=7.1)
    machines = [MachineFactory(code=f"P-{n:02d}", machine_type=pump) for n in range(12)]
    rows = [
        # A little wobble keeps the sensor checks from calling the signal stuck.
        ReadingRow(machine.id, machine.code, NOW - datetime.timedelta(minutes=m), {"vibration": level})
        for machine in machines
        for m in range(40)
        for level in [(7.5 if m < 8 else 3.0) + (0.01 if m % 2 else -0.01)]
    ]
    readings_ingest(rows=rows, reports_now=NOW)
    return machines


def alerted_codes() -> list[str]:
    return sorted(Alert.objects.filter(status__in=ALERT_OPEN_STATUSES).values_list("machine__code", flat=True))


def test_the_running_machines_of_k_partitions_are_the_plant_s_exactly_once(pumps):
    parts = [machines_to_score(partition=Partition(index, 3)) for index in range(3)]

    assert sorted(ref.id for part in parts for ref in part) == [ref.id for ref in machines_to_score()]
    assert all(parts), "twelve machines over three partitions: each has some"


def test_each_worker_raises_the_alerts_of_its_own_partition_only(pumps):
    first, second = Partition(0, 2), Partition(1, 2)

    with time_machine.travel(NOW, tick=False):
        Scorer(partition=first).tick(now=NOW)
        assert alerted_codes() == sorted(m.code for m in pumps if first.holds(m.code))

        Scorer(partition=second).tick(now=NOW)
    assert alerted_codes() == sorted(m.code for m in pumps)
    assert Ticket.objects.count() == len(pumps)


def test_only_partition_0_escalates_the_tickets_nobody_started(db, settings):
    settings.TICKET_ESCALATE_MINUTES = 30
    ticket = ticket_create(machine=MachineFactory(), title="Leak at the seal", at=NOW - datetime.timedelta(hours=1))

    with time_machine.travel(NOW, tick=False):
        Scorer(partition=Partition(1, 2)).tick(now=NOW)
        ticket.refresh_from_db()
        assert ticket.escalated_at is None

        Scorer(partition=Partition(0, 2)).tick(now=NOW)
    ticket.refresh_from_db()
    assert ticket.escalated_at == NOW


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite runs one writing transaction at a time: two workers' ticks cannot interleave; "
    "run with DATABASE_URL on PostgreSQL",
)
def test_k_workers_and_two_of_the_same_partition_at_once_open_one_alert_and_one_ticket_per_machine(pumps):
    # The alarm rules' error code, which the flush after an earlier transactional test removed with
    # everything else the data migrations created.
    ErrorCodeFactory(code=INSPECT_ERROR_CODE, title="Inspect a flagged machine", failure_mode=FailureMode.OTHER)
    workers = [Scorer(partition=Partition(index, 2)) for index in (0, 0, 1, 1)]
    # The first tick reads every window whole: started together, all four read "no alert" before any writes.
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def work(scorer: Scorer) -> None:
        try:
            barrier.wait(timeout=30)
            scorer.tick(now=NOW)
            scorer.tick(now=NOW + datetime.timedelta(seconds=10))
        except BaseException as error:  # handed to the test thread, which asserts on it
            errors.append(error)
        finally:
            connections.close_all()

    with time_machine.travel(NOW, tick=False):
        threads = [threading.Thread(target=work, args=(scorer,)) for scorer in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    assert errors == []
    assert alerted_codes() == sorted(m.code for m in pumps)
    assert sorted(Ticket.objects.values_list("machine__code", flat=True)) == sorted(m.code for m in pumps)


def test_the_whole_plant_is_one_partition():
    assert Partition.parse("0/1") == WHOLE_PLANT
    assert all(WHOLE_PLANT.holds(code) for code in CODES)
    assert WHOLE_PLANT.runs_plant_upkeep


def test_only_partition_0_learns_the_health_models_between_ticks(db):
    machine = MachineFactory()

    with time_machine.travel(NOW, tick=False):
        Scorer(partition=Partition(1, 2)).run(stop=threading.Event(), interval=0.0, once=True)
        assert not MachineHealth.objects.filter(machine=machine, last_learned_at__isnull=False).exists()

        Scorer(partition=Partition(0, 2)).run(stop=threading.Event(), interval=0.0, once=True)
    # Looked at (too little data to learn from yet): the first pass of the plant's learning.
    assert MachineHealth.objects.get(machine=machine).last_learned_at == NOW
