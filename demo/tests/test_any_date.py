"""The paths that depend on the plant's history, at many "now"s over a year and in four time zones:
the simulator's faults end in failures, the demo's replay of the past days has a predicted and a
surprise breakdown and a report with every figure, and the small forest the demo tests train alerts
on the demo's scenario machine. The clock is pinned with time-machine, so each case is the same on
every day the suite runs; the dates (demo.tests.clocks) cover a leap day and both
daylight-saving changes."""

import datetime
import shutil

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from demo.runtime import DemoOptions, demo_past_replay
from demo.seed import demo_plant_seed
from demo.tests import clocks
from demo.tests.small_forest import small_forest_train
from predictor.models import ModelVersion, Prediction, ShadowPrediction
from predictor.scoring import Scorer
from predictor.services import model_version_register, trained_artifact_register
from simulation.engine import FAILED, STARTED, PlantSimulation, history_instants
from simulation.runner import GroundTruthRecorder, plant_load
from simulation.tests.test_engine import demo_profiles
from telemetry.models import Machine, Reading
from telemetry.selectors import HistorySource, reading_history
from tickets.models import Alert, AlertSource, AlertStatus, Breakdown, Ticket, TicketStatus
from tickets.reports import Period, plant_report

SCENARIO_MACHINE = "M-007"

CLOCKS = [pytest.param(local_now, zone, id=name) for local_now, zone, name in clocks.CLOCKS]


@pytest.fixture(scope="module")
def small_forest(django_db_setup, django_db_blocker, tmp_path_factory):
    """Trained once for the module, from machines seeded in a transaction that is then rolled back."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo_plant_seed()
        artifact = small_forest_train(artifact_dir=tmp_path_factory.mktemp("models"))
        transaction.set_rollback(True)
    return artifact


@pytest.mark.parametrize(("local_now", "zone"), CLOCKS)
def test_simulated_faults_end_in_failures_at_their_planned_instant(local_now, zone, settings):
    settings.TIME_ZONE = zone
    now = clocks.plant_local(local_now, zone)
    with time_machine.travel(now, tick=False):
        simulation = PlantSimulation(machines=demo_profiles(), seed=1)
        start = timezone.now() - datetime.timedelta(days=7)
        events = []
        for ts in history_instants(start=start, end=timezone.now(), step_seconds=300.0):
            events += simulation.tick(ts).events
    started = {(e.fault.machine_code, e.fault.started_at): e.fault for e in events if e.event == STARTED}
    failed = {(e.fault.machine_code, e.fault.started_at): e.fault for e in events if e.event == FAILED}
    due = {key: fault for key, fault in started.items() if start <= fault.planned_failure_at < now}
    assert due, "no fault came due in a week of 24 machines"
    for key, fault in due.items():
        assert key in failed, f"{fault.machine_code}'s {fault.failure_mode} never failed"
        # Failed at the first 5-minute tick at or after its plan.
        assert datetime.timedelta(0) <= failed[key].failed_at - fault.planned_failure_at < datetime.timedelta(minutes=5)


@pytest.mark.parametrize(("local_now", "zone"), CLOCKS)
@pytest.mark.usefixtures("db")
def test_demo_replay_has_breakdowns_and_the_scenario_machine_alerts_on_any_date(
    local_now, zone, settings, small_forest, tmp_path
):
    settings.TIME_ZONE = zone
    with time_machine.travel(clocks.plant_local(local_now, zone), tick=True):
        demo_plant_seed()
        trained_artifact_register(artifact=small_forest, activate=True)
        # The first 8 machines: the scenario machine and the two the history scenario picks.
        plant = plant_load(machine_count=8, seed=1, mtbf_hours=200.0)
        end = timezone.now()
        said = []
        past = demo_past_replay(
            DemoOptions(fail_soon=SCENARIO_MACHINE, history_days=1.5),
            plant=plant,
            scorer=Scorer(),
            truth=GroundTruthRecorder(path=tmp_path / "truth.jsonl", seed=1, machine_ids=plant.machine_ids),
            end=end,
            say=said.append,
        )
        report = plant_report(period=Period.last_days(days=3, today=timezone.localdate(end)), now=end)
        scenario_machine = Machine.objects.get(code=SCENARIO_MACHINE)
        metric = scenario_machine.machine_type.metrics.order_by("name").first().name
        month_chart = reading_history(
            machine=scenario_machine, metrics=[metric], start=end - datetime.timedelta(days=30), end=end
        )

    # The 30-day chart reads the hourly roll-ups the replay's days were rolled up into, and shows every
    # replayed reading (the hours not rolled up yet from their minutes).
    assert any(line.startswith("Hourly roll-ups:") for line in said), said
    assert month_chart.source == HistorySource.HOURS
    replayed = Reading.objects.filter(machine=scenario_machine, metrics__has_key=metric).count()
    assert sum(month_chart.series[0].count) == replayed > 0
    assert len(past.scenario.faults) == 2, said
    assert past.history.failures >= 2
    breakdowns = list(Breakdown.objects.select_related("machine"))
    predicted = [b for b in breakdowns if b.predicted_by_id is not None]
    surprise = [b for b in breakdowns if b.predicted_by_id is None]
    assert predicted, f"no predicted breakdown: {said}"
    assert surprise, f"no surprise breakdown: {said}"
    # The predicted one waited for its spare part: the crew said so, and repaired it when it came.
    held = Ticket.objects.get(alert=predicted[0].predicted_by)
    assert held.events.filter(note__startswith="Bearing wear confirmed").exists()
    assert held.status == TicketStatus.RESOLVED
    assert predicted[0].up_at == held.resolved_at
    # Every figure of the report's header has a value.
    assert report["breakdowns"] >= 2
    assert report["breakdowns_predicted"] >= 1
    assert report["breakdowns_surprise"] >= 1
    for figure in ("mtbf_hours", "mttr_hours", "alert_precision", "median_lead_time_hours"):
        assert report[figure] is not None, (figure, report)
    # The live scenario: the small forest has raised the scenario machine's alert, still active as
    # the demo goes live, and its ticket waits for a technician (the crew leaves it to the person
    # watching).
    scenario_ticket = Ticket.objects.select_related("alert", "assignee").get(machine__code=SCENARIO_MACHINE)
    assert scenario_ticket.alert.source == AlertSource.PREDICTION
    assert scenario_ticket.alert.status == AlertStatus.ACTIVE
    assert scenario_ticket.status == TicketStatus.OPEN
    assert scenario_ticket.assignee is not None


@pytest.mark.parametrize("utc_hour", range(0, 24, 2))
@pytest.mark.usefixtures("db")
def test_the_scenario_alert_stays_active_until_the_demo_goes_live_at_any_hour(utc_hour, small_forest, tmp_path):
    """The scenario of the live demo test (test_demo_runtime: 0.6 days replayed, the machine failing
    half a minute after start-up) at every second hour of a day: the daily load cycle moves the
    readings the forest sees in the machine's last hours."""
    with time_machine.travel(datetime.datetime(2026, 12, 5, utc_hour, 17, tzinfo=datetime.UTC), tick=True):
        demo_plant_seed()
        trained_artifact_register(artifact=small_forest, activate=True)
        plant = plant_load(machine_count=8, seed=1, mtbf_hours=200.0)
        demo_past_replay(
            DemoOptions(fail_soon=SCENARIO_MACHINE, fail_soon_minutes=0.5, history_days=0.6),
            plant=plant,
            scorer=Scorer(),
            truth=GroundTruthRecorder(path=tmp_path / "truth.jsonl", seed=1, machine_ids=plant.machine_ids),
            end=timezone.now(),
            say=lambda _line: None,
        )

    # The forest's alert (an alarm rule may have flagged the failing machine too, with its own code).
    alert = Alert.objects.get(machine__code=SCENARIO_MACHINE, source=AlertSource.PREDICTION)
    assert alert.status == AlertStatus.ACTIVE
    assert alert.probability >= 0.5


@pytest.mark.usefixtures("db")
def test_the_demo_challenger_shadows_the_replayed_past_and_is_judged_beside_the_active_forest(
    small_forest, tmp_path, settings
):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    shadow_copy = tmp_path / "challenger"
    shutil.copytree(small_forest.directory, shadow_copy)
    with time_machine.travel(datetime.datetime(2026, 7, 14, 9, 41, tzinfo=datetime.UTC), tick=True):
        demo_plant_seed()
        trained_artifact_register(artifact=small_forest, activate=True)
        challenger = model_version_register(
            kind=small_forest.kind,
            version="shadow-copy",
            directory=shadow_copy,
            metrics={},
            data_description="the small forest again",
            activate=False,
            challenger=True,
        )
        plant = plant_load(machine_count=8, seed=1, mtbf_hours=200.0)
        end = timezone.now()
        said = []
        demo_past_replay(
            DemoOptions(fail_soon=SCENARIO_MACHINE, history_days=1.5),
            plant=plant,
            scorer=Scorer(),
            truth=GroundTruthRecorder(path=tmp_path / "truth.jsonl", seed=1, machine_ids=plant.machine_ids),
            end=end,
            say=said.append,
        )

    challenger.refresh_from_db()
    # It shadowed the whole replayed past, saying what the active copy of itself said, and raised nothing;
    # the replay ran with the active forest from the same start, and says so.
    assert challenger.shadow_since == end - datetime.timedelta(days=1.5)
    assert ModelVersion.objects.get(is_active=True).activated_at == challenger.shadow_since
    shadowed = ShadowPrediction.objects.filter(model_version=challenger)
    assert shadowed.count() == Prediction.objects.count() > 0
    assert not Alert.objects.filter(last_prediction__model_version=challenger).exists()
    report = challenger.shadow_report
    # Judged on the same outcomes: the copy on the alerts its scores would have raised, the active
    # forest on the alerts it did raise in the replay (one per sick machine, held by its ticket).
    assert report["challenger"]["events"] == report["champion"]["events"] >= 1
    raised = Alert.objects.filter(
        source=AlertSource.PREDICTION,
        last_prediction__model_version__is_active=True,
        opened_at__gte=challenger.shadow_since,
    )
    assert report["champion"]["alerts"] == raised.count() > 0
    # Its raw scores count every run of high probabilities, those the plant held back too.
    assert report["challenger"]["alerts"] > report["champion"]["alerts"]
    assert any(line.startswith("Challenger shadow-copy in shadow since") for line in said), said
