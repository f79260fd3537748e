"""The per-machine health model (predictor/ml/health.py) and its C-MAPSS check, on synthetic data.

No database: plain numpy machines, turned into features by the same `windows_features` serving uses.
"""

import json

import numpy as np
import pytest

from predictor.ml.artifacts import ArtifactTampered, metadata_read
from predictor.ml.cmapss import COLUMN_NAMES, INFORMATIVE_SENSORS
from predictor.ml.cmapss_health import (
    HealthCheckSettings,
    first_persistent_run,
    health_check,
    trailing_mean,
)
from predictor.ml.features import DAY_S, HOUR_S, MachineWindow, feature_metric_stat, feature_names, windows_features
from predictor.ml.health import (
    CONFIRMED_NORMAL_MARGIN,
    MODEL_FILE,
    HealthModel,
    days_before,
    learning_rows_mask,
    learning_state,
    scores_of_many,
)

READING_STEP_S = 120.0
SCORE_STEP_S = 600.0
LEARNING_DAYS = 3.0
DAYS = 6.0
# The first instant with a full 12 h window; learning runs for three days from it.
FIRST_INSTANT = 13 * HOUR_S
LEARNING_END = FIRST_INSTANT + LEARNING_DAYS * DAY_S
STEP_AT = 4.5 * DAY_S
VIBRATION_SD = 0.2
MOTOR = ("vibration", "temperature")
UNITS = {"vibration": "mm/s", "temperature": "°C"}


def machine(seed: int, *, metrics=MOTOR, vibration_step: float = 0.0) -> MachineWindow:
    """Readings every 2 minutes: a daily cycle plus noise; optionally vibration stepping up at STEP_AT."""
    rng = np.random.default_rng(seed)
    ts = np.arange(0.0, DAYS * DAY_S, READING_STEP_S)
    daily = np.sin(2 * np.pi * ts / DAY_S)
    levels = {0: (2.3, 0.1, VIBRATION_SD), 1: (60.0, 2.0, 0.5)}
    values = {}
    for position, metric in enumerate(metrics):
        base, swing, noise = levels[position % 2]
        values[metric] = base + swing * daily + rng.normal(0.0, noise, len(ts))
    values[metrics[0]] = values[metrics[0]] + np.where(ts >= STEP_AT, vibration_step, 0.0)
    return MachineWindow(f"M-{seed}", ts, values)


def features_of(window: MachineWindow, metrics=MOTOR) -> tuple[np.ndarray, np.ndarray]:
    at = np.arange(FIRST_INSTANT, DAYS * DAY_S, SCORE_STEP_S)
    return at, windows_features([window], [at], metrics)


@pytest.fixture(scope="module")
def healthy():
    at, features = features_of(machine(1))
    learning = at < LEARNING_END
    model = HealthModel.fit(features[learning], feature_names(MOTOR))
    return model, at, features


def test_a_sustained_three_sigma_vibration_step_is_flagged_and_a_healthy_machine_is_not(healthy):
    model, _, _ = healthy
    at, stepped = features_of(machine(2, vibration_step=3 * VIBRATION_SD))
    _, fresh = features_of(machine(3))
    after_step = (at >= STEP_AT + HOUR_S) & (at < STEP_AT + 12 * HOUR_S)
    scores = model.score(stepped)
    assert scores.past_threshold[after_step].all()
    assert (scores.health[after_step] < 50).all()
    healthy_scores = model.score(fresh[at >= LEARNING_END])
    assert not healthy_scores.past_threshold.any()
    assert np.median(healthy_scores.health) > 90


def test_the_false_alarm_rate_on_fresh_healthy_data_is_near_the_chosen_rate():
    rng = np.random.default_rng(0)
    names = [f"m{index}_last" for index in range(20)]
    for rate, low, high in ((0.01, 0.5, 1.5), (1.0 / 3000.0, 0.1, 2.0)):
        model = HealthModel.fit(rng.normal(size=(432, 20)), names, false_alarm_rate=rate)
        measured = model.score(rng.normal(size=(60_000, 20))).past_threshold.mean()
        # Past the data's reach (432 rows, 1/3000) the exponential tail errs on the side of fewer alarms.
        assert low * rate <= measured <= high * rate, (rate, measured)


def test_a_level_is_not_off_its_normal_by_less_than_half_the_metric_s_own_1_hour_spread():
    names = feature_names(["pressure"])
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(400, len(names)))
    spread, peak = names.index("pressure_std_1h"), names.index("pressure_max_12h")
    rows[:, spread] = 1.0 + 0.05 * rng.normal(size=400)  # the metric moves about 1 unit within an hour
    rows[:, peak] = 24.5 + 0.01 * rng.normal(size=400)  # its 12 h max barely moved in the learning days
    model = HealthModel.fit(rows, names)

    later = np.median(rows, axis=0)
    later[peak] = 24.8  # 30 of its learned spreads, a third of the metric's own noise

    assert not model.score(later[None, :]).past_threshold[0]
    later[peak] = 24.5 + 5.0  # five times the metric's noise: a real departure
    assert model.score(later[None, :]).past_threshold[0]


def test_many_machines_scored_in_one_pass_score_as_each_model_alone():
    names = feature_names(["vibration", "temperature"])
    rng = np.random.default_rng(7)
    models = [
        HealthModel.fit(rng.normal(loc=i, scale=1 + i, size=(200, len(names))), names, top_k=top_k)
        for i, top_k in enumerate((3, 3, 5, None))
    ]
    rows = rng.normal(loc=1.0, scale=3.0, size=(len(models), len(names)))
    rows[1, 4] = np.nan  # a feature the machine lacks this tick

    together = scores_of_many(models, rows)

    for position, model in enumerate(models):
        alone = model.score(rows[position : position + 1])
        assert together.raw[position] == pytest.approx(alone.raw[0], rel=1e-12)
        assert together.health[position] == pytest.approx(alone.health[0], rel=1e-12)
        assert together.past_threshold[position] == alone.past_threshold[0]


def test_health_is_100_at_typical_normal_50_exactly_at_the_threshold_and_falls_toward_0():
    rng = np.random.default_rng(4)
    model = HealthModel.fit(rng.normal(size=(200, 5)), [f"s{index}" for index in range(5)])
    raw = np.array([0.0, model.typical_score, model.threshold, 2 * model.threshold, 100 * model.threshold])
    health = model.health(raw)
    assert health[0] == health[1] == 100.0
    assert health[2] == pytest.approx(50.0)
    assert np.all(np.diff(health) <= 0)
    assert health[-1] < 1.0
    at_threshold = model.score(np.sqrt(np.full((1, 5), model.threshold)) * model.scale + model.center)
    assert at_threshold.past_threshold[0]


def test_the_model_learns_only_from_the_rows_it_is_given_and_ignores_the_excluded_intervals(healthy):
    model, at, features = healthy
    _, stepped = features_of(machine(1, vibration_step=3 * VIBRATION_SD))
    # The same machine, but its vibration stepped up in the middle of what would be learning, while an
    # alert was open: excluding that stretch leaves the very rows the healthy model learnt from.
    step_rows = (at >= STEP_AT - 1.5 * DAY_S) & (at < STEP_AT - 1.5 * DAY_S + 12 * HOUR_S + HOUR_S)
    shifted = np.where(step_rows[:, None], stepped[np.argmax(at >= STEP_AT + 2 * HOUR_S)], features)
    alert_open = (float(at[step_rows][0]), float(at[step_rows][-1]))
    usable = learning_rows_mask(at, [alert_open, (LEARNING_END, None)])
    assert usable.sum() == (at < LEARNING_END).sum() - step_rows.sum()
    relearnt = HealthModel.fit(shifted[usable], feature_names(MOTOR))
    polluted = HealthModel.fit(shifted[at < LEARNING_END], feature_names(MOTOR))
    vibration_mean = feature_names(MOTOR).index("vibration_mean_1h")
    position = model.columns.index(vibration_mean)
    assert relearnt.center[position] == pytest.approx(model.center[position], abs=0.02)
    assert polluted.scale[position] > 1.5 * relearnt.scale[position]
    # The machine-level features (repairs, error codes) are never learnt from.
    assert all(not name.startswith(("hours_since", "error_codes")) for name in model.feature_names)


def test_the_learning_mask_excludes_open_intervals_and_the_days_before_a_failure():
    at = np.arange(0.0, 10 * DAY_S, HOUR_S)
    failure = 8 * DAY_S
    usable = learning_rows_mask(at, [*days_before([failure], 2.0), (9.5 * DAY_S, None)])
    assert usable[at < 6 * DAY_S].all()
    assert not usable[(at >= 6 * DAY_S) & (at <= 8 * DAY_S)].any()
    assert usable[(at > 8 * DAY_S) & (at < 9.5 * DAY_S)].all()
    assert not usable[at >= 9.5 * DAY_S].any()


def test_the_learning_state_counts_usable_days_against_the_required_ones():
    at = np.arange(0.0, 4 * DAY_S, SCORE_STEP_S)
    state = learning_state(at, at < 2 * DAY_S, required_days=3.0)
    assert state.usable_days == pytest.approx(2.0)
    assert not state.ready
    assert state.progress == pytest.approx(2 / 3)
    assert learning_state(at, at < 3.5 * DAY_S).ready


def test_a_machine_type_no_model_has_seen_gets_a_model_and_departures_named_in_its_metrics():
    metrics = ("pressure_bar", "rpm")
    at, features = features_of(machine(5, metrics=metrics), metrics)
    _, stepped = features_of(machine(6, metrics=metrics, vibration_step=3 * VIBRATION_SD), metrics)
    names = feature_names(metrics)
    model = HealthModel.fit(features[at < LEARNING_END], names)
    # No normal ranges were given, so the place-in-range features are NaN and dropped.
    assert not any(name.endswith("level") for name in model.feature_names)
    after = np.argmax(at >= STEP_AT + 2 * HOUR_S)
    assert model.score(stepped[after]).past_threshold[0]
    sentences = model.explain(stepped[after], units={"pressure_bar": "bar"})
    assert len(sentences) == 3
    assert sentences[0].startswith("pressure bar ")
    assert " above its normal " in sentences[0]


def test_the_explanation_names_the_departing_metric_in_words(healthy):
    model, at, _ = healthy
    _, stepped = features_of(machine(2, vibration_step=3 * VIBRATION_SD))
    row = stepped[np.argmax(at >= STEP_AT + 2 * HOUR_S)]
    sentences = model.explain(row, units=UNITS)
    assert len(sentences) == 3
    assert all(sentence.startswith("vibration ") for sentence in sentences)
    mean_sentence = next(sentence for sentence in sentences if sentence.startswith("vibration 1 h mean"))
    assert "mm/s above its normal 2." in mean_sentence
    assert " ± " in mean_sentence


def test_save_and_load_round_trip_with_the_sha256_and_a_tampered_file_is_refused(healthy, tmp_path):
    model, _, features = healthy
    sha256 = model.save(tmp_path / "health", data_description={"machine": "M-1"})
    assert metadata_read(tmp_path / "health")["kind"] == "health"
    loaded = HealthModel.load(tmp_path / "health", expected_sha256=sha256)
    np.testing.assert_array_equal(loaded.score(features).raw, model.score(features).raw)
    assert loaded.threshold == model.threshold
    assert loaded.feature_names == model.feature_names

    path = tmp_path / "health" / MODEL_FILE
    state = json.loads(path.read_text(encoding="utf-8"))
    state["threshold"] *= 10
    path.write_text(json.dumps(state), encoding="utf-8")
    with pytest.raises(ArtifactTampered):
        HealthModel.load(tmp_path / "health", expected_sha256=sha256)


def test_fit_refuses_too_few_rows_or_nothing_that_varies():
    with pytest.raises(ValueError, match="learning rows"):
        HealthModel.fit(np.zeros((10, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="no feature varies"):
        HealthModel.fit(np.ones((100, 2)), ["a", "b"])


# --- the C-MAPSS check's evaluation, on synthetic units ---------------------------------------------------


def synthetic_table(units: dict[int, tuple[int, int | None]], seed: int = 0) -> np.ndarray:
    """C-MAPSS-shaped rows: {unit: (cycles, degradation starts at cycle | None)}; sensors noisy, drifting after it."""
    rng = np.random.default_rng(seed)
    blocks = []
    for unit, (cycles, degrades_from) in units.items():
        table = np.zeros((cycles, len(COLUMN_NAMES)))
        table[:, 0] = unit
        table[:, 1] = np.arange(1, cycles + 1)
        for name in INFORMATIVE_SENSORS:
            column = COLUMN_NAMES.index(name)
            table[:, column] = 100.0 + rng.normal(0.0, 1.0, cycles)
            if degrades_from is not None:
                table[:, column] += 0.5 * np.maximum(0, table[:, 1] - degrades_from)
        blocks.append(table)
    return np.concatenate(blocks)


def test_the_cmapss_check_alarms_a_late_degrading_unit_with_its_lead_and_not_a_flat_one():
    settings = HealthCheckSettings(false_alarm_rate=1e-3, persistence=5, smoothing_cycles=5, top_k=3)
    report = health_check(synthetic_table({1: (200, 160), 2: (200, None)}), settings)
    degrading, flat = report.outcomes
    assert flat.alarm_cycle is None
    assert degrading.alarm_cycle is not None
    # Degradation from cycle 160 (0.5 sd a cycle) is past any normal within a few cycles, plus persistence.
    assert 160 < degrading.alarm_cycle <= 175
    assert degrading.lead == 200 - degrading.alarm_cycle
    assert report.alarmed_share == 0.5
    assert report.median_lead == degrading.lead
    assert report.too_early_share == 0.0


def test_an_alarm_with_more_than_150_cycles_to_go_counts_as_too_early():
    settings = HealthCheckSettings(false_alarm_rate=1e-3, persistence=5, smoothing_cycles=5, top_k=3)
    report = health_check(synthetic_table({7: (300, 80)}), settings)
    assert report.outcomes[0].lead > 150
    assert report.too_early_share == 1.0
    assert report.targets_met()["too_early"] is False


def test_trailing_mean_is_causal_and_persistence_needs_consecutive_cycles():
    values = np.array([[1.0], [3.0], [5.0], [100.0]])
    np.testing.assert_allclose(trailing_mean(values, 2)[:, 0], [1.0, 2.0, 4.0, 52.5])
    assert first_persistent_run(np.array([1, 1, 0, 1, 1, 1, 0], dtype=bool), 3) == 5
    assert first_persistent_run(np.array([1, 1, 0, 1, 1], dtype=bool), 3) is None


def test_a_feature_name_splits_into_its_metric_and_statistic_even_when_both_hold_underscores():
    assert feature_metric_stat("vibration_peak_level") == ("vibration", "peak_level")
    assert feature_metric_stat("vibration_level") == ("vibration", "level")
    assert feature_metric_stat("oil_temperature_std_ratio_1h_12h") == ("oil_temperature", "std_ratio_1h_12h")
    assert feature_metric_stat("oil_temperature_mean_12h") == ("oil_temperature", "mean_12h")
    assert feature_metric_stat("hours_since_repair") is None


def test_a_departure_on_the_normal_range_is_said_as_a_share_of_the_range():
    ranges = {"vibration": (0.0, 4.5), "temperature": (20.0, 80.0)}

    def on_ranges(window: MachineWindow) -> MachineWindow:
        return MachineWindow(window.machine_code, window.ts, window.values, normal_ranges=ranges)

    at, features = features_of(on_ranges(machine(1)))
    model = HealthModel.fit(features[at < LEARNING_END], feature_names(MOTOR))
    assert "vibration_peak_level" in model.feature_names
    _, stepped = features_of(on_ranges(machine(2, vibration_step=10 * VIBRATION_SD)))
    row = stepped[np.argmax(at >= STEP_AT + 2 * HOUR_S)]

    sentences = model.explain(row, units=UNITS, top=len(model.feature_names))

    peak = next(sentence for sentence in sentences if sentence.startswith("vibration 12 h max at "))
    assert " of its normal range, above its usual " in peak
    assert not any("level" in sentence for sentence in sentences)


def test_rows_confirmed_normal_raise_the_threshold_above_their_scores_and_no_further(healthy):
    _, at, features = healthy
    learning = features[at < LEARNING_END]
    names = feature_names(MOTOR)
    calibrated = HealthModel.fit(learning, names)
    usable = list(calibrated.columns)
    departed = learning[:5].copy()
    departed[:, usable] += 4 * calibrated.scale
    assert calibrated.score(departed).past_threshold.all()

    raised = HealthModel.fit(learning, names, confirmed_normal=departed)
    quiet = HealthModel.fit(learning, names, confirmed_normal=learning[:5])

    assert raised.threshold == pytest.approx(CONFIRMED_NORMAL_MARGIN * raised.score(departed).raw.max())
    assert not raised.score(departed).past_threshold.any()
    assert raised.confirmed_normal_rows == 5
    assert quiet.threshold == calibrated.threshold
    assert quiet.confirmed_normal_rows == 5
