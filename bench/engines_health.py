"""The health model's external check on real engines: C-MAPSS FD001's training units as machines nobody
labelled, each learning from its first 50 cycles. A section of `bench/models.py --only cmapss-health`
and of `bench/transfer.py` (make bench-transfer); no TensorFlow here.
"""

import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from predictor.ml.cmapss import load_subset  # noqa: E402
from predictor.ml.cmapss_health import (  # noqa: E402
    TARGET_ALARMED_SHARE,
    TARGET_MEDIAN_LEAD,
    TARGET_TOO_EARLY_SHARE,
    HealthCheckReport,
    HealthCheckSettings,
    health_check,
)

# The health model's settings on C-MAPSS: chosen by reasoning among those run on units 1-50 only (see the note).
CMAPSS_HEALTH_SETTINGS = HealthCheckSettings(false_alarm_rate=1e-3, persistence=5, smoothing_cycles=5, top_k=3)
CMAPSS_HEALTH_SENSITIVITY = tuple(
    HealthCheckSettings(false_alarm_rate=rate, persistence=persistence, smoothing_cycles=smoothing, top_k=top_k)
    for rate in (1e-2, 1e-3)
    for persistence in (3, 5)
    for smoothing in (5, 10)
    for top_k in (3, None)
)
CMAPSS_HEALTH_TUNING_UNITS = tuple(range(1, 51))
CMAPSS_HEALTH_HELD_OUT_UNITS = tuple(range(51, 101))


def _met(value: float, target: float, *, at_least: bool) -> str:
    return "met" if (value >= target if at_least else value <= target) else "**not met**"


def _health_row(label: str, report: HealthCheckReport) -> str:
    alarmed = _met(report.alarmed_share, TARGET_ALARMED_SHARE, at_least=True)
    return (
        f"| {label} | {report.units} | {report.alarmed_share:.0%} ({alarmed}) "
        f"| {report.median_lead:.0f} ({_met(report.median_lead, TARGET_MEDIAN_LEAD, at_least=True)}) "
        f"| {report.too_early_share:.0%} ({_met(report.too_early_share, TARGET_TOO_EARLY_SHARE, at_least=False)}) "
        f"| {min(report.leads, default=float('nan'))}-{max(report.leads, default=float('nan'))} |"
    )


def engines_health_section(datasets: Path) -> str:
    """FD001's training units as machines nobody labelled: the plant's HealthModel, learning 50 cycles each."""
    started = time.perf_counter()
    table = load_subset("FD001", datasets / "cmapss").train
    settings = CMAPSS_HEALTH_SETTINGS
    every_unit = health_check(table, settings)
    tuning = health_check(table, settings, units=CMAPSS_HEALTH_TUNING_UNITS)
    held_out = health_check(table, settings, units=CMAPSS_HEALTH_HELD_OUT_UNITS)
    print(f"C-MAPSS health: {time.perf_counter() - started:.1f} s for the three runs", flush=True)
    alarm_cycles = [outcome.alarm_cycle for outcome in every_unit.outcomes if outcome.alarm_cycle is not None]
    soon_after_learning = sum(cycle <= settings.learning_cycles + 20 for cycle in alarm_cycles)
    top_k = "all" if settings.top_k is None else settings.top_k
    lines = [
        "## C-MAPSS FD001: the per-machine health model on engines nobody labelled",
        "",
        f"Each of FD001's {every_unit.units} training units is a machine: its `HealthModel` (predictor/ml/health.py, "
        f"the class the plant's machines use) learns from its first {settings.learning_cycles} cycles only and "
        "scores every later cycle. Features: the 14 informative sensors, each a causal trailing mean over "
        f"{settings.smoothing_cycles} cycles. Score: mean of the top {top_k} squared robust z; threshold at a "
        f"false-alarm rate of {settings.false_alarm_rate:g} per cycle on cross-fitted learning cycles. Alarm: "
        f"{settings.persistence} consecutive cycles past the threshold. Lead: cycles left from the alarm to the "
        f"unit's last cycle; too early: an alarm with more than {settings.too_early_cycles} cycles to go.",
        "",
        "| units | n | alarmed before failure (target ≥ 90 %) | median lead, cycles (target ≥ 20) "
        "| too early (target ≤ 10 %) | lead range |",
        "|---|---|---|---|---|---|",
        _health_row("**all 100 training units**", every_unit),
        _health_row("units 1-50 (the sensitivity runs below saw these)", tuning),
        _health_row("units 51-100 (seen by no run before this table)", held_out),
        "",
        f"Alarms within 20 cycles of the end of learning (cycle ≤ {settings.learning_cycles + 20}, a sign of "
        f"a threshold too tight rather than of wear): {soon_after_learning} of {every_unit.units} units.",
        "",
        "How the settings were fixed: the sensitivity runs below (units 1-50 only) all met the three targets; "
        "among them the choice was made by reasoning, not by the best figure: 5 cycles of trailing mean (a tenth "
        "of the learning period) to damp the sensor noise, 5 cycles of persistence (the hysteresis' idea), the "
        "machines' own top 3, and one raw exceedance per 1,000 cycles (several engine lives) rather than per 100. "
        "Units 51-100 stayed out of every run until the settings were fixed, so their row is the independent "
        "figure (the all-units row shares half its units with the sensitivity runs).",
        "",
        "| false-alarm rate | persistence | smoothing | top k | alarmed | median lead | too early |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in CMAPSS_HEALTH_SENSITIVITY:
        report = health_check(table, variant, units=CMAPSS_HEALTH_TUNING_UNITS)
        lines.append(
            f"| {variant.false_alarm_rate:g} | {variant.persistence} | {variant.smoothing_cycles} "
            f"| {'all' if variant.top_k is None else variant.top_k} | {report.alarmed_share:.0%} "
            f"| {report.median_lead:.0f} | {report.too_early_share:.0%} |"
        )
    lines += ["", f"Units 1-50 only; {time.perf_counter() - started:.1f} s for the section.", ""]
    return "\n".join(lines)
