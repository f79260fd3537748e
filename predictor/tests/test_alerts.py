import numpy as np
import pytest

from predictor.ml.alerts import AlertHysteresis, alert_report, alert_runs

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


def test_an_alert_that_opened_early_and_stayed_open_caught_the_failure():
    times = np.arange(0, 60) * HOUR
    report = alert_report(
        machine_codes=np.array(["M-1"] * 60),
        times=times,
        scores=np.where(times >= 10 * HOUR, 0.95, 0.1),  # open from 10 h, failure at 50 h
        failures=[("M-1", 50 * HOUR)],
        threshold=0.8,
        horizon_seconds=24 * HOUR,
        max_gap_seconds=2 * HOUR,
    )
    assert (report.alerts, report.true_alerts, report.failures_caught) == (1, 1, 1)
    assert report.median_lead_hours == 40.0


def test_a_probability_wavering_around_the_threshold_is_one_alert_until_it_falls_below_the_clear_threshold():
    times = np.arange(0, 12) * HOUR
    scores = np.array([0.1, 0.85, 0.7, 0.82, 0.6, 0.9, 0.3, 0.2, 0.81, 0.4, 0.1, 0.1])
    report = alert_report(
        machine_codes=np.array(["M-1"] * 12),
        times=times,
        scores=scores,
        failures=[],
        threshold=0.8,
        clear_threshold=0.5,
        horizon_seconds=24 * HOUR,
        max_gap_seconds=2 * HOUR,
    )
    assert report.alerts == 2  # 1-5 h is one alert; the one at 8 h is another


def states(hysteresis: AlertHysteresis, probabilities: list[float]) -> list[bool]:
    """Whether the alert is open after each probability, from closed."""
    is_open, seen = False, []
    for probability in probabilities:
        is_open = hysteresis.next_open(is_open, probability)
        seen.append(is_open)
    return seen


def test_an_alert_opens_at_the_threshold_and_stays_open_until_the_probability_falls_below_the_clear_threshold():
    hysteresis = AlertHysteresis(threshold=0.8, clear_threshold=0.5)
    probabilities = [0.79, 0.8, 0.6, 0.5, 0.49, 0.6, 0.79, 0.95]
    assert states(hysteresis, probabilities) == [False, True, True, True, False, False, False, True]


def test_without_a_clear_threshold_an_alert_clears_as_soon_as_the_probability_is_below_the_threshold():
    assert states(AlertHysteresis(threshold=0.8), [0.9, 0.79, 0.85, 0.8]) == [True, False, True, True]


@pytest.mark.parametrize(
    ("probability", "opens", "holds"),
    [(0.3, False, False), (0.5, False, True), (0.7, False, True), (0.8, True, True), (1.0, True, True)],
)
def test_opens_and_holds_are_the_rule_from_a_closed_and_from_an_open_alert(probability, opens, holds):
    hysteresis = AlertHysteresis(threshold=0.8, clear_threshold=0.5)
    assert (hysteresis.opens(probability), hysteresis.holds(probability)) == (opens, holds)


def test_a_score_the_plant_did_not_believe_opens_no_alert_but_one_believed_later_does_and_stays_open():
    """may_open: the product's doubt (Scorer.forest_doubted). High from 1 h, believed only from 4 h:
    the alert opens at 4 h and stays open through the doubted 6 h, until the score falls at 8 h."""
    scores = np.array([0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1])

    def runs(may_open: list[bool]) -> dict:
        return alert_runs(
            machine_codes=np.array(["M-1"] * 10),
            times=np.arange(0, 10) * HOUR,
            scores=scores,
            hysteresis=AlertHysteresis(0.8, 0.5),
            max_gap_seconds=2 * HOUR,
            may_open=np.array(may_open),
        )

    assert runs([True, False, False, False, True, True, False, True, True, True]) == {"M-1": [(4 * HOUR, 7 * HOUR)]}
    assert runs([False] * 10) == {"M-1": []}
    assert runs([True] * 10) == {"M-1": [(1 * HOUR, 7 * HOUR)]}
