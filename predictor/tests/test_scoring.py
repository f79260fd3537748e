"""A predictor tick: one prediction per trustworthy machine, a sensor warning for the others."""

import datetime
import io
import threading
import weakref
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from catalogue.models import FailureMode
from predictor.ml.artifacts import ArtifactTampered, metadata_write
from predictor.ml.features import FEATURE_METRICS, MachineWindow, feature_names
from predictor.ml.forest import FailureForest
from predictor.ml.predict import Predictor
from predictor.models import ModelKind, ModelVersion, Prediction, SensorProblem, SensorWarning
from predictor.scoring import Scorer, sensor_problem
from predictor.selectors import model_version_artifact_load, model_version_load
from predictor.services import model_version_register
from telemetry.ingest import LinkChange, ReadingRow
from telemetry.models import RejectedMessage, RejectionKind
from telemetry.services import machine_link_set, readings_ingest
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory
from tickets.tests.factories import ErrorCodeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_forest(tmp_path):
    names = feature_names()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, len(names)))  # noqa: N806 - a feature matrix is X
    y = X[:, 0] > 0.5  # "failure" when the first feature is high
    modes = np.where(y, FailureMode.BEARING_WEAR, "")
    forest = FailureForest(n_estimators=10, n_jobs=1).fit(X, y, feature_names=names, y_mode=modes)
    forest.save(tmp_path / "forest")
    return model_version_register(
        kind=ModelKind.RANDOM_FOREST,
        version="test",
        directory=tmp_path / "forest",
        metrics={"f1": 1.0},
        data_description="generated",
        activate=True,
    )


def test_a_forest_that_recorded_its_machine_types_predicts_only_machines_of_those_types(tmp_path):
    names = feature_names()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, len(names)))  # noqa: N806 - a feature matrix is X
    forest = FailureForest(n_estimators=10, n_jobs=1).fit(X, X[:, 0] > 0.5, feature_names=names)
    forest.save(tmp_path / "forest")
    metadata_write(
        tmp_path / "forest",
        kind=ModelKind.RANDOM_FOREST,
        data_description="generated",
        feature_names=names,
        metrics={},
        training_seconds=0.0,
        extra={"machine_types": ["Centrifugal pump"]},
    )
    model_version_register(
        kind=ModelKind.RANDOM_FOREST,
        version="typed",
        directory=tmp_path / "forest",
        metrics={},
        data_description="generated",
        activate=True,
    )
    now = timezone.now()
    pump = MachineFactory(machine_type=MachineTypeFactory(name="Centrifugal pump"))
    gearbox = MachineFactory(machine_type=MachineTypeFactory(name="Belt conveyor gearbox"))
    for machine in (pump, gearbox):
        readings(machine, end=now, values=lambda m: 2.0 + (m % 5) / 10)

    result = Scorer().tick(now=now)

    assert result.predicted == 1
    assert list(Prediction.objects.values_list("machine__code", flat=True)) == [pump.code]


def readings(machine, *, end, values, minutes=40):
    rows = [
        ReadingRow(machine.id, machine.code, end - datetime.timedelta(minutes=m), {"vibration": values(m)})
        for m in range(minutes)
    ]
    readings_ingest(rows=rows)


def test_tick_predicts_healthy_machines_and_warns_about_stale_and_flat_sensors(
    active_forest, django_assert_max_num_queries
):
    ErrorCodeFactory(code="E-BRG-01", failure_mode=FailureMode.BEARING_WEAR)
    now = timezone.now()
    healthy = [MachineFactory() for _ in range(3)]
    for machine in healthy:
        MetricSpecFactory(machine_type=machine.machine_type, name="vibration")
        readings(machine, end=now, values=lambda m: 2.0 + (m % 5) / 10)
    stale, flat = MachineFactory(), MachineFactory()
    readings(stale, end=now - datetime.timedelta(hours=2), values=lambda m: 2.0)
    readings(flat, end=now, values=lambda m: 2.0)

    scorer = Scorer()
    scorer.tick(now=now)  # loads the model
    Prediction.objects.all().delete()
    SensorWarning.objects.all().delete()
    # 18 for the tick (2 of them the sensor faults seen at ingest: links down, impossible values; 3 the
    # alarm rules: the machines, their metric specs, the rules; 1 the machines' health models, none
    # here), 4 for the tickets hand-off: open alerts, their refresh in bulk, the rule-judged machines'
    # open alerts, tickets due for escalation.
    with django_assert_max_num_queries(22):
        result = scorer.tick(now=now)

    assert (result.predicted, result.skipped) == (3, 2)
    assert set(Prediction.objects.values_list("machine__code", flat=True)) == {m.code for m in healthy}
    prediction = Prediction.objects.first()
    assert prediction.model_version == active_forest
    assert 0 <= prediction.failure_probability <= 1
    assert abs((prediction.ts - now).total_seconds()) < 61
    assert dict(SensorWarning.objects.values_list("machine__code", "problem")) == {
        stale.code: SensorProblem.STALE,
        flat.code: SensorProblem.FLAT,
    }


def test_machines_whose_link_is_down_or_that_sent_impossible_values_get_a_warning_not_a_score(active_forest):
    now = timezone.now()
    healthy, offline, faulty, faulty_long_ago = (MachineFactory() for _ in range(4))
    for machine in (healthy, offline, faulty, faulty_long_ago):
        readings(machine, end=now, values=lambda m: 2.0 + (m % 5) / 10)
    machine_link_set(LinkChange(offline.code, now - datetime.timedelta(minutes=1), False, "edge node sent NDEATH"))
    impossible = "vibration -5 is outside what its sensor can read (0 to 50 mm/s RMS): a sensor fault"
    for machine, age in ((faulty, 2), (faulty_long_ago, 30)):
        RejectedMessage.objects.create(
            topic=machine.topic,
            machine_code=machine.code,
            payload=b"{}",
            payload_size=2,
            reason=impossible,
            kind=RejectionKind.RANGE,
            received_at=now - datetime.timedelta(minutes=age),
        )

    result = Scorer().tick(now=now)

    assert (result.predicted, result.skipped) == (2, 2)
    assert set(Prediction.objects.values_list("machine__code", flat=True)) == {healthy.code, faulty_long_ago.code}
    warnings = {
        code: (problem, detail)
        for code, problem, detail in SensorWarning.objects.values_list("machine__code", "problem", "detail")
    }
    assert warnings[faulty.code] == (SensorProblem.OUT_OF_RANGE, impossible)
    problem, detail = warnings[offline.code]
    assert problem == SensorProblem.STALE
    assert detail.startswith("link down since ")
    assert detail.endswith("UTC: edge node sent NDEATH")

    # Back online (a new birth): scored again.
    machine_link_set(LinkChange(offline.code, now, True, "edge node sent NBIRTH"))
    Prediction.objects.all().delete()
    Scorer().tick(now=now)
    assert offline.code in set(Prediction.objects.values_list("machine__code", flat=True))


def test_tick_switches_to_a_newly_activated_version_and_lets_the_old_one_go(active_forest, tmp_path):
    machine = MachineFactory()
    MetricSpecFactory(machine_type=machine.machine_type, name="vibration")
    now = timezone.now()
    readings(machine, end=now, values=lambda m: 2.0 + (m % 5) / 10)
    scorer = Scorer()
    assert scorer.tick(now=now).models == (str(active_forest),)
    first = scorer._loaded[ModelKind.RANDOM_FOREST][1]
    first.itself = first  # a reference cycle, as a Keras model holds: only the garbage collector frees it
    loaded_first = weakref.ref(first)
    del first

    newer = model_version_register(
        kind=ModelKind.RANDOM_FOREST,
        version="newer",
        directory=Path(active_forest.artifact_path),
        metrics={"f1": 1.0},
        data_description="generated",
        activate=True,
    )
    result = scorer.tick(now=now)

    assert result.models == (str(newer),)
    assert Prediction.objects.filter(model_version=newer).count() == 1
    assert loaded_first() is None  # frozen against garbage collection while active, freed once replaced


def test_tick_without_an_active_forest_predicts_nothing(db):
    MachineFactory()
    assert Scorer().tick().predicted == 0
    assert Prediction.objects.count() == 0


def test_a_tampered_artifact_is_refused(active_forest):
    model_file = next(Path(active_forest.artifact_path).iterdir())
    model_file.write_bytes(model_file.read_bytes() + b"x")
    with pytest.raises(ArtifactTampered):
        model_version_load(active_forest)


def test_a_loaded_artifact_brings_what_its_training_recorded_and_a_bare_one_nothing(active_forest, tmp_path):
    recorded_directory = tmp_path / "recorded"
    model_version_load(active_forest).save(recorded_directory)
    metadata_write(
        recorded_directory,
        kind=ModelKind.RANDOM_FOREST,
        data_description="generated",
        feature_names=feature_names(),
        metrics={},
        training_seconds=0,
        extra={"horizon_hours": 12.0},
    )
    recorded = model_version_register(
        kind=ModelKind.RANDOM_FOREST,
        version="recorded",
        directory=recorded_directory,
        metrics={},
        data_description="generated",
        activate=False,
    )

    loaded = model_version_artifact_load(recorded)
    bare = model_version_artifact_load(active_forest)

    assert loaded.recorded("horizon_hours") == 12.0
    assert Predictor(loaded).horizon_hours == 12.0
    assert bare.metadata == {}
    assert Predictor(bare).horizon_hours == 24.0


NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)
RANGES = {"vibration": (None, 4.5), "temperature": (10.0, 70.0)}


def window_of(*, minutes_old: float = 0.5, **values: list[float]) -> MachineWindow:
    """A minute-by-minute window whose newest reading is `minutes_old`, one list of values per metric."""
    count = len(next(iter(values.values())))
    ts = NOW.timestamp() - 60 * minutes_old - 60 * np.arange(count)[::-1]
    return MachineWindow("M-001", ts, {name: np.array(series, dtype=float) for name, series in values.items()}, RANGES)


def wavy(count: int = 60, level: float = 2.0) -> list[float]:
    return [level + 0.1 * (n % 7) for n in range(count)]


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (window_of(vibration=wavy(), temperature=wavy(level=50.0)), None),
        (MachineWindow("M-001", np.empty(0), {}, RANGES), (SensorProblem.STALE, "no readings in the last 12 hours")),
        (window_of(minutes_old=10, vibration=wavy()), (SensorProblem.STALE, "newest reading is 10 minutes old")),
        (
            window_of(vibration=wavy(), temperature=wavy(level=50.0)[:25] + [55.0] * 35),
            (SensorProblem.FLAT, "temperature has read exactly 55 for 30 minutes"),
        ),
        (
            window_of(vibration=[*wavy()[:-1], 40.0]),
            (SensorProblem.OUT_OF_RANGE, "vibration reads 40, beyond any plausible value"),
        ),
        (
            window_of(vibration=wavy(), temperature=[*wavy(level=50.0)[:-1], -3.0]),
            (SensorProblem.OUT_OF_RANGE, "temperature reads -3, below zero"),
        ),
        (
            # Its latest reading is older than the flat check's 30 minutes, and still implausible.
            window_of(vibration=wavy(), temperature=wavy(15, level=50.0)[:-1] + [900.0] + [np.nan] * 45),
            (SensorProblem.OUT_OF_RANGE, "temperature reads 900, beyond any plausible value"),
        ),
    ],
    ids=["healthy", "silent", "stale", "flat", "implausible", "negative", "implausible-before-the-flat-window"],
)
def test_sensor_problem_names_what_makes_a_window_untrustworthy(window, expected):
    assert sensor_problem(window, now=NOW) == expected


def test_run_ticks_until_stopped_and_reports_each_tick(db):
    stop = threading.Event()
    seen = []

    def on_tick(result, seconds):
        seen.append((result.predicted, seconds >= 0))
        if len(seen) == 3:
            stop.set()

    assert Scorer().run(stop=stop, interval=0.0, on_tick=on_tick) == 3
    assert seen == [(0, True)] * 3
    assert Scorer().run(stop=threading.Event(), interval=60.0, once=True) == 1


def test_run_predictor_once_prints_what_it_scored(db):
    out = io.StringIO()
    call_command("run_predictor", "--once", stdout=out)
    assert out.getvalue().startswith("scored 0 machines, skipped 0 with sensor warnings in ")
    assert out.getvalue().rstrip().endswith("(no active model)")


# Keras' own tensor-to-numpy conversion trips numpy 2's copy-keyword deprecation; nothing of ours to fix.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_with_an_active_lstm_a_tick_records_its_rul_and_its_vote_within_the_forests_horizon(active_forest, tmp_path):
    from predictor.ml.rul import RulLstm, failure_probability_within  # noqa: PLC0415 - TensorFlow in this test only

    machine = MachineFactory()
    MetricSpecFactory(machine_type=machine.machine_type, name="vibration")
    now = timezone.now()
    readings(machine, end=now, values=lambda m: 2.0 + (m % 5) / 10)
    tiny = {"conv_filters": 0, "lstm_units": (4,), "dense_units": 4, "dropout": 0.0}
    lstm = RulLstm(window_length=48, feature_names=tuple(FEATURE_METRICS), rul_cap=120.0, **tiny)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 48, len(FEATURE_METRICS))).astype(np.float32)
    lstm.fit(x, rng.uniform(0, 120, size=32).astype(np.float32), epochs=1, seed=0)
    lstm.save(tmp_path / "lstm")
    lstm_version = model_version_register(
        kind=ModelKind.LSTM,
        version="test",
        directory=tmp_path / "lstm",
        metrics={},
        data_description="generated",
        activate=True,
    )
    scorer = Scorer()

    scorer.tick(now=now)
    both = Prediction.objects.get()
    ModelVersion.objects.filter(pk=lstm_version.pk).update(is_active=False)
    scorer.tick(now=now)
    forest_alone = Prediction.objects.exclude(pk=both.pk).get()

    assert (both.rul_model_version, forest_alone.rul_model_version) == (lstm_version, None)
    assert both.rul_low_hours <= both.rul_hours <= both.rul_high_hours
    within_horizon = failure_probability_within(
        24.0, *(np.array([hours]) for hours in (both.rul_hours, both.rul_low_hours, both.rul_high_hours))
    )[0]
    assert both.failure_probability == pytest.approx(max(forest_alone.failure_probability, within_horizon))
