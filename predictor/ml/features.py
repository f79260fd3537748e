"""The one feature function shared by training and serving, the labels of training, and the split.

No Django here: the predictor's selectors turn readings into `MachineWindow`s, training turns the
simulator's ground truth (or the database's) into the same windows plus `FaultTruth`s; a plant's own
records add `PreventedFault`s (preventive fixes) and `NormalPeriod`s (false alarms, hard negatives).

Exactness. Serving builds a window from the last hours of readings; training builds one from a month.
Each statistic is reduced over the readings inside its trailing window only (gathered and reduced
segment by segment, never by differences of running sums over the whole history), with times taken
relative to the instant, so the features at an instant do not depend on how much history came
before the window: the serving path and the training path give the same numbers, bit for bit.
"""

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

HOUR_S = 3600.0
DAY_S = 24 * HOUR_S

VIBRATION = "vibration"
TEMPERATURE = "temperature"
CURRENT = "current"
SPEED = "speed"
DISCHARGE_PRESSURE = "discharge_pressure"
FLOW = "flow"
OIL_TEMPERATURE = "oil_temperature"

# The union of the metrics of the plant's machine types, in a fixed order: a feature's column is
# its position here, so this order is part of every trained artifact (its metadata records it).
FEATURE_METRICS: tuple[str, ...] = (VIBRATION, TEMPERATURE, CURRENT, SPEED, DISCHARGE_PRESSURE, FLOW, OIL_TEMPERATURE)

SHORT_WINDOW_S = 1 * HOUR_S
LONG_WINDOW_S = 12 * HOUR_S
SHORT_LABEL = "1h"
LONG_LABEL = "12h"
# Past a month since the last repair a machine is as "long ago" repaired as it gets; the cap keeps
# machines with no known repair (a value the model cannot extrapolate) inside the trained range.
REPAIR_HOURS_CAP = 30 * 24.0
ERROR_CODE_WINDOW_S = DAY_S

# Per metric, in this order (the names are `<metric>_<stat>`).
METRIC_STATS: tuple[str, ...] = (
    f"mean_{SHORT_LABEL}",
    f"std_{SHORT_LABEL}",
    f"slope_{SHORT_LABEL}",  # units per hour, least squares
    f"max_{SHORT_LABEL}",
    f"mean_{LONG_LABEL}",
    f"std_{LONG_LABEL}",
    f"slope_{LONG_LABEL}",
    f"max_{LONG_LABEL}",
    "last",
    f"ratio_{SHORT_LABEL}_{LONG_LABEL}",  # short mean / long mean: a recent jump or creep
    f"std_ratio_{SHORT_LABEL}_{LONG_LABEL}",  # short std / long std: a signal getting unstable
    "level",  # short mean on the normal range: 0 at its middle, 1 at its top edge
    "peak_level",  # long max on the normal range
)
MACHINE_FEATURES: tuple[str, ...] = ("hours_since_repair", "error_codes_24h")

# Tiny denominators (a flat signal's std, a metric near zero) would turn ratios into noise.
_RATIO_EPSILON = 1e-9
# Queries per gathered block: a 12 h window of 1-minute data is 720 readings per query and metric,
# so 64 queries keep a block's working arrays in the CPU cache (blocks of 512 took 40 % more time
# for 1,000 machines) and bound memory in training. No result depends on it: segments never cross
# queries.
_QUERY_BLOCK = 64


@dataclass(slots=True)
class MachineWindow:
    """One machine's readings, as arrays, and what the features need to know about the machine.

    `values[name]` is aligned with `ts` (epoch seconds, ascending) and NaN where a reading lacks the
    metric. `repair_times` lets training pass every repair of a long history; serving passes the
    latest one as `last_repair_ts`. Either may be empty: the machine was never repaired as far as
    anyone knows.
    """

    machine_code: str
    ts: np.ndarray
    values: dict[str, np.ndarray]
    normal_ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    error_code_times: np.ndarray = field(default_factory=lambda: np.empty(0))
    last_repair_ts: float | None = None
    repair_times: np.ndarray = field(default_factory=lambda: np.empty(0))


def feature_names(metrics: Sequence[str] = FEATURE_METRICS) -> list[str]:
    return [f"{metric}_{stat}" for metric in metrics for stat in METRIC_STATS] + list(MACHINE_FEATURES)


_STAT_ALTERNATIVES = "|".join(re.escape(stat) for stat in sorted(METRIC_STATS, key=len, reverse=True))
# Lazy: the metric ends at the first underscore followed by a whole statistic's name, so
# "vibration_peak_level" is vibration's peak_level, not the level of a metric "vibration_peak" (a
# metric whose own name ends in "_peak" or "_std" would be misread the other way; none does).
_FEATURE_NAME = re.compile(rf"^(?P<metric>.+?)_(?P<stat>{_STAT_ALTERNATIVES})$")


def feature_metric_stat(name: str) -> tuple[str, str] | None:
    """(metric, statistic) of a per-metric feature's name (`feature_names`); None for the others."""
    match = _FEATURE_NAME.match(name)
    return (match["metric"], match["stat"]) if match else None


def normal_range_scale(bounds: tuple[float | None, float | None] | None) -> tuple[float, float] | None:
    """(middle, half width) of a normal range; a missing lower bound is closed at zero.

    Returns None when nothing can be said (no upper bound and no usable lower one): the level
    features are then NaN and sequences get zeros, i.e. "normal".
    """
    if bounds is None:
        return None
    low, high = bounds
    if high is None:
        # Only a minimum (a speed that must not sag): measure the level in units of that minimum.
        if low is None or low == 0:
            return None
        return float(low), abs(float(low))
    low = 0.0 if low is None else float(low)
    high = float(high)
    if high <= low:
        return None
    return (low + high) / 2.0, (high - low) / 2.0


@dataclass(slots=True)
class _Timeline:
    """Several windows' readings end to end, so that one pass of array operations serves them all.

    `matrix` has one row per metric of `positions` (indexes into the metrics asked for), NaN where
    a reading lacks it. Window i holds the columns [offsets[i], offsets[i] + lengths[i]). Every
    statistic is reduced over one query's own segment of its own window, so a window's numbers do
    not depend on the windows beside it.
    """

    ts: np.ndarray
    matrix: np.ndarray
    positions: list[int]
    offsets: np.ndarray
    lengths: np.ndarray


def _metric_groups(windows: Sequence[MachineWindow], metrics: Sequence[str]) -> dict[tuple[int, ...], list[int]]:
    """Windows grouped by the metrics they have (positions in `metrics`): one timeline per group
    carries no rows of metrics its machines lack (a plant has a few machine types, not many)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, window in enumerate(windows):
        present = tuple(
            position
            for position, name in enumerate(metrics)
            if (series := window.values.get(name)) is not None and len(series)
        )
        groups.setdefault(present, []).append(index)
    return groups


def _timeline(windows: Sequence[MachineWindow], metrics: Sequence[str], positions: Sequence[int]) -> _Timeline:
    lengths = np.array([len(window.ts) for window in windows], dtype=np.intp)
    offsets = np.cumsum(lengths) - lengths
    ts = np.concatenate([np.asarray(window.ts, dtype=np.float64) for window in windows]) if windows else np.empty(0)
    matrix = np.empty((len(positions), len(ts)))
    for window, offset, length in zip(windows, offsets, lengths, strict=True):
        for row, position in enumerate(positions):
            series = window.values[metrics[position]]
            if len(series) != length:
                raise ValueError(f"{window.machine_code}: {len(series)} {metrics[position]} values for {length} times")
            matrix[row, offset : offset + length] = series
    return _Timeline(ts, matrix, list(positions), offsets, lengths)


def _queries(windows: Sequence[MachineWindow], at_times: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Each window's instants as float64 arrays, and the first output row of each window's queries."""
    if len(at_times) != len(windows):
        raise ValueError(f"{len(windows)} windows but {len(at_times)} sets of instants")
    instants = [np.asarray(times, dtype=np.float64).reshape(-1) for times in at_times]
    counts = np.array([len(times) for times in instants], dtype=np.intp)
    return instants, np.cumsum(counts) - counts


def _group_queries(
    instants: list[np.ndarray], first_rows: np.ndarray, members: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(output rows, instants, queries per window) of the windows `members`, in their order."""
    counts = np.array([len(instants[index]) for index in members], dtype=np.intp)
    rows = np.concatenate([first_rows[index] + np.arange(len(instants[index])) for index in members])
    return rows, np.concatenate([instants[index] for index in members]), counts


def _readings_up_to(timeline: _Timeline, query_counts: np.ndarray, instants: np.ndarray) -> np.ndarray:
    """Timeline index just past the last reading at or before each instant, within its query's window.

    Queries are grouped by window, `query_counts[i]` of them for window i; `instants` has one row
    per query (any number of instants in a row).
    """
    positions = np.empty(instants.shape, dtype=np.intp)
    first = 0
    for offset, length, count in zip(timeline.offsets, timeline.lengths, query_counts, strict=True):
        if count:
            rows = slice(first, first + count)
            positions[rows] = offset + np.searchsorted(timeline.ts[offset : offset + length], instants[rows], "right")
            first += count
    return positions


def _range_scales(windows: Sequence[MachineWindow], query_counts: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(2, len(names), queries): the middle and half width of each metric's normal range per query, NaN if none."""
    per_window = np.empty((2, len(names), len(windows)))
    # Machines of one type usually share one ranges mapping: work each mapping out once.
    scales_of: dict[int, np.ndarray] = {}
    for column, window in enumerate(windows):
        scales = scales_of.get(id(window.normal_ranges))
        if scales is None:
            scales = np.full((2, len(names)), np.nan)
            for row, name in enumerate(names):
                scale = normal_range_scale(window.normal_ranges.get(name))
                if scale is not None:
                    scales[:, row] = scale
            scales_of[id(window.normal_ranges)] = scales
        per_window[:, :, column] = scales
    return np.repeat(per_window, query_counts, axis=2)


def _segment_reduce(ufunc: np.ufunc, data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """ufunc over each segment [offset, offset + length) of the last axis; NaN for an empty segment.

    `data` carries one padding column at the end so that every boundary is a valid index for
    reduceat; the interleaved (start, end) boundaries make each even result one segment.
    """
    bounds = np.empty(2 * len(offsets), dtype=np.intp)
    bounds[0::2] = offsets
    bounds[1::2] = offsets + lengths
    reduced = ufunc.reduceat(data, bounds, axis=-1)[..., 0::2]
    return np.where(lengths > 0, reduced, np.nan)


@dataclass(slots=True)
class _WindowStats:
    count: np.ndarray  # (metrics, queries)
    mean: np.ndarray
    std: np.ndarray
    slope_per_hour: np.ndarray
    maximum: np.ndarray


def _window_stats(
    ts: np.ndarray, matrix: np.ndarray, at_times: np.ndarray, start: np.ndarray, end: np.ndarray
) -> _WindowStats:
    """Mean, std, least-squares slope and max of each metric's readings [start, end), per instant.

    The readings of every query's window are gathered one window after another and reduced per
    window (two passes: sums, then sums of centred products), with times in hours relative to the
    instant. Quantities that reduce together are stacked so that each pass is one reduceat call.
    """
    metric_count = matrix.shape[0]
    lengths = end - start
    offsets = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    index = np.arange(total) + np.repeat(start - offsets, lengths)
    hours = (ts[index] - np.repeat(at_times, lengths)) / HOUR_S

    # One padding column at the end keeps every reduceat boundary a valid index.
    values = np.full((metric_count, total + 1), np.nan)
    values[:, :-1] = matrix[:, index]
    valid = ~np.isnan(values)
    first = np.zeros((3 * metric_count, total + 1))
    weight, filled, weighted_hours = first[:metric_count], first[metric_count:-metric_count], first[-metric_count:]
    np.copyto(weight, valid)
    np.copyto(filled, values, where=valid)
    np.multiply(weight[:, :-1], hours, out=weighted_hours[:, :-1])
    sums = np.nan_to_num(_segment_reduce(np.add, first, offsets, lengths), nan=0.0)
    count, value_sum, hour_sum = sums[:metric_count], sums[metric_count:-metric_count], sums[-metric_count:]
    some = count > 0
    safe_count = np.where(some, count, 1.0)
    mean = np.where(some, value_sum / safe_count, np.nan)
    mean_hours = hour_sum / safe_count

    second = np.zeros((3 * metric_count, total + 1))
    centred = np.where(valid[:, :-1], filled[:, :-1] - np.repeat(value_sum / safe_count, lengths, axis=1), 0.0)
    centred_hours = weight[:, :-1] * (hours - np.repeat(mean_hours, lengths, axis=1))
    np.multiply(centred, centred, out=second[:metric_count, :-1])
    np.multiply(centred_hours, centred_hours, out=second[metric_count:-metric_count, :-1])
    np.multiply(centred_hours, centred, out=second[-metric_count:, :-1])
    moments = _segment_reduce(np.add, second, offsets, lengths)
    squares, hour_squares, products = (
        moments[:metric_count],
        moments[metric_count:-metric_count],
        moments[-metric_count:],
    )
    std = np.where(some, np.sqrt(np.maximum(squares, 0.0) / safe_count), np.nan)
    sloped = (count >= 2) & (hour_squares > 0)
    slope = np.where(sloped, products / np.where(sloped, hour_squares, 1.0), np.nan)
    maximum = _segment_reduce(np.fmax, values, offsets, lengths)
    return _WindowStats(count, mean, std, slope, maximum)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    usable = np.abs(denominator) > _RATIO_EPSILON
    return np.where(usable, numerator / np.where(usable, denominator, 1.0), np.nan)


def window_features(
    window: MachineWindow, at_times: np.ndarray, metrics: Sequence[str] = FEATURE_METRICS
) -> np.ndarray:
    """Features (len(at_times), len(feature_names(metrics))) of the readings up to each instant.

    Windows are trailing and closed at the instant: (t - width, t]. A metric the machine lacks, or
    that has no reading in a window, gives NaN (the forest handles missing values).
    """
    return windows_features([window], [at_times], metrics)


def windows_features(
    windows: Sequence[MachineWindow], at_times: Sequence[np.ndarray], metrics: Sequence[str] = FEATURE_METRICS
) -> np.ndarray:
    """`window_features` of many windows in one pass: window 0's rows, then window 1's, and so on.

    `at_times[i]` holds the instants of windows[i]. Serving scores every machine at once with it;
    each row is the same, bit for bit, as `window_features` of its window alone gives.
    """
    instants, first_rows = _queries(windows, at_times)
    query_count = sum(len(times) for times in instants)
    per_metric = len(METRIC_STATS)
    features = np.full((query_count, len(metrics) * per_metric + len(MACHINE_FEATURES)), np.nan)
    if query_count == 0:
        return features
    for positions, members in _metric_groups(windows, metrics).items():
        timeline = _timeline([windows[index] for index in members], metrics, positions)
        if not positions or not len(timeline.ts):
            continue
        rows, at, counts = _group_queries(instants, first_rows, members)
        bounds = _readings_up_to(timeline, counts, np.stack([at - LONG_WINDOW_S, at - SHORT_WINDOW_S, at], axis=1))
        scales = _range_scales([windows[index] for index in members], counts, [metrics[p] for p in positions])
        latest = _latest_valid(timeline.matrix)
        for block_start in range(0, len(at), _QUERY_BLOCK):
            block = slice(block_start, block_start + _QUERY_BLOCK)
            metric_block = _metric_features(timeline, latest, at[block], bounds[block], scales[:, :, block])
            for row, position in enumerate(positions):
                features[rows[block], position * per_metric : (position + 1) * per_metric] = metric_block[row]
    for window, times, first in zip(windows, instants, first_rows, strict=True):
        rows = slice(first, first + len(times))
        features[rows, -2] = _hours_since_repair(window, times)
        features[rows, -1] = _error_code_counts(window, times)
    return features


def _metric_features(
    timeline: _Timeline, latest: np.ndarray, at_times: np.ndarray, bounds: np.ndarray, scales: np.ndarray
) -> np.ndarray:
    """(metrics, queries, len(METRIC_STATS)) for the metrics present in the timeline.

    `bounds` holds, per query, the timeline positions of its long window's start, its short
    window's start and its end; `scales` the normal ranges' middles and half widths.
    """
    long_start, short_start, end = bounds[:, 0], bounds[:, 1], bounds[:, 2]
    short = _window_stats(timeline.ts, timeline.matrix, at_times, short_start, end)
    long = _window_stats(timeline.ts, timeline.matrix, at_times, long_start, end)
    last = _last_valid(timeline.matrix, latest, end, long_start)
    middle, half = scales
    level = (short.mean - middle) / half
    peak_level = (long.maximum - middle) / half
    stats = (
        short.mean,
        short.std,
        short.slope_per_hour,
        short.maximum,
        long.mean,
        long.std,
        long.slope_per_hour,
        long.maximum,
        last,
        _ratio(short.mean, long.mean),
        _ratio(short.std, long.std),
        level,
        peak_level,
    )
    return np.stack(stats, axis=-1)


def _latest_valid(matrix: np.ndarray) -> np.ndarray:
    """Per metric and position, the position of the latest non-missing value up to it, else -1."""
    positions = np.arange(matrix.shape[1])
    return np.maximum.accumulate(np.where(np.isnan(matrix), -1, positions), axis=1)


def _last_valid(matrix: np.ndarray, latest: np.ndarray, end: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The latest non-missing value of each metric inside [start, end) of each query, else NaN."""
    before_end = np.maximum(end - 1, 0)
    chosen = latest[:, before_end]  # (metrics, queries)
    inside = (chosen >= start) & (end > start)
    picked = np.take_along_axis(matrix, np.maximum(chosen, 0), axis=1)
    return np.where(inside, picked, np.nan)


def _error_code_counts(window: MachineWindow, at_times: np.ndarray) -> np.ndarray | float:
    if not len(window.error_code_times):  # most machines, most of the time: no array work
        return 0.0
    error_times = np.sort(np.asarray(window.error_code_times, dtype=np.float64))
    return np.searchsorted(error_times, at_times, side="right") - np.searchsorted(
        error_times, at_times - ERROR_CODE_WINDOW_S, side="right"
    )


def _hours_since_repair(window: MachineWindow, at_times: np.ndarray) -> np.ndarray | float:
    if window.last_repair_ts is None and not len(window.repair_times):
        return REPAIR_HOURS_CAP
    repairs = np.asarray(window.repair_times, dtype=np.float64).reshape(-1)
    if window.last_repair_ts is not None:
        repairs = np.append(repairs, float(window.last_repair_ts))
    repairs = np.sort(repairs)
    hours = np.full(len(at_times), REPAIR_HOURS_CAP)
    if len(repairs):
        before = np.searchsorted(repairs, at_times, side="right") - 1
        known = before >= 0
        hours[known] = np.minimum((at_times[known] - repairs[before[known]]) / HOUR_S, REPAIR_HOURS_CAP)
    return hours


def sequence_window(
    window: MachineWindow,
    at_times: np.ndarray,
    *,
    steps: int = 48,
    step_seconds: float = 900.0,
    metrics: Sequence[str] = FEATURE_METRICS,
) -> np.ndarray:
    """(len(at_times), steps, len(metrics)) float32: the trailing steps·step_seconds before each instant.

    Each step is the mean of its readings in (edge, edge + step], on the metric's normal range
    (0 at its middle, ±1 at its edges), so pumps and motors share one scale. A step without
    readings, a metric the machine lacks, or one without a normal range is 0: "normal", which is
    what an LSTM sees as "nothing to report" rather than a made-up reading.
    """
    return windows_sequences([window], [at_times], steps=steps, step_seconds=step_seconds, metrics=metrics)


def windows_sequences(
    windows: Sequence[MachineWindow],
    at_times: Sequence[np.ndarray],
    *,
    steps: int = 48,
    step_seconds: float = 900.0,
    metrics: Sequence[str] = FEATURE_METRICS,
) -> np.ndarray:
    """`sequence_window` of many windows in one pass, stacked as `windows_features` stacks its rows."""
    instants, first_rows = _queries(windows, at_times)
    sequences = np.zeros((sum(len(times) for times in instants), steps, len(metrics)), dtype=np.float32)
    for positions, members in _metric_groups(windows, metrics).items():
        timeline = _timeline([windows[index] for index in members], metrics, positions)
        rows, at, counts = _group_queries(instants, first_rows, members)
        if not positions or not len(timeline.ts) or not len(at):
            continue
        edges = at[:, None] - (steps - np.arange(steps + 1))[None, :] * step_seconds
        bounds = _readings_up_to(timeline, counts, edges)  # (queries, steps + 1)
        flat_starts = bounds[:, :-1].reshape(-1)
        flat_lengths = np.diff(bounds, axis=1).reshape(-1)
        matrix = timeline.matrix
        valid = ~np.isnan(matrix)
        padded_values = np.concatenate([np.where(valid, matrix, 0.0), np.zeros((matrix.shape[0], 1))], axis=1)
        padded_weight = np.concatenate([valid.astype(np.float64), np.zeros((matrix.shape[0], 1))], axis=1)
        sums = np.nan_to_num(_segment_reduce(np.add, padded_values, flat_starts, flat_lengths))
        counts_per_step = np.nan_to_num(_segment_reduce(np.add, padded_weight, flat_starts, flat_lengths))
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts_per_step > 0, sums / np.where(counts_per_step > 0, counts_per_step, 1.0), np.nan)
        middle, half = _range_scales([windows[index] for index in members], counts, [metrics[p] for p in positions])
        for row, position in enumerate(positions):
            # No normal range: a NaN scale, hence zeros, like a step without readings.
            normalised = (means[row].reshape(len(at), steps) - middle[row][:, None]) / half[row][:, None]
            sequences[rows, :, position] = np.nan_to_num(normalised, nan=0.0)
    return sequences


# --- labels ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FaultTruth:
    """One fault from the ground truth, times in epoch seconds (None: did not happen)."""

    machine_code: str
    failure_mode: str
    started_at: float
    failed_at: float | None
    repaired_at: float | None


@dataclass(slots=True)
class TrainingSamples:
    X: np.ndarray
    y_failure: np.ndarray  # bool
    y_mode: np.ndarray  # str, "" when no failure within the horizon
    y_rul_hours: np.ndarray  # hours to the next failure, capped
    rul_censored: np.ndarray  # bool: no failure seen, but the data end before the cap (RUL ≥ label)
    times: np.ndarray
    machine_codes: np.ndarray
    feature_names: list[str]
    sequences: np.ndarray | None = None  # (N, steps, metrics) float32, when asked for
    # bool: labelled negative because someone found the machine normal then (a false alarm's window)
    hard_negative: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class PreventedFault:
    """A fault found and fixed before it broke the machine, times in epoch seconds: present from
    `noticed_at` (the first alert that led to its ticket) until `worked_from` (the technician started
    on it; None: as `fixed_at`), in the technician's hands until `fixed_at` (the ticket resolved)."""

    machine_code: str
    failure_mode: str
    noticed_at: float
    fixed_at: float
    worked_from: float | None = None


@dataclass(frozen=True, slots=True)
class NormalPeriod:
    """A stretch of one machine's history, epoch seconds, that someone checked and found normal (a
    false alarm's window): its samples are hard negatives."""

    machine_code: str
    start: float
    end: float


def prevented_fault(fault: "PreventedFault | Mapping") -> PreventedFault:
    """A PreventedFault from itself or from a dict with the same keys (datetimes or epoch seconds)."""
    if isinstance(fault, PreventedFault):
        return fault
    return PreventedFault(
        machine_code=str(fault["machine_code"]),
        failure_mode=str(fault["failure_mode"]),
        noticed_at=_epoch(fault["noticed_at"]),
        fixed_at=_epoch(fault["fixed_at"]),
        worked_from=_epoch(fault.get("worked_from")),
    )


def normal_period(period: "NormalPeriod | Mapping") -> NormalPeriod:
    """A NormalPeriod from itself or from a dict with the same keys (datetimes or epoch seconds)."""
    if isinstance(period, NormalPeriod):
        return period
    return NormalPeriod(
        machine_code=str(period["machine_code"]), start=_epoch(period["start"]), end=_epoch(period["end"])
    )


def fault_truth(fault: "FaultTruth | Mapping") -> FaultTruth:
    """A FaultTruth from itself or from a dict with the same keys (datetimes or epoch seconds)."""
    if isinstance(fault, FaultTruth):
        return fault
    return FaultTruth(
        machine_code=str(fault["machine_code"]),
        failure_mode=str(fault["failure_mode"]),
        started_at=_epoch(fault["started_at"]),
        failed_at=_epoch(fault.get("failed_at")),
        repaired_at=_epoch(fault.get("repaired_at")),
    )


def _epoch(value) -> float | None:
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value)


def training_samples(
    windows: Iterable[MachineWindow],
    faults: Iterable["FaultTruth | Mapping"],
    *,
    horizon_hours: float = 24.0,
    sample_every_seconds: float = 1800.0,
    rul_cap_hours: float = 125.0,
    observed_until: float | None = None,
    metrics: Sequence[str] = FEATURE_METRICS,
    with_sequences: bool = False,
    sequence_steps: int = 48,
    sequence_step_seconds: float = 900.0,
    prevented: Iterable["PreventedFault | Mapping"] = (),
    normal_periods: Iterable["NormalPeriod | Mapping"] = (),
) -> TrainingSamples:
    """Feature rows at regular instants of every machine, labelled from the ground truth.

    Instants are the multiples of `sample_every_seconds` (since the epoch, so two runs agree)
    between a machine's first and last reading that have a reading in the hour before them, as
    serving only predicts machines that report. Labels of the instant t:
    - y_failure: some fault of this machine has `failed_at` in (t, t + horizon]. A fault repaired
      before it failed (a prevented failure) is no failure: the machine did not break.
      Also, when a plant tells what it prevented (`prevented`), t in [noticed_at, worked_from) of
      one of those faults: the fault was there, seen by an alert, and the machine still ran with it.
    - y_mode: that next failure's mode (else the prevented fault's), "" when neither.
    - y_rul_hours: hours from t to the next `failed_at` after t, capped at `rul_cap_hours`; when no
      failure follows within the data, the cap, with `rul_censored` set if the data end before it.
      Inside a prevented fault that the fix came before any failure, the hours to the fix, censored:
      the machine would have lasted at least that long.
    - hard_negative: t inside one of `normal_periods` (a false alarm: someone looked and found it
      normal) with neither a failure nor a prevented fault within the horizon after t. What the plant
      recorded after t outweighs an earlier "normal", as the technician could not see it coming.
    Left out:
    - instants while the machine is down, failed_at <= t < repaired_at (open-ended if never
      repaired): there is nothing to predict and the readings, if any, are the failure itself;
    - instants whose horizon reaches past `observed_until` (default: the machine's last reading)
      without a failure inside it: a failure just after the data end would make their "no" a lie.
    - around a prevented fault, the horizon before `noticed_at` (the plant cannot tell whether the
      fault was there yet: the alerts that found it come early in a fault, so most of those hours are
      normal, yet some are the fault's start) and [worked_from, fixed_at) (the machine in the
      technician's hands: its readings are the repair's, not the fault's). Neither is a "yes" nor a "no".
      Positives and hard negatives stay: their label does not wait on what comes after the data.
    """
    horizon_s = horizon_hours * HOUR_S
    rul_cap_s = rul_cap_hours * HOUR_S
    by_machine: dict[str, list[FaultTruth]] = {}
    for fault in map(fault_truth, faults):
        by_machine.setdefault(fault.machine_code, []).append(fault)
    prevented_by_machine: dict[str, list[PreventedFault]] = {}
    for fault in map(prevented_fault, prevented):
        prevented_by_machine.setdefault(fault.machine_code, []).append(fault)
    normal_by_machine: dict[str, list[NormalPeriod]] = {}
    for period in map(normal_period, normal_periods):
        normal_by_machine.setdefault(period.machine_code, []).append(period)
    names = feature_names(metrics)
    parts: dict[str, list] = {
        key: [] for key in ("X", "fail", "mode", "rul", "censored", "times", "codes", "seq", "hard")
    }
    for window in windows:
        machine_faults = by_machine.get(window.machine_code, [])
        machine_prevented = prevented_by_machine.get(window.machine_code, [])
        ts = np.asarray(window.ts, dtype=np.float64)
        if not len(ts):
            continue
        end_of_truth = float(ts[-1]) if observed_until is None else float(observed_until)
        first = math.ceil(ts[0] / sample_every_seconds) * sample_every_seconds
        instants = np.arange(first, ts[-1] + 1e-6, sample_every_seconds)
        recent = np.searchsorted(ts, instants, side="right") - np.searchsorted(ts, instants - HOUR_S, side="right")
        instants = instants[recent > 0]
        labels = _instant_labels(
            instants,
            machine_faults,
            machine_prevented,
            normal_by_machine.get(window.machine_code, []),
            horizon_s=horizon_s,
            rul_cap_s=rul_cap_s,
            end_of_truth=end_of_truth,
        )
        instants = labels.instants
        window_with_repairs = _with_repairs(window, machine_faults, machine_prevented)
        parts["X"].append(window_features(window_with_repairs, instants, metrics))
        parts["fail"].append(labels.y_failure)
        parts["mode"].append(labels.y_mode)
        parts["rul"].append(labels.y_rul_hours)
        parts["censored"].append(labels.rul_censored)
        parts["times"].append(instants)
        parts["codes"].append(np.full(len(instants), window.machine_code, dtype=object))
        parts["hard"].append(labels.hard_negative)
        if with_sequences:
            parts["seq"].append(
                sequence_window(
                    window, instants, steps=sequence_steps, step_seconds=sequence_step_seconds, metrics=metrics
                )
            )
    if not parts["X"]:
        empty = np.empty(0)
        return TrainingSamples(
            np.empty((0, len(names))), empty.astype(bool), empty.astype(str), empty, empty.astype(bool),
            empty, empty.astype(str), names, hard_negative=empty.astype(bool),
        )  # fmt: skip
    return TrainingSamples(
        X=np.concatenate(parts["X"]),
        y_failure=np.concatenate(parts["fail"]),
        y_mode=np.concatenate(parts["mode"]).astype(str),
        y_rul_hours=np.concatenate(parts["rul"]),
        rul_censored=np.concatenate(parts["censored"]),
        times=np.concatenate(parts["times"]),
        machine_codes=np.concatenate(parts["codes"]).astype(str),
        feature_names=names,
        sequences=np.concatenate(parts["seq"]) if with_sequences else None,
        hard_negative=np.concatenate(parts["hard"]),
    )


@dataclass(frozen=True, slots=True)
class _InstantLabels:
    instants: np.ndarray
    y_failure: np.ndarray
    y_mode: np.ndarray
    y_rul_hours: np.ndarray
    rul_censored: np.ndarray
    hard_negative: np.ndarray


def _instant_labels(
    instants: np.ndarray,
    faults: Sequence[FaultTruth],
    prevented: Sequence[PreventedFault],
    normal_periods: Sequence[NormalPeriod],
    *,
    horizon_s: float,
    rul_cap_s: float,
    end_of_truth: float,
) -> _InstantLabels:
    """One machine's labels at its sample instants, and the instants that keep one (training_samples)."""
    failures = sorted((f for f in faults if f.failed_at is not None), key=lambda f: f.failed_at)
    failed_at = np.array([f.failed_at for f in failures], dtype=np.float64)
    modes = np.array([f.failure_mode for f in failures], dtype=object)
    down = np.zeros(len(instants), dtype=bool)
    for fault in failures:
        back = fault.repaired_at if fault.repaired_at is not None else np.inf
        down |= (instants >= fault.failed_at) & (instants < back)
    instants = instants[~down]
    next_index = np.searchsorted(failed_at, instants, side="right")  # first failure strictly after t
    has_next = next_index < len(failed_at)
    time_to_next = np.full(len(instants), np.inf)
    time_to_next[has_next] = failed_at[next_index[has_next]] - instants[has_next]
    fails_within = time_to_next <= horizon_s
    y_mode = np.full(len(instants), "", dtype=object)
    y_mode[fails_within] = modes[next_index[fails_within]]
    fault_present = np.zeros(len(instants), dtype=bool)
    unknown = np.zeros(len(instants), dtype=bool)
    time_to_fix = np.full(len(instants), np.inf)
    for fault in prevented:
        worked_from = fault.fixed_at if fault.worked_from is None else min(fault.worked_from, fault.fixed_at)
        present = (instants >= fault.noticed_at) & (instants < worked_from) & ~fails_within
        fault_present |= present
        y_mode[present] = fault.failure_mode
        time_to_fix[present] = np.minimum(time_to_fix[present], fault.fixed_at - instants[present])
        unknown |= (instants >= fault.noticed_at - horizon_s) & (instants < fault.noticed_at)
        unknown |= (instants >= worked_from) & (instants < fault.fixed_at)
    unknown &= ~fault_present & ~fails_within
    y_failure = fails_within | fault_present
    found_normal = np.zeros(len(instants), dtype=bool)
    for period in normal_periods:
        found_normal |= (instants >= period.start) & (instants <= period.end)
    hard_negative = found_normal & ~y_failure
    fixed_first = fault_present & (time_to_fix < time_to_next)
    time_to_next[fixed_first] = time_to_fix[fixed_first]
    censored = (~has_next & (end_of_truth - instants < rul_cap_s)) | fixed_first
    keep = (y_failure | hard_negative | (instants + horizon_s <= end_of_truth)) & ~unknown
    return _InstantLabels(
        instants=instants[keep],
        y_failure=y_failure[keep],
        y_mode=y_mode[keep],
        y_rul_hours=np.minimum(time_to_next[keep], rul_cap_s) / HOUR_S,
        rul_censored=censored[keep],
        hard_negative=hard_negative[keep],
    )


def _with_repairs(
    window: MachineWindow, faults: Sequence[FaultTruth], prevented: Sequence[PreventedFault] = ()
) -> MachineWindow:
    repairs = [f.repaired_at for f in faults if f.repaired_at is not None] + [f.fixed_at for f in prevented]
    return MachineWindow(
        machine_code=window.machine_code,
        ts=window.ts,
        values=window.values,
        normal_ranges=window.normal_ranges,
        error_code_times=window.error_code_times,
        last_repair_ts=window.last_repair_ts,
        repair_times=np.concatenate([np.asarray(window.repair_times, dtype=np.float64), np.array(repairs)]),
    )


# --- split ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MachineTimeSplit:
    train: np.ndarray  # bool mask over the samples
    test: np.ndarray
    test_machines: tuple[str, ...]
    test_from: float  # epoch seconds: every machine's samples from here on are test
    train_until: float  # train samples are before this, one gap earlier


def split_by_machine_and_time(
    machine_codes: np.ndarray,
    times: np.ndarray,
    *,
    test_machine_fraction: float = 0.25,
    test_time_fraction: float = 0.25,
    gap_seconds: float = 24 * HOUR_S,
    seed: int = 42,
) -> MachineTimeSplit:
    """Train on some machines' early period, test on held-out machines and on everyone's late period.

    Test: every sample of the held-out machines, plus every machine's samples at or after the cut
    (the last `test_time_fraction` of the period). Train: the other machines' samples more than
    `gap_seconds` before the cut, so no training label (which looks one horizon ahead; pass the
    horizon as the gap) sees the test period. Samples in the gap are in neither.
    """
    machine_codes = np.asarray(machine_codes).astype(str)
    times = np.asarray(times, dtype=np.float64)
    machines = np.unique(machine_codes)
    rng = np.random.default_rng(seed)
    held_out_count = max(1, round(test_machine_fraction * len(machines))) if len(machines) > 1 else 0
    test_machines = tuple(sorted(rng.choice(machines, size=held_out_count, replace=False))) if held_out_count else ()
    start, end = float(times.min()), float(times.max())
    test_from = end - test_time_fraction * (end - start)
    train_until = test_from - gap_seconds
    held_out = np.isin(machine_codes, test_machines)
    test = held_out | (times >= test_from)
    train = ~held_out & (times < train_until)
    return MachineTimeSplit(train, test, test_machines, test_from, train_until)
