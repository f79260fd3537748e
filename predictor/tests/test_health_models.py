"""Health models in the running plant: each machine learns its own normal once it has enough usable
data, never from flagged periods, is scored every tick, and raises one anomaly alert (inspection
code, SOP, ticket) when it stays past its threshold; a machine of a type nobody described is watched
too."""

import datetime
import io

import numpy as np
import pytest
import time_machine
from django.core.management import CommandError, call_command

from catalogue.models import INSPECT_ERROR_CODE, FailureMode
from predictor.health import HealthScorer, health_learning_pass, machine_learn, machines_due_for_learning
from predictor.ml.artifacts import directory_sha256
from predictor.ml.features import windows_features
from predictor.ml.health import HealthModel
from predictor.ml.predict import LoadedArtifact
from predictor.models import HealthModelVersion, HealthState, MachineHealth, ModelVersion
from predictor.scoring import Scorer
from predictor.selectors import MachineRef, machine_windows
from predictor.services import HealthDraft, PredictionDraft, predictions_record
from predictor.tests.factories import ModelVersionFactory
from telemetry.ingest import ReadingRow
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory
from tickets.models import ALERT_OPEN_STATUSES, Alert, AlertSource, Ticket, TicketOutcome, TicketStatus
from tickets.tests.factories import BreakdownFactory, ErrorCodeFactory, TicketFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 0, 0, tzinfo=datetime.UTC)
STEP = datetime.timedelta(minutes=5)


def healthy_values(rng: np.random.Generator, minute: float, metrics: dict[str, float]) -> dict[str, float]:
    """Each metric near its own level, with a daily swing and noise."""
    swing = np.sin(2 * np.pi * minute / 1440.0)
    return {
        name: round(level * (1 + 0.03 * swing) + level * 0.02 * rng.standard_normal(), 4)
        for name, level in metrics.items()
    }


def feed(machine, *, start, end, metrics, seed=0, shift=None):
    """A reading every 5 minutes from `start` up to `end`; `shift(name, at)` adds to a metric."""
    rng = np.random.default_rng(seed)
    rows = []
    at = start
    while at < end:
        minute = (at - START).total_seconds() / 60
        values = healthy_values(rng, minute, metrics)
        if shift is not None:
            values = {name: round(value + shift(name, at), 4) for name, value in values.items()}
        rows.append(ReadingRow(machine.id, machine.code, at, values))
        at += STEP
    readings_ingest(rows=rows, reports_now=end)


PUMP_LEVELS = {"vibration": 2.0, "temperature": 60.0}


@pytest.fixture
def pump(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path
    machine = MachineFactory()
    MetricSpecFactory(machine_type=machine.machine_type, name="vibration", normal_max=4.5, alarm_max=7.1)
    MetricSpecFactory(
        machine_type=machine.machine_type, name="temperature", unit="°C", normal_min=10, normal_max=80, alarm_max=95
    )
    return machine


def test_a_machine_learns_only_once_it_has_the_learning_period_of_usable_data(pump):
    two_days = START + datetime.timedelta(days=2)
    feed(pump, start=START, end=two_days, metrics=PUMP_LEVELS)

    outcome = machine_learn(pump, now=two_days)

    assert outcome.model_version is None
    health = MachineHealth.objects.get(machine=pump)
    assert health.state == HealthState.LEARNING
    # The first 12 hours only fill the features' long window: 1.5 usable days of the 3 needed.
    assert health.learned_days == pytest.approx(1.5, abs=0.05)

    later = START + datetime.timedelta(days=3.6)
    feed(pump, start=two_days, end=later, metrics=PUMP_LEVELS, seed=1)
    outcome = machine_learn(pump, now=later)

    version = outcome.model_version
    assert version is not None
    assert version.is_active
    assert version.sha256 == directory_sha256(version.artifact_path)
    assert version.metrics["metrics_watched"] == ["temperature", "vibration"]
    assert HealthModel.load(version.artifact_path, expected_sha256=version.sha256).threshold == pytest.approx(
        version.metrics["threshold"]
    )
    health.refresh_from_db()
    assert (health.state, health.ready_since, health.last_relearned_at) == (HealthState.READY, later, later)


def test_the_periods_with_alerts_tickets_or_a_failure_ahead_are_not_learned_from(pump, inspection_code):
    end = START + datetime.timedelta(days=3.6)
    feed(pump, start=START, end=end, metrics=PUMP_LEVELS)
    Alert.objects.create(
        machine=pump,
        error_code=inspection_code,
        source=AlertSource.RULE,
        opened_at=START + datetime.timedelta(days=1),
        status="cleared",
        cleared_at=START + datetime.timedelta(days=2),
    )

    outcome = machine_learn(pump, now=end)

    # 3.1 usable days less the alert's day and the 12 hours after it (their features still look back
    # into it): still learning, and says how far it got.
    assert outcome.model_version is None
    assert MachineHealth.objects.get(machine=pump).learned_days == pytest.approx(1.6, abs=0.05)


def test_a_false_alarm_is_learned_from_and_the_threshold_is_kept_above_it(pump, inspection_code):
    learned = START + datetime.timedelta(days=3.6)
    feed(pump, start=START, end=learned, metrics=PUMP_LEVELS)
    before = machine_learn(pump, now=learned).model_version
    # Then six hours of vibration 1.5 mm/s higher: an anomaly alert, and the technician found it normal.
    odd_from, odd_to = learned + datetime.timedelta(hours=2), learned + datetime.timedelta(hours=8)
    end = learned + datetime.timedelta(days=1)
    feed(
        pump,
        start=learned,
        end=end,
        metrics=PUMP_LEVELS,
        seed=1,
        shift=lambda name, at: 1.5 if name == "vibration" and odd_from <= at < odd_to else 0.0,
    )
    [window] = machine_windows(end=end, hours=24, machines=[pump])
    odd_instants = np.arange(odd_from.timestamp() + 3600, odd_to.timestamp(), 600.0)
    odd_rows = windows_features([window], [odd_instants], tuple(before.metrics["metrics_watched"]))
    assert HealthModel.load(before.artifact_path, expected_sha256=before.sha256).score(odd_rows).past_threshold.all()
    alert = Alert.objects.create(
        machine=pump,
        error_code=inspection_code,
        source=AlertSource.ANOMALY,
        opened_at=odd_from,
        status="cleared",
        cleared_at=odd_to,
    )
    TicketFactory(
        machine=pump,
        alert=alert,
        error_code=inspection_code,
        status=TicketStatus.RESOLVED,
        outcome=TicketOutcome.FALSE_ALARM,
        resolution_notes="Vibration within the pump's usual range on the hand meter.",
        opened_at=odd_from,
        started_at=odd_from + datetime.timedelta(hours=1),
        resolved_at=odd_to,
    )

    after = machine_learn(pump, now=end).model_version

    # The false alarm's hours count as normal (a flagged ticket would have cost them and the 12 hours after)...
    assert MachineHealth.objects.get(machine=pump).learned_days == pytest.approx(4.1, abs=0.05)
    assert after.metrics["confirmed_normal_rows"] == 37  # every 10 minutes over the 6 hours, both ends
    # ... and the same departure no longer passes the threshold.
    relearned = HealthModel.load(after.artifact_path, expected_sha256=after.sha256)
    assert not relearned.score(odd_rows).past_threshold.any()
    assert relearned.threshold > before.metrics["threshold"]


def test_an_alert_marked_false_is_a_confirmed_normal_period_not_a_flagged_one(pump, inspection_code):
    from tickets.selectors import machine_confirmed_normal_periods, machine_flagged_periods  # noqa: PLC0415

    opened, marked = START + datetime.timedelta(hours=5), START + datetime.timedelta(hours=7)
    Alert.objects.create(
        machine=pump,
        error_code=inspection_code,
        source=AlertSource.ANOMALY,
        opened_at=opened,
        status="cleared",
        cleared_at=marked,
        marked_false_at=marked,
        marked_false_reason="Belt tension was adjusted that morning.",
    )
    Alert.objects.create(
        machine=pump, error_code=inspection_code, source=AlertSource.RULE, opened_at=START + datetime.timedelta(hours=9)
    )
    span = {"machine_ids": [pump.pk], "start": START, "end": START + datetime.timedelta(days=1)}

    flagged = machine_flagged_periods(**span, before_failure=datetime.timedelta(days=5))[pump.pk]
    confirmed = machine_confirmed_normal_periods(**span)[pump.pk]

    assert flagged == [((START + datetime.timedelta(hours=9)).timestamp(), span["end"].timestamp())]
    assert confirmed == [(opened.timestamp(), marked.timestamp())]


@pytest.fixture
def inspection_code():
    from catalogue.models import ErrorCode  # noqa: PLC0415 - the migration installs it; the fixture reads it

    return ErrorCode.objects.get(code=INSPECT_ERROR_CODE)


def test_a_healthy_machine_stays_healthy_and_a_clear_departure_raises_one_anomaly_alert_with_its_ticket(pump, settings):
    settings.HEALTH_ALERT_MINUTES = 30
    learned = START + datetime.timedelta(days=3.6)
    feed(pump, start=START, end=learned, metrics=PUMP_LEVELS)
    assert machine_learn(pump, now=learned).model_version is not None

    healthy_until = learned + datetime.timedelta(hours=6)
    feed(pump, start=learned, end=healthy_until, metrics=PUMP_LEVELS, seed=2)
    scorer = Scorer()
    scorer.tick(now=healthy_until)
    health = MachineHealth.objects.get(machine=pump)
    assert health.score >= 50
    assert health.past_threshold_since is None
    assert not Alert.objects.exists()

    # Vibration doubles and stays there: a bearing going.
    sick_until = healthy_until + datetime.timedelta(hours=2)
    feed(
        pump,
        start=healthy_until,
        end=sick_until,
        metrics=PUMP_LEVELS,
        seed=3,
        shift=lambda name, at: 2.0 if name == "vibration" else 0.0,
    )
    first = sick_until - datetime.timedelta(minutes=35)
    scorer.tick(now=first)
    health.refresh_from_db()
    assert health.score < 50
    assert health.past_threshold_since == first
    assert any("vibration" in line for line in health.departures)
    assert not Alert.objects.exists()  # one tick past the threshold is not yet an alert

    scorer.tick(now=sick_until)
    scorer.tick(now=sick_until)
    [alert] = Alert.objects.filter(machine=pump, status__in=ALERT_OPEN_STATUSES)
    assert (alert.source, alert.error_code.code, alert.probability) == (AlertSource.ANOMALY, INSPECT_ERROR_CODE, None)
    assert alert.detail.startswith("health ")
    assert "vibration" in alert.detail
    ticket = Ticket.objects.get(alert=alert)
    assert ticket.sop is not None


def test_a_machine_of_a_type_nobody_described_learns_from_the_metrics_it_reports(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path
    unclassified = MachineFactory(machine_type=MachineTypeFactory(name="Unclassified"))
    end = START + datetime.timedelta(days=3.6)
    feed(unclassified, start=START, end=end, metrics={"pressure_bar": 4.2, "rpm": 1480.0})

    version = machine_learn(unclassified, now=end).model_version

    assert version is not None
    assert version.metrics["metrics_watched"] == ["pressure_bar", "rpm"]
    assert all(name.startswith(("pressure_bar_", "rpm_")) for name in version.metrics["features"])


def test_learning_is_due_for_new_machines_first_then_once_the_days_it_lacked_could_have_come_in(pump, settings):
    settings.HEALTH_LEARNING_DAYS = 3
    settings.HEALTH_LEARNING_CHECK_MINUTES = 60
    other = MachineFactory(machine_type=pump.machine_type)
    now = START + datetime.timedelta(days=1)
    # A few minutes short of its 3 days: due again after the check interval.
    MachineHealth.objects.create(machine=pump, learned_days=2.99, last_learned_at=now - datetime.timedelta(minutes=30))

    assert machines_due_for_learning(now=now) == [other]
    assert set(machines_due_for_learning(now=now + datetime.timedelta(minutes=31))) == {pump, other}
    assert machines_due_for_learning(now=now, limit=1) == [other]

    health_learning_pass(now=now)  # the new machine has no readings: 0 of 3 days, looked at now
    assert MachineHealth.objects.get(machine=other).last_learned_at == now
    # Its 3 days cannot come in sooner than 3 days from now: it is not looked at every hour meanwhile.
    assert machines_due_for_learning(now=now + datetime.timedelta(minutes=60)) == [pump]
    assert machines_due_for_learning(now=now + datetime.timedelta(days=3, minutes=-1)) == [pump]
    assert machines_due_for_learning(now=now + datetime.timedelta(days=3)) == [pump, other]


def test_a_ready_machine_relearns_on_its_schedule(pump, settings):
    settings.HEALTH_RELEARN_HOURS = 24
    now = START + datetime.timedelta(days=5)
    MachineHealth.objects.create(
        machine=pump, state=HealthState.READY, learned_days=3.2, ready_since=now, last_learned_at=now
    )

    assert machines_due_for_learning(now=now + datetime.timedelta(hours=23)) == []
    assert machines_due_for_learning(now=now + datetime.timedelta(hours=24)) == [pump]


@pytest.mark.parametrize(
    ("failed_day", "relearned_day", "outcome"),
    [
        # Down 1.4 days after its model learned up to day 3.6: the 5 days before the failure cover
        # what it learned from, a fault developing taken for normal, and no clean day is left since.
        (5.0, 5.5, "retired"),
        # The same, looked at 1.4 clean days after the repair: a model learned from those replaces it.
        (5.0, 7.0, "replaced"),
        # Down 5.1 days after: the 5 days before it begin after what the model learned from.
        (8.7, 9.0, "kept"),
    ],
)
def test_a_model_learned_from_the_days_before_a_later_failure_is_replaced_or_retired(
    pump, settings, failed_day, relearned_day, outcome
):
    settings.HEALTH_PRE_FAILURE_DAYS = 5
    settings.HEALTH_RELEARN_MIN_DAYS = 1
    # A window short enough that the relearning finds less than the learning period once the failure is flagged.
    settings.HEALTH_WINDOW_DAYS = 4
    learned = START + datetime.timedelta(days=3.6)
    relearned = START + datetime.timedelta(days=relearned_day)
    feed(pump, start=START, end=relearned, metrics=PUMP_LEVELS)
    first = machine_learn(pump, now=learned).model_version
    down_at = START + datetime.timedelta(days=failed_day)
    BreakdownFactory(machine=pump, down_at=down_at, up_at=down_at + datetime.timedelta(hours=2))

    result = machine_learn(pump, now=relearned)

    first.refresh_from_db()
    health = MachineHealth.objects.get(machine=pump)
    assert first.is_active is (outcome == "kept")
    assert health.last_learned_at == relearned
    if outcome == "replaced":
        assert result.model_version.is_active
        # Learned from after the repair only, and the machine stays ready on it.
        assert result.model_version.learned_from > down_at
        assert health.state == HealthState.READY
    else:
        assert result.model_version is None
        assert health.state == (HealthState.LEARNING if outcome == "retired" else HealthState.READY)
    if outcome == "retired":
        assert (health.score, health.past_threshold_since) == (None, None)
        # No model, no health draft: the machine is not scored against what it learned.
        [window] = machine_windows(end=relearned, hours=13, machines=[pump])
        drafts = HealthScorer().score([window], machine_ids={pump.code: pump.id}, units=dict)
        assert drafts == []


def test_relearning_keeps_the_active_version_and_the_one_before_it(pump):
    end = START + datetime.timedelta(days=3.6)
    feed(pump, start=START, end=end + datetime.timedelta(days=2), metrics=PUMP_LEVELS)
    paths = []
    for day in range(3):
        version = machine_learn(pump, now=end + datetime.timedelta(days=day * 0.5)).model_version
        paths.append(version.artifact_path)

    kept = list(HealthModelVersion.objects.filter(machine=pump).order_by("trained_at"))
    assert [v.artifact_path for v in kept] == paths[1:]
    assert [v.is_active for v in kept] == [False, True]


@pytest.mark.parametrize(
    ("code", "health", "doubted"),
    [("M-900", 95.0, True), ("M-900", None, True), ("M-900", 30.0, False), ("M-001", 95.0, False)],
)
@pytest.mark.parametrize("settling", [False, True])
def test_the_forest_is_doubted_on_a_machine_it_never_learned_unless_its_own_health_model_confirms(
    settings, code, health, doubted, settling
):
    settings.FOREST_ALERT_HEALTH_BELOW = 60.0
    forest = (ModelVersion(), LoadedArtifact(model=None, metadata={"extra": {"machine_codes": ["M-001", "M-002"]}}))
    machines = [MachineRef(id=7, code=code, machine_type_id=1)]
    # None: its health model is still learning, so nothing confirms the forest. Settling: repaired
    # within the features' window, its score reads the fault that was fixed and confirms nothing.
    drafts = (
        [
            HealthDraft(
                machine_id=7,
                ts=START,
                health=health,
                past_threshold=health < 50 and not settling,
                departures=[],
                settling=settling,
            )
        ]
        if health is not None
        else []
    )
    doubted = doubted or (settling and code == "M-900")

    assert Scorer.forest_doubted(drafts, forest=forest, machines=machines) == ({7} if doubted else set())


@pytest.mark.parametrize(
    ("source", "needs_health", "health", "doubted"),
    [
        ("plant", True, 95.0, True),  # learned from the crew's outcomes: its own machine is no exception
        ("plant", True, None, True),
        ("plant", True, 30.0, False),
        ("plant", False, 95.0, False),  # FOREST_FROM_OUTCOMES_NEEDS_HEALTH off: believed on what it learned
        ("simulate", True, 95.0, False),  # labelled by a simulator's truth: believed on what it learned
    ],
)
def test_a_forest_trained_on_the_plant_outcomes_is_believed_only_where_the_machine_health_confirms(
    settings, source, needs_health, health, doubted
):
    settings.FOREST_ALERT_HEALTH_BELOW = 60.0
    settings.FOREST_FROM_OUTCOMES_NEEDS_HEALTH = needs_health
    metadata = {"data": {"source": source}, "extra": {"machine_codes": ["M-001", "M-002"]}}
    forest = (ModelVersion(), LoadedArtifact(model=None, metadata=metadata))
    drafts = (
        [HealthDraft(machine_id=7, ts=START, health=health, past_threshold=health < 50, departures=[])]
        if health is not None
        else []
    )

    doubted_machines = Scorer.forest_doubted(drafts, forest=forest, machines=[MachineRef(7, "M-001", 1)])

    assert doubted_machines == ({7} if doubted else set())


def test_a_forest_that_did_not_record_its_machines_is_never_doubted():
    forest = (ModelVersion(), LoadedArtifact(model=None, metadata={}))
    drafts = [HealthDraft(machine_id=7, ts=START, health=99.0, past_threshold=False, departures=[])]
    assert Scorer.forest_doubted(drafts, forest=forest, machines=[MachineRef(7, "M-900", 1)]) == set()


@pytest.mark.parametrize("doubted", [True, False])
def test_a_doubted_machine_gets_no_alert_from_a_high_prediction(pump, doubted):
    code = ErrorCodeFactory(code="E-BRG-01", failure_mode=FailureMode.BEARING_WEAR)
    draft = PredictionDraft(
        machine_code=pump.code,
        ts=START,
        model_version=ModelVersionFactory(is_active=True),
        rul_model_version=None,
        failure_probability=0.93,
        error_code=code,
        rul_hours=None,
        rul_low_hours=None,
        rul_high_hours=None,
        top_signals=[],
    )

    predictions_record(
        predictions=[draft], warnings=[], detected_at=START, within_own_normal={pump.pk} if doubted else set()
    )

    assert Alert.objects.filter(machine=pump, source=AlertSource.PREDICTION).exists() is not doubted


def test_a_machine_repaired_within_the_features_long_window_raises_no_anomaly(pump):
    learned = START + datetime.timedelta(days=3.6)
    feed(pump, start=START, end=learned, metrics=PUMP_LEVELS)
    assert machine_learn(pump, now=learned).model_version is not None
    sick_until = learned + datetime.timedelta(hours=3)
    feed(
        pump,
        start=learned,
        end=sick_until,
        metrics=PUMP_LEVELS,
        seed=3,
        shift=lambda name, at: 2.0 if name == "vibration" else 0.0,
    )
    TicketFactory(
        machine=pump,
        status=TicketStatus.RESOLVED,
        outcome=TicketOutcome.PREVENTIVE_FIX,
        resolution_notes="Bearing replaced",
        started_at=sick_until - datetime.timedelta(hours=2, minutes=30),
        resolved_at=sick_until - datetime.timedelta(hours=2),
    )

    Scorer().tick(now=sick_until)

    health = MachineHealth.objects.get(machine=pump)
    assert health.score < 50  # it is scored and shown, but the departure is what was just repaired
    assert health.past_threshold_since is None
    # Nor does that score confirm a forest that never learned the machine.
    windows = machine_windows(end=sick_until, hours=12.5)
    drafts = HealthScorer().score(windows, machine_ids={pump.code: pump.pk}, units=dict)
    assert [(draft.health < 50, draft.settling) for draft in drafts] == [(True, True)]
    forest = (ModelVersion(), LoadedArtifact(model=None, metadata={"extra": {"machine_codes": ["M-999"]}}))
    machines = [MachineRef(id=pump.pk, code=pump.code, machine_type_id=pump.machine_type_id)]
    assert Scorer.forest_doubted(drafts, forest=forest, machines=machines) == {pump.pk}


def test_a_machine_s_health_is_rewritten_only_when_it_says_something_new(pump):
    MachineHealth.objects.create(machine=pump, state=HealthState.READY, learned_days=3.0, ready_since=START)

    def tick(seconds, health):
        at = START + datetime.timedelta(seconds=seconds)
        draft = HealthDraft(machine_id=pump.pk, ts=at, health=health, past_threshold=False, departures=[])
        predictions_record(predictions=[], warnings=[], detected_at=at, health=[draft])
        return MachineHealth.objects.get(machine=pump)

    assert (tick(0, 91.0).score, tick(10, 92.5).score) == (91.0, 91.0)  # a small move is no news
    assert tick(20, 85.0).score == 85.0  # five points or more is
    # and an old score is refreshed: after a minute to two, spread over the machines
    assert tick(40, 86.0).scored_at == START + datetime.timedelta(seconds=20)
    assert tick(140, 86.0).scored_at == START + datetime.timedelta(seconds=140)


def test_learn_health_models_learns_the_machines_named_and_refuses_an_unknown_one(pump):
    end = START + datetime.timedelta(days=3.6)
    feed(pump, start=START, end=end, metrics=PUMP_LEVELS)
    out = io.StringIO()

    with time_machine.travel(end, tick=False):
        call_command("learn_health_models", pump.code, stdout=out)

    assert f"{pump.code}: learned " in out.getvalue()
    assert HealthModelVersion.objects.filter(machine=pump, is_active=True).exists()
    with pytest.raises(CommandError, match="no machine M-999"):
        call_command("learn_health_models", "M-999")


def test_a_model_that_watches_the_forest_s_metrics_scores_the_same_from_the_tick_s_shared_features(pump):
    learned = START + datetime.timedelta(days=3.6)
    feed(pump, start=START, end=learned + datetime.timedelta(hours=1), metrics=PUMP_LEVELS)
    assert machine_learn(pump, now=learned).model_version is not None
    windows = machine_windows(end=learned + datetime.timedelta(hours=1), hours=12.5)
    shared = windows_features(windows, [window.ts[-1:] for window in windows])
    scorer = HealthScorer()

    def units():
        return {}

    alone = scorer.score(windows, machine_ids={pump.code: pump.pk}, units=units)
    from_shared = scorer.score(windows, machine_ids={pump.code: pump.pk}, units=units, shared=shared)

    assert [draft.health for draft in from_shared] == [draft.health for draft in alone]
    assert len(alone) == 1
