"""External check of the health model on C-MAPSS: engines as machines nobody labelled.

Each training unit of a subset is one machine: its `HealthModel` (the same class the plant's machines
use) learns normal from the unit's first `learning_cycles` cycles only and scores every later cycle.
Features per cycle are the informative sensors, each smoothed causally by a trailing mean over the
last `smoothing_cycles` cycles (fewer at the start): a cycle's features use no later cycle. The unit
is alarmed at the first cycle that ends `persistence` consecutive cycles past the threshold (the same
idea as the alert hysteresis: one noisy cycle raises nothing). Its lead is the cycles it still had to
run from there (last recorded cycle - alarm cycle); an alarm with more than `too_early_cycles` to go
is too early (nobody would act on it).

Pure numpy; no file is read here (see `cmapss.load_subset`).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from predictor.ml.cmapss import COLUMN_NAMES, INFORMATIVE_SENSORS, unit_row_slices
from predictor.ml.health import HealthModel

LEARNING_CYCLES = 50
TOO_EARLY_CYCLES = 150
# Targets of the external check (the issue's).
TARGET_ALARMED_SHARE = 0.90
TARGET_MEDIAN_LEAD = 20.0
TARGET_TOO_EARLY_SHARE = 0.10


@dataclass(frozen=True)
class HealthCheckSettings:
    false_alarm_rate: float
    persistence: int
    smoothing_cycles: int
    top_k: int | None
    learning_cycles: int = LEARNING_CYCLES
    too_early_cycles: int = TOO_EARLY_CYCLES


@dataclass(frozen=True)
class UnitOutcome:
    unit: int
    last_cycle: int
    alarm_cycle: int | None  # None: never alarmed

    @property
    def lead(self) -> int | None:
        return None if self.alarm_cycle is None else self.last_cycle - self.alarm_cycle


@dataclass(frozen=True)
class HealthCheckReport:
    settings: HealthCheckSettings
    outcomes: tuple[UnitOutcome, ...]

    @property
    def units(self) -> int:
        return len(self.outcomes)

    @property
    def leads(self) -> list[int]:
        return [outcome.lead for outcome in self.outcomes if outcome.lead is not None]

    @property
    def alarmed_share(self) -> float:
        return len(self.leads) / self.units if self.units else float("nan")

    @property
    def median_lead(self) -> float:
        return float(np.median(self.leads)) if self.leads else float("nan")

    @property
    def too_early_share(self) -> float:
        early = sum(lead > self.settings.too_early_cycles for lead in self.leads)
        return early / self.units if self.units else float("nan")

    def targets_met(self) -> dict[str, bool]:
        return {
            "alarmed": self.alarmed_share >= TARGET_ALARMED_SHARE,
            "median_lead": self.median_lead >= TARGET_MEDIAN_LEAD,
            "too_early": self.too_early_share <= TARGET_TOO_EARLY_SHARE,
        }


def trailing_mean(values: np.ndarray, cycles: int) -> np.ndarray:
    """Per column, the mean of the last `cycles` rows up to each row (fewer at the start): causal."""
    values = np.asarray(values, dtype=np.float64)
    totals = np.cumsum(values, axis=0)
    shifted = np.zeros_like(totals)
    shifted[cycles:] = totals[:-cycles] if cycles < len(totals) else shifted[cycles:]
    counts = np.minimum(np.arange(1, len(values) + 1), cycles)[:, None]
    return (totals - shifted) / counts


def first_persistent_run(past_threshold: np.ndarray, persistence: int) -> int | None:
    """Index of the row that ends the first run of `persistence` consecutive True, or None."""
    run = 0
    for index, past in enumerate(np.asarray(past_threshold, dtype=bool)):
        run = run + 1 if past else 0
        if run >= persistence:
            return index
    return None


def unit_outcome(
    unit: int, cycles: np.ndarray, sensors: np.ndarray, names: Sequence[str], settings: HealthCheckSettings
) -> UnitOutcome:
    """Learn the unit's normal from its first cycles, score the rest, and find its alarm."""
    features = trailing_mean(sensors, settings.smoothing_cycles)
    learning = cycles <= settings.learning_cycles
    model = HealthModel.fit(features[learning], names, false_alarm_rate=settings.false_alarm_rate, top_k=settings.top_k)
    later = ~learning
    past = model.score(features[later]).past_threshold
    alarm_index = first_persistent_run(past, settings.persistence)
    alarm_cycle = None if alarm_index is None else int(cycles[later][alarm_index])
    return UnitOutcome(unit=int(unit), last_cycle=int(cycles.max()), alarm_cycle=alarm_cycle)


def health_check(
    table: np.ndarray, settings: HealthCheckSettings, *, units: Sequence[int] | None = None
) -> HealthCheckReport:
    """Run the check on a C-MAPSS table (rows of the 26 columns, as shipped); `units`: a subset of them."""
    sensor_columns = [COLUMN_NAMES.index(name) for name in INFORMATIVE_SENSORS]
    outcomes = []
    for rows in unit_row_slices(table[:, 0]):
        unit = int(table[rows.start, 0])
        if units is not None and unit not in units:
            continue
        outcomes.append(
            unit_outcome(unit, table[rows, 1], table[rows][:, sensor_columns], INFORMATIVE_SENSORS, settings)
        )
    return HealthCheckReport(settings=settings, outcomes=tuple(outcomes))
