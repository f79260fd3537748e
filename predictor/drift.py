"""Drift in the running plant: how far each machine type's live feature rows are from the rows the
active forest was trained on (predictor.ml.drift), one figure per version and type (ModelDrift).

The predictor's ticks hand their feature rows to a `DriftMonitor`, which keeps a rolling sample per
machine type and measures it against the forest's recorded reference every 10 minutes. A forest
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

# The live sample is the last day, a whole load cycle: features such as a metric's 12-hour slope or its
# 1-hour against 12-hour mean follow the time of day, so an hour of a type's machines (all at the same
# point of the cycle) is a narrow slice of what training saw. On the simulated demo plant a healthy
# hour read a median PSI of 2.5 to 4.6, six hours 1.8 to 3.2, a day 0.07 to 0.14.
DRIFT_SAMPLE_WINDOW = datetime.timedelta(hours=24)
# A sample is added, and the type measured, every 10 minutes: a machine's 1- and 12-hour features
# hardly move between two ticks seconds apart, so more often would add near-copies of the same rows.
DRIFT_SAMPLE_EVERY = datetime.timedelta(minutes=10)
# Rows a sample adds, at most (drawn at random from a larger type): 144 samples of 50 rows of ~100
# features bound a type's sample to about 6 MB. Kept as float64, as the reference's bins were counted:
# a value on an edge in float32 would fall into the next bin.
DRIFT_ROWS_PER_SAMPLE = 50


class DriftMonitor:
    """Per machine type, a rolling sample of the ticks' feature rows (one tick's every `every`, over
    `window`), measured against the active forest's reference for that type and recorded each time a
    sample is added, once the samples span the whole window: until then (after the predictor starts)
    the type has no new figure, as part of a day would read as drift."""

    def __init__(
        self,
        *,
        window: datetime.timedelta = DRIFT_SAMPLE_WINDOW,
        every: datetime.timedelta = DRIFT_SAMPLE_EVERY,
        rows_per_sample: int = DRIFT_ROWS_PER_SAMPLE,
        seed: int = 0,
    ):
        self._window_s = window.total_seconds()
        self._every_s = every.total_seconds()
        self._rows_per_sample = rows_per_sample
        self._rng = np.random.default_rng(seed)
        self._feature_names = feature_names()  # the columns of windows_features, which the ticks pass
        self._samples: dict[str, deque[tuple[float, np.ndarray]]] = {}
        self._sampled_at: dict[str, float] = {}
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
        """A tick's `features` (one row per window) into the sample of each type that is due; those
        are measured against `forest`'s references and recorded. Returns what was recorded."""
        references = forest[1].recorded("drift_references") if forest is not None else None
        if not references or not len(windows):
            return []
        version = forest[0]
        now_s = now.timestamp()
        type_of = {ref.code: ref.machine_type for ref in machines}
        row_types = np.array([type_of.get(window.machine_code, "") for window in windows], dtype=object)
        drafts = []
        for machine_type, reference in references.items():
            last = self._sampled_at.get(machine_type)
            rows = features[row_types == machine_type]
            if (last is not None and now_s - last < self._every_s) or not len(rows):
                continue
            self._sampled_at[machine_type] = now_s
            sample = self._sample_add(machine_type, rows, now_s)
            if sample is None:
                continue
            drift = population_stability(reference, sample, self._feature_names)
            if drift is not None:
                drafts.append(
                    ModelDriftDraft(
                        version, machine_type, drift.psi, drift.feature, drift.feature_psi, drift.sample_size
                    )
                )
                self._warn_on_crossing(version, machine_type, drift.psi, drift.feature)
        if drafts:
            model_drifts_record(drifts=drafts, measured_at=now)
        return drafts

    def _sample_add(self, machine_type: str, rows: np.ndarray, now_s: float) -> np.ndarray | None:
        """Add the rows (a random `rows_per_sample` of them, at most) to the type's samples and drop those
        older than the window; all of them together, or None while they do not yet span the window."""
        if len(rows) > self._rows_per_sample:
            rows = rows[self._rng.choice(len(rows), size=self._rows_per_sample, replace=False)]
        samples = self._samples.setdefault(machine_type, deque())
        samples.append((now_s, rows))
        spanned = samples[0][0] <= now_s - self._window_s + self._every_s
        while samples[0][0] <= now_s - self._window_s:
            samples.popleft()
        return np.concatenate([rows for _, rows in samples]) if spanned else None

    def _warn_on_crossing(self, version: ModelVersion, machine_type: str, psi: float, feature: str) -> None:
        """Log once when a type goes past DRIFT_PSI_WARNING (and again after it came back), not every sample."""
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
