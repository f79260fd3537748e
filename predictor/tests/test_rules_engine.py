"""The alarm rules' judgement on a machine's per-minute means (predictor.ml.rules, no Django)."""

import numpy as np
import pytest

from predictor.ml.features import MachineWindow
from predictor.ml.rules import ABOVE, BELOW, FALLING, RISING, Rule, rule_findings

NOW = 1_800_000_000.0


def window(values, *, metric="vibration", end=NOW) -> MachineWindow:
    """Per-minute means, the last at `end` (minute middles, one minute apart)."""
    values = np.asarray(values, dtype=np.float64)
    ts = end - 60.0 * np.arange(len(values))[::-1]
    return MachineWindow(machine_code="M-1", ts=ts, values={metric: values})


def rule(kind=ABOVE, limit=7.1, minutes=5, metric="vibration") -> Rule:
    return Rule(
        key="rule:1", metric=metric, kind=kind, limit=limit, minutes=minutes, error_code="E-INS-01", unit="mm/s"
    )


def test_above_holds_once_every_minute_of_its_duration_is_past_the_limit():
    calm, four_high, six_high = [3.0] * 20, [3.0] * 16 + [7.4] * 4, [3.0] * 14 + [7.2] * 5 + [7.4]

    assert rule_findings(window(calm), [rule()], now_ts=NOW) == []
    assert rule_findings(window(four_high), [rule()], now_ts=NOW) == []
    [finding] = rule_findings(window(six_high), [rule()], now_ts=NOW)
    assert finding.held_minutes == 6
    assert finding.why == "vibration 7.4 mm/s above 7.1 for 6 min"


def test_one_minute_back_under_the_limit_breaks_it():
    values = [3.0] * 10 + [7.5] * 4 + [6.0] + [7.5] * 4
    assert rule_findings(window(values), [rule()], now_ts=NOW) == []


def test_below_holds_for_a_level_that_stays_under_its_limit():
    [finding] = rule_findings(window([5.0] * 10 + [0.4] * 6, metric="flow"), [rule(BELOW, 0.5, 5, "flow")], now_ts=NOW)
    assert finding.why == "flow 0.4 mm/s below 0.5 for 6 min"


@pytest.mark.parametrize(
    ("kind", "per_minute", "holds"), [(RISING, 0.1, True), (RISING, 0.05, False), (FALLING, -0.1, True)]
)
def test_a_rate_rule_compares_the_slope_per_hour(kind, per_minute, holds):
    values = 60.0 + per_minute * np.arange(30)  # 0.1 per minute is 6 per hour
    findings = rule_findings(window(values, metric="temperature"), [rule(kind, 5.0, 30, "temperature")], now_ts=NOW)

    assert bool(findings) == holds
    if holds:
        assert findings[0].why == f"temperature {kind} 6 mm/s per hour over 30 min (limit 5 mm/s per hour)"


def test_a_span_with_too_many_missing_minutes_or_a_silent_machine_raises_nothing():
    gappy = [3.0] * 10 + [7.5, np.nan, np.nan, 7.5, 7.5]
    assert rule_findings(window(gappy), [rule()], now_ts=NOW) == []
    assert rule_findings(window([7.5] * 10), [rule()], now_ts=NOW + 600) == []
    assert rule_findings(window([7.5] * 10), [rule(metric="temperature")], now_ts=NOW) == []


def test_a_missing_minute_inside_a_long_run_does_not_break_it():
    values = [3.0] * 5 + [7.5] * 10 + [np.nan] + [7.5] * 9
    [finding] = rule_findings(window(values), [rule(minutes=20)], now_ts=NOW)
    assert finding.held_minutes == 20
