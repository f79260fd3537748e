"""Drift in the running plant: how far each machine type's live feature rows are from the rows the
active forest was trained on (predictor.ml.drift), one figure per version and type (ModelDrift).

The predictor's ticks hand their feature rows to a `DriftMonitor`, which keeps a rolling sample per
machine type and measures it against the forest's recorded reference at most once a minute. A forest
whose training recorded no references (trained before drift was measured) has no drift figure.
"""

import datetime
import logging
from collections import deque
from collections.abc import Sequence

import numpy as np
from django.conf import settings

from predictor.ml.drift import population_stability
from predictor.ml.features import MachineWindow, feature_names
from predictor.ml.predict import LoadedArtifact
from predictor.models import ModelVersion
from predictor.selectors import MachineRef
from predictor.services import ModelDriftDraft, model_drifts_record

logger = logging.getLogger(__name__)

# The live sample is the last hour: long enough for a machine type's machines to pass through their
# usual load cycle's hour, short enough that a sensor replaced this morning shows by lunch.
DRIFT_SAMPLE_WINDOW = datetime.timedelta(hours=1)
# Measured, and the sample added to, once a minute: a machine's 1- and 12-hour features hardly move
# between two ticks seconds apart, so more often would add near-copies of the same rows.
DRIFT_MEASURE_EVERY = datetime.timedelta(minutes=1)
# Rows a minute adds to a type's sample, at most (drawn at random from a larger type): 60 minutes of
# 100 rows of ~100 features bound a type's sample to about 5 MB. Kept as float64, as the reference's
# bins were counted: a value on an edge in float32 would fall into the next bin.
DRIFT_ROWS_PER_MINUTE = 100


class DriftMonitor:
    """Per machine type, a rolling sample of the tick's feature rows, measured against the active
    forest's reference for that type and recorded (at most once every `every` per type)."""

    def __init__(
        self,
        *,
        window: datetime.timedelta = DRIFT_SAMPLE_WINDOW,
        every: datetime.timedelta = DRIFT_MEASURE_EVERY,
        rows_per_minute: int = DRIFT_ROWS_PER_MINUTE,
        seed: int = 0,
    ):
        self._window_s = window.total_seconds()
        self._every_s = every.total_seconds()
        self._rows_per_minute = rows_per_minute
        self._rng = np.random.default_rng(seed)
        self._feature_names = feature_names()  # the columns of windows_features, which the ticks pass
        self._samples: dict[str, deque[tuple[float, np.ndarray]]] = {}
        self._measured_at: dict[str, float] = {}
        self._drifted: set[tuple[int, str]] = set()

    def observe(
        self,
        forest: tuple[ModelVersion, LoadedArtifact] | None,
        *,
        windows: Sequence[MachineWindow],
        machines: Sequence[MachineRef],
        features: np.ndarray,
        now: datetime.datetime,
    ) -> list[ModelDriftDraft]:
        """A tick's `features` (one row per window) into each type's sample; the types due are
        measured against `forest`'s references and recorded. Returns what was recorded."""
        references = forest[1].recorded("drift_references") if forest is not None else None
        if not references or not len(windows):
            return []
        version = forest[0]
        now_s = now.timestamp()
        type_of = {ref.code: ref.machine_type for ref in machines}
        row_types = np.array([type_of.get(window.machine_code, "") for window in windows], dtype=object)
        drafts = []
        for machine_type, reference in references.items():
            last = self._measured_at.get(machine_type)
            rows = features[row_types == machine_type]
            if (last is not None and now_s - last < self._every_s) or not len(rows):
                continue
            self._measured_at[machine_type] = now_s
            drift = population_stability(reference, self._sample_add(machine_type, rows, now_s), self._feature_names)
            if drift is not None:
                drafts.append(ModelDriftDraft(version, machine_type, drift.psi, drift.feature, drift.sample_size))
                self._warn_on_crossing(version, machine_type, drift.psi, drift.feature)
        if drafts:
            model_drifts_record(drifts=drafts, measured_at=now)
        return drafts

    def _sample_add(self, machine_type: str, rows: np.ndarray, now_s: float) -> np.ndarray:
        """Add the rows (a random `rows_per_minute` of them, at most) to the type's sample, drop what is
        older than the window, and return the sample."""
        if len(rows) > self._rows_per_minute:
            rows = rows[self._rng.choice(len(rows), size=self._rows_per_minute, replace=False)]
        sample = self._samples.setdefault(machine_type, deque())
        sample.append((now_s, rows))
        while sample and sample[0][0] <= now_s - self._window_s:
            sample.popleft()
        return np.concatenate([rows for _, rows in sample])

    def _warn_on_crossing(self, version: ModelVersion, machine_type: str, psi: float, feature: str) -> None:
        """Log once when a type goes past DRIFT_PSI_WARNING (and again after it came back), not every minute."""
        key = (version.id, machine_type)
        if psi <= settings.DRIFT_PSI_WARNING:
            self._drifted.discard(key)
        elif key not in self._drifted:
            self._drifted.add(key)
            logger.warning(
                "%s: %s has drifted from its training data (PSI %.2f, most in %s): consider retraining",
                version,
                machine_type,
                psi,
                feature,
            )
