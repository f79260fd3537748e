"""How well the predictions did, per month and per source, on a hand-built history, every figure
worked out by hand.

Now is Sunday 15 March 2026 00:00 (UTC plant); the horizon is 24 h; three machines, A, B and C.
February has 4 weeks (12 machine-weeks), March 2 weeks so far (6 machine-weeks).

alerts (opened → cleared)                          what followed                      judged
  #1 forest  A 10 Feb 08:00 → 11 Feb 08:00          A fails 11 Feb 20:00               true, Feb; lead 36 h
  #2 rule    B 20 Feb 00:00 → 06:00                 ticket preventive_fix 01:00-05:00  true, Feb
  #3 health  C  5 Feb 00:00 → 12:00                 ticket false_alarm                 false, Feb
  #4 forest  C 25 Feb 00:00 → 10:00, marked false   nothing                            false, Feb
  #5 forest  A 28 Feb 20:00 → 1 Mar 02:00           A fails 1 Mar 10:00                true, Feb; lead 14 h
  #6 machine A 11 Feb 20:00 (its own error report)  -                                  not a prediction: left out
  #7 rule    B 14 Feb 00:00 → 02:00                 nothing                            false, Feb
  #8 health  B  3 Mar 00:00 → 12:00                 B fails 4 Mar 06:00                true, Mar; lead 30 h
  #9 rule    C 14 Mar 12:00, still open             nothing yet                        pending, Mar
  #10 forest C  8 Mar 00:00 → 06:00                 nothing                            false, Mar
and B fails 26 Feb 12:00 with no alert before it (a surprise).

February's events: A 11 Feb (caught by #1), B's prevented fault fixed 20 Feb (caught by #2), B 26 Feb
(caught by none). March's: A 1 Mar (caught by #5, opened in February), B 4 Mar (caught by #8).

             alerts true false pending  precision  events caught  recall  lead  false / machine-week
  Feb forest   3     2    1     0        2/3        3      1       1/3     36    1/12
      rule     2     1    1     0        1/2        3      1       1/3     -     1/12
      health   1     0    1     0        0          3      0       0       -     1/12
      all      6     3    3     0        1/2        3      2       2/3     36    3/12
  Mar forest   1     0    1     0        0          2      1       1/2     14    1/6
      rule     1     0    0     1        -          2      0       0       -     0
      health   1     1    0     0        1          2      1       1/2     30    0
      all      3     1    1     1        1/2        2      2       1       22    1/6
"""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from telemetry.tests.factories import MachineFactory
from tickets.models import AlertSource, AlertStatus, TicketOutcome, TicketStatus
from tickets.reports import prediction_quality
from tickets.tests.factories import AlertFactory, BreakdownFactory, ErrorCodeFactory, TicketFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 15, tzinfo=UTC)
FIGURES = [
    "alerts",
    "true_alerts",
    "false_alerts",
    "pending_alerts",
    "precision",
    "events",
    "events_caught",
    "recall",
    "median_lead_hours",
    "false_alerts_per_machine_week",
]


def at(month: int, day: int, hour: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, tzinfo=UTC)


def alert(machine, source, opened, cleared=None, **fields):
    if cleared is None:
        return AlertFactory(machine=machine, source=source, opened_at=opened, **fields)
    return AlertFactory(
        machine=machine, source=source, opened_at=opened, status=AlertStatus.CLEARED, cleared_at=cleared, **fields
    )


def resolved_ticket(machine, alert, opened, resolved, outcome):
    return TicketFactory(
        machine=machine,
        alert=alert,
        opened_at=opened,
        started_at=opened,
        status=TicketStatus.RESOLVED,
        resolved_at=resolved,
        outcome=outcome,
        resolution_notes="done",
    )


def failure(machine, down_at):
    return BreakdownFactory(machine=machine, down_at=down_at, up_at=down_at + datetime.timedelta(hours=3))


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "UTC"
    ErrorCodeFactory(code="E-BRG-01")  # every alert's error code
    a, b, c = MachineFactory(code="M-A"), MachineFactory(code="M-B"), MachineFactory(code="M-C")
    forest, rule, health = AlertSource.PREDICTION, AlertSource.RULE, AlertSource.ANOMALY

    alert(a, forest, at(2, 10, 8), at(2, 11, 8))  # 1
    failure(a, at(2, 11, 20))
    resolved_ticket(
        b, alert(b, rule, at(2, 20), at(2, 20, 6)), at(2, 20, 1), at(2, 20, 5), TicketOutcome.PREVENTIVE_FIX
    )
    resolved_ticket(c, alert(c, health, at(2, 5), at(2, 5, 12)), at(2, 5, 1), at(2, 5, 3), TicketOutcome.FALSE_ALARM)
    alert(c, forest, at(2, 25), at(2, 25, 10), marked_false_at=at(2, 25, 10), marked_false_reason="sensor loose")
    alert(a, forest, at(2, 28, 20), at(3, 1, 2))  # 5
    failure(a, at(3, 1, 10))
    alert(a, AlertSource.MACHINE, at(2, 11, 20), at(2, 12))  # 6
    alert(b, rule, at(2, 14), at(2, 14, 2))  # 7
    failure(b, at(2, 26, 12))  # a surprise
    alert(b, health, at(3, 3), at(3, 3, 12))  # 8
    failure(b, at(3, 4, 6))
    alert(c, rule, at(3, 14, 12))  # 9, still open
    alert(c, forest, at(3, 8), at(3, 8, 6))  # 10


def figures(report: dict) -> dict:
    return {
        (row["month"].month, source["source"]): [source[name] for name in FIGURES]
        for row in report["months"]
        for source in row["sources"]
    }


def test_a_hand_built_history_gives_the_figures_worked_out_by_hand(history):
    report = prediction_quality(months=2, now=NOW)

    assert figures(report) == {
        (2, "prediction"): [3, 2, 1, 0, 2 / 3, 3, 1, 1 / 3, 36, 1 / 12],
        (2, "rule"): [2, 1, 1, 0, 1 / 2, 3, 1, 1 / 3, None, 1 / 12],
        (2, "anomaly"): [1, 0, 1, 0, 0, 3, 0, 0, None, 1 / 12],
        (2, "all"): [6, 3, 3, 0, 1 / 2, 3, 2, 2 / 3, 36, 3 / 12],
        (3, "prediction"): [1, 0, 1, 0, 0, 2, 1, 1 / 2, 14, 1 / 6],
        (3, "rule"): [1, 0, 0, 1, None, 2, 0, 0, None, 0],
        (3, "anomaly"): [1, 1, 0, 0, 1, 2, 1, 1 / 2, 30, 0],
        (3, "all"): [3, 1, 1, 1, 1 / 2, 2, 2, 1, 22, 1 / 6],
    }


def test_months_are_listed_oldest_first_with_their_machine_weeks_and_the_sources_labelled(history):
    report = prediction_quality(months=2, now=NOW)

    assert (report["horizon_hours"], report["machines"]) == (24, 3)
    assert [(row["month"], row["start"], row["end"], row["machine_weeks"]) for row in report["months"]] == [
        (datetime.date(2026, 2, 1), at(2, 1), at(3, 1), 12),
        (datetime.date(2026, 3, 1), at(3, 1), at(4, 1), 6),  # the weeks that have passed
    ]
    assert [(source["source"], source["label"]) for source in report["months"][0]["sources"]] == [
        ("rule", "Raised by an alarm rule"),
        ("anomaly", "Raised by the machine's health model"),
        ("prediction", "Predicted"),
        ("all", "All predictions"),
    ]


def test_an_alert_opened_before_the_first_month_catches_its_early_failure_but_is_not_counted_in_it(history):
    march = prediction_quality(months=1, now=NOW)["months"]

    assert [row["month"] for row in march] == [datetime.date(2026, 3, 1)]
    forest = march[0]["sources"][2]
    # #5, opened on 28 February, caught A's failure of 1 March; March's own forest alert is #10 alone.
    assert (forest["alerts"], forest["events_caught"], forest["median_lead_hours"]) == (1, 1, 14)


def test_a_month_is_judged_again_as_what_followed_becomes_known(history):
    # On 9 March, #10 (8 March 00:00 → 06:00) is still within its horizon: pending, not false yet.
    march = prediction_quality(months=1, now=at(3, 9))["months"][0]
    forest = march["sources"][2]
    assert (forest["alerts"], forest["false_alerts"], forest["pending_alerts"], forest["precision"]) == (1, 0, 1, None)


def test_months_are_plant_local_calendar_months(settings):
    settings.TIME_ZONE = "Europe/Berlin"  # UTC+1 in February and March 2026
    ErrorCodeFactory(code="E-BRG-01")
    machine = MachineFactory()
    alert(machine, AlertSource.RULE, datetime.datetime(2026, 2, 28, 22, 30, tzinfo=UTC), at(2, 28, 23))  # 23:30 there
    alert(machine, AlertSource.RULE, datetime.datetime(2026, 2, 28, 23, 30, tzinfo=UTC), at(3, 1, 1))  # 1 Mar 00:30

    february, march = prediction_quality(months=2, now=NOW)["months"]

    assert march["start"] == datetime.datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert (february["sources"][0]["alerts"], march["sources"][0]["alerts"]) == (1, 1)


def test_a_month_without_alerts_or_events_measures_nothing(settings):
    settings.TIME_ZONE = "UTC"
    (month,) = prediction_quality(months=1, now=NOW)["months"]
    assert {name: month["sources"][3][name] for name in FIGURES} == {
        "alerts": 0,
        "true_alerts": 0,
        "false_alerts": 0,
        "pending_alerts": 0,
        "precision": None,
        "events": 0,
        "events_caught": 0,
        "recall": None,
        "median_lead_hours": None,
        "false_alerts_per_machine_week": None,  # no machines
    }


def test_the_queries_do_not_grow_with_the_months(history):
    with CaptureQueriesContext(connection) as one_month:
        prediction_quality(months=1, now=NOW)
    with CaptureQueriesContext(connection) as two_years:
        prediction_quality(months=24, now=NOW)
    assert len(two_years) == len(one_month) <= 8


# --- the API ------------------------------------------------------------------------------------


@pytest.fixture
def manager_client(api_client, manager):
    api_client.force_authenticate(manager)
    return api_client


def test_the_api_answers_for_the_months_asked(history, manager_client):
    with time_machine.travel(NOW, tick=False):
        response = manager_client.get("/api/reports/prediction-quality/", {"months": 2})

    assert response.status_code == 200
    body = response.json()
    assert (body["horizon_hours"], body["machines"]) == (24, 3)
    assert [row["month"] for row in body["months"]] == ["2026-02-01", "2026-03-01"]
    march_all = body["months"][1]["sources"][3]
    assert march_all == {
        "source": "all",
        "label": "All predictions",
        "alerts": 3,
        "true_alerts": 1,
        "false_alerts": 1,
        "pending_alerts": 1,
        "events": 2,
        "events_caught": 2,
        "precision": 0.5,
        "recall": 1.0,
        "median_lead_hours": 22.0,
        "false_alerts_per_machine_week": 1 / 6,
    }


def test_the_api_defaults_to_the_last_six_months(settings, manager_client):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(NOW, tick=False):
        months = manager_client.get("/api/reports/prediction-quality/").json()["months"]
    assert [row["month"] for row in months] == [
        "2025-10-01",
        "2025-11-01",
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
    ]


@pytest.mark.parametrize(
    ("months", "message"),
    [("0", "greater than or equal to 1"), ("25", "less than or equal to 24"), ("half", "valid integer")],
)
def test_bad_months_are_refused_saying_why(manager_client, months, message):
    response = manager_client.get("/api/reports/prediction-quality/", {"months": months})
    assert response.status_code == 400
    assert message in response.json()["months"][0]


def test_technicians_may_not_read_it(api_client, technician):
    api_client.force_authenticate(technician)
    assert api_client.get("/api/reports/prediction-quality/").status_code == 403
