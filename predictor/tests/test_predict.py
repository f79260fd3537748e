"""The one predict entry: a forest (and an LSTM) with what their training recorded → one forecast per window."""

import subprocess
import sys

import numpy as np
import pytest

from predictor.ml.features import FEATURE_METRICS, MachineWindow, feature_names, windows_features
from predictor.ml.forest import FailureForest
from predictor.ml.predict import DEFAULT_HORIZON_HOURS, LoadedArtifact, Predictor, StageClock
from predictor.ml.rul import RulLstmConfig, failure_probability_within

NOW_S = 1_795_000_000.0  # 2026-11-18, epoch seconds
RANGES = {"vibration": (None, 4.5), "temperature": (10.0, 70.0)}
# The fake LSTM's remaining life: a median of 10 h within 4-30 h. Within 24 h a failure is likely
# (about 0.82), within 6 h it is not (about 0.20); the stub forest says 0.1 either way.
RUL = (10.0, 4.0, 30.0)
FOREST_PROBABILITY = 0.1


def window(code: str, level: float, *, minutes: int = 120) -> MachineWindow:
    ts = NOW_S - 60.0 * np.arange(minutes)[::-1]
    wave = 0.1 * (np.arange(minutes) % 7)
    return MachineWindow(code, ts, {"vibration": level + wave, "temperature": 10 * level + 30 + wave}, RANGES)


class StubForest:
    """Says the same of every window, so that what the LSTM adds is exact."""

    def predict_failure_probability(self, features):
        return np.full(len(features), FOREST_PROBABILITY)

    def predict_mode(self, features):
        return ["bearing_wear"] * len(features)

    def describe_samples(self, features):
        return [["Vibration is high."] for _ in features]


class FakeLstm:
    """Returns RUL for every sequence and keeps the sequences it was given."""

    config = RulLstmConfig(window_length=48, feature_names=tuple(FEATURE_METRICS))

    def __init__(self):
        self.sequences = None

    def predict(self, sequences):
        self.sequences = sequences
        return tuple(np.full(len(sequences), value, dtype=np.float32) for value in RUL)


def forest_artifact(model=None, **extra) -> LoadedArtifact:
    return LoadedArtifact(model or StubForest(), {"kind": "random_forest", "extra": extra})


@pytest.fixture(scope="module")
def forest():
    names = feature_names()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, len(names)))  # noqa: N806 - a feature matrix is X
    y = X[:, 0] > 0.5
    modes = np.where(y, "overheating", "")
    return FailureForest(n_estimators=10, n_jobs=1).fit(X, y, feature_names=names, y_mode=modes)


def test_without_an_lstm_each_window_gets_the_forests_probability_mode_and_sentences_and_no_rul(forest):
    windows = [window("M-001", 2.0), window("M-002", 4.0)]
    clock = StageClock()

    forecasts = Predictor(forest_artifact(forest, horizon_hours=24.0)).predict(windows, clock=clock)

    features = windows_features(windows, [w.ts[-1:] for w in windows])
    assert [f.machine_code for f in forecasts] == ["M-001", "M-002"]
    assert [f.ts for f in forecasts] == [NOW_S, NOW_S]
    assert [f.failure_probability for f in forecasts] == forest.predict_failure_probability(features).tolist()
    assert [f.failure_mode for f in forecasts] == [mode or None for mode in forest.predict_mode(features)]
    assert [f.explanation for f in forecasts] == forest.describe_samples(features)
    assert {(f.rul_hours, f.rul_low_hours, f.rul_high_hours) for f in forecasts} == {(None, None, None)}
    assert set(clock.seconds) == {"features", "forest", "explanations"}


@pytest.mark.parametrize("horizon_hours", [24.0, 6.0])
def test_the_lstm_is_asked_for_a_failure_within_the_horizon_the_forests_metadata_records(horizon_hours):
    clock = StageClock()
    predictor = Predictor(forest_artifact(horizon_hours=horizon_hours), LoadedArtifact(FakeLstm(), {}))

    [forecast] = predictor.predict([window("M-001", 2.0)], clock=clock)

    within = failure_probability_within(horizon_hours, *(np.array([value]) for value in RUL))[0]
    assert forecast.failure_probability == pytest.approx(max(FOREST_PROBABILITY, within))
    assert (forecast.rul_hours, forecast.rul_low_hours, forecast.rul_high_hours) == RUL
    assert (forecast.failure_mode, forecast.explanation) == ("bearing_wear", ["Vibration is high."])
    assert "lstm" in clock.seconds


def test_a_longer_horizon_in_the_metadata_raises_the_combined_probability():
    def probability(horizon_hours):
        predictor = Predictor(forest_artifact(horizon_hours=horizon_hours), LoadedArtifact(FakeLstm(), {}))
        return predictor.predict([window("M-001", 2.0)])[0].failure_probability

    assert probability(6.0) < 0.3
    assert probability(24.0) > 0.8


def test_a_forest_saved_without_a_recorded_horizon_is_read_as_trained_for_24_hours():
    bare = Predictor(LoadedArtifact(StubForest()), LoadedArtifact(FakeLstm()))
    recorded = Predictor(forest_artifact(horizon_hours=24.0), LoadedArtifact(FakeLstm()))

    assert bare.horizon_hours == DEFAULT_HORIZON_HOURS == 24.0
    assert bare.predict([window("M-001", 2.0)]) == recorded.predict([window("M-001", 2.0)])


def test_the_lstm_gets_sequences_of_the_shape_its_training_recorded():
    recorded, bare = FakeLstm(), FakeLstm()
    windows = [window("M-001", 2.0), window("M-002", 3.0)]

    shape = {"sequence_steps": 12, "step_seconds": 300.0}
    Predictor(forest_artifact(), LoadedArtifact(recorded, {"extra": shape})).predict(windows)
    Predictor(forest_artifact(), LoadedArtifact(bare, {})).predict(windows)

    assert recorded.sequences.shape == (2, 12, len(FEATURE_METRICS))
    assert bare.sequences.shape == (2, 48, len(FEATURE_METRICS))  # training's shape before it was recorded


def test_several_instants_of_a_window_are_forecast_in_order_and_no_window_none():
    predictor = Predictor(forest_artifact())
    early, late = window("M-001", 2.0), window("M-002", 2.0)

    forecasts = predictor.predict([early, late], [early.ts[-3:-1], late.ts[-1:]])

    assert [(f.machine_code, f.ts) for f in forecasts] == [
        ("M-001", NOW_S - 120.0),
        ("M-001", NOW_S - 60.0),
        ("M-002", NOW_S),
    ]
    assert predictor.predict([]) == []


def test_importing_the_predict_entry_does_not_import_tensorflow():
    # A fresh interpreter: this test process may already hold TensorFlow from another test.
    code = "import sys, predictor.ml.predict; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip() == "False"
