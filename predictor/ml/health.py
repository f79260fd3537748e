"""The per-machine health model: how far a machine is from its own normal behaviour, with no labels.

A real plant has no labelled failures, so each machine learns what its normal looks like from its
own history (a learning period, the rows nobody suspects: see `learning_rows_mask`) and is scored
against it every tick.

Score. Each feature is standardised robustly against the learning rows: z = (x - median) / scale,
with scale the larger of 1.4826 MAD and the central 90 % range / 3.29 (both the standard deviation
for Gaussian data; the second also spans a feature with two modes), floored at a tenth of the
standard deviation and at a small share of |median| so that a nearly flat feature cannot turn a
rounding step into a huge z. Features that are missing or constant in the learning rows carry no
notion of normal and are dropped. The raw score is the mean of the `top_k` largest z² of the row:
a fault usually moves a few features of one metric (top_k small keeps them from being averaged away
among dozens of quiet ones), a whole-machine drift moves many (top_k = all: the mean z²).

Calibration. The threshold is the (1 - false_alarm_rate) quantile of *held-out* scores of normal
data: the learning rows are cut into contiguous blocks in time, each block is scored by a model fitted
on the others (cross-fitting), so every learning row gets a score from a model that never saw it,
as a fresh healthy row would. Past the data's own reach (fewer than ~10 expected exceedances), the
quantile is extrapolated with an exponential tail fitted to the top fifth of the held-out scores
(peaks over threshold). The final centre and scale are fitted on all the learning rows.

Health. 100 at the typical held-out score (its median) or below, exactly 50 at the threshold,
halving again with each further threshold-to-typical distance: health = 100 · 2^(-x) with
x = max(0, (score - typical) / (threshold - typical)). Monotone, so "past threshold" is
"health < 50" (health 50 is the threshold itself, which counts as past it).

Measured (synthetic, fixed seeds; the scripts are the tests' helpers): on i.i.d. Gaussian features,
432 learning rows (3 days at 10 min), fresh rate / chosen rate over 10 seeds is 0.65-1.41 (median 0.99)
at 0.01 and 0.06-1.35 (median 0.60) at 1/3,000, where the tail is extrapolated: it errs on the side of
fewer alarms. Motors with a daily cycle (2 or 4 metrics, readings every 2 min, 3 learning days):
no healthy row past the threshold in 10 machines x 3 fresh days; a sustained vibration step of
3 reading sd is past it in 95-100 % of the rows from 1 h to 12 h after the step, 2 sd in about 20 %,
1.5 sd in about 10 % (top_k 1, 3, 10 or all differ little there: 18 / 21 / 24 / 23 % at 2 sd; on
C-MAPSS all features gave longer leads and a few more too-early alarms, bench/models.py). A drift
slower than the learning period with nothing else moving is not normal to the model and is flagged.

No Django here. Persistence is plain JSON (no pickle) plus metadata.json, checked with
`artifacts.artifact_verify` before loading.
"""

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from predictor.ml.artifacts import artifact_verify, directory_sha256, metadata_write
from predictor.ml.features import DAY_S, LONG_LABEL, MACHINE_FEATURES, SHORT_LABEL, feature_metric_stat

KIND = "health"
MODEL_FILE = "health.json"
# One score every 10 minutes is 4,320 a month: 1/3,000 is about one raw exceedance per three weeks
# on a healthy machine, and the alert hysteresis asks that an exceedance persist before it alerts.
DEFAULT_FALSE_ALARM_RATE = 1.0 / 3000.0
DEFAULT_TOP_K = 3
DEFAULT_LEARNING_DAYS = 3.0
# Below this many usable rows no threshold can be trusted, whatever the days they span.
MIN_LEARNING_ROWS = 30
CALIBRATION_FOLDS = 5
# A feature missing in more than this share of the learning rows has no reliable normal.
MAX_MISSING_SHARE = 0.1
# The central 90 % of the learning values spans 3.29 standard deviations of Gaussian data. A feature
# with two modes (a 12 h max that misses the daily peak a few hours a day) has a MAD of its main mode
# only, which made those hours score z ~ 35 on a healthy machine; the central range covers both modes
# and still ignores up to 5 % of odd rows on each side.
CENTRAL_SHARE_LOW = 0.05
CENTRAL_WIDTH_IN_SD = 3.29
# Scale floors: a tenth of the standard deviation (a feature whose MAD is 0 but that does move) and
# a small share of the median's size (a feature that barely moves around a large value).
STD_FLOOR_SHARE = 0.1
RELATIVE_FLOOR = 1e-3
ABSOLUTE_FLOOR = 1e-9
# And a floor from the metric's own noise: a level (a mean, a max, the last value) is not off its
# normal by less than half the metric's typical 1-hour spread. A 12 h max or mean has only a handful of
# independent values in three days of learning, so its measured spread can be far below what the
# next days bring: on a healthy plant B fan, a 12 h max learned at 24.5 ± 0.03 kPa read 24.8 a week
# later and held an anomaly alert for 12 hours (bench/transfer.py's healthy plant).
NOISE_FLOOR_SHARE = 0.5
# The tail used to extrapolate the threshold past the data: the top fifth of held-out scores.
TAIL_SHARE = 0.2
MIN_EXPECTED_EXCEEDANCES = 10.0
EXPLAINED_FEATURES = 3
# A threshold raised by rows a person confirmed normal sits this far above the highest of their scores:
# the same departure, a little larger, is still not worth a technician's trip.
CONFIRMED_NORMAL_MARGIN = 1.1

STAT_WORDS: Mapping[str, str] = {
    f"mean_{SHORT_LABEL}": "1 h mean",
    f"std_{SHORT_LABEL}": "1 h spread",
    f"slope_{SHORT_LABEL}": "1 h slope",
    f"max_{SHORT_LABEL}": "1 h max",
    f"mean_{LONG_LABEL}": "12 h mean",
    f"std_{LONG_LABEL}": "12 h spread",
    f"slope_{LONG_LABEL}": "12 h slope",
    f"max_{LONG_LABEL}": "12 h max",
    "last": "last value",
    f"ratio_{SHORT_LABEL}_{LONG_LABEL}": "1 h / 12 h mean ratio",
    f"std_ratio_{SHORT_LABEL}_{LONG_LABEL}": "1 h / 12 h spread ratio",
    "level": "1 h mean",
    "peak_level": "12 h max",
}
# Statistics in the metric's own unit (the others are ratios, slopes or places in a range).
_STATS_IN_UNIT = {f"mean_{SHORT_LABEL}", f"max_{SHORT_LABEL}", f"mean_{LONG_LABEL}", f"max_{LONG_LABEL}", "last"}
_STATS_IN_UNIT |= {f"std_{SHORT_LABEL}", f"std_{LONG_LABEL}"}
# Statistics placed on the metric's normal range (features.py: 0 at its middle, 1 at its top edge).
_STATS_ON_NORMAL_RANGE = {"level", "peak_level"}


@dataclass(frozen=True)
class HealthScores:
    raw: np.ndarray  # mean of the top_k largest z², per row
    health: np.ndarray  # 0-100, 50 at the threshold
    past_threshold: np.ndarray  # bool


@dataclass(frozen=True)
class LearningState:
    usable_rows: int
    usable_days: float
    required_days: float
    required_rows: int

    @property
    def ready(self) -> bool:
        return self.usable_days >= self.required_days and self.usable_rows >= self.required_rows

    @property
    def progress(self) -> float:
        """Share of the learning period gathered, 0-1 (what a dashboard shows while it learns)."""
        return min(1.0, self.usable_days / self.required_days) if self.required_days > 0 else 1.0


@dataclass(frozen=True)
class HealthModel:
    input_feature_names: tuple[str, ...]  # the columns `score` and `explain` are given
    columns: tuple[int, ...]  # the ones the model uses, positions in input_feature_names
    center: np.ndarray
    scale: np.ndarray
    threshold: float
    typical_score: float
    top_k: int
    false_alarm_rate: float
    learning_rows: int
    # Rows a person confirmed normal (a false alarm) that raised the threshold above its calibration.
    confirmed_normal_rows: int = 0

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.input_feature_names[column] for column in self.columns)

    # --- fitting -------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        feature_names: Sequence[str],
        *,
        false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE,
        top_k: int | None = DEFAULT_TOP_K,
        folds: int = CALIBRATION_FOLDS,
        confirmed_normal: np.ndarray | None = None,
    ) -> "HealthModel":
        """Learn normal from `features` (rows of normal behaviour, in time order) and calibrate.

        `feature_names` name the columns; the machine-level features (hours since repair, error
        codes) are ignored: they say what happened to the machine, not how it behaves. top_k None:
        every usable feature. `confirmed_normal`: rows from periods a person found normal after an
        alert (false alarms); the threshold is raised, if need be, to CONFIRMED_NORMAL_MARGIN above the
        highest of their scores, so what was judged normal once does not alarm again.
        """
        features = np.asarray(features, dtype=np.float64)
        names = tuple(feature_names)
        if features.ndim != 2 or features.shape[1] != len(names):
            raise ValueError(f"features have shape {features.shape} but {len(names)} feature names")
        if not 0.0 < false_alarm_rate < 1.0:
            raise ValueError(f"false_alarm_rate must lie in (0, 1), got {false_alarm_rate}")
        if len(features) < max(MIN_LEARNING_ROWS, 2 * folds):
            raise ValueError(f"{len(features)} learning rows: at least {max(MIN_LEARNING_ROWS, 2 * folds)} needed")
        columns = _usable_columns(features, names)
        if not columns:
            raise ValueError("no feature varies in the learning rows: nothing to learn normal from")
        used = features[:, columns]
        k = len(columns) if top_k is None else max(1, min(int(top_k), len(columns)))
        noise_floor = _noise_floors(features, names, columns)

        held_out = np.empty(len(used))
        for block in np.array_split(np.arange(len(used)), folds):
            others = np.ones(len(used), dtype=bool)
            others[block] = False
            center, scale = _robust_location_scale(used[others], noise_floor)
            held_out[block] = _top_k_score(used[block], center, scale, k)
        typical = float(np.median(held_out))
        threshold = max(_upper_quantile(held_out, false_alarm_rate), typical * (1 + 1e-9) + 1e-12)
        center, scale = _robust_location_scale(used, noise_floor)
        confirmed_rows = 0
        if confirmed_normal is not None and len(confirmed_normal):
            confirmed = np.atleast_2d(np.asarray(confirmed_normal, dtype=np.float64))[:, columns]
            scores = _top_k_score(confirmed, center, scale, k)
            confirmed_rows = len(confirmed)
            threshold = max(threshold, float(np.max(scores)) * CONFIRMED_NORMAL_MARGIN)
        return cls(
            input_feature_names=names,
            columns=tuple(columns),
            center=center,
            scale=scale,
            threshold=float(threshold),
            typical_score=typical,
            top_k=k,
            false_alarm_rate=float(false_alarm_rate),
            learning_rows=len(used),
            confirmed_normal_rows=confirmed_rows,
        )

    # --- scoring -------------------------------------------------------------------------------

    def z_scores(self, features: np.ndarray) -> np.ndarray:
        """Robust z of the used features (rows, used features); a missing value is 0 (no evidence)."""
        features = np.atleast_2d(np.asarray(features, dtype=np.float64))
        if features.shape[1] != len(self.input_feature_names):
            raise ValueError(f"features have {features.shape[1]} columns, the model {len(self.input_feature_names)}")
        z = (features[:, list(self.columns)] - self.center) / self.scale
        return np.where(np.isfinite(z), z, 0.0)

    def health(self, raw: np.ndarray) -> np.ndarray:
        """100 · 2^(-x), x = max(0, (raw - typical) / (threshold - typical)): 50 exactly at the threshold."""
        span = self.threshold - self.typical_score
        x = np.maximum(0.0, (np.asarray(raw, dtype=np.float64) - self.typical_score) / span)
        return 100.0 * np.exp2(-x)

    def score(self, features: np.ndarray) -> HealthScores:
        z = self.z_scores(features)
        raw = np.mean(-np.sort(-(z * z), axis=1)[:, : self.top_k], axis=1)
        return HealthScores(raw=raw, health=self.health(raw), past_threshold=raw >= self.threshold)

    def explain(
        self, row: np.ndarray, *, units: Mapping[str, str] | None = None, top: int = EXPLAINED_FEATURES
    ) -> list[str]:
        """The `top` features furthest from normal, in words, furthest first, e.g.
        "vibration 1 h mean 4.1 mm/s above its normal 2.3 ± 0.2" (normal: median ± robust scale).

        `units`: metric name → unit, shown after values in the metric's own unit.
        """
        row = np.asarray(row, dtype=np.float64).reshape(-1)
        z = self.z_scores(row[None, :])[0]
        order = np.argsort(-np.abs(z), kind="stable")[:top]
        sentences = []
        for position in order:
            if z[position] == 0.0:
                continue
            name = self.input_feature_names[self.columns[position]]
            value = row[self.columns[position]]
            sentences.append(
                _sentence(
                    name, value, self.center[position], self.scale[position], above=z[position] > 0, units=units or {}
                )
            )
        return sentences

    # --- persistence ---------------------------------------------------------------------------

    def save(self, directory: str | Path, *, data_description: str | Mapping | None = None) -> str:
        """Write the model and its metadata; returns the directory's sha256 (record it, pass it to `load`)."""
        started = time.perf_counter()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {
            "input_feature_names": list(self.input_feature_names),
            "columns": list(self.columns),
            # repr round-trips a float exactly, so the loaded model scores bit for bit as this one.
            "center": [float(value) for value in self.center],
            "scale": [float(value) for value in self.scale],
            "threshold": self.threshold,
            "typical_score": self.typical_score,
            "top_k": self.top_k,
            "false_alarm_rate": self.false_alarm_rate,
            "learning_rows": self.learning_rows,
            "confirmed_normal_rows": self.confirmed_normal_rows,
        }
        (directory / MODEL_FILE).write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        metadata_write(
            directory,
            kind=KIND,
            data_description=data_description or {"learning_rows": self.learning_rows},
            feature_names=self.feature_names,
            metrics={"threshold": self.threshold, "typical_score": self.typical_score},
            training_seconds=time.perf_counter() - started,
            extra={"false_alarm_rate": self.false_alarm_rate, "top_k": self.top_k},
        )
        return directory_sha256(directory)

    @classmethod
    def load(cls, directory: str | Path, *, expected_sha256: str) -> "HealthModel":
        """Load a saved model after checking its sha256 (raises `ArtifactTampered` when it differs)."""
        artifact_verify(directory, expected_sha256)
        state = json.loads((Path(directory) / MODEL_FILE).read_text(encoding="utf-8"))
        return cls(
            input_feature_names=tuple(state["input_feature_names"]),
            columns=tuple(int(column) for column in state["columns"]),
            center=np.asarray(state["center"], dtype=np.float64),
            scale=np.asarray(state["scale"], dtype=np.float64),
            threshold=float(state["threshold"]),
            typical_score=float(state["typical_score"]),
            top_k=int(state["top_k"]),
            false_alarm_rate=float(state["false_alarm_rate"]),
            learning_rows=int(state["learning_rows"]),
            confirmed_normal_rows=int(state.get("confirmed_normal_rows", 0)),  # saved before it was recorded: 0
        )


def scores_of_many(models: Sequence[HealthModel], features: np.ndarray) -> HealthScores:
    """Row i scored by models[i], as `models[i].score` scores it, in one pass: the predictor scores
    every machine of a plant, each by its own model, every tick (a Python loop of 1,000 `score` calls
    took 0.1 s of it). The models must take the same input features (the same metrics)."""
    features = np.atleast_2d(np.asarray(features, dtype=np.float64))
    count, width = features.shape
    if count != len(models):
        raise ValueError(f"{count} rows but {len(models)} models")
    center = np.zeros((count, width))
    scale = np.full((count, width), np.inf)  # a column a model does not use gives z = 0
    top_k = np.empty(count, dtype=np.int64)
    typical, threshold = np.empty(count), np.empty(count)
    for row, model in enumerate(models):
        if len(model.input_feature_names) != width:
            raise ValueError(f"features have {width} columns, a model {len(model.input_feature_names)}")
        used = list(model.columns)
        center[row, used] = model.center
        scale[row, used] = model.scale
        top_k[row], typical[row], threshold[row] = model.top_k, model.typical_score, model.threshold
    z = (features - center) / scale
    squared = np.where(np.isfinite(z), z * z, 0.0)
    largest_first = -np.sort(-squared, axis=1)
    if count and (top_k == top_k[0]).all():
        raw = largest_first[:, : top_k[0]].mean(axis=1)
    else:
        raw = np.array([largest_first[row, : top_k[row]].mean() for row in range(count)])
    x = np.maximum(0.0, (raw - typical) / (threshold - typical))
    return HealthScores(raw=raw, health=100.0 * np.exp2(-x), past_threshold=raw >= threshold)


# --- learning rows ---------------------------------------------------------------------------------


def learning_rows_mask(
    sample_times: np.ndarray, excluded_intervals: Sequence[tuple[float | None, float | None]]
) -> np.ndarray:
    """Which samples may teach normal: those outside every excluded interval (epoch seconds, closed).

    Excluded: open or recent alerts, open tickets, the days before a confirmed failure (see
    `days_before`)... An interval's None start or end is open on that side (a ticket still open).
    """
    times = np.asarray(sample_times, dtype=np.float64)
    usable = np.isfinite(times)
    for start, end in excluded_intervals:
        low = -np.inf if start is None else start
        high = np.inf if end is None else end
        usable &= ~((times >= low) & (times <= high))
    return usable


def days_before(event_times: Sequence[float], days: float) -> list[tuple[float, float]]:
    """The intervals of `days` before each event (a confirmed failure): excluded from learning."""
    return [(float(at) - days * DAY_S, float(at)) for at in event_times]


def learning_state(
    sample_times: np.ndarray,
    usable: np.ndarray,
    *,
    required_days: float = DEFAULT_LEARNING_DAYS,
    required_rows: int = MIN_LEARNING_ROWS,
    step_seconds: float | None = None,
) -> LearningState:
    """How much usable learning data there is against what the model needs.

    Usable days = usable rows times the sampling step (the median gap between samples unless given), so
    gaps and excluded stretches do not count.
    """
    times = np.sort(np.asarray(sample_times, dtype=np.float64)[np.asarray(usable, dtype=bool)])
    if step_seconds is None:
        all_times = np.sort(np.asarray(sample_times, dtype=np.float64))
        gaps = np.diff(all_times)
        step_seconds = float(np.median(gaps)) if len(gaps) else 0.0
    return LearningState(
        usable_rows=len(times),
        usable_days=len(times) * step_seconds / DAY_S,
        required_days=required_days,
        required_rows=required_rows,
    )


# --- internals -------------------------------------------------------------------------------------


def _usable_columns(features: np.ndarray, names: Sequence[str]) -> list[int]:
    columns = []
    for column, name in enumerate(names):
        if name in MACHINE_FEATURES:
            continue
        values = features[:, column]
        finite = values[np.isfinite(values)]
        if len(finite) < (1 - MAX_MISSING_SHARE) * len(values) or np.ptp(finite) <= 0:
            continue
        columns.append(column)
    return columns


def _noise_floors(features: np.ndarray, names: Sequence[str], columns: Sequence[int]) -> np.ndarray:
    """Per used column, NOISE_FLOOR_SHARE of its metric's median 1-hour spread, in the column's own
    units: as is for the levels in the metric's unit; for the levels on the normal range (`level`
    from the 1 h mean, `peak_level` from the 12 h max), times their slope against the level they
    rescale, fitted on the learning rows. 0 where nothing applies."""
    floors = np.zeros(len(columns))
    position_of = {name: position for position, name in enumerate(names)}
    rescaled_from = {"level": f"mean_{SHORT_LABEL}", "peak_level": f"max_{LONG_LABEL}"}
    for slot, column in enumerate(columns):
        parts = feature_metric_stat(names[column])
        if parts is None:
            continue
        metric, stat = parts
        spread = position_of.get(f"{metric}_std_{SHORT_LABEL}")
        if spread is None or not np.isfinite(features[:, spread]).any():
            continue
        noise = NOISE_FLOOR_SHARE * float(np.nanmedian(features[:, spread]))
        if stat in _STATS_IN_UNIT:
            floors[slot] = noise
        elif stat in rescaled_from and (source := position_of.get(f"{metric}_{rescaled_from[stat]}")) is not None:
            both = np.isfinite(features[:, column]) & np.isfinite(features[:, source])
            if both.sum() >= 2 and np.var(features[both, source]) > 0:
                gain = np.cov(features[both, column], features[both, source])[0, 1] / np.var(features[both, source])
                floors[slot] = noise * abs(float(gain))
    return floors


def _robust_location_scale(
    features: np.ndarray, noise_floor: np.ndarray | float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    center = np.nanmedian(features, axis=0)
    mad_scale = 1.4826 * np.nanmedian(np.abs(features - center), axis=0)
    low, high = np.nanquantile(features, [CENTRAL_SHARE_LOW, 1.0 - CENTRAL_SHARE_LOW], axis=0)
    central_scale = (high - low) / CENTRAL_WIDTH_IN_SD
    std = np.nanstd(features, axis=0)
    floor = np.maximum(np.maximum(STD_FLOOR_SHARE * std, RELATIVE_FLOOR * np.abs(center)), noise_floor)
    scale = np.maximum(np.maximum(np.maximum(mad_scale, central_scale), floor), ABSOLUTE_FLOOR)
    return center, scale


def _top_k_score(features: np.ndarray, center: np.ndarray, scale: np.ndarray, k: int) -> np.ndarray:
    z = (features - center) / scale
    squared = np.where(np.isfinite(z), z * z, 0.0)
    return np.mean(-np.sort(-squared, axis=1)[:, :k], axis=1)


def _upper_quantile(scores: np.ndarray, rate: float) -> float:
    """The score exceeded with probability `rate`: empirical while the data reach it, else an
    exponential tail fitted to the top TAIL_SHARE of the scores (mean excess over their floor)."""
    scores = np.sort(scores)
    if len(scores) * rate >= MIN_EXPECTED_EXCEEDANCES or rate >= TAIL_SHARE:
        return float(np.quantile(scores, 1.0 - rate))
    floor = float(np.quantile(scores, 1.0 - TAIL_SHARE))
    excess = scores[scores > floor] - floor
    mean_excess = float(excess.mean()) if len(excess) else 0.0
    return floor + mean_excess * math.log(TAIL_SHARE / rate)


def _sentence(name: str, value: float, center: float, scale: float, *, above: bool, units: Mapping[str, str]) -> str:
    parts = feature_metric_stat(name)
    if parts is None:
        metric, stat, label = name, None, name.replace("_", " ")
    else:
        metric, stat = parts
        label = f"{metric.replace('_', ' ')} {STAT_WORDS.get(stat, stat.replace('_', ' '))}"
    direction = "above" if above else "below"
    if stat in _STATS_ON_NORMAL_RANGE:
        # -1 at the range's bottom edge, 1 at its top: said as a share of the way up the range.
        def share(level: float) -> str:
            return f"{(level + 1) / 2:.0%}" if math.isfinite(level) else "missing"

        return f"{label} at {share(value)} of its normal range, {direction} its usual {share(center)} ± {scale / 2:.0%}"
    unit = units.get(metric, "") if stat is None or stat in _STATS_IN_UNIT else ""
    shown = f"{value:.3g} {unit}".rstrip() if math.isfinite(value) else "missing"
    return f"{label} {shown} {direction} its normal {center:.3g} ± {scale:.2g}"
