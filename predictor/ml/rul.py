"""The project's remaining-useful-life model: one LSTM used both for C-MAPSS and for the plant's sequences.

Input is (samples, time steps, features) float32; the target is RUL in whatever unit the caller uses
(cycles for C-MAPSS, hours for the plant). The network predicts three quantiles of the RUL
(by default 0.1 / 0.5 / 0.9) trained with the pinball loss, so each prediction comes with a range.
The ordering low <= median <= high holds by construction: the network outputs the median and two
non-negative (softplus) gaps, rather than three free numbers that could cross.

TensorFlow takes seconds to import, so it is imported inside the functions that need it: importing
this module, or anything that imports it, stays cheap.
"""

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.special import ndtr, ndtri

# TensorFlow's C++ start-up notices (oneDNN, CPU features) would bury the commands' own output;
# warnings and errors still show. Set before the first (lazy) import of TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODEL_FILENAME = "model.keras"
CONFIG_FILENAME = "rul_lstm.json"
FORMAT_VERSION = 1
MAX_UNROLLED_WINDOW = 64

ProgressCallback = Callable[[int, dict[str, float]], None]


@dataclass
class RulLstmConfig:
    """Everything needed to rebuild and interpret the network; saved beside the weights as JSON."""

    window_length: int
    feature_names: tuple[str, ...]
    quantiles: tuple[float, float, float] = (0.1, 0.5, 0.9)
    # Targets above the cap are clipped before training and predictions never exceed it (piecewise-linear RUL).
    rul_cap: float | None = None
    conv_filters: int = 32  # 0 drops the convolutional front end
    conv_kernel_size: int = 5
    lstm_units: tuple[int, ...] = (64, 64)
    dense_units: int = 32
    dropout: float = 0.3
    # Gaussian noise added to the (min-max scaled) inputs during training only: the sensors are noisy already,
    # and jittering them keeps the network from memorising the training engines' exact traces.
    input_noise: float = 0.03
    learning_rate: float = 2e-3
    # Set by fit: targets are divided by it so the network regresses values near [0, 1].
    target_scale: float = 1.0
    format_version: int = FORMAT_VERSION

    @property
    def feature_count(self) -> int:
        return len(self.feature_names)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RulLstmConfig":
        values = json.loads(text)
        if values.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported RulLstm format version {values.get('format_version')!r}")
        for name in ("feature_names", "quantiles", "lstm_units"):
            values[name] = tuple(values[name])
        return cls(**values)


def pinball_loss(quantiles: tuple[float, ...]):
    """Mean quantile (pinball) loss over the output columns, one column per quantile in `quantiles` order."""
    import keras  # noqa: PLC0415 (lazy: TensorFlow import is slow)

    levels = keras.ops.convert_to_tensor(np.asarray(quantiles, dtype=np.float32))

    def loss(y_true, y_pred):
        error = keras.ops.reshape(y_true, (-1, 1)) - y_pred
        return keras.ops.mean(keras.ops.maximum(levels * error, (levels - 1.0) * error), axis=-1)

    return loss


def build_network(config: RulLstmConfig):
    import keras  # noqa: PLC0415 (lazy: TensorFlow import is slow)
    from keras import layers  # noqa: PLC0415

    inputs = keras.Input(shape=(config.window_length, config.feature_count), name="window")
    hidden = layers.GaussianNoise(config.input_noise, name="input_noise")(inputs) if config.input_noise else inputs
    if config.conv_filters:
        # A short convolution picks up local trends across neighbouring cycles before the recurrent layers.
        hidden = layers.Conv1D(
            config.conv_filters, config.conv_kernel_size, padding="same", activation="relu", name="local_trends"
        )(hidden)
    for index, units in enumerate(config.lstm_units):
        last = index == len(config.lstm_units) - 1
        hidden = layers.LSTM(
            units,
            return_sequences=not last,
            # Unrolled, a short window runs as straight-line ops instead of a symbolic while loop (cheaper per step
            # on CPU); a long one would bloat the graph, so those keep the loop.
            unroll=config.window_length <= MAX_UNROLLED_WINDOW,
            name=f"lstm_{index + 1}",
        )(hidden)
        if config.dropout:
            hidden = layers.Dropout(config.dropout, name=f"dropout_{index + 1}")(hidden)
    hidden = layers.Dense(config.dense_units, activation="relu", name="head")(hidden)
    median = layers.Dense(1, name="median")(hidden)
    lower_gap = layers.Dense(1, activation="softplus", name="lower_gap")(hidden)
    upper_gap = layers.Dense(1, activation="softplus", name="upper_gap")(hidden)
    low = layers.Subtract(name="low")([median, lower_gap])
    high = layers.Add(name="high")([median, upper_gap])
    outputs = layers.Concatenate(name="quantiles")([low, median, high])
    return keras.Model(inputs, outputs, name="rul_lstm")


class RulLstm:
    """Quantile LSTM regressor of remaining useful life.

    Usage:
        model = RulLstm(window_length=30, feature_names=names, rul_cap=125)
        model.fit(x_train, y_train, x_val=x_val, y_val=y_val, seed=0)
        median, low, high = model.predict(x_test)
        model.save(directory); same_model = RulLstm.load(directory)
    """

    def __init__(self, config: RulLstmConfig | None = None, **config_values):
        if config is not None and config_values:
            raise TypeError("pass either a RulLstmConfig or its fields, not both")
        self.config = config if config is not None else RulLstmConfig(**config_values)
        if len(self.config.quantiles) != 3 or not (
            0 < self.config.quantiles[0] < self.config.quantiles[1] == 0.5 < self.config.quantiles[2] < 1
        ):
            raise ValueError("quantiles must be (low, 0.5, high) with 0 < low < 0.5 < high < 1")
        self.network = None
        self.history: dict[str, list[float]] = {}
        self.training_seconds: float | None = None

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        expected = (self.config.window_length, self.config.feature_count)
        if x.ndim != 3 or x.shape[1:] != expected:
            raise ValueError(f"expected input of shape (N, {expected[0]}, {expected[1]}), got {x.shape}")
        return x

    def _scaled_target(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float32).reshape(-1)
        if self.config.rul_cap is not None:
            y = np.minimum(y, self.config.rul_cap)
        return y / self.config.target_scale

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        epochs: int = 35,
        batch_size: int = 256,
        seed: int = 0,
        early_stopping_patience: int | None = None,
        learning_rate_schedule: str = "cosine",
        deterministic: bool = True,
        verbose: int = 0,
        progress: ProgressCallback | None = None,
    ) -> "RulLstm":
        """Train from scratch. With validation data, keep the weights of the epoch with the lowest validation loss.

        early_stopping_patience: stop after that many epochs without a better validation loss; None trains all
        `epochs`. On C-MAPSS FD001 the 20-unit validation loss is noisy enough that patience 15 stopped 3 of 5
        seeds after 19-27 of 45 epochs, before the cosine decay had run (mean RMSE 13.56); full 35-epoch runs
        gave 12.41 (bench/models.py), hence the default None.

        learning_rate_schedule: "plateau" halves the rate when the monitored loss stalls for 4 epochs;
        "cosine" decays it smoothly to 1 % over all `epochs`, which does not depend on a noisy validation loss.
        """
        if learning_rate_schedule not in {"plateau", "cosine"}:
            raise ValueError(f"unknown learning_rate_schedule {learning_rate_schedule!r}")
        import keras  # noqa: PLC0415 (lazy: TensorFlow import is slow)
        import tensorflow as tf  # noqa: PLC0415

        x = self._check_input(x)
        has_validation = x_val is not None and y_val is not None and len(x_val) > 0
        cap = self.config.rul_cap
        self.config.target_scale = float(cap if cap is not None else max(float(np.max(y)), 1.0))

        keras.utils.set_random_seed(seed)
        if deterministic:
            # Same seed, same weights. Process-wide and permanent once enabled.
            tf.config.experimental.enable_op_determinism()
        self.network = build_network(self.config)
        learning_rate = self.config.learning_rate
        if learning_rate_schedule == "cosine":
            steps_per_epoch = -(-len(x) // batch_size)
            learning_rate = keras.optimizers.schedules.CosineDecay(
                self.config.learning_rate, decay_steps=epochs * steps_per_epoch, alpha=0.01
            )
        self.network.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss=pinball_loss(self.config.quantiles),
        )
        monitored = "val_loss" if has_validation else "loss"
        callbacks = []
        if learning_rate_schedule == "plateau":
            callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitored, factor=0.5, patience=4, min_lr=1e-5))
        if has_validation:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=monitored,
                    # Patience of the whole run never stops early; the callback still restores the best epoch.
                    patience=early_stopping_patience if early_stopping_patience is not None else epochs,
                    restore_best_weights=True,
                )
            )
        if progress is not None:
            callbacks.append(
                keras.callbacks.LambdaCallback(
                    on_epoch_end=lambda epoch, logs: progress(epoch, {k: float(v) for k, v in (logs or {}).items()})
                )
            )
        validation_data = (self._check_input(x_val), self._scaled_target(y_val)) if has_validation else None
        started = time.perf_counter()
        history = self.network.fit(
            x,
            self._scaled_target(y),
            validation_data=validation_data,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=True,
            callbacks=callbacks,
            verbose=verbose,
        )
        self.training_seconds = time.perf_counter() - started
        self.history = {name: [float(v) for v in values] for name, values in history.history.items()}
        return self

    def predict(self, x: np.ndarray, *, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(median, low, high) RUL per sample, in the target's unit, within [0, rul_cap]."""
        if self.network is None:
            raise RuntimeError("RulLstm is not fitted; call fit() or RulLstm.load()")
        x = self._check_input(x)
        if len(x) == 0:
            empty = np.empty((0,), dtype=np.float32)
            return empty, empty.copy(), empty.copy()
        quantiles = np.asarray(self.network.predict(x, batch_size=batch_size, verbose=0)) * self.config.target_scale
        quantiles = np.clip(quantiles, 0.0, self.config.rul_cap if self.config.rul_cap is not None else None)
        low, median, high = quantiles[:, 0], quantiles[:, 1], quantiles[:, 2]
        return median.astype(np.float32), low.astype(np.float32), high.astype(np.float32)

    def save(self, directory: Path | str) -> Path:
        """Write `model.keras` (Keras native format: architecture and weights, no pickle) and the config JSON."""
        if self.network is None:
            raise RuntimeError("nothing to save: RulLstm is not fitted")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.network.save(directory / MODEL_FILENAME)
        (directory / CONFIG_FILENAME).write_text(self.config.to_json() + "\n", encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: Path | str) -> "RulLstm":
        import keras  # noqa: PLC0415 (lazy: TensorFlow import is slow)

        directory = Path(directory)
        model = cls(RulLstmConfig.from_json((directory / CONFIG_FILENAME).read_text(encoding="utf-8")))
        # Serving never trains, and compile=False spares deserialising the custom loss.
        model.network = keras.saving.load_model(directory / MODEL_FILENAME, compile=False, safe_mode=True)
        return model


def failure_probability_within(
    horizon: float,
    median: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    *,
    quantiles: tuple[float, float, float] = (0.1, 0.5, 0.9),
) -> np.ndarray:
    """Approximate P(RUL <= horizon) from three predicted quantiles.

    The approximation: the RUL follows a two-piece normal with its median at `median`, whose lower half
    has the spread that puts `low` at quantile quantiles[0] and whose upper half the spread that puts
    `high` at quantiles[2]. It reproduces the three predicted quantiles exactly and interpolates between
    them smoothly; beyond them the tails are Gaussian, which is a guess, not something the model learnt.
    A zero-width half degenerates to a step at the median.
    """
    median = np.asarray(median, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    lower_z, upper_z = -ndtri(quantiles[0]), ndtri(quantiles[2])
    lower_sigma = np.maximum(median - low, 0.0) / lower_z
    upper_sigma = np.maximum(high - median, 0.0) / upper_z
    distance = horizon - median
    sigma = np.where(distance <= 0, lower_sigma, upper_sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        standardised = np.where(sigma > 0, distance / np.where(sigma > 0, sigma, 1.0), np.sign(distance) * np.inf)
    # At exactly the median with zero spread the step is taken as 0.5, the median's own probability.
    standardised = np.where((sigma == 0) & (distance == 0), 0.0, standardised)
    return ndtr(standardised)
