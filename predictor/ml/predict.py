"""The one predict entry: loaded artifacts (a failure forest, optionally a RUL LSTM) and what their
training recorded → per machine window, the failure probability, the failure mode, the remaining
useful life with its range, and the sentences that say why.

Serving builds a `Predictor` from verified artifacts (predictor.selectors loads them) and calls
`predict`. What training decided (the horizon, the LSTM's sequence shape) is read from each
artifact's metadata, so serving keeps no copy of it. The alert threshold is not here: it is the
operator's setting (PREDICTION_THRESHOLD), applied where alerts are raised.

Imports neither Django nor TensorFlow: the LSTM, when there is one, arrives loaded.
"""

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from predictor.ml.features import MachineWindow, windows_features, windows_sequences
from predictor.ml.rul import failure_probability_within

# An artifact's metadata has recorded its horizon since training first wrote metadata; a model saved
# without metadata (registered by hand, as tests do) was trained for this one, training's only horizon.
DEFAULT_HORIZON_HOURS = 24.0
# The LSTM's sequence shape, as its metadata names it → as windows_sequences names it. Absent, the
# sequences are windows_sequences' defaults, which are what training used before it recorded them.
_SEQUENCE_SHAPE = {"sequence_steps": "steps", "step_seconds": "step_seconds"}


@dataclass(eq=False)  # not frozen and without slots: the scorer's tests tie a loaded model in a cycle and watch it go
class LoadedArtifact:
    """A model loaded from a verified artifact, and the metadata.json its training wrote beside it."""

    model: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def recorded(self, name: str, default: Any = None) -> Any:
        """What training recorded for serving (`metadata_write(extra=...)`), or `default`."""
        return self.metadata.get("extra", {}).get(name, default)

    @property
    def trained_on_plant_outcomes(self) -> bool:
        """Labelled by what the plant recorded (tickets' outcomes, breakdowns), not by a simulator's truth."""
        data = self.metadata.get("data")
        return isinstance(data, dict) and data.get("source") == "plant"


@dataclass(frozen=True)
class Forecast:
    """What the models say about one machine at one instant."""

    machine_code: str
    ts: float  # epoch seconds: the instant the window was scored at
    failure_probability: float  # of a failure of any mode within the horizon
    failure_mode: str | None  # the most likely one, if it fails; None when the forest names none
    rul_hours: float | None  # the LSTM's median; the three RUL figures are None without an LSTM
    rul_low_hours: float | None
    rul_high_hours: float | None
    explanation: list[str]  # sentences, the signal that raises the probability most first


class StageClock:
    """Wall time per stage of a tick: what the benchmark and the operator's log break a tick into."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


class Predictor:
    """The active models together: `predict` is the only way serving asks them anything."""

    def __init__(self, forest: LoadedArtifact, lstm: LoadedArtifact | None = None):
        self.forest = forest.model
        self.lstm = lstm.model if lstm is not None else None
        # The probability means "fails within the forest's horizon": the LSTM, whose remaining life knows no
        # horizon, is asked the same question.
        self.horizon_hours = float(forest.recorded("horizon_hours", DEFAULT_HORIZON_HOURS))
        self.sequence_shape: dict[str, Any] = {}
        for name, argument in _SEQUENCE_SHAPE.items():
            if lstm is not None and lstm.recorded(name) is not None:
                self.sequence_shape[argument] = lstm.recorded(name)

    def predict(
        self,
        windows: Sequence[MachineWindow],
        at: Sequence[np.ndarray] | None = None,
        *,
        clock: StageClock | None = None,
        features: np.ndarray | None = None,
        explain: bool = True,
    ) -> list[Forecast]:
        """One forecast per instant: `at[i]` holds window i's instants (epoch seconds; by default its newest
        reading), the forecasts are window 0's, then window 1's, and so on. `clock` times the stages.
        `features`: those rows' `windows_features`, when the caller has them already. `explain`: False
        leaves the explanations empty (a challenger in shadow, whose words nobody reads)."""
        clock = clock or StageClock()
        at = [window.ts[-1:] for window in windows] if at is None else at
        codes = [window.machine_code for window, instants in zip(windows, at, strict=True) for _ in instants]
        if not codes:
            return []
        instants = np.concatenate([np.asarray(times, dtype=np.float64) for times in at])
        if features is None:
            with clock.stage("features"):
                features = windows_features(windows, at)
        with clock.stage("forest"):
            probability = self.forest.predict_failure_probability(features)
            modes = self.forest.predict_mode(features)
        with clock.stage("explanations"):
            sentences = self.forest.describe_samples(features) if explain else [[] for _ in codes]
        rul = (None, None, None)
        if self.lstm is not None:
            with clock.stage("lstm"):
                rul = self.lstm.predict(windows_sequences(windows, at, **self.sequence_shape))
            # Both models vote: the RUL model's chance of a failure within the horizon can only
            # add to the classifier's, so a fast-developing fault is not missed by either.
            probability = np.maximum(
                probability,
                failure_probability_within(self.horizon_hours, *rul, quantiles=self.lstm.config.quantiles),
            )
        median, low, high = rul
        return [
            Forecast(
                machine_code=code,
                ts=float(instants[i]),
                failure_probability=float(probability[i]),
                failure_mode=modes[i] or None,
                rul_hours=None if median is None else float(median[i]),
                rul_low_hours=None if low is None else float(low[i]),
                rul_high_hours=None if high is None else float(high[i]),
                explanation=sentences[i],
            )
            for i, code in enumerate(codes)
        ]
