"""Alerts judged on the plant's own outcomes (predictor.ml.outcomes), figures worked out by hand."""

from predictor.ml.outcomes import AlertSpan, PlantOutcomes, outcome_report

H = 3600.0
HORIZON = 24 * H


def test_a_failure_within_the_horizon_confirms_the_alert_and_gives_its_lead():
    alerts = [AlertSpan("M-1", opened=10 * H, closed=12 * H)]
    report = outcome_report(
        alerts, PlantOutcomes(failures=[("M-1", 30 * H)]), horizon_s=HORIZON, now=100 * H, machine_weeks=1.0
    )
    assert (report.true_alerts, report.false_alerts, report.pending_alerts) == (1, 0, 0)
    assert report.recall == 1.0
    assert report.median_lead_hours == 20.0
    assert report.false_alerts_per_machine_week == 0.0


def test_a_failure_past_the_horizon_leaves_the_alert_false_and_the_failure_missed():
    alerts = [AlertSpan("M-1", opened=10 * H, closed=12 * H)]
    report = outcome_report(alerts, PlantOutcomes(failures=[("M-1", 37 * H)]), horizon_s=HORIZON, now=100 * H)
    assert (report.true_alerts, report.false_alerts) == (0, 1)
    assert report.precision == 0.0
    assert report.recall == 0.0
    assert report.median_lead_hours is None


def test_a_prevented_fault_confirms_an_alert_open_before_it_was_fixed_but_gives_no_lead():
    alerts = [AlertSpan("M-1", opened=5 * H, closed=9 * H), AlertSpan("M-2", opened=5 * H, closed=9 * H)]
    outcomes = PlantOutcomes(prevented=[("M-1", 20 * H, 26 * H)])
    report = outcome_report(alerts, outcomes, horizon_s=HORIZON, now=100 * H, machine_weeks=2.0)
    assert (report.true_alerts, report.false_alerts) == (1, 1)
    assert report.precision == 0.5
    assert (report.events, report.events_caught) == (1, 1)
    assert report.lead_times_hours == ()
    assert report.false_alerts_per_machine_week == 0.5


def test_an_alert_whose_horizon_has_not_passed_is_pending_unless_a_person_said_it_was_false():
    alerts = [
        AlertSpan("M-1", opened=90 * H, closed=None),
        AlertSpan("M-2", opened=80 * H, closed=90 * H),
        AlertSpan("M-3", opened=80 * H, closed=90 * H, marked_false=True),
    ]
    report = outcome_report(alerts, PlantOutcomes(), horizon_s=HORIZON, now=100 * H)
    assert (report.alerts, report.true_alerts, report.false_alerts, report.pending_alerts) == (3, 0, 1, 2)
    assert report.precision == 0.0
    assert report.recall is None


def test_a_failure_is_caught_by_the_earliest_alert_open_within_its_horizon():
    alerts = [
        AlertSpan("M-1", opened=1 * H, closed=2 * H),  # closed more than a horizon before the failure
        AlertSpan("M-1", opened=20 * H, closed=21 * H),
        AlertSpan("M-1", opened=40 * H, closed=None),
    ]
    report = outcome_report(alerts, PlantOutcomes(failures=[("M-1", 44 * H)]), horizon_s=HORIZON, now=50 * H)
    assert report.lead_times_hours == (24.0,)
    assert (report.true_alerts, report.false_alerts) == (2, 1)
    assert report.as_dict()["precision"] == 2 / 3
