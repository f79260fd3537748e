"""Alert-level evaluation: what a manager sees is alerts and failures, not samples.

An alert opens at the first instant whose failure probability reaches the threshold and stays open
while the probability stays at or above the lower clear threshold, so a probability that wavers
around the threshold is one alert, not many. `AlertHysteresis` is that rule, the one both this
evaluation and the tickets' live alerts follow (the live ones also wait ALERT_CLEAR_MINUTES below
the clear threshold before they clear).

An alert is right when the machine fails while it is open or within the horizon after its last
instant; a failure is caught when an alert was open at some point of the horizon before it (an
alert that opened earlier and stayed open caught it too). The lead time is the hours from the
opening of the first such alert to the failure.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AlertHysteresis:
    """Open at `threshold` or above; once open, clear only below `clear_threshold` (None: the
    threshold itself, no hysteresis)."""

    threshold: float
    clear_threshold: float | None = None

    def next_open(self, was_open: bool, probability: float) -> bool:
        """Whether the alert is open after `probability`, given whether it was open before it."""
        if probability >= self.threshold:
            return True
        clear_threshold = self.threshold if self.clear_threshold is None else self.clear_threshold
        return was_open and probability >= clear_threshold

    def opens(self, probability: float) -> bool:
        """High enough to open an alert (or to refresh an open one)."""
        return self.next_open(False, probability)

    def holds(self, probability: float) -> bool:
        """High enough to keep an open alert open."""
        return self.next_open(True, probability)


@dataclass(frozen=True)
class AlertReport:
    alerts: int
    true_alerts: int
    failures: int
    failures_caught: int
    lead_times_hours: tuple[float, ...]

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else float("nan")

    @property
    def recall(self) -> float:
        return self.failures_caught / self.failures if self.failures else float("nan")

    @property
    def median_lead_hours(self) -> float:
        return float(np.median(self.lead_times_hours)) if self.lead_times_hours else float("nan")


def alert_runs(
    *,
    machine_codes: np.ndarray,
    times: np.ndarray,
    scores: np.ndarray,
    hysteresis: AlertHysteresis,
    max_gap_seconds: float,
    may_open: np.ndarray | None = None,
) -> dict[str, list[tuple[float, float]]]:
    """Per machine, the alerts its scores would raise: (opened, last instant held open), oldest first.

    Instants more than `max_gap_seconds` apart do not continue an alert (the machine was down or
    silent in between), so one long silence splits it in two. `may_open`: where False, a score high
    enough opens nothing (the plant did not believe the model there), though it keeps an alert open.
    """
    machine_codes = np.asarray(machine_codes).astype(str)
    times = np.asarray(times, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    may_open = np.ones(len(scores), dtype=bool) if may_open is None else np.asarray(may_open, dtype=bool)
    runs_by_machine: dict[str, list[tuple[float, float]]] = {}
    for code in np.unique(machine_codes):
        mine = np.flatnonzero(machine_codes == code)
        mine = mine[np.argsort(times[mine], kind="stable")]
        runs: list[list[float]] = []  # [opened, last instant held open]
        is_open = False
        for index in mine:
            t = times[index]
            continues = is_open and t - runs[-1][1] <= max_gap_seconds
            is_open = (continues or may_open[index]) and hysteresis.next_open(continues, scores[index])
            if is_open and continues:
                runs[-1][1] = t
            elif is_open:
                runs.append([t, t])
        runs_by_machine[code] = [(opened, last) for opened, last in runs]
    return runs_by_machine


def alert_report(
    *,
    machine_codes: np.ndarray,
    times: np.ndarray,
    scores: np.ndarray,
    failures: Sequence[tuple[str, float]],
    threshold: float,
    clear_threshold: float | None = None,
    horizon_seconds: float,
    max_gap_seconds: float,
) -> AlertReport:
    """`failures`: (machine code, failure time) in the evaluated period; times in epoch seconds (alert_runs)."""
    runs_by_machine = alert_runs(
        machine_codes=machine_codes,
        times=times,
        scores=scores,
        hysteresis=AlertHysteresis(threshold, clear_threshold),
        max_gap_seconds=max_gap_seconds,
    )
    failures_by_machine: dict[str, list[float]] = {}
    for code, failed_at in failures:
        failures_by_machine.setdefault(code, []).append(failed_at)

    alerts = true_alerts = 0
    for code, runs in runs_by_machine.items():
        machine_failures = failures_by_machine.get(code, [])
        for opened, last in runs:
            alerts += 1
            if any(opened <= failed <= last + horizon_seconds for failed in machine_failures):
                true_alerts += 1

    leads = []
    for code, failed_at in failures:
        openings = [
            opened
            for opened, last in runs_by_machine.get(code, [])
            if opened <= failed_at and last >= failed_at - horizon_seconds
        ]
        if openings:
            leads.append((failed_at - min(openings)) / 3600.0)
    return AlertReport(alerts, true_alerts, len(failures), len(leads), tuple(leads))
