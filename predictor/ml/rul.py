"""The project's remaining-useful-life model: one LSTM used both for C-MAPSS and for the plant's sequences.

Input is (samples, time steps, features) float32; the target is RUL in whatever unit the caller uses
(cycles for C-MAPSS, hours for the plant). The network predicts three quantiles of the RUL
(by default 0.1 / 0.5 / 0.9) trained with the pinball loss, so each prediction comes with a range.
The ordering low <= median <= high holds by construction: the network outputs the median and two
non-negative (softplus) gaps, rather than three free numbers that could cross.

One network holds `ensemble_size` members whose quantiles are averaged. Given the unit or machine of
each training sample, fit cross-fits them (each member leaves out one fold of the groups and is
validated on it); `calibrate` then rescales the range's gaps on out-of-fold or held-out predictions so
that it covers what it claims to (split-conformal), and the scales are saved with the model.

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
FORMAT_VERSION = 2
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
    # Members trained side by side in one network, each from its own initial weights and, when cross-fitted,
    # on its own folds; predict averages their quantiles.
    ensemble_size: int = 1
    # Set by fit: targets are divided by it so the network regresses values near [0, 1].
    target_scale: float = 1.0
    # Set by calibrate: the lower and upper gaps around the centre are multiplied by these (1.0: as trained).
    low_gap_scale: float = 1.0
    high_gap_scale: float = 1.0
    calibration_samples: int = 0
    format_version: int = FORMAT_VERSION

    @property
    def feature_count(self) -> int:
        return len(self.feature_names)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RulLstmConfig":
        values = json.loads(text)
        version = values.get("format_version")
        if version not in (1, FORMAT_VERSION):
            raise ValueError(f"unsupported RulLstm format version {version!r}")
        if version == 1:
            # Version 1 had one member and no calibration: the new fields' defaults describe it exactly.
            values["format_version"] = FORMAT_VERSION
        for name in ("feature_names", "quantiles", "lstm_units"):
            values[name] = tuple(values[name])
        return cls(**values)


def pinball_loss(quantiles: tuple[float, ...]):
    """Mean quantile (pinball) loss over the quantiles and members of the network's (members, 3) output.

    y_true is (samples, 1 + members): the scaled target, then one weight per member (1: that member learns from,
    or is validated on, the sample; 0: it is not), which is how cross-fitted members each leave out their fold.
    """
    import keras  # noqa: PLC0415 (lazy: TensorFlow import is slow)

    levels = keras.ops.convert_to_tensor(np.asarray(quantiles, dtype=np.float32))

    def loss(y_true, y_pred):
        truth, member_weights = y_true[:, :1], y_true[:, 1:]
        error = keras.ops.expand_dims(truth, -1) - y_pred
        per_member = keras.ops.mean(keras.ops.maximum(levels * error, (levels - 1.0) * error), axis=-1)
        return keras.ops.mean(member_weights * per_member, axis=-1)

    return loss


def cross_fitting_weights(groups: np.ndarray, *, members: int, seed: int) -> tuple[np.ndarray, dict]:
    """(samples, members) training weights that give each member all groups but its own fold, and each group's
    member: the groups (units, machines) are shuffled with `seed` and dealt into `members` folds of near-equal
    size; member k trains on every fold but fold k, which is its validation data."""
    unique_groups = np.unique(groups)
    if len(unique_groups) < members:
        raise ValueError(f"cross-fitting {members} members needs at least {members} groups, got {len(unique_groups)}")
    shuffled = np.random.default_rng(seed).permutation(unique_groups)
    held_out_by = {
        group.item(): member for member, fold in enumerate(np.array_split(shuffled, members)) for group in fold
    }
    holder = np.array([held_out_by[group.item()] for group in np.asarray(groups)])
    weights = (holder[:, None] != np.arange(members)[None, :]).astype(np.float32)
    return weights, held_out_by


def build_network(config: RulLstmConfig):
    """Input (window, features) → output (members, 3): each member's low, centre and high, in target_scale units."""
    import keras  # noqa: PLC0415 (lazy: TensorFlow import is slow)
    from keras import layers  # noqa: PLC0415

    inputs = keras.Input(shape=(config.window_length, config.feature_count), name="window")
    members = [member_layers(inputs, config, prefix=f"m{number}_") for number in range(1, config.ensemble_size + 1)]
    joined = layers.Concatenate(name="members")(members) if len(members) > 1 else members[0]
    outputs = layers.Reshape((config.ensemble_size, 3), name="quantiles")(joined)
    return keras.Model(inputs, outputs, name="rul_lstm")


def member_layers(hidden, config: RulLstmConfig, *, prefix: str):
    """One member: the (low, centre, high) of a convolution + stacked LSTM regressor, as a (samples, 3) tensor."""
    from keras import layers  # noqa: PLC0415 (lazy: TensorFlow import is slow)

    if config.input_noise:
        # Each member draws its own noise, one more thing that keeps the members from making the same errors.
        hidden = layers.GaussianNoise(config.input_noise, name=f"{prefix}input_noise")(hidden)
    if config.conv_filters:
        # A short convolution picks up local trends across neighbouring cycles before the recurrent layers.
        hidden = layers.Conv1D(
            config.conv_filters,
            config.conv_kernel_size,
            padding="same",
            activation="relu",
            name=f"{prefix}local_trends",
        )(hidden)
    for index, units in enumerate(config.lstm_units):
        last = index == len(config.lstm_units) - 1
        hidden = layers.LSTM(
            units,
            return_sequences=not last,
            # Unrolled, a short window runs as straight-line ops instead of a symbolic while loop (cheaper per step
            # on CPU); a long one would bloat the graph, so those keep the loop.
            unroll=config.window_length <= MAX_UNROLLED_WINDOW,
            name=f"{prefix}lstm_{index + 1}",
        )(hidden)
        if config.dropout:
            hidden = layers.Dropout(config.dropout, name=f"{prefix}dropout_{index + 1}")(hidden)
    hidden = layers.Dense(config.dense_units, activation="relu", name=f"{prefix}head")(hidden)
    centre = layers.Dense(1, name=f"{prefix}centre")(hidden)
    # The bounds are the centre minus and plus non-negative gaps, so low <= centre <= high by construction.
    lower_gap = layers.Dense(1, activation="softplus", name=f"{prefix}lower_gap")(hidden)
    upper_gap = layers.Dense(1, activation="softplus", name=f"{prefix}upper_gap")(hidden)
    low = layers.Subtract(name=f"{prefix}low")([centre, lower_gap])
    high = layers.Add(name=f"{prefix}high")([centre, upper_gap])
    return layers.Concatenate(name=f"{prefix}quantiles")([low, centre, high])


class RulLstm:
    """Quantile LSTM regressor of remaining useful life.

    Usage:
        model = RulLstm(window_length=30, feature_names=names, rul_cap=125)
        model.fit(x_train, y_train, x_val=x_val, y_val=y_val, seed=0)
        model.calibrate(x_val, y_val)  # the 10-90 % range covers about 80 % of new samples
        median, low, high = model.predict(x_test)
        model.save(directory); same_model = RulLstm.load(directory)

    Cross-fitted: RulLstm(..., ensemble_size=5).fit(x_train, y_train, groups=unit_of_each_sample), then
    calibrate(x_train, y_train, groups=unit_of_each_sample).
    """

    def __init__(self, config: RulLstmConfig | None = None, **config_values):
        if config is not None and config_values:
            raise TypeError("pass either a RulLstmConfig or its fields, not both")
        self.config = config if config is not None else RulLstmConfig(**config_values)
        if len(self.config.quantiles) != 3 or not (
            0 < self.config.quantiles[0] < self.config.quantiles[1] == 0.5 < self.config.quantiles[2] < 1
        ):
            raise ValueError("quantiles must be (low, 0.5, high) with 0 < low < 0.5 < high < 1")
        if self.config.ensemble_size < 1:
            raise ValueError(f"ensemble_size must be at least 1, got {self.config.ensemble_size}")
        self.network = None
        self._traced_for_any_batch_size = False
        # Set by a cross-fitted fit: the member that did not train on each group (unit or machine).
        self.held_out_member: dict = {}
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

    def _loss_targets(self, x, y, *, x_val, y_val, groups, seed) -> tuple[np.ndarray, tuple | None, str]:
        """The training targets with their member weights, the validation data, and the loss to monitor."""
        members = self.config.ensemble_size
        target = self._scaled_target(y)[:, None]
        if groups is not None:
            training_weights, self.held_out_member = cross_fitting_weights(groups, members=members, seed=seed)
            # The members' average is partly in-fold on any training sample; only the out-of-fold loss is honest.
            return np.hstack([target, training_weights]), (x, np.hstack([target, 1.0 - training_weights])), "val_loss"
        self.held_out_member = {}
        everyone = np.ones((len(x), members), dtype=np.float32)
        if x_val is None:
            return np.hstack([target, everyone]), None, "ensemble_loss"
        val_target = self._scaled_target(y_val)[:, None]
        val_everyone = np.ones((len(val_target), members), dtype=np.float32)
        return (
            np.hstack([target, everyone]),
            (self._check_input(x_val), np.hstack([val_target, val_everyone])),
            "val_ensemble_loss",
        )

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        groups: np.ndarray | None = None,
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

        Validation comes either from x_val/y_val, on which the members' averaged prediction is scored, or from
        `groups`: the unit or machine of each training sample. With groups the members are cross-fitted: each
        trains on all groups but one fold, the epoch kept is the one with the lowest out-of-fold loss (every
        member scored on the fold it did not see), and `calibrate` can use every training sample. Cross-fitting
        uses all the data for training and validation at once, and its members differ in what they saw, not
        only in where they started, so their average gains more than the average of members trained alike.

        early_stopping_patience: stop after that many epochs without a better validation loss; None trains all
        `epochs` (a noisy validation loss stops runs before the cosine decay has run; see bench/models.py).

        learning_rate_schedule: "plateau" halves the rate when the monitored loss stalls for 4 epochs;
        "cosine" decays it smoothly to 1 % over all `epochs`, which does not depend on a noisy validation loss.
        """
        if learning_rate_schedule not in {"plateau", "cosine"}:
            raise ValueError(f"unknown learning_rate_schedule {learning_rate_schedule!r}")
        x = self._check_input(x)
        has_validation = x_val is not None and y_val is not None and len(x_val) > 0
        if groups is not None:
            if has_validation:
                raise ValueError("pass either groups (cross-fitting) or x_val/y_val, not both")
            if self.config.ensemble_size < 2:
                raise ValueError("cross-fitting needs ensemble_size of at least 2")
            if len(groups) != len(x):
                raise ValueError(f"groups needs one entry per training sample: {len(groups)} for {len(x)}")
        import keras  # noqa: PLC0415 (lazy: TensorFlow import is slow)
        import tensorflow as tf  # noqa: PLC0415

        cap = self.config.rul_cap
        self.config.target_scale = float(cap if cap is not None else max(float(np.max(y)), 1.0))
        # A new network needs its own calibration; until then its range is used as trained.
        self.config.low_gap_scale = self.config.high_gap_scale = 1.0
        self.config.calibration_samples = 0

        keras.utils.set_random_seed(seed)
        if deterministic:
            # Same seed, same weights. Process-wide and permanent once enabled.
            tf.config.experimental.enable_op_determinism()
        self.network = build_network(self.config)
        self._traced_for_any_batch_size = False
        learning_rate = self.config.learning_rate
        if learning_rate_schedule == "cosine":
            steps_per_epoch = -(-len(x) // batch_size)
            learning_rate = keras.optimizers.schedules.CosineDecay(
                self.config.learning_rate, decay_steps=epochs * steps_per_epoch, alpha=0.01
            )
        member_loss = pinball_loss(self.config.quantiles)

        def ensemble_loss(y_true, y_pred):
            # The loss of what predict returns, the members' average, as opposed to the members' average loss.
            truth = y_true[:, :1]
            return member_loss(
                keras.ops.concatenate([truth, keras.ops.ones_like(truth)], axis=-1),
                keras.ops.mean(y_pred, axis=1, keepdims=True),
            )

        self.network.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=member_loss, metrics=[ensemble_loss]
        )
        fit_target, validation_data, monitored = self._loss_targets(
            x, y, x_val=x_val if has_validation else None, y_val=y_val, groups=groups, seed=seed
        )
        callbacks = []
        if learning_rate_schedule == "plateau":
            callbacks.append(
                keras.callbacks.ReduceLROnPlateau(monitor=monitored, mode="min", factor=0.5, patience=4, min_lr=1e-5)
            )
        if validation_data is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=monitored,
                    mode="min",
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
        started = time.perf_counter()
        history = self.network.fit(
            x,
            fit_target,
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

    def _held_out(self, groups: np.ndarray | None) -> np.ndarray | None:
        """The member that did not train on each sample's group; None without groups."""
        if groups is None:
            return None
        if not self.held_out_member:
            raise ValueError("out-of-fold predictions need the model fitted with groups in this process")
        unknown = {group.item() for group in np.unique(groups)} - set(self.held_out_member)
        if unknown:
            raise ValueError(f"groups the model was not fitted on: {sorted(unknown)[:5]}")
        return np.array([self.held_out_member[group.item()] for group in np.asarray(groups)])

    def _centre_and_gaps(
        self, x: np.ndarray, batch_size: int, *, member_of_sample: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The centre and the gaps down to the low and up to the high quantile, as trained: the members'
        average, or with member_of_sample, the one member named for each sample."""
        if self.network is None:
            raise RuntimeError("RulLstm is not fitted; call fit() or RulLstm.load()")
        x = self._check_input(x)
        if len(x) == 0:
            empty = np.empty((0,), dtype=np.float64)
            return empty, empty.copy(), empty.copy()
        if not self._traced_for_any_batch_size:
            # Keras traces its predict function again for each new batch size until it has seen two, then once
            # for any size. A trace takes about a second, and a predictor tick's batch changes size whenever a
            # machine stops or starts (a 1.8 s tick in the scoring benchmark): trace for any size now, once.
            for size in (1, 2):
                self.network.predict_on_batch(np.repeat(x[:1], size, axis=0))
            self._traced_for_any_batch_size = True
        # predict_on_batch per chunk: Model.predict builds a tf.data pipeline per call, which cost more than
        # the network itself on a predictor tick (0.30 against 0.12 s for 1,000 machines).
        raw = np.concatenate(
            [
                np.asarray(self.network.predict_on_batch(x[start : start + batch_size]), dtype=np.float64)
                for start in range(0, len(x), batch_size)
            ]
        )
        # Version 1 networks have one member and output (N, 3).
        per_member = raw.reshape(len(x), -1, 3) * self.config.target_scale
        if member_of_sample is None:
            # Averaging each quantile over the members.
            low, centre, high = per_member.mean(axis=1).T
        else:
            low, centre, high = per_member[np.arange(len(x)), member_of_sample].T
        return centre, centre - low, high - centre

    def predict(
        self, x: np.ndarray, *, groups: np.ndarray | None = None, batch_size: int = 1024
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(centre, low, high) RUL per sample, in the target's unit, within [0, rul_cap].

        The centre is the median; low and high are quantiles[0] and quantiles[2], calibrated (see `calibrate`);
        each is averaged over the members.
        groups: after a cross-fitted fit, the training samples' groups; each sample is then predicted by the one
        member that did not train on its group (out-of-fold: an honest validation figure on training data).
        """
        centre, lower_gap, upper_gap = self._centre_and_gaps(x, batch_size, member_of_sample=self._held_out(groups))
        low = centre - self.config.low_gap_scale * lower_gap
        high = centre + self.config.high_gap_scale * upper_gap
        upper_limit = self.config.rul_cap if self.config.rul_cap is not None else None
        low, centre, high = (np.clip(values, 0.0, upper_limit).astype(np.float32) for values in (low, centre, high))
        return centre, low, high

    def calibrate(
        self, x: np.ndarray, y: np.ndarray, *, groups: np.ndarray | None = None, batch_size: int = 1024
    ) -> "RulLstm":
        """Widen or narrow the range so that it covers held-out samples as the quantiles say it should.

        Either samples the network did not train on (a validation split by machine or unit), or, after a
        cross-fitted fit, its own training samples with their `groups`: each is then predicted by the member
        that did not train on it. On its own training data a network's range is too narrow. One member's
        out-of-fold error is larger than the members' average error, so the second way errs on the wide side.
        The scales are saved with the model (see `conformal_gap_scales`).
        """
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if self.config.rul_cap is not None:
            # Predictions never exceed the cap, and the network was trained on capped targets.
            y = np.minimum(y, self.config.rul_cap)
        centre, lower_gap, upper_gap = self._centre_and_gaps(x, batch_size, member_of_sample=self._held_out(groups))
        if len(y) != len(centre) or len(y) == 0:
            raise ValueError(f"calibration needs samples, one target each: got {len(centre)} samples, {len(y)} targets")
        self.config.low_gap_scale, self.config.high_gap_scale = conformal_gap_scales(
            centre,
            lower_gap,
            upper_gap,
            y,
            quantiles=self.config.quantiles,
            smallest_gap=1e-4 * self.config.target_scale,
        )
        self.config.calibration_samples = len(y)
        return self

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


def conformal_gap_scales(
    centre: np.ndarray,
    lower_gap: np.ndarray,
    upper_gap: np.ndarray,
    truth: np.ndarray,
    *,
    quantiles: tuple[float, float, float],
    smallest_gap: float,
) -> tuple[float, float]:
    """Scales for the gaps below and above the centre so that, on held-out samples, the truth falls below
    `centre - low_scale * lower_gap` for quantiles[0] of them and above `centre + high_scale * upper_gap` for
    1 - quantiles[2] of them: split-conformal calibration, one side at a time.

    Scaling the gaps rather than shifting the bounds keeps each sample's range as wide or narrow, relative to the
    others, as the network made it, and keeps low <= centre <= high. Each sample's ratio is the scale at which
    its bound would just reach its truth; a bound misses when its scale is below the ratio, so the order statistic
    of rank ceil((n + 1)(1 - miss)) misses on at most `miss` of the samples, and on exchangeable new samples
    covers at least 1 - miss of them (the finite-sample guarantee of split conformal prediction).
    smallest_gap: a gap of zero would need an infinite scale to reach any truth outside it; floored at this.
    """
    centre, truth = np.asarray(centre, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    low_ratio = (centre - truth) / np.maximum(lower_gap, smallest_gap)
    high_ratio = (truth - centre) / np.maximum(upper_gap, smallest_gap)
    return conformal_quantile(low_ratio, miss=quantiles[0]), conformal_quantile(high_ratio, miss=1.0 - quantiles[2])


def conformal_quantile(ratios: np.ndarray, *, miss: float) -> float:
    """The split-conformal (1 - miss) order statistic of `ratios`, never below 0 (a bound never crosses the centre)."""
    count = len(ratios)
    rank = min(count, int(np.ceil((count + 1) * (1.0 - miss))))
    return float(max(np.sort(ratios)[rank - 1], 0.0))


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
