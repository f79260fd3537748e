"""How alerts did against what the plant recorded: precision, recall, lead and false alerts per
machine-week, judged on the plant's own outcomes, never on a simulator's ground truth.

The same judgement serves the alerts that were raised (the Reports page) and the alerts a challenger
would have raised in shadow (predictor.shadow), so the two are compared on equal terms.

- An alert is right when its machine failed while it was open or within the horizon after it closed,
  or when a fault was fixed before failing (a ticket resolved "preventive fix") while it was open or
  within the horizon after: the fault was present, seen `noticed_at`, gone `fixed_at`.
- An alert is false when nothing of the kind followed within the horizon; one whose horizon has not
  passed yet (still open, or closed less than a horizon ago) and that nothing confirmed is pending,
  neither right nor false, unless a person already said it was false.
- A failure or prevented fault is caught when an alert of its machine was open at some point of the
  horizon before it (before the failure; before the fault was fixed). The lead time is the hours from
  the first such alert's opening to the failure; a prevented fault has no failure time and so no lead.

Times are epoch seconds.
"""

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from predictor.ml.alerts import AlertHysteresis, alert_runs

WEEK_S = 7 * 86400.0


@dataclass(frozen=True)
class AlertSpan:
    machine_code: str
    opened: float
    closed: float | None = None  # None: still open
    source: str = ""
    marked_false: bool = False  # a person said so (a false-alarm ticket, an alert marked false)


@dataclass(frozen=True)
class PlantOutcomes:
    """What the plant recorded: failures (machine code, failed at) and faults prevented (machine code,
    noticed at, fixed at)."""

    failures: Sequence[tuple[str, float]] = ()
    prevented: Sequence[tuple[str, float, float]] = ()


@dataclass(frozen=True)
class OutcomeReport:
    alerts: int
    true_alerts: int
    false_alerts: int
    pending_alerts: int
    events: int  # failures and prevented faults
    events_caught: int
    lead_times_hours: tuple[float, ...] = field(default=())
    machine_weeks: float = 0.0

    @property
    def precision(self) -> float | None:
        judged = self.true_alerts + self.false_alerts
        return self.true_alerts / judged if judged else None

    @property
    def recall(self) -> float | None:
        return self.events_caught / self.events if self.events else None

    @property
    def median_lead_hours(self) -> float | None:
        return statistics.median(self.lead_times_hours) if self.lead_times_hours else None

    @property
    def false_alerts_per_machine_week(self) -> float | None:
        return self.false_alerts / self.machine_weeks if self.machine_weeks else None

    def as_dict(self) -> dict:
        """Counts and figures, JSON-ready (None: not measurable yet)."""
        return {
            "alerts": self.alerts,
            "true_alerts": self.true_alerts,
            "false_alerts": self.false_alerts,
            "pending_alerts": self.pending_alerts,
            "events": self.events,
            "events_caught": self.events_caught,
            "precision": self.precision,
            "recall": self.recall,
            "median_lead_hours": self.median_lead_hours,
            "false_alerts_per_machine_week": self.false_alerts_per_machine_week,
        }


def outcome_report(
    alerts: Iterable[AlertSpan],
    outcomes: PlantOutcomes,
    *,
    horizon_s: float,
    now: float,
    machine_weeks: float = 0.0,
) -> OutcomeReport:
    """Judge `alerts` against `outcomes` as of `now` (see the module's rules)."""
    failures_of: dict[str, list[float]] = {}
    for code, failed_at in outcomes.failures:
        failures_of.setdefault(code, []).append(failed_at)
    prevented_of: dict[str, list[tuple[float, float]]] = {}
    for code, noticed_at, fixed_at in outcomes.prevented:
        prevented_of.setdefault(code, []).append((noticed_at, fixed_at))

    spans_of: dict[str, list[tuple[float, float]]] = {}
    true_alerts = false_alerts = pending = total = 0
    for alert in alerts:
        total += 1
        closed = now if alert.closed is None else alert.closed
        spans_of.setdefault(alert.machine_code, []).append((alert.opened, closed))
        reach = closed + horizon_s
        confirmed = any(alert.opened <= failed <= reach for failed in failures_of.get(alert.machine_code, ())) or any(
            alert.opened <= fixed_at and noticed_at <= reach
            for noticed_at, fixed_at in prevented_of.get(alert.machine_code, ())
        )
        if confirmed:
            true_alerts += 1
        elif reach > now and not alert.marked_false:
            pending += 1
        else:
            false_alerts += 1

    def first_opening(code: str, until: float) -> float | None:
        openings = [
            opened for opened, closed in spans_of.get(code, ()) if opened <= until and closed >= until - horizon_s
        ]
        return min(openings) if openings else None

    leads, caught = [], 0
    for code, failed_at in outcomes.failures:
        opened = first_opening(code, failed_at)
        if opened is not None:
            caught += 1
            leads.append((failed_at - opened) / 3600.0)
    for code, _noticed_at, fixed_at in outcomes.prevented:
        if first_opening(code, fixed_at) is not None:
            caught += 1
    return OutcomeReport(
        alerts=total,
        true_alerts=true_alerts,
        false_alerts=false_alerts,
        pending_alerts=pending,
        events=len(outcomes.failures) + len(outcomes.prevented),
        events_caught=caught,
        lead_times_hours=tuple(leads),
        machine_weeks=machine_weeks,
    )


def would_have_alerted(
    *,
    machine_codes: np.ndarray,
    times: np.ndarray,
    scores: np.ndarray,
    hysteresis: AlertHysteresis,
    max_gap_seconds: float,
    now: float,
    may_open: np.ndarray | None = None,
) -> list[AlertSpan]:
    """The alerts a model's scores would have raised (alert_runs, `may_open` included); one held open
    at its last score within `max_gap_seconds` of `now` is still open."""
    runs = alert_runs(
        machine_codes=machine_codes,
        times=times,
        scores=scores,
        hysteresis=hysteresis,
        max_gap_seconds=max_gap_seconds,
        may_open=may_open,
    )
    return [
        AlertSpan(code, opened=opened, closed=None if now - last <= max_gap_seconds else last)
        for code, spans in runs.items()
        for opened, last in spans
    ]
