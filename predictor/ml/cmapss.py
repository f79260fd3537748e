"""NASA C-MAPSS turbofan data (FD001-FD004) and the standard remaining-useful-life protocol.

The protocol is the one in shared/datasets/PUBLISHED_RESULTS.md, so that our figures sit beside the
published ones without footnotes: the 14 informative sensors, min-max scaling fitted on the training
units only, piecewise-linear RUL capped at 125, stride-1 windows labelled with the RUL at their last
step (Li 2018 lengths 30/20/30/15), a validation split by unit, and one test prediction per test unit
from its last window, scored with the true RUL both clipped at the cap and unclipped.

Pure numpy on purpose: the files are small, and this module is imported by tests and benchmarks that
should not pay for pandas or TensorFlow.
"""

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from predictor.ml.evaluation import nasa_score, rmse

SUBSETS = ("FD001", "FD002", "FD003", "FD004")
COLUMN_NAMES = (
    "unit",
    "cycle",
    "setting_1",
    "setting_2",
    "setting_3",
    *(f"sensor_{n}" for n in range(1, 22)),
)
# The sensors that are not constant in FD001/FD003 (Li 2018, and the `rul-datasets` default).
INFORMATIVE_SENSORS = (
    "sensor_2",
    "sensor_3",
    "sensor_4",
    "sensor_7",
    "sensor_8",
    "sensor_9",
    "sensor_11",
    "sensor_12",
    "sensor_13",
    "sensor_14",
    "sensor_15",
    "sensor_17",
    "sensor_20",
    "sensor_21",
)
INFORMATIVE_SENSOR_COLUMNS = tuple(COLUMN_NAMES.index(name) for name in INFORMATIVE_SENSORS)
# Li 2018 window lengths: each fits inside the shortest test trajectory of its subset (31/21/38/19 cycles).
WINDOW_LENGTH_BY_SUBSET = {"FD001": 30, "FD002": 20, "FD003": 30, "FD004": 15}
RUL_CAP = 125
DEFAULT_DATASETS_DIRECTORY = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cmapss"


@dataclass(frozen=True)
class CmapssSubset:
    """One subset as shipped: the raw 26-column tables and the true RUL of each test unit."""

    name: str
    train: np.ndarray  # (rows, 26)
    test: np.ndarray  # (rows, 26)
    test_true_rul: np.ndarray  # (test units,), in unit order


@dataclass(frozen=True)
class FeatureScaler:
    """Min-max scaling per feature, fitted on training rows only so no test information leaks in."""

    minimum: np.ndarray
    maximum: np.ndarray
    low: float = 0.0
    high: float = 1.0

    @classmethod
    def fit(cls, features: np.ndarray, *, low: float = 0.0, high: float = 1.0) -> "FeatureScaler":
        return cls(minimum=features.min(axis=0), maximum=features.max(axis=0), low=low, high=high)

    def transform(self, features: np.ndarray) -> np.ndarray:
        span = self.maximum - self.minimum
        # A feature that is constant in training carries no information; map it to `low` instead of dividing by 0.
        safe_span = np.where(span > 0, span, 1.0)
        unit_scaled = (features - self.minimum) / safe_span
        return (self.low + unit_scaled * (self.high - self.low)).astype(np.float32)


@dataclass(frozen=True)
class CmapssProtocol:
    """Model-ready arrays for one subset under the standard protocol."""

    subset: str
    window_length: int
    rul_cap: int
    feature_names: tuple[str, ...]
    scaler: FeatureScaler
    x_train: np.ndarray  # (windows, window_length, features) float32
    y_train: np.ndarray  # (windows,) capped RUL
    train_window_units: np.ndarray  # (windows,) the unit each training window comes from
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray  # (test units, window_length, features): the last window of each test unit
    y_test: np.ndarray  # (test units,) true RUL as shipped, not clipped
    train_units: np.ndarray
    validation_units: np.ndarray


def data_file(directory: Path, stem: str) -> Path:
    """The plain file if present, else its gzip: the shared copy ships `.txt.gz`, NASA's zip ships `.txt`."""
    for candidate in (directory / f"{stem}.txt", directory / f"{stem}.txt.gz"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"neither {stem}.txt nor {stem}.txt.gz in {directory}")


def read_table(path: Path) -> np.ndarray:
    """A whitespace-separated C-MAPSS file as a float64 array; trailing spaces on each line are harmless."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii") as handle:
        rows = [line.split() for line in handle if line.strip()]
    return np.asarray(rows, dtype=np.float64)


def load_subset(subset: str, directory: Path | str | None = None) -> CmapssSubset:
    if subset not in SUBSETS:
        raise ValueError(f"unknown C-MAPSS subset {subset!r}; expected one of {SUBSETS}")
    directory = Path(directory) if directory is not None else DEFAULT_DATASETS_DIRECTORY
    train = read_table(data_file(directory, f"train_{subset}"))
    test = read_table(data_file(directory, f"test_{subset}"))
    test_true_rul = read_table(data_file(directory, f"RUL_{subset}")).reshape(-1)
    for name, table in (("train", train), ("test", test)):
        if table.ndim != 2 or table.shape[1] != len(COLUMN_NAMES):
            raise ValueError(f"{subset} {name}: expected {len(COLUMN_NAMES)} columns, got shape {table.shape}")
    test_unit_count = len(np.unique(test[:, 0]))
    if len(test_true_rul) != test_unit_count:
        raise ValueError(f"{subset}: {test_unit_count} test units but {len(test_true_rul)} true RUL values")
    return CmapssSubset(name=subset, train=train, test=test, test_true_rul=test_true_rul)


def piecewise_linear_rul(units: np.ndarray, cycles: np.ndarray, *, cap: float = RUL_CAP) -> np.ndarray:
    """min(last cycle of the unit - cycle, cap): a healthy engine shows no degradation to regress on early in life."""
    last_cycle_of_row = np.zeros_like(cycles)
    for unit in np.unique(units):
        rows = units == unit
        last_cycle_of_row[rows] = cycles[rows].max()
    return np.minimum(last_cycle_of_row - cycles, cap)


def unit_row_slices(units: np.ndarray) -> list[slice]:
    """Contiguous row ranges per unit, in file order; the files list each unit's cycles together and in order."""
    boundaries = np.flatnonzero(np.diff(units)) + 1
    starts = np.concatenate(([0], boundaries))
    stops = np.concatenate((boundaries, [len(units)]))
    return [slice(int(start), int(stop)) for start, stop in zip(starts, stops, strict=True)]


def sliding_windows(
    features: np.ndarray, units: np.ndarray, targets: np.ndarray, window_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every stride-1 window that lies inside one unit, labelled with the target at its last step."""
    window_blocks, target_blocks = [], []
    for rows in unit_row_slices(units):
        unit_features, unit_targets = features[rows], targets[rows]
        if len(unit_features) < window_length:
            continue
        # (n - w + 1, features, w) view; transpose to (n - w + 1, w, features).
        windows = np.lib.stride_tricks.sliding_window_view(unit_features, window_length, axis=0)
        window_blocks.append(windows.transpose(0, 2, 1))
        target_blocks.append(unit_targets[window_length - 1 :])
    return (
        np.concatenate(window_blocks).astype(np.float32),
        np.concatenate(target_blocks).astype(np.float32),
    )


def window_units(units: np.ndarray, window_length: int) -> np.ndarray:
    """The unit of each window `sliding_windows` makes from the same rows, in the same order."""
    return np.concatenate(
        [
            np.full(max(rows.stop - rows.start - window_length + 1, 0), units[rows.start])
            for rows in unit_row_slices(units)
        ]
    )


def last_windows(features: np.ndarray, units: np.ndarray, window_length: int) -> np.ndarray:
    """The last window of each unit, in unit order.

    A unit shorter than the window is padded at the front with its first row (a deviation that only
    arises with windows longer than Li 2018's, which all fit the shortest test unit).
    """
    windows = []
    for rows in unit_row_slices(units):
        unit_features = features[rows][-window_length:]
        missing = window_length - len(unit_features)
        if missing > 0:
            unit_features = np.concatenate([np.repeat(unit_features[:1], missing, axis=0), unit_features])
        windows.append(unit_features)
    return np.stack(windows).astype(np.float32)


def split_units(units: np.ndarray, *, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation unit ids: whole units go to one side, so no engine is seen on both."""
    unique_units = np.unique(units)
    shuffled = np.random.default_rng(seed).permutation(unique_units)
    validation_count = max(1, round(validation_fraction * len(unique_units))) if validation_fraction > 0 else 0
    return np.sort(shuffled[validation_count:]), np.sort(shuffled[:validation_count])


def prepare_protocol(
    subset: str = "FD001",
    directory: Path | str | None = None,
    *,
    window_length: int | None = None,
    rul_cap: int = RUL_CAP,
    validation_fraction: float = 0.2,
    split_seed: int = 0,
    scale_to: tuple[float, float] = (0.0, 1.0),
) -> CmapssProtocol:
    data = load_subset(subset, directory)
    window_length = window_length or WINDOW_LENGTH_BY_SUBSET[subset]
    columns = list(INFORMATIVE_SENSOR_COLUMNS)

    train_units_column, train_cycles = data.train[:, 0], data.train[:, 1]
    train_rul = piecewise_linear_rul(train_units_column, train_cycles, cap=rul_cap)
    # Fitted on all training units (validation ones included): they are training data, never test data.
    scaler = FeatureScaler.fit(data.train[:, columns], low=scale_to[0], high=scale_to[1])
    train_features = scaler.transform(data.train[:, columns])

    train_units, validation_units = split_units(
        train_units_column, validation_fraction=validation_fraction, seed=split_seed
    )
    is_training_row = np.isin(train_units_column, train_units)
    x_train, y_train = sliding_windows(
        train_features[is_training_row], train_units_column[is_training_row], train_rul[is_training_row], window_length
    )
    if len(validation_units):
        x_val, y_val = sliding_windows(
            train_features[~is_training_row],
            train_units_column[~is_training_row],
            train_rul[~is_training_row],
            window_length,
        )
    else:
        x_val = np.empty((0, window_length, len(columns)), dtype=np.float32)
        y_val = np.empty((0,), dtype=np.float32)

    x_test = last_windows(scaler.transform(data.test[:, columns]), data.test[:, 0], window_length)
    return CmapssProtocol(
        subset=subset,
        window_length=window_length,
        rul_cap=rul_cap,
        feature_names=INFORMATIVE_SENSORS,
        scaler=scaler,
        x_train=x_train,
        y_train=y_train,
        train_window_units=window_units(train_units_column[is_training_row], window_length),
        x_val=x_val,
        y_val=y_val,
        x_test=x_test,
        y_test=data.test_true_rul.astype(np.float32),
        train_units=train_units,
        validation_units=validation_units,
    )


def protocol_metrics(predicted_rul: np.ndarray, true_rul: np.ndarray, *, rul_cap: int = RUL_CAP) -> dict[str, float]:
    """RMSE and NASA score against the true test RUL clipped at the cap (as `rul-datasets`) and unclipped.

    Papers differ on the clipping; 11 of the 100 FD001 test units have a true RUL above 125, so both are reported.
    """
    clipped_true = np.minimum(true_rul, rul_cap)
    return {
        "rmse_clipped": rmse(clipped_true, predicted_rul),
        "score_clipped": nasa_score(clipped_true, predicted_rul),
        "rmse_unclipped": rmse(true_rul, predicted_rul),
        "score_unclipped": nasa_score(true_rul, predicted_rul),
    }
