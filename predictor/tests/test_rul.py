"""RulLstm on generated sequences (tiny and fast), and the quantile-to-probability approximation."""

import json
import sys

import numpy as np
import pytest

from predictor.ml.rul import CONFIG_FILENAME, MODEL_FILENAME, RulLstm, RulLstmConfig, failure_probability_within

WINDOW_LENGTH = 10
MAX_RUL = 100.0


def wear_sequences(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two noisy channels that rise with wear; RUL falls linearly as wear grows, so a high signal means a low RUL."""
    rng = np.random.default_rng(seed)
    wear = rng.uniform(0.0, 1.0, size=count)
    ramp = np.linspace(-0.05, 0.0, WINDOW_LENGTH)
    level = wear[:, None] + ramp[None, :]
    x = np.stack([level, 0.5 * level], axis=-1) + rng.normal(0.0, 0.02, size=(count, WINDOW_LENGTH, 2))
    return x.astype(np.float32), (MAX_RUL * (1.0 - wear)).astype(np.float32)


def test_importing_the_model_module_does_not_import_tensorflow():
    # Run in a fresh interpreter: this test process may already hold TensorFlow from another test.
    import subprocess  # noqa: PLC0415 (only this test needs it)

    code = "import sys, predictor.ml.rul; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip() == "False"


# Keras' own tensor-to-numpy conversion trips numpy 2's copy-keyword deprecation; nothing of ours to fix.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_tiny_model_learns_that_a_rising_signal_means_low_rul_and_survives_save_and_load(tmp_path):
    x, y = wear_sequences(400, seed=1)
    x_val, y_val = wear_sequences(100, seed=2)
    model = RulLstm(
        window_length=WINDOW_LENGTH,
        feature_names=("vibration", "temperature"),
        rul_cap=MAX_RUL,
        conv_filters=0,
        lstm_units=(8,),
        dense_units=8,
        dropout=0.0,
        learning_rate=0.01,
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

    model.save(tmp_path / "rul")
    assert (tmp_path / "rul" / MODEL_FILENAME).is_file()
    saved_config = json.loads((tmp_path / "rul" / CONFIG_FILENAME).read_text())
    assert saved_config["window_length"] == WINDOW_LENGTH
    assert saved_config["quantiles"] == [0.1, 0.5, 0.9]
    assert saved_config["rul_cap"] == MAX_RUL

    reloaded = RulLstm.load(tmp_path / "rul")
    for before, after in zip(model.predict(x_val), reloaded.predict(x_val), strict=True):
        np.testing.assert_array_equal(before, after)
    with pytest.raises(ValueError, match="expected input of shape"):
        reloaded.predict(x_val[:, :5])


def test_config_round_trips_through_json():
    config = RulLstmConfig(window_length=30, feature_names=("a", "b"), rul_cap=125, lstm_units=(32, 16))

    assert RulLstmConfig.from_json(config.to_json()) == config


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
