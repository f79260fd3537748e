"""RulLstm on generated sequences (tiny and fast), and the quantile-to-probability approximation."""

import json
import sys

import numpy as np
import pytest

from predictor.ml.rul import (
    CONFIG_FILENAME,
    MODEL_FILENAME,
    RulLstm,
    RulLstmConfig,
    conformal_gap_scales,
    cross_fitting_weights,
    failure_probability_within,
)

WINDOW_LENGTH = 10
MAX_RUL = 100.0
TINY_NETWORK = {"conv_filters": 0, "lstm_units": (8,), "dense_units": 8, "dropout": 0.0, "learning_rate": 0.01}


def wear_sequences(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two noisy channels that rise with wear; RUL falls linearly as wear grows, so a high signal means a low RUL."""
    rng = np.random.default_rng(seed)
    wear = rng.uniform(0.0, 1.0, size=count)
    ramp = np.linspace(-0.05, 0.0, WINDOW_LENGTH)
    level = wear[:, None] + ramp[None, :]
    x = np.stack([level, 0.5 * level], axis=-1) + rng.normal(0.0, 0.02, size=(count, WINDOW_LENGTH, 2))
    return x.astype(np.float32), (MAX_RUL * (1.0 - wear)).astype(np.float32)


def share_in_range(truth: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    return float(np.mean((truth >= low) & (truth <= high)))


def test_importing_the_model_module_does_not_import_tensorflow():
    # Run in a fresh interpreter: this test process may already hold TensorFlow from another test.
    import subprocess  # noqa: PLC0415 (only this test needs it)

    code = "import sys, predictor.ml.rul; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip() == "False"


# Keras' own tensor-to-numpy conversion trips numpy 2's copy-keyword deprecation; nothing of ours to fix.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_tiny_model_learns_that_a_rising_signal_means_low_rul_is_calibrated_and_survives_save_and_load(tmp_path):
    x, y = wear_sequences(400, seed=1)
    x_val, y_val = wear_sequences(100, seed=2)
    model = RulLstm(
        window_length=WINDOW_LENGTH, feature_names=("vibration", "temperature"), rul_cap=MAX_RUL, **TINY_NETWORK
    )
    epochs_seen = []

    model.fit(
        x, y, x_val=x_val, y_val=y_val, epochs=6, batch_size=32, seed=0, progress=lambda e, _: epochs_seen.append(e)
    )

    probe = np.stack([np.full((WINDOW_LENGTH, 2), level * np.array([1.0, 0.5])) for level in (0.1, 0.5, 0.9)])
    median, low, high = model.predict(probe.astype(np.float32))
    assert median[0] > median[1] > median[2]  # more wear, less life
    assert np.all(low <= median)
    assert np.all(median <= high)
    assert np.all((low >= 0) & (high <= MAX_RUL))
    assert epochs_seen == list(range(6))

    # Calibrated on held-out samples, each bound misses about a tenth of them, and the range covers about 80 %
    # of new samples from the same source (split-conformal: at least 80 % in expectation).
    x_calibration, y_calibration = wear_sequences(200, seed=3)
    model.calibrate(x_calibration, y_calibration)
    _, low, high = model.predict(x_calibration)
    assert 0.08 <= np.mean(y_calibration < low) <= 0.1
    assert 0.08 <= np.mean(y_calibration > high) <= 0.1
    x_new, y_new = wear_sequences(1000, seed=4)
    assert 0.72 <= share_in_range(y_new, *model.predict(x_new)[1:]) <= 0.88
    assert model.config.calibration_samples == 200
    with pytest.raises(ValueError, match="fitted with groups"):
        model.calibrate(x_calibration, y_calibration, groups=np.zeros(200))

    model.save(tmp_path / "rul")
    assert (tmp_path / "rul" / MODEL_FILENAME).is_file()
    saved_config = json.loads((tmp_path / "rul" / CONFIG_FILENAME).read_text())
    assert saved_config["window_length"] == WINDOW_LENGTH
    assert saved_config["quantiles"] == [0.1, 0.5, 0.9]
    assert saved_config["rul_cap"] == MAX_RUL
    assert saved_config["ensemble_size"] == 1
    assert saved_config["low_gap_scale"] == model.config.low_gap_scale != 1.0

    reloaded = RulLstm.load(tmp_path / "rul")
    for before, after in zip(model.predict(x_val), reloaded.predict(x_val), strict=True):
        np.testing.assert_array_equal(before, after)
    # Predicted in chunks (the last one short), each sample gets what one batch gives it.
    for whole, chunked in zip(model.predict(x_val), model.predict(x_val, batch_size=32), strict=True):
        np.testing.assert_allclose(whole, chunked, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="expected input of shape"):
        reloaded.predict(x_val[:, :5])


@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_cross_fitted_members_each_leave_out_their_fold_and_calibrate_on_what_they_left_out():
    x, y = wear_sequences(360, seed=5)
    machines = np.repeat([f"M-{n:02d}" for n in range(12)], 30)
    model = RulLstm(
        window_length=WINDOW_LENGTH,
        feature_names=("vibration", "temperature"),
        rul_cap=MAX_RUL,
        ensemble_size=3,
        **TINY_NETWORK,
    )

    model.fit(x, y, groups=machines, epochs=6, batch_size=32, seed=0)

    assert sorted(model.held_out_member) == sorted(set(machines))
    assert sorted(model.held_out_member.values()) == [0] * 4 + [1] * 4 + [2] * 4
    assert len(model.history["val_loss"]) == 6  # out-of-fold loss, every epoch
    probe = np.stack([np.full((WINDOW_LENGTH, 2), level * np.array([1.0, 0.5])) for level in (0.1, 0.5, 0.9)])
    centre, _, _ = model.predict(probe.astype(np.float32))
    assert centre[0] > centre[1] > centre[2]

    model.calibrate(x, y, groups=machines)
    assert model.config.calibration_samples == 360
    x_new, y_new = wear_sequences(1000, seed=6)
    # One member's out-of-fold error is larger than the average's, so the range errs on the wide side.
    assert 0.76 <= share_in_range(y_new, *model.predict(x_new)[1:]) <= 0.95


def test_fit_refuses_cross_fitting_groups_that_do_not_fit():
    x, y = wear_sequences(40, seed=7)
    ensemble = RulLstm(window_length=WINDOW_LENGTH, feature_names=("a", "b"), ensemble_size=2)
    single = RulLstm(window_length=WINDOW_LENGTH, feature_names=("a", "b"))

    with pytest.raises(ValueError, match="not both"):
        ensemble.fit(x, y, x_val=x, y_val=y, groups=np.arange(40))
    with pytest.raises(ValueError, match="at least 2"):
        single.fit(x, y, groups=np.arange(40))
    with pytest.raises(ValueError, match="one entry per training sample"):
        ensemble.fit(x, y, groups=np.arange(39))


def test_cross_fitting_deals_whole_groups_into_folds_each_left_out_by_one_member():
    groups = np.repeat(np.arange(10), 3)

    weights, held_out_by = cross_fitting_weights(groups, members=3, seed=0)

    assert weights.shape == (30, 3)
    assert np.all(weights.sum(axis=1) == 2)  # every sample trains all members but one
    for group, member in held_out_by.items():
        assert np.all(weights[groups == group, member] == 0)
    assert sorted(np.bincount(list(held_out_by.values()))) == [3, 3, 4]
    again, _ = cross_fitting_weights(groups, members=3, seed=0)
    np.testing.assert_array_equal(weights, again)
    with pytest.raises(ValueError, match="at least 11 groups"):
        cross_fitting_weights(groups, members=11, seed=0)


def test_conformal_scales_stretch_each_gap_to_miss_its_share_of_held_out_truths():
    rng = np.random.default_rng(0)
    centre = np.zeros(20000)
    truth = rng.normal(0.0, 2.0, size=20000)
    unit_gap = np.ones(20000)

    low_scale, high_scale = conformal_gap_scales(
        centre, unit_gap, unit_gap, truth, quantiles=(0.1, 0.5, 0.9), smallest_gap=1e-6
    )

    # The truth is N(0, 2) around the centre: its 10 % and 90 % quantiles lie 2 x 1.2816 away.
    assert low_scale == pytest.approx(2 * 1.2816, rel=0.03)
    assert high_scale == pytest.approx(2 * 1.2816, rel=0.03)


def test_conformal_scale_uses_the_finite_sample_rank_and_never_crosses_the_centre():
    truth = np.arange(1.0, 10.0)  # nine truths above a centre of 0, with gaps of 1
    centre, gap = np.zeros(9), np.ones(9)

    low_scale, high_scale = conformal_gap_scales(centre, gap, gap, truth, quantiles=(0.2, 0.5, 0.8), smallest_gap=1e-6)

    assert low_scale == 0.0  # no truth below the centre: the lower bound may sit on it
    assert high_scale == 8.0  # rank ceil((9 + 1) x 0.8) = 8 of the sorted ratios 1..9
    assert conformal_gap_scales(centre, gap * 0, gap * 0, truth, quantiles=(0.2, 0.5, 0.8), smallest_gap=0.5)[1] == 16.0


def test_config_round_trips_through_json():
    config = RulLstmConfig(window_length=30, feature_names=("a", "b"), rul_cap=125, lstm_units=(32, 16))

    assert RulLstmConfig.from_json(config.to_json()) == config


def test_a_version_1_config_loads_as_one_uncalibrated_member():
    saved = RulLstmConfig(window_length=30, feature_names=("a",), rul_cap=125)
    version_1 = {
        key: value
        for key, value in json.loads(saved.to_json()).items()
        if key not in {"ensemble_size", "low_gap_scale", "high_gap_scale", "calibration_samples"}
    }
    version_1["format_version"] = 1

    config = RulLstmConfig.from_json(json.dumps(version_1))

    assert config.ensemble_size == 1
    assert (config.low_gap_scale, config.high_gap_scale) == (1.0, 1.0)
    with pytest.raises(ValueError, match="format version 7"):
        RulLstmConfig.from_json(json.dumps({**version_1, "format_version": 7}))


def test_ensemble_size_is_checked():
    with pytest.raises(ValueError, match="ensemble_size"):
        RulLstm(window_length=5, feature_names=("a",), ensemble_size=0)


def test_quantiles_must_be_low_median_high():
    with pytest.raises(ValueError, match="quantiles"):
        RulLstm(window_length=5, feature_names=("a",), quantiles=(0.1, 0.6, 0.9))


def test_failure_probability_reproduces_the_predicted_quantiles_and_grows_with_the_horizon():
    median, low, high = np.array([50.0]), np.array([30.0]), np.array([80.0])

    at_low, at_median, at_high = (failure_probability_within(h, median, low, high)[0] for h in (30, 50, 80))
    assert at_low == pytest.approx(0.1)
    assert at_median == pytest.approx(0.5)
    assert at_high == pytest.approx(0.9)

    horizons = np.linspace(0, 150, 31)
    probabilities = [failure_probability_within(h, median, low, high)[0] for h in horizons]
    assert np.all(np.diff(probabilities) >= 0)
    assert probabilities[0] < 0.01
    assert probabilities[-1] > 0.99


def test_failure_probability_is_a_step_when_the_range_has_no_width():
    median = low = high = np.array([20.0, 20.0, 20.0])

    assert failure_probability_within(10, median, low, high).tolist() == [0.0, 0.0, 0.0]
    assert failure_probability_within(20, median, low, high).tolist() == [0.5, 0.5, 0.5]
    assert failure_probability_within(30, median, low, high).tolist() == [1.0, 1.0, 1.0]
