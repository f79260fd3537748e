"""Alarm rules on a machine's per-minute means: no model, no labels, no Django.

A rule watches one metric of a machine over its last `minutes` minutes of per-minute means (the
roll-ups the predictor already reads for its windows):
- ABOVE / BELOW: every minute of the span beyond the limit ("vibration ≥ 7.1 mm/s for 5 min"); a
  vibration zone (ISO 10816) is an ABOVE rule whose limit is the zone's lower boundary;
- RISING / FALLING: the least-squares slope over the span steeper than the limit, in units per hour
  ("temperature rising > 5 °C per hour over 30 min").
A span must be mostly there (COVERAGE of its minutes) and recent (a silent machine's last minutes
raise nothing: the sensor checks speak for it). A rule that holds gives a finding with its why in
words; the alerts' hysteresis (holding on for a while after the rule stops holding) is the
tickets app's, as for predictions.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from predictor.ml.features import MachineWindow

ABOVE = "above"
BELOW = "below"
RISING = "rising"
FALLING = "falling"
RULE_KINDS = (ABOVE, BELOW, RISING, FALLING)

MINUTE_S = 60.0
# Share of a span's minutes that must have a mean: a gateway that drops a reading now and then
# does not silence a rule, a sensor that sends one minute in three does.
COVERAGE = 0.8
# The newest minute must be this recent; older, the machine has gone quiet.
STALE_AFTER_S = 5 * MINUTE_S
# How long a reading must stay past its metric's alarm limit before the default rule holds: one bad
# minute is noise, five in a row is the machine.
DEFAULT_RULE_MINUTES = 5


@dataclass(frozen=True)
class Rule:
    """One rule as a machine is judged by it: its own, its type's, or its metric spec's default."""

    key: str  # what the tickets remember it by: "rule:<id>" or "spec:<id>:above"
    metric: str
    kind: str
    limit: float  # a level in the metric's unit; for RISING/FALLING, units per hour (positive)
    minutes: int
    error_code: str
    unit: str = ""
    name: str = ""  # what the supervisor called it, e.g. "ISO 10816 class II zone D"


@dataclass(frozen=True)
class RuleFinding:
    machine_code: str
    rule: Rule
    value: float  # the newest minute's mean, or the slope per hour
    held_minutes: int
    why: str


def alarm_limit_rules(
    *,
    key: str,
    metric: str,
    unit: str,
    alarm_min: float | None,
    alarm_max: float | None,
    error_code: str,
    minutes: int = DEFAULT_RULE_MINUTES,
) -> list[Rule]:
    """The default rules of a metric's alarm limits: past either of them for `minutes`."""
    return [
        Rule(
            key=f"{key}:{kind}",
            metric=metric,
            kind=kind,
            limit=limit,
            minutes=minutes,
            error_code=error_code,
            unit=unit,
            name=f"{metric} past its alarm limit",
        )
        for kind, limit in ((ABOVE, alarm_max), (BELOW, alarm_min))
        if limit is not None
    ]


def rule_findings(window: MachineWindow, rules: Sequence[Rule], *, now_ts: float) -> list[RuleFinding]:
    """The rules that hold for this machine at `now_ts` (epoch seconds)."""
    if not len(window.ts) or now_ts - window.ts[-1] > STALE_AFTER_S:
        return []
    findings = []
    for rule in rules:
        values = window.values.get(rule.metric)
        if values is None:
            continue
        finding = _judge(window, values, rule)
        if finding is not None:
            findings.append(finding)
    return findings


def _judge(window: MachineWindow, values: np.ndarray, rule: Rule) -> RuleFinding | None:
    ts = window.ts
    newest = ts[-1]
    start = np.searchsorted(ts, newest - rule.minutes * MINUTE_S, side="right")
    span_ts, span = ts[start:], values[start:]
    present = ~np.isnan(span)
    if present.sum() < max(1, COVERAGE * rule.minutes):
        return None
    span_ts, span = span_ts[present], span[present]
    unit = f" {rule.unit}" if rule.unit else ""
    if rule.kind in (ABOVE, BELOW):
        beyond = span >= rule.limit if rule.kind == ABOVE else span <= rule.limit
        if not beyond.all():
            return None
        held = _held_minutes(ts, values, rule)
        value = float(span[-1])
        why = f"{rule.metric} {value:.3g}{unit} {rule.kind} {rule.limit:g} for {held} min"
        return RuleFinding(window.machine_code, rule, value, held, why)
    if len(span) < 2:  # a slope needs two points
        return None
    hours = (span_ts - span_ts.mean()) / 3600.0
    slope = float((hours * (span - span.mean())).sum() / (hours * hours).sum())
    if not (slope > rule.limit if rule.kind == RISING else slope < -rule.limit):
        return None
    why = (
        f"{rule.metric} {rule.kind} {abs(slope):.3g}{unit} per hour over {rule.minutes} min "
        f"(limit {rule.limit:g}{unit} per hour)"
    )
    return RuleFinding(window.machine_code, rule, slope, rule.minutes, why)


def _held_minutes(ts: np.ndarray, values: np.ndarray, rule: Rule) -> int:
    """How long the metric has stayed beyond the limit, counted back from the newest minute
    (missing minutes do not break the run)."""
    beyond = values >= rule.limit if rule.kind == ABOVE else values <= rule.limit
    broken = np.flatnonzero(~beyond & ~np.isnan(values))
    first = broken[-1] + 1 if len(broken) else 0
    return round(float(ts[-1] - ts[first]) / MINUTE_S) + 1
