"""The demo's replay of the past: history lived through the real services, the simulated crew's
work ending in outcomes that match what the simulated machine really had."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from demo.history import SIMULATED_NOTE, CrewHold, HistoryScenario, PlantReplay, history_scenario_plant
from demo.seed import demo_plant_seed
from predictor.models import HealthModelVersion, HealthState, MachineHealth
from predictor.scoring import Scorer
from simulation.engine import DOWN
from simulation.runner import GroundTruthRecorder, history_write, plant_load
from telemetry.models import MachineStatus
from telemetry.selectors import machine_get
from tickets.models import ALERT_OPEN_STATUSES, Alert, AlertSource, Breakdown, Ticket, TicketOutcome, TicketStatus
from tickets.reports import Period, plant_report

FAILING = "M-003"


@pytest.fixture
def plant(db):
    demo_plant_seed()
    return plant_load(machine_count=6, seed=5, mtbf_hours=10_000.0)  # no natural faults in a day


# The daily load cycle moves what the alarm rules see of a developing fault: run at several hours.
@pytest.mark.parametrize("utc_hour", [1, 9, 17])
def test_a_failure_in_replayed_history_is_reported_worked_and_repaired_like_live(plant, tmp_path, utc_hour):
    with time_machine.travel(datetime.datetime(2026, 12, 5, utc_hour, 17, tzinfo=datetime.UTC), tick=False):
        _a_failure_in_replayed_history_is_reported_worked_and_repaired_like_live(plant, tmp_path)


def _a_failure_in_replayed_history_is_reported_worked_and_repaired_like_live(plant, tmp_path):
    end = timezone.now().replace(second=0, microsecond=0)
    failure_at = end - datetime.timedelta(hours=10)
    # Sudden (half an hour from onset): a fault the rules catch hours ahead is repaired before it
    # fails, which is the point of them, and not what this test is about.
    plant.simulation.fault_force(
        machine_code=FAILING,
        failure_at=failure_at,
        failure_mode="overheating",
        development=datetime.timedelta(minutes=30),
    )
    truth = GroundTruthRecorder(path=tmp_path / "truth.jsonl", seed=5, machine_ids=plant.machine_ids)
    replay = PlantReplay(plant=plant, scorer=Scorer(), truth=truth, seed=5)

    result = history_write(
        plant=plant,
        start=end - datetime.timedelta(hours=14),
        end=end,
        step_seconds=60.0,
        truth=truth,
        replay=replay,
    )

    assert result.failures == 1
    assert replay.ticks == 14
    # The machine's own report raised its alert in the past, not as stale history; the one ticket was
    # opened within the replay's hour, by that report or earlier by the temperature's alarm rule.
    reported = Alert.objects.get(machine__code=FAILING, source=AlertSource.MACHINE)
    assert abs(reported.opened_at - failure_at) <= datetime.timedelta(hours=1)
    ticket = Ticket.objects.select_related("alert", "assignee").get(machine__code=FAILING)
    assert ticket.alert.source in {AlertSource.MACHINE, AlertSource.RULE}
    assert ticket.opened_at <= reported.opened_at + datetime.timedelta(hours=1)  # the replay ticks hourly
    assert ticket.assignee is not None
    # The crew worked it: started after it was assigned, resolved as the failure it was.
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.opened_at < ticket.started_at < ticket.resolved_at <= end
    assert ticket.outcome == TicketOutcome.FAILURE_CONFIRMED
    assert ticket.resolution_notes.endswith(SIMULATED_NOTE)
    breakdown = Breakdown.objects.get(machine__code=FAILING)
    assert breakdown.up_at == ticket.resolved_at
    assert machine_get(code=FAILING).status == MachineStatus.RUNNING
    # The simulated machine was repaired then too: it reports healthy readings again.
    assert plant.simulation.machines[FAILING].state != DOWN
    report = plant_report(period=Period.last_days(days=2, today=timezone.localdate(end)), now=end)
    assert report["breakdowns"] == 1


def test_the_crew_leaves_the_demo_scenario_machine_to_the_person_watching(plant, tmp_path):
    end = timezone.now().replace(second=0, microsecond=0)
    fault = plant.simulation.fault_force(
        machine_code=FAILING, failure_at=end - datetime.timedelta(hours=6), failure_mode="overheating"
    )
    truth = GroundTruthRecorder(path=tmp_path / "truth.jsonl", seed=5, machine_ids=plant.machine_ids)
    replay = PlantReplay(
        plant=plant, scorer=Scorer(), truth=truth, seed=5, holds={FAILING: CrewHold(since=fault.started_at)}
    )

    history_write(
        plant=plant, start=end - datetime.timedelta(hours=12), end=end, step_seconds=60.0, truth=truth, replay=replay
    )

    ticket = Ticket.objects.get(machine__code=FAILING)
    assert ticket.status == TicketStatus.OPEN
    assert machine_get(code=FAILING).status == MachineStatus.DOWN


def test_history_scenario_needs_a_day_of_replay_and_spares_the_live_scenario_machine(plant):
    end = datetime.datetime(2026, 3, 29, 9, 0, tzinfo=datetime.UTC)
    assert history_scenario_plant(plant, start=end - datetime.timedelta(hours=23), end=end) == HistoryScenario()

    start = end - datetime.timedelta(days=2)
    scenario = history_scenario_plant(plant, start=start, end=end, exclude=["M-001"])

    worn, tripped = scenario.faults
    assert (worn.machine_code, worn.failure_mode) == ("M-002", "bearing_wear")
    assert worn.planned_failure_at == start + datetime.timedelta(hours=28.8)  # 60 % of the window
    assert (tripped.machine_code, tripped.failure_mode) == ("M-003", "electrical_fault")
    assert tripped.planned_failure_at - tripped.started_at == datetime.timedelta(minutes=10)
    hold = scenario.holds["M-002"]
    assert (hold.since, hold.until) == (worn.started_at, worn.planned_failure_at + datetime.timedelta(hours=2))
    assert set(scenario.holds) == {"M-002"}


def test_history_scenario_adds_a_departure_from_normal_when_the_window_lets_a_health_model_learn_first(plant, settings):
    settings.HEALTH_LEARNING_DAYS = 3
    end = datetime.datetime(2026, 3, 29, 9, 0, tzinfo=datetime.UTC)
    assert history_scenario_plant(plant, start=end - datetime.timedelta(days=3.5), end=end).departure is None

    scenario = history_scenario_plant(plant, start=end - datetime.timedelta(days=4), end=end, exclude=["M-001"])

    departure = scenario.departure
    assert (departure.machine_code, departure.failure_mode) == ("M-004", "imbalance")
    assert departure.started_at == end - datetime.timedelta(hours=4)
    assert departure in scenario.faults
    assert scenario.holds["M-004"] == CrewHold(since=departure.started_at)
    assert scenario.lines()[-1].startswith("M-004: imbalance since")


def test_a_machine_with_a_fault_in_the_window_is_not_chosen_to_depart_from_its_normal(db, settings):
    settings.HEALTH_LEARNING_DAYS = 3
    demo_plant_seed()
    plant = plant_load(machine_count=8, seed=5)  # natural faults every 200 hours or so
    end = datetime.datetime(2026, 3, 29, 9, 0, tzinfo=datetime.UTC)
    start = end - datetime.timedelta(days=4)
    simulation = plant.simulation
    quiet = [
        code
        for code in list(plant.machine_ids)[2:]
        if not simulation.faults_between(machine_code=code, start=start, end=end)
    ]
    faulty = [code for code in list(plant.machine_ids)[2:] if code not in quiet]
    # Both kinds are there, so the choice below tells them apart.
    assert faulty
    assert quiet

    departure = history_scenario_plant(plant, start=start, end=end).departure

    assert departure.machine_code == quiet[0]


def test_the_replay_learns_health_models_and_the_departure_raises_an_anomaly_alert(plant, tmp_path, settings):
    # A shorter learning period keeps the replay short; the timing is the demo's, scaled.
    settings.HEALTH_LEARNING_DAYS = 0.5
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    with time_machine.travel(datetime.datetime(2026, 12, 5, 7, 41, tzinfo=datetime.UTC), tick=False):
        end = timezone.now().replace(second=0, microsecond=0)
        start = end - datetime.timedelta(hours=36)
        scenario = history_scenario_plant(plant, start=start, end=end, exclude=["M-001"])
        truth = GroundTruthRecorder(path=tmp_path / "truth.jsonl", seed=5, machine_ids=plant.machine_ids)
        replay = PlantReplay(plant=plant, scorer=Scorer(), truth=truth, seed=5, holds=scenario.holds)

        history_write(plant=plant, start=start, end=end, step_seconds=60.0, truth=truth, replay=replay)

    departed = scenario.departure.machine_code
    model = HealthModelVersion.objects.get(machine__code=departed, is_active=True)
    assert model.learned_to < scenario.departure.started_at
    alert = Alert.objects.get(machine__code=departed, source=AlertSource.ANOMALY)
    assert alert.status in ALERT_OPEN_STATUSES
    assert scenario.departure.started_at < alert.opened_at <= end
    assert "vibration" in alert.detail
    assert Ticket.objects.get(alert=alert).status == TicketStatus.OPEN  # left to the person watching
    # The machines that had no fault were learned and stayed within their normal.
    untouched = set(plant.machine_ids) - {fault.machine_code for fault in scenario.faults}
    assert untouched
    assert MachineHealth.objects.filter(machine__code__in=untouched, state=HealthState.READY).count() == len(untouched)
    assert not Alert.objects.filter(machine__code__in=untouched, source=AlertSource.ANOMALY).exists()
