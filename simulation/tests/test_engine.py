import datetime
import itertools
import json
import math
import os
import signal
import statistics
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from io import StringIO

import paho.mqtt.client as mqtt
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from catalogue.models import ErrorCode, FailureMode
from demo.seed import COMPRESSOR, MACHINE_TYPES, MACHINES, MOTOR, PUMP
from simulation.engine import (
    BEARING_WEAR,
    DEFAULT_ERROR_CODES,
    ELECTRICAL_FAULT,
    FAILED,
    FAILURE_MODES,
    IMBALANCE,
    LUBRICATION_LOSS,
    OVERHEATING,
    REPAIRED,
    STARTED,
    FaultRecord,
    LiveClock,
    MachineProfile,
    MetricRange,
    PlantSimulation,
    history_instants,
)
from simulation.models import SimulatedFault
from simulation.runner import (
    GroundTruthRecorder,
    ResolvedTicketWatcher,
    error_codes_by_failure_mode,
    history_write,
    live_run,
    plant_load,
)
from telemetry.ingest import DecodedReading, message_decode
from telemetry.models import Machine, Reading
from telemetry.mqtt import BrokerAddress, telemetry_topic
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory

UTC = datetime.UTC
HOUR = datetime.timedelta(hours=1)
MINUTE = datetime.timedelta(minutes=1)
T0 = datetime.datetime(2026, 3, 2, tzinfo=UTC)
NEVER_FAILS = 1e9  # mtbf_hours for machines that should stay healthy for the whole test

TYPE_METRICS = {
    machine_type.name: tuple(
        MetricRange(metric.name, metric.normal_min, metric.normal_max, metric.alarm_min, metric.alarm_max)
        for metric in machine_type.metrics
    )
    for machine_type in MACHINE_TYPES
}
LIMITS = {type_name: {metric.name: metric for metric in metrics} for type_name, metrics in TYPE_METRICS.items()}


def demo_profiles() -> list[MachineProfile]:
    return [MachineProfile(machine.code, TYPE_METRICS[machine.machine_type]) for machine in MACHINES]


def simulate(plant: PlantSimulation, *, start, end, step_seconds=60.0):
    readings, events = [], []
    for ts in history_instants(start=start, end=end, step_seconds=step_seconds):
        tick = plant.tick(ts)
        readings += tick.readings
        events += tick.events
    return readings, events


@dataclass
class ForcedRun:
    fault: FaultRecord
    readings: list
    events: list
    # The same machine and seed without the fault: the same noise and load at every instant, so
    # a reading minus its twin is what the fault did.
    healthy_twin: dict

    def values(self, metric, low, high):
        return values_between(self.readings, self.fault, metric, low, high)

    def effect(self, metric, low, high):
        """Mean of what the fault added to the metric from `low` to `high` of its development."""
        span = self.fault.planned_failure_at - self.fault.started_at
        start, end = self.fault.started_at + low * span, self.fault.started_at + high * span
        return statistics.mean(
            reading.metrics[metric] - self.healthy_twin[reading.ts][metric]
            for reading in self.readings
            if start <= reading.ts < end and not reading.error_code
        )


def forced_failure(*, machine_type: str, failure_mode: str, seed: int = 7) -> ForcedRun:
    """One machine of this type that develops this fault, fails at T0 + 10 days, and is left alone."""
    profile = MachineProfile("M-900", TYPE_METRICS[machine_type])
    plant = PlantSimulation(machines=[profile], seed=seed, mtbf_hours=NEVER_FAILS)
    fault = plant.fault_force(
        machine_code="M-900", failure_at=T0 + datetime.timedelta(days=10), failure_mode=failure_mode
    )
    window = {"start": fault.started_at - 6 * HOUR, "end": fault.planned_failure_at + 12 * HOUR}
    readings, events = simulate(plant, **window)
    twin, _ = simulate(PlantSimulation(machines=[profile], seed=seed, mtbf_hours=NEVER_FAILS), **window)
    return ForcedRun(fault, readings, events, {reading.ts: reading.metrics for reading in twin})


def values_between(readings, fault, metric, low, high):
    """The metric's values while the fault had progressed from `low` to `high` (fractions of its development)."""
    span = fault.planned_failure_at - fault.started_at
    return [
        reading.metrics[metric]
        for reading in readings
        if fault.started_at + low * span <= reading.ts < fault.started_at + high * span and not reading.error_code
    ]


def values_in(readings, metric, start, end):
    return [reading.metrics[metric] for reading in readings if start <= reading.ts < end]


# --- reproducibility ------------------------------------------------------------------------------


def test_same_seed_gives_identical_readings_and_faults():
    runs = [
        simulate(
            PlantSimulation(machines=demo_profiles(), seed=42, mtbf_hours=30),
            start=T0,
            end=T0 + 2 * 24 * HOUR,
            step_seconds=300,
        )
        for _ in range(2)
    ]
    (readings_a, events_a), (readings_b, events_b) = runs
    assert len(readings_a) > 10_000
    assert any(event.event == FAILED for event in events_a)
    assert readings_a == readings_b
    assert events_a == events_b


def test_different_seed_gives_different_readings_and_faults():
    (readings_a, events_a), (readings_b, events_b) = (
        simulate(
            PlantSimulation(machines=demo_profiles(), seed=seed, mtbf_hours=30),
            start=T0,
            end=T0 + 2 * 24 * HOUR,
            step_seconds=300,
        )
        for seed in (1, 2)
    )
    first_a = {(r.machine_code, r.ts): r.metrics for r in readings_a}
    same = sum(1 for r in readings_b if first_a.get((r.machine_code, r.ts)) == r.metrics)
    assert same < len(readings_b) * 0.01
    assert {(e.fault.machine_code, e.fault.started_at) for e in events_a} != {
        (e.fault.machine_code, e.fault.started_at) for e in events_b
    }


def test_a_reading_depends_on_seed_machine_and_instant_only_not_on_other_machines_or_ticks():
    profiles = demo_profiles()[:3]
    whole, whole_events = simulate(
        PlantSimulation(machines=profiles, seed=3, mtbf_hours=20), start=T0, end=T0 + 24 * HOUR, step_seconds=60
    )
    alone, alone_events = simulate(
        PlantSimulation(machines=[profiles[1]], seed=3, mtbf_hours=20), start=T0, end=T0 + 24 * HOUR, step_seconds=300
    )
    code = profiles[1].code
    at_one_minute = {r.ts: r for r in whole if r.machine_code == code}
    assert len(alone) > 200
    for reading in alone:
        if not reading.error_code:  # the failing reading is the first tick after the failure, which depends on the step
            assert at_one_minute[reading.ts] == reading
    assert {(e.fault.started_at, e.fault.planned_failure_at) for e in whole_events if e.fault.machine_code == code} == {
        (e.fault.started_at, e.fault.planned_failure_at) for e in alone_events
    }
    assert alone_events  # mtbf 20 h: the day has a fault of this machine to compare


# --- healthy machines -----------------------------------------------------------------------------


def test_healthy_machines_stay_in_their_normal_ranges_with_vibration_of_1_to_3_mm_s():
    plant = PlantSimulation(machines=demo_profiles(), seed=11, mtbf_hours=NEVER_FAILS)
    readings, events = simulate(plant, start=T0, end=T0 + 3 * 24 * HOUR, step_seconds=300)
    assert events == []
    type_of = {machine.code: machine.machine_type for machine in MACHINES}
    inside = total = 0
    vibrations = []
    for reading in readings:
        limits = LIMITS[type_of[reading.machine_code]]
        assert set(reading.metrics) == set(limits)
        for name, value in reading.metrics.items():
            spec = limits[name]
            total += 1
            inside += (spec.normal_min is None or value >= spec.normal_min) and (
                spec.normal_max is None or value <= spec.normal_max
            )
        vibrations.append(reading.metrics["vibration"])
    assert len(readings) == 24 * 3 * 288
    assert inside / total > 0.99
    assert min(vibrations) >= 1.0
    assert max(vibrations) <= 3.0


def test_daily_load_cycle_warms_machines_in_the_afternoon():
    plant = PlantSimulation(machines=demo_profiles()[:4], seed=5, mtbf_hours=NEVER_FAILS)
    readings, _ = simulate(plant, start=T0, end=T0 + 24 * HOUR, step_seconds=60)
    afternoon = [r.metrics["temperature"] for r in readings if 14 <= r.ts.hour < 16]
    night = [r.metrics["temperature"] for r in readings if 2 <= r.ts.hour < 4]
    assert statistics.mean(afternoon) - statistics.mean(night) > 4.0


# --- faults: every kind ends in a failure with its code ---------------------------------------------


@pytest.mark.parametrize(
    ("machine_type", "failure_mode", "failing_metrics"),
    [
        (PUMP, BEARING_WEAR, ["vibration"]),
        (MOTOR, OVERHEATING, ["temperature"]),
        (COMPRESSOR, IMBALANCE, ["vibration"]),
        (COMPRESSOR, LUBRICATION_LOSS, ["temperature", "oil_temperature"]),
        (MOTOR, ELECTRICAL_FAULT, ["current"]),
        (PUMP, ELECTRICAL_FAULT, ["temperature"]),
    ],
)
def test_forced_fault_fails_with_its_error_code_past_the_alarm_then_machine_is_silent_until_repaired(
    machine_type, failure_mode, failing_metrics
):
    run = forced_failure(machine_type=machine_type, failure_mode=failure_mode)
    fault, readings, events = run.fault, run.readings, run.events
    assert [event.event for event in events] == [STARTED, FAILED, REPAIRED]
    failed, repaired = events[1].fault, events[2].fault
    coded = [reading for reading in readings if reading.error_code]
    assert len(coded) == 1
    final = coded[0]
    assert final.error_code == DEFAULT_ERROR_CODES[failure_mode]
    assert final.ts == failed.failed_at
    assert fault.planned_failure_at <= final.ts < fault.planned_failure_at + datetime.timedelta(minutes=1)
    for name in failing_metrics:
        assert final.metrics[name] > LIMITS[machine_type][name].alarm_max
    # Still plausible: past the alarm, not past a second alarm band beyond it.
    for name, value in final.metrics.items():
        spec = LIMITS[machine_type][name]
        if spec.alarm_max is not None:
            assert value < spec.alarm_max + 1.5 * (spec.alarm_max - spec.normal_max)
    assert 2 * HOUR <= repaired.repaired_at - failed.failed_at <= 8 * HOUR
    assert not [reading for reading in readings if failed.failed_at < reading.ts < repaired.repaired_at]
    back = [reading for reading in readings if reading.ts >= repaired.repaired_at]
    assert len(back) > 60
    for reading in back:
        for name, value in reading.metrics.items():
            spec = LIMITS[machine_type][name]
            assert spec.normal_min is None or value >= spec.normal_min - 1e-9
            assert spec.normal_max is None or value <= spec.normal_max + 1e-9


def test_bearing_wear_vibration_grows_slowly_then_fast_with_rising_spikes():
    run = forced_failure(machine_type=PUMP, failure_mode=BEARING_WEAR)

    early_growth = run.effect("vibration", 0.25, 0.30) - run.effect("vibration", 0.0, 0.05)
    late_growth = run.effect("vibration", 0.95, 1.0) - run.effect("vibration", 0.70, 0.75)
    assert late_growth > 2.0
    assert late_growth > 8 * early_growth

    def worst_spike(low, high):
        values = run.values("vibration", low, high)
        return max(values) - statistics.median(values)

    assert worst_spike(0.8, 0.85) > 2 * worst_spike(0.2, 0.25)


def test_imbalance_steps_vibration_up_at_onset_and_keeps_growing():
    run = forced_failure(machine_type=MOTOR, failure_mode=IMBALANCE)
    hour = HOUR / (run.fault.planned_failure_at - run.fault.started_at)
    before = values_in(run.readings, "vibration", run.fault.started_at - HOUR, run.fault.started_at)
    step = run.effect("vibration", 0.0, hour)
    assert step > 0.7
    assert step > 10 * statistics.stdev(before)
    assert run.effect("vibration", 0.9, 1.0) > step + 1.0


def test_overheating_drives_temperature_and_motor_current_up_faster_and_faster():
    run = forced_failure(machine_type=MOTOR, failure_mode=OVERHEATING)
    halfway = run.effect("temperature", 0.45, 0.5)
    late = run.effect("temperature", 0.95, 1.0)
    assert late > 25.0
    assert 3.0 < halfway < late / 2  # a drift that accelerates, not a jump
    assert run.effect("current", 0.95, 1.0) > 1.0


def test_lubrication_loss_raises_vibration_and_temperatures_together():
    run = forced_failure(machine_type=COMPRESSOR, failure_mode=LUBRICATION_LOSS)
    for metric, least_rise in (("vibration", 1.5), ("temperature", 20.0), ("oil_temperature", 15.0)):
        middle = run.effect(metric, 0.45, 0.55)
        late = run.effect(metric, 0.9, 1.0)
        assert late > least_rise, metric
        assert 0 < middle < late / 2, metric


def _instability(values):
    """The spread of successive changes: noise and instability, without the slow trend."""
    return statistics.stdev(b - a for a, b in itertools.pairwise(values))


def test_electrical_fault_makes_motor_current_increasingly_unstable():
    run = forced_failure(machine_type=MOTOR, failure_mode=ELECTRICAL_FAULT)
    early = _instability(run.values("current", 0.0, 0.15))
    late = _instability(run.values("current", 0.85, 1.0))
    assert late > 4 * early


def test_electrical_fault_without_current_sensor_makes_temperature_and_vibration_jitter():
    run = forced_failure(machine_type=PUMP, failure_mode=ELECTRICAL_FAULT)
    for metric in ("temperature", "vibration"):
        early = _instability(run.values(metric, 0.0, 0.15))
        late = _instability(run.values(metric, 0.85, 1.0))
        assert late > 3 * early, metric


def test_faults_develop_over_6_to_120_simulated_hours_mostly_longer_than_a_day():
    plant = PlantSimulation(machines=demo_profiles()[:6], seed=9, mtbf_hours=1)
    _, events = simulate(plant, start=T0, end=T0 + 90 * 24 * HOUR, step_seconds=1800)
    faults = {(e.fault.machine_code, e.fault.started_at): e.fault for e in events}
    hours = [(fault.planned_failure_at - fault.started_at) / HOUR for fault in faults.values()]
    assert len(hours) > 100
    assert min(hours) >= 6
    assert max(hours) <= 120
    assert sum(1 for h in hours if h > 24) > 0.7 * len(hours)
    assert {fault.failure_mode for fault in faults.values()} == set(FAILURE_MODES)


# --- repairs --------------------------------------------------------------------------------------


def test_repair_while_a_fault_develops_prevents_the_failure():
    plant = PlantSimulation(machines=[MachineProfile("M-900", TYPE_METRICS[PUMP])], seed=4, mtbf_hours=NEVER_FAILS)
    fault = plant.fault_force(machine_code="M-900", failure_at=T0 + 48 * HOUR, failure_mode=BEARING_WEAR)
    halfway = fault.started_at + (fault.planned_failure_at - fault.started_at) / 2
    before, _ = simulate(plant, start=fault.started_at - HOUR, end=halfway)
    repair_at = before[-1].ts
    repair_events = plant.repair(machine_code="M-900", at=repair_at)
    after, after_events = simulate(plant, start=halfway, end=fault.planned_failure_at + 12 * HOUR)

    assert [event.event for event in repair_events] == [REPAIRED]
    assert repair_events[0].fault.failed_at is None
    assert repair_events[0].fault.repaired_at == repair_at
    assert after_events == []
    assert plant.failures == 0
    assert not [reading for reading in after if reading.error_code]
    assert len(after) == len(
        list(history_instants(start=halfway, end=fault.planned_failure_at + 12 * HOUR, step_seconds=60))
    )
    assert max(reading.metrics["vibration"] for reading in after) <= 3.0


def test_repair_of_a_healthy_machine_changes_nothing():
    plant = PlantSimulation(machines=[MachineProfile("M-900", TYPE_METRICS[MOTOR])], seed=4, mtbf_hours=NEVER_FAILS)
    simulate(plant, start=T0, end=T0 + HOUR)
    assert plant.repair(machine_code="M-900", at=T0 + HOUR) == []
    assert plant.state().healthy == 1


def test_failed_machine_repaired_by_a_technician_during_its_downtime_returns_at_once():
    plant = PlantSimulation(machines=[MachineProfile("M-900", TYPE_METRICS[MOTOR])], seed=4, mtbf_hours=NEVER_FAILS)
    fault = plant.fault_force(machine_code="M-900", failure_at=T0 + 30 * HOUR, failure_mode=OVERHEATING)
    _, events = simulate(
        plant, start=fault.started_at, end=fault.planned_failure_at + 10 * datetime.timedelta(minutes=1)
    )
    assert [event.event for event in events] == [STARTED, FAILED]
    repair_at = fault.planned_failure_at + 30 * datetime.timedelta(minutes=1)
    repaired = plant.repair(machine_code="M-900", at=repair_at)
    after, _ = simulate(plant, start=repair_at, end=repair_at + HOUR)
    assert [event.event for event in repaired] == [REPAIRED]
    assert repaired[0].fault.failed_at == events[1].fault.failed_at
    assert repaired[0].fault.repaired_at == repair_at
    assert len(after) == 60
    assert all(reading.metrics["temperature"] < LIMITS[MOTOR]["temperature"].normal_max for reading in after)


# --- clocks ---------------------------------------------------------------------------------------


def test_speedup_clock_starts_in_the_past_so_the_run_ends_at_the_present():
    now = datetime.datetime(2026, 3, 2, 12, 0, 0, 400_000, tzinfo=UTC)
    clock = LiveClock.ending_at_present(now=now, rate=2, speedup=10, duration_s=60)
    assert clock.start == datetime.datetime(2026, 3, 2, 11, 51, 0, tzinfo=UTC)  # 540 s back, whole second
    last = clock.last_tick(duration_s=60)
    assert last == 120
    assert clock.wall_offset(last) == 60.0
    assert clock.simulated_at(1) - clock.simulated_at(0) == datetime.timedelta(seconds=5)
    # The last tick is published 60 s from now and stamped with that moment, give or take the rounding.
    run_end = now + datetime.timedelta(seconds=60)
    assert run_end - datetime.timedelta(seconds=1) < clock.simulated_at(last) <= run_end


def test_speedup_without_duration_is_refused_by_the_clock():
    with pytest.raises(ValueError, match="--duration"):
        LiveClock.ending_at_present(now=T0, rate=1, speedup=10, duration_s=None)


def test_fail_soon_machine_fails_the_given_wall_clock_minutes_into_the_live_run():
    now = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    clock = LiveClock.ending_at_present(now=now, rate=2, speedup=600, duration_s=600)
    plant = PlantSimulation(machines=demo_profiles()[:2], seed=1, mtbf_hours=NEVER_FAILS)
    fault = plant.fault_force(
        machine_code="M-002",
        failure_at=clock.simulated_after(wall_seconds=5 * 60),  # 50 simulated hours on
        failure_mode=ELECTRICAL_FAULT,  # develops in 6-36 h: longer here, to be under way before the run
        started_before=clock.start,
    )
    assert fault.started_at <= clock.start - HOUR
    failing_tick = next(
        tick
        for tick in range(clock.last_tick(duration_s=600) + 1)
        if any(reading.error_code for reading in plant.tick(clock.simulated_at(tick)).readings)
    )
    assert clock.wall_offset(failing_tick) == 300.0


def test_history_instants_are_whole_steps_since_the_epoch_and_stop_before_the_end():
    instants = list(
        history_instants(
            start=T0 + datetime.timedelta(seconds=30), end=T0 + datetime.timedelta(minutes=4), step_seconds=60
        )
    )
    assert instants == [T0 + datetime.timedelta(minutes=m) for m in (1, 2, 3)]


def test_speedup_without_duration_is_refused_by_the_command():
    with pytest.raises(CommandError, match=r"--speedup above 1 needs --duration"):
        call_command("simulate_plant", "--speedup", "10")


# --- database -------------------------------------------------------------------------------------


@pytest.fixture
def demo_plant(db):
    call_command("seed_demo", stdout=StringIO())


def test_error_codes_come_from_the_error_code_table(demo_plant):
    assert error_codes_by_failure_mode() == DEFAULT_ERROR_CODES
    ErrorCode.objects.create(code="E-BRG-00", title="Bearing seized", failure_mode=FailureMode.BEARING_WEAR)
    assert error_codes_by_failure_mode()[BEARING_WEAR] == "E-BRG-00"


def _history(tmp_path, *, end):
    plant = plant_load(machine_count=3, seed=5, mtbf_hours=30)
    plant.simulation.fault_force(machine_code="M-002", failure_at=end - 20 * HOUR, failure_mode=IMBALANCE)
    truth = GroundTruthRecorder(path=tmp_path / "truth.jsonl", seed=5, machine_ids=plant.machine_ids)
    result = history_write(
        plant=plant, start=end - 2 * 24 * HOUR, end=end, step_seconds=300, truth=truth, chunk_rows=500
    )
    return plant, result


def test_history_writes_readings_and_simulated_faults_to_the_database(demo_plant, tmp_path):
    end = datetime.datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
    _, result = _history(tmp_path, end=end)

    assert result.readings > 1500  # 3 machines x 576 instants, less downtime
    assert result.stored == result.readings == Reading.objects.count()
    assert result.duplicates == 0
    assert set(Reading.objects.values_list("machine__code", flat=True)) == {"M-001", "M-002", "M-003"}
    failing = Reading.objects.get(machine__code="M-002", error_code="E-VIB-01")
    assert failing.metrics["vibration"] > 7.1
    imbalance = SimulatedFault.objects.get(machine__code="M-002", failure_mode=IMBALANCE)
    assert imbalance.failed_at == failing.ts
    assert imbalance.repaired_at is not None
    assert imbalance.seed == 5
    lines = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert {line["event"] for line in lines} >= {STARTED, FAILED, REPAIRED}
    assert len({(line["machine"], line["started_at"]) for line in lines}) == SimulatedFault.objects.count()
    assert set(lines[0]) == {
        "event",
        "machine",
        "failure_mode",
        "error_code",
        "started_at",
        "planned_failure_at",
        "failed_at",
        "repaired_at",
        "seed",
    }
    assert Reading.objects.filter(ts__gte=end).count() == 0
    # A machine already down when the window opens failed unobserved: no reading carries its code.
    observed_failures = SimulatedFault.objects.filter(failed_at__gte=end - 2 * 24 * HOUR)
    assert set(Reading.objects.filter(error_code__gt="").values_list("machine_id", "ts")) == set(
        observed_failures.values_list("machine_id", "failed_at")
    )


def test_history_written_twice_for_the_same_window_stores_nothing_new(demo_plant, tmp_path):
    end = datetime.datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
    _, first = _history(tmp_path, end=end)
    faults_before = list(SimulatedFault.objects.values_list("machine_id", "started_at", "failed_at", "repaired_at"))
    readings_before = Reading.objects.count()

    _, second = _history(tmp_path, end=end)

    assert second.readings == first.readings
    assert second.stored == 0
    assert second.duplicates == first.readings
    assert Reading.objects.count() == readings_before
    assert (
        list(SimulatedFault.objects.values_list("machine_id", "started_at", "failed_at", "repaired_at"))
        == faults_before
    )


def test_simulate_plant_no_live_writes_history_ending_now(demo_plant, tmp_path):
    out = StringIO()
    call_command(
        "simulate_plant",
        "--machines",
        "2",
        "--history-days",
        "0.25",
        "--no-live",
        "--truth-file",
        str(tmp_path / "truth.jsonl"),
        stdout=out,
    )
    # 6 h at 60 s is 361 readings a machine; a machine that is down for part of it sends fewer.
    assert 361 <= Reading.objects.count() <= 2 * 361
    assert set(Reading.objects.values_list("machine__code", flat=True)) <= {"M-001", "M-002"}
    newest = Reading.objects.order_by("-ts").first().ts
    assert datetime.datetime.now(UTC) - newest < datetime.timedelta(minutes=2)
    assert "History written" in out.getvalue()


def test_simulate_plant_no_live_with_now_writes_the_same_history_on_any_date(demo_plant, tmp_path):
    end = datetime.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    arguments = ("--machines", "2", "--history-days", "0.1", "--no-live", "--now", end.isoformat())
    call_command("simulate_plant", *arguments, "--truth-file", str(tmp_path / "truth.jsonl"), stdout=StringIO())
    first = list(Reading.objects.order_by("machine_id", "ts").values_list("machine_id", "ts", "metrics"))
    Reading.objects.all().delete()
    call_command("simulate_plant", *arguments, "--truth-file", str(tmp_path / "again.jsonl"), stdout=StringIO())

    assert list(Reading.objects.order_by("machine_id", "ts").values_list("machine_id", "ts", "metrics")) == first
    assert max(ts for _, ts, _ in first) == end - datetime.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--now", "2026-03-29T01:30:00Z"), "--now goes with --no-live"),
        (("--no-live", "--history-days", "1", "--now", "2026-03-29T01:30"), "has no UTC offset"),
        (("--no-live", "--history-days", "1", "--now", "yesterday"), "is not an ISO 8601 instant"),
    ],
)
def test_simulate_plant_refuses_a_now_it_cannot_use(demo_plant, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate_plant", *arguments, stdout=StringIO())


def test_a_forced_fault_has_the_same_kind_and_development_whatever_the_date_it_is_planned_for():
    def forced(failure_at, failure_mode):
        plant = PlantSimulation(machines=demo_profiles()[:1], seed=1, mtbf_hours=NEVER_FAILS)
        fault = plant.fault_force(machine_code="M-001", failure_at=failure_at, failure_mode=failure_mode)
        return fault.failure_mode, fault.planned_failure_at - fault.started_at

    for failure_mode in (BEARING_WEAR, None):
        plans = {forced(T0 + datetime.timedelta(days=days, minutes=days), failure_mode) for days in (0, 59, 366, 1000)}
        assert len(plans) == 1, plans


def test_a_repair_before_a_forced_fault_keeps_it_planned():
    # A technician fixes an earlier fault; the machine's natural faults are drawn anew from the
    # repair, but the fault a scenario planned for later still comes, when it was planned.
    plant = PlantSimulation(machines=demo_profiles()[:1], seed=1, mtbf_hours=NEVER_FAILS)
    earlier = plant.fault_force(machine_code="M-001", failure_at=T0 + 30 * HOUR, failure_mode=OVERHEATING)
    later = plant.fault_force(
        machine_code="M-001",
        failure_at=T0 + 60 * HOUR,
        failure_mode=ELECTRICAL_FAULT,
        development=datetime.timedelta(minutes=10),
    )
    assert earlier.started_at < T0 + 20 * HOUR < earlier.planned_failure_at < later.started_at
    _, events = simulate(plant, start=T0, end=T0 + 20 * HOUR)
    events += plant.repair(machine_code="M-001", at=T0 + 20 * HOUR)
    _, after = simulate(plant, start=T0 + 20 * HOUR + MINUTE, end=T0 + 61 * HOUR)

    assert [(e.event, e.fault.failure_mode) for e in events] == [(STARTED, OVERHEATING), (REPAIRED, OVERHEATING)]
    assert [(e.event, e.fault.failure_mode) for e in after] == [(STARTED, ELECTRICAL_FAULT), (FAILED, ELECTRICAL_FAULT)]
    assert after[1].fault.failed_at == later.planned_failure_at


def test_a_sudden_fault_fails_minutes_after_it_begins_with_its_error_code():
    plant = PlantSimulation(machines=demo_profiles()[:1], seed=1, mtbf_hours=NEVER_FAILS)
    failure_at = T0 + 5 * HOUR
    fault = plant.fault_force(
        machine_code="M-001",
        failure_at=failure_at,
        failure_mode=ELECTRICAL_FAULT,
        development=datetime.timedelta(minutes=10),
    )
    readings, events = simulate(plant, start=T0, end=T0 + 6 * HOUR)

    assert fault.started_at == failure_at - datetime.timedelta(minutes=10)
    assert [event.event for event in events] == [STARTED, FAILED]
    assert events[1].fault.failed_at == failure_at
    assert [reading.error_code for reading in readings if reading.error_code] == [fault.error_code]
    with pytest.raises(ValueError, match="must be positive"):
        plant.fault_force(machine_code="M-001", failure_at=T0, development=datetime.timedelta(0))


def test_resolved_ticket_repairs_a_developing_fault_during_a_live_run(demo_plant, tmp_path):
    plant = plant_load(machine_count=2, seed=8, mtbf_hours=NEVER_FAILS)
    clock = LiveClock.ending_at_present(now=datetime.datetime.now(UTC), rate=20, speedup=1, duration_s=0.5)
    fault = plant.simulation.fault_force(machine_code="M-001", failure_at=clock.start + HOUR, failure_mode=BEARING_WEAR)
    truth = GroundTruthRecorder(path=tmp_path / "truth.jsonl", seed=8, machine_ids=plant.machine_ids)
    watcher = ResolvedTicketWatcher(machine_codes=plant.machine_ids, since=datetime.datetime.now(UTC))
    resolved_at = datetime.datetime.now(UTC)
    TicketFactory(
        machine=Machine.objects.get(code="M-001"),
        status=Ticket.Status.RESOLVED,
        started_at=resolved_at,
        resolved_at=resolved_at,
        outcome=Ticket.Outcome.PREVENTIVE_FIX,
        resolution_notes="Replaced the bearing.",
    )
    published = []

    result = live_run(
        plant=plant,
        clock=clock,
        publish=published.append,
        truth=truth,
        stop=threading.Event(),
        duration_s=0.5,
        tickets=watcher,
        ticket_poll_s=0.0,
    )

    assert result.repairs == 1
    stored = SimulatedFault.objects.get(machine__code="M-001", started_at=fault.started_at)
    assert stored.failed_at is None
    assert stored.repaired_at is not None
    assert stored.repaired_at < fault.planned_failure_at
    assert result.ticks == 11
    assert {reading.machine_code for reading in published} == {"M-001", "M-002"}
    assert not [reading for reading in published if reading.error_code]
    assert watcher.poll() == []  # the same ticket does not repair twice


# --- live over MQTT -------------------------------------------------------------------------------


class TelemetrySubscriber:
    """Collects what the broker delivers on these machines' topics, with the instant each message arrived.

    Only these topics, not plant/+/telemetry: other tests and benchmarks may be flooding the shared
    broker, and their traffic would only delay ours.
    """

    def __init__(self, machine_codes):
        address = BrokerAddress.from_url(settings.MQTT_URL)
        self.messages = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"test-simulator-sub-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv5,
        )
        topics = [(telemetry_topic(code), 1) for code in machine_codes]
        self.client.on_connect = lambda client, *_: client.subscribe(topics)
        self.granted = []
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda _client, _userdata, message: self.messages.append(
            (message.topic, message.payload, datetime.datetime.now(UTC))
        )
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        # The simulator publishes only after the broker has acknowledged every subscription.
        assert self._subscribed.wait(5), "no SUBACK from the broker"
        assert len(self.granted) == len(topics), self.granted
        assert not any(code.is_failure for code in self.granted), self.granted

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties):
        self.granted = list(reason_codes)
        self._subscribed.set()

    def wait_for(self, count, *, timeout_s=5.0):
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # and a moment for any message that should not be there

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def unique_pumps(db):
    """Four pumps whose codes no other test or process publishes for, so the broker's traffic is ours to check."""
    prefix = f"T{uuid.uuid4().hex[:8]}"
    pump_type = MachineTypeFactory(name=f"Pump {prefix}")
    for metric in TYPE_METRICS[PUMP]:
        MetricSpecFactory(
            machine_type=pump_type,
            name=metric.name,
            unit="-",
            normal_min=metric.normal_min,
            normal_max=metric.normal_max,
            alarm_min=metric.alarm_min,
            alarm_max=metric.alarm_max,
        )
    return [MachineFactory(code=f"{prefix}-{n}", machine_type=pump_type).code for n in range(1, 5)]


def test_simulate_plant_publishes_readings_of_the_payload_contract_over_mqtt(unique_pumps, tmp_path):
    subscriber = TelemetrySubscriber(unique_pumps)
    out = StringIO()
    try:
        call_command(
            "simulate_plant",
            "--machines",
            "3",
            "--rate",
            "5",
            "--duration",
            "2",
            # No faults: a machine whose fault timeline has it down at the start publishes nothing (about
            # one run in 17 with three random machine codes), which is the simulator's truth, not a loss.
            "--mtbf-hours",
            "1e9",
            "--client-id",
            f"test-simulator-pub-{uuid.uuid4().hex[:12]}",
            "--truth-file",
            str(tmp_path / "truth.jsonl"),
            stdout=out,
        )
        subscriber.wait_for(3 * 11)
    finally:
        subscriber.close()

    by_machine = defaultdict(list)
    for topic, payload, received_at in subscriber.messages:
        [decoded] = message_decode(topic, payload, now=received_at)
        assert isinstance(decoded, DecodedReading), decoded
        assert decoded.ts <= received_at
        assert decoded.ts.utcoffset() == datetime.timedelta(0)
        assert set(decoded.metrics) == {"vibration", "temperature", "discharge_pressure", "flow"}
        assert all(math.isfinite(value) for value in decoded.metrics.values())
        document = json.loads(payload)
        assert set(document) <= {"ts", "metrics", "error_code"}
        by_machine[decoded.machine_code].append(decoded.ts)
    assert set(by_machine) == set(unique_pumps[:3])
    for instants in by_machine.values():
        assert len(instants) == 11  # ticks 0..10: 2 s at 5 Hz, both ends included
        assert len(set(instants)) == 11
    assert "all acknowledged" in out.getvalue()


def test_sigterm_stops_a_live_run_cleanly_after_flushing(unique_pumps, tmp_path):
    # Our own handler while the command is not running, so a stray SIGTERM fails this test
    # instead of killing pytest; the command must put it back when it returns.
    stray_signals = []
    handler_before = signal.signal(signal.SIGTERM, lambda signum, _frame: stray_signals.append(signum))
    out = StringIO()
    timer = threading.Timer(1.0, os.kill, args=(os.getpid(), signal.SIGTERM))
    try:
        timer.start()
        started = time.monotonic()
        call_command(
            "simulate_plant",
            "--machines",
            "2",
            "--rate",
            "10",
            "--duration",
            "30",
            "--client-id",
            f"test-simulator-pub-{uuid.uuid4().hex[:12]}",
            "--truth-file",
            str(tmp_path / "truth.jsonl"),
            stdout=out,
        )
        elapsed = time.monotonic() - started
        timer.join()
        assert stray_signals == []
    finally:
        timer.cancel()
        restored = signal.signal(signal.SIGTERM, handler_before)
    assert elapsed < 5  # stopped by the signal, long before --duration
    assert "all acknowledged" in out.getvalue()
    assert restored.__name__ == "<lambda>"  # the command restored our handler
