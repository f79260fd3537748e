"""Alert-level evaluation: what a manager sees is alerts and failures, not samples.

An alert is a run of consecutive instants of one machine whose failure probability is at or above
the threshold. It is right when the machine fails within the horizon after the alert opens (or
while it is open); a failure is caught when an alert opened in the horizon before it. The lead
time is the hours from the first such alert to the failure.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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


def alert_report(
    *,
    machine_codes: np.ndarray,
    times: np.ndarray,
    scores: np.ndarray,
    failures: Sequence[tuple[str, float]],
    threshold: float,
    horizon_seconds: float,
    max_gap_seconds: float,
) -> AlertReport:
    """`failures`: (machine code, failure time) in the evaluated period; times in epoch seconds.

    Instants more than `max_gap_seconds` apart do not continue an alert (the machine was down or
    silent in between), so one long silence splits it in two.
    """
    machine_codes = np.asarray(machine_codes).astype(str)
    times = np.asarray(times, dtype=np.float64)
    above = np.asarray(scores) >= threshold
    failures_by_machine: dict[str, list[float]] = {}
    for code, failed_at in failures:
        failures_by_machine.setdefault(code, []).append(failed_at)

    alerts = true_alerts = 0
    opened_by_machine: dict[str, list[float]] = {}
    for code in np.unique(machine_codes):
        mine = np.flatnonzero(machine_codes == code)
        mine = mine[np.argsort(times[mine], kind="stable")]
        opened: list[tuple[float, float]] = []  # (opened, last instant) of each alert
        for index in mine:
            if not above[index]:
                if opened and opened[-1][1] is not None:
                    opened[-1] = (opened[-1][0], None)  # closed
                continue
            t = times[index]
            if opened and opened[-1][1] is not None and t - opened[-1][1] <= max_gap_seconds:
                opened[-1] = (opened[-1][0], t)
            else:
                opened.append((t, t))
        machine_failures = failures_by_machine.get(code, [])
        for start, _ in opened:
            alerts += 1
            if any(start <= failed <= start + horizon_seconds for failed in machine_failures):
                true_alerts += 1
        opened_by_machine[code] = [start for start, _ in opened]

    leads = []
    for code, failed_at in failures:
        starts = [s for s in opened_by_machine.get(code, []) if failed_at - horizon_seconds <= s <= failed_at]
        if starts:
            leads.append((failed_at - min(starts)) / 3600.0)
    return AlertReport(alerts, true_alerts, len(failures), len(leads), tuple(leads))
