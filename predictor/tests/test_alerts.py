import numpy as np

from predictor.ml.alerts import alert_report

HOUR = 3600.0


def test_alerts_are_runs_above_threshold_judged_against_the_failures_after_them():
    times = np.arange(0, 40) * HOUR
    # M-1 fails at 30 h; the score rises from 20 h: one alert, 10 h ahead.
    # M-2 never fails; a blip at 5-6 h is one false alert.
    scores_1 = np.where(times >= 20 * HOUR, 0.9, 0.1)
    scores_2 = np.where((times >= 5 * HOUR) & (times <= 6 * HOUR), 0.85, 0.2)
    report = alert_report(
        machine_codes=np.array(["M-1"] * 40 + ["M-2"] * 40),
        times=np.concatenate([times, times]),
        scores=np.concatenate([scores_1, scores_2]),
        failures=[("M-1", 30 * HOUR)],
        threshold=0.8,
        horizon_seconds=24 * HOUR,
        max_gap_seconds=2 * HOUR,
    )
    assert (report.alerts, report.true_alerts, report.failures, report.failures_caught) == (2, 1, 1, 1)
    assert report.precision == 0.5
    assert report.median_lead_hours == 10.0


def test_a_failure_without_an_alert_in_its_horizon_is_missed():
    times = np.arange(0, 10) * HOUR
    report = alert_report(
        machine_codes=np.array(["M-1"] * 10),
        times=times,
        scores=np.full(10, 0.5),
        failures=[("M-1", 8 * HOUR)],
        threshold=0.8,
        horizon_seconds=24 * HOUR,
        max_gap_seconds=2 * HOUR,
    )
    assert (report.alerts, report.failures_caught, report.recall) == (0, 0, 0.0)
