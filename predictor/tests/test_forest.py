import datetime

import numpy as np
import pytest

from predictor.ml.features import FaultTruth, MachineWindow, feature_names, training_samples, window_features
from predictor.ml.forest import FailureForest, describe
from simulation.engine import (
    BEARING_WEAR,
    FAILED,
    OVERHEATING,
    REPAIRED,
    MachineProfile,
    MetricRange,
    PlantSimulation,
    history_instants,
)

UTC = datetime.UTC
START = datetime.datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 6
STEP_S = 300.0
MOTOR = (
    MetricRange("vibration", None, 2.8, None, 4.5),
    MetricRange("temperature", 10.0, 80.0, None, 95.0),
    MetricRange("current", 8.0, 29.0, None, 33.0),
    MetricRange("speed", 1450.0, 1500.0, 1420.0, None),
)
NORMAL_RANGES = {metric.name: (metric.normal_min, metric.normal_max) for metric in MOTOR}
NEVER_FAILS = 1e9  # mtbf_hours: no natural faults, only the forced ones


def simulate(codes_and_failures, *, seed):
    """Windows and ground truth of motors that fail (or not) as told: {code: (hours from start, mode) | None}."""
    plant = PlantSimulation(
        machines=[MachineProfile(code, MOTOR) for code in codes_and_failures], seed=seed, mtbf_hours=NEVER_FAILS
    )
    for code, failure in codes_and_failures.items():
        if failure is not None:
            hours, mode = failure
            plant.fault_force(machine_code=code, failure_at=START + datetime.timedelta(hours=hours), failure_mode=mode)
    readings = {code: [] for code in codes_and_failures}
    faults = {}
    end = START + datetime.timedelta(days=DAYS)
    for ts in history_instants(start=START, end=end, step_seconds=STEP_S):
        tick = plant.tick(ts)
        for reading in tick.readings:
            readings[reading.machine_code].append(reading)
        for event in tick.events:
            if event.event in (FAILED, REPAIRED):
                record = event.fault
                faults[(record.machine_code, record.started_at)] = FaultTruth(
                    machine_code=record.machine_code,
                    failure_mode=record.failure_mode,
                    started_at=record.started_at.timestamp(),
                    failed_at=record.failed_at.timestamp() if record.failed_at else None,
                    repaired_at=record.repaired_at.timestamp() if record.repaired_at else None,
                )
    windows = []
    for code, machine_readings in readings.items():
        ts = np.array([reading.ts.timestamp() for reading in machine_readings])
        values = {
            metric.name: np.array([reading.metrics[metric.name] for reading in machine_readings]) for metric in MOTOR
        }
        errors = np.array([r.ts.timestamp() for r in machine_readings if r.error_code])
        windows.append(MachineWindow(code, ts, values, NORMAL_RANGES, error_code_times=errors))
    return windows, list(faults.values())


@pytest.fixture(scope="module")
def trained():
    # Each motor fails once, by bearing wear or overheating, at staggered hours; two never fail.
    plan = {}
    for index in range(10):
        mode = BEARING_WEAR if index % 2 == 0 else OVERHEATING
        plan[f"M-{index:02d}"] = (60.0 + 7.0 * index, mode)
    plan["M-90"] = None
    plan["M-91"] = None
    windows, faults = simulate(plan, seed=7)
    samples = training_samples(windows, faults, horizon_hours=24.0, sample_every_seconds=1800.0)
    forest = FailureForest(n_estimators=60, random_state=0).fit(
        samples.X, samples.y_failure, feature_names=samples.feature_names, y_mode=samples.y_mode
    )
    return forest, samples


@pytest.fixture(scope="module")
def unseen_machines():
    """Machines the forest never saw: a bearing and an overheating fault 10 h before failure, a healthy one."""
    plan = {"T-BRG": (100.0, BEARING_WEAR), "T-HOT": (100.0, OVERHEATING), "T-OK": None}
    windows, _ = simulate(plan, seed=99)
    instant = (START + datetime.timedelta(hours=90)).timestamp()
    rows = np.vstack([window_features(window, np.array([instant]))[0] for window in windows])
    return dict(zip(plan, rows, strict=True))


def test_a_developing_fault_gets_a_clearly_higher_failure_probability_than_a_healthy_machine(trained, unseen_machines):
    forest, _ = trained
    probabilities = dict(
        zip(unseen_machines, forest.predict_failure_probability(np.vstack(list(unseen_machines.values()))), strict=True)
    )
    assert probabilities["T-OK"] < 0.2
    assert probabilities["T-BRG"] > probabilities["T-OK"] + 0.4
    assert probabilities["T-HOT"] > probabilities["T-OK"] + 0.4
    assert forest.predict_failure(unseen_machines["T-BRG"][None, :])[0]


def test_the_mode_forest_names_the_developing_fault(trained, unseen_machines):
    forest, _ = trained
    modes = forest.predict_mode(np.vstack([unseen_machines["T-BRG"], unseen_machines["T-HOT"]]))
    assert modes == [BEARING_WEAR, OVERHEATING]


def test_contributions_and_bias_add_up_to_the_forests_raw_score(trained):
    forest, samples = trained
    rows = samples.X[::7]
    bias, contributions = forest.contributions(rows)
    assert contributions.shape == (len(rows), len(feature_names()))
    np.testing.assert_allclose(bias + contributions.sum(axis=1), forest.raw_failure_score(rows), atol=1e-9)
    assert 0.0 < bias < 1.0


def test_explain_names_the_signals_of_the_fault_and_describe_says_it_in_words(trained, unseen_machines):
    forest, _ = trained
    row = unseen_machines["T-HOT"]
    [explanation] = forest.explain(row[None, :], top=3)
    assert len(explanation) == 3
    assert all(contribution > 0 for _, contribution in explanation)
    assert [c for _, c in explanation] == sorted((c for _, c in explanation), reverse=True)
    assert any(name.startswith(("temperature", "current")) for name, _ in explanation)
    values = dict(zip(forest.feature_names, row, strict=True))
    sentences = describe(explanation, values)
    assert sentences
    assert any(s.startswith(("temperature", "current")) for s in sentences)


def test_describe_builds_sentences_from_the_feature_values():
    values = {
        "vibration_ratio_1h_12h": 3.1,
        "vibration_mean_1h": 4.2,
        "vibration_slope_1h": 0.4,
        "vibration_level": 2.0,
        "error_codes_24h": 2.0,
    }
    sentences = describe(
        [("vibration_ratio_1h_12h", 0.3), ("vibration_max_1h", 0.1), ("error_codes_24h", 0.05)], values
    )
    assert sentences == [
        "vibration 3.1\N{MULTIPLICATION SIGN} its 12-hour level, rising 0.4 mm/s per hour, above its normal range",
        "2 error codes reported in the last 24 hours",
    ]


def test_explaining_a_thousand_samples_is_vectorised(trained):
    forest, samples = trained
    rows = np.resize(samples.X, (1000, samples.X.shape[1]))
    explanations = forest.explain(rows, top=3)
    assert len(explanations) == 1000


def test_save_and_load_give_identical_predictions(trained, tmp_path):
    forest, samples = trained
    forest.save(tmp_path / "forest")
    loaded = FailureForest.load(tmp_path / "forest")
    # The trees are the same; only the order in which parallel threads add their votes may differ.
    np.testing.assert_allclose(
        loaded.predict_failure_probability(samples.X), forest.predict_failure_probability(samples.X), rtol=0, atol=1e-12
    )
    np.testing.assert_array_equal(loaded.predict_failure(samples.X), forest.predict_failure(samples.X))
    assert loaded.predict_mode(samples.X[:20]) == forest.predict_mode(samples.X[:20])
    assert loaded.threshold == forest.threshold
    assert loaded.feature_names == forest.feature_names


def test_the_threshold_is_chosen_on_out_of_bag_predictions(trained):
    forest, _ = trained
    assert 0.0 < forest.threshold < 1.0
    assert forest.oob_f1 is not None
    assert forest.oob_f1 > 0.5


def test_fitting_without_both_outcomes_is_refused():
    with pytest.raises(ValueError, match="with and without"):
        FailureForest(n_estimators=5).fit(np.zeros((4, 2)), np.zeros(4, dtype=bool), feature_names=["a", "b"])
