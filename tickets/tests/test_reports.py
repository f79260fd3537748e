"""The plant report on a hand-built week, every figure worked out by hand, edges included.

The week is Monday 2 to Sunday 8 November 2026 (UTC plant): [2 Nov 00:00, 9 Nov 00:00), 168 hours,
three machines.

breakdowns (down → up)                     in the week?        downtime in it   repaired in it
  #1 A  1 Nov 22:00 → 2 Nov 02:00 (4 h)     no, began before    2 h              yes, 4 h
  #2 A  3 Nov 10:00 → 16:00 (6 h)           yes, predicted 6 h  6 h              yes, 6 h
  #3 B  5 Nov 08:00 → 11:00 (3 h)           yes, surprise       3 h              yes, 3 h
  #4 B  8 Nov 23:00 → 9 Nov 03:00 (4 h)     yes, predicted 2 h  1 h              no, after
  #5 C  9 Nov 00:00 → 02:00                 no, the end is out  0 h              no
  #6 C  2 Nov 00:00 → 01:00 (1 h)           yes, predicted 12 h 1 h              yes, 1 h

breakdowns 4 (3 predicted, 1 surprise) on 3 machines; downtime 13 h (A 8, B 4, C 1);
MTTR (4 + 6 + 3 + 1) / 4 = 3.5 h (A 5, B 3, C 1); MTBF (3 * 168 - 13) / 4 = 122.75 h
(A 160, B 82, C 167); median lead time of 2, 6, 12 h = 6 h.

tickets: T1 opened 1 Nov, resolved 2 Nov (predicted, failure confirmed); T2 3 Nov (predicted,
failure confirmed); T3 4 Nov (predicted, false alarm); T4 6 Nov (predicted, preventive fix);
T5 opened 8 Nov, resolved 9 Nov; T6 5 Nov (reported by the machine); T7 7 Nov, open;
T8 opened 9 Nov 00:00. Opened 6 (T2-T7), resolved 5 (T1-T4, T6); alert precision
(T1, T2, T4) / (T1-T4) = 0.75.
"""

import csv
import datetime
import io

import pytest
from django.utils import timezone

from telemetry.tests.factories import MachineFactory
from tickets.models import AlertSource, AlertStatus, TicketOutcome, TicketStatus
from tickets.reports import Period, plant_report
from tickets.tests.factories import AlertFactory, BreakdownFactory, ErrorCodeFactory, TicketFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
WEEK = Period.of_days(first_day=datetime.date(2026, 11, 2), last_day=datetime.date(2026, 11, 8))
AFTER_THE_WEEK = datetime.datetime(2026, 11, 20, tzinfo=UTC)


def at(day: int, hour: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, tzinfo=UTC)


def cleared_alert(machine, code, opened: datetime.datetime, source=AlertSource.PREDICTION):
    return AlertFactory(
        machine=machine,
        error_code=code,
        source=source,
        opened_at=opened,
        status=AlertStatus.CLEARED,
        cleared_at=opened + datetime.timedelta(hours=30),
    )


def ticket(machine, opened, resolved=None, outcome="", alert=None):
    if resolved is None:
        return TicketFactory(machine=machine, alert=alert, opened_at=opened)
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


@pytest.fixture
def week(settings):
    settings.TIME_ZONE = "UTC"
    a, b, c = MachineFactory(code="M-A"), MachineFactory(code="M-B"), MachineFactory(code="M-C")
    code = ErrorCodeFactory(code="E-BRG-01")
    BreakdownFactory(machine=a, down_at=at(1, 22), up_at=at(2, 2))
    BreakdownFactory(machine=a, down_at=at(3, 10), up_at=at(3, 16), predicted_by=cleared_alert(a, code, at(3, 4)))
    BreakdownFactory(machine=b, down_at=at(5, 8), up_at=at(5, 11))
    BreakdownFactory(machine=b, down_at=at(8, 23), up_at=at(9, 3), predicted_by=cleared_alert(b, code, at(8, 21)))
    BreakdownFactory(machine=c, down_at=at(9, 0), up_at=at(9, 2))
    BreakdownFactory(machine=c, down_at=at(2, 0), up_at=at(2, 1), predicted_by=cleared_alert(c, code, at(1, 12)))

    confirmed, false_alarm, fix = (
        TicketOutcome.FAILURE_CONFIRMED,
        TicketOutcome.FALSE_ALARM,
        TicketOutcome.PREVENTIVE_FIX,
    )
    ticket(a, at(1, 23), at(2, 2), confirmed, cleared_alert(a, code, at(1, 20)))
    ticket(a, at(3, 4), at(3, 16), confirmed, cleared_alert(a, code, at(3, 3)))
    ticket(b, at(4, 9), at(4, 12), false_alarm, cleared_alert(b, code, at(4, 8)))
    ticket(c, at(6, 9), at(6, 10), fix, cleared_alert(c, code, at(6, 8)))
    ticket(b, at(8, 21), at(9, 3), confirmed, cleared_alert(b, code, at(8, 20)))
    ticket(b, at(5, 8), at(5, 11), confirmed, cleared_alert(b, code, at(5, 8), source=AlertSource.MACHINE))
    ticket(c, at(7, 12))
    ticket(c, at(9, 0))


def test_a_hand_built_week_gives_the_figures_worked_out_by_hand(week):
    report = plant_report(period=WEEK, now=AFTER_THE_WEEK)

    assert report["period"]["hours_elapsed"] == 168
    assert report["machines_broken_down"] == 3  # "how many machines broke down last week", in one number
    assert (report["breakdowns"], report["breakdowns_predicted"], report["breakdowns_surprise"]) == (4, 3, 1)
    assert report["downtime_hours"] == 13
    assert report["mttr_hours"] == 3.5
    assert report["mtbf_hours"] == 122.75
    assert report["median_lead_time_hours"] == 6
    assert (report["tickets_opened"], report["tickets_resolved"]) == (6, 5)
    assert (report["alert_tickets_resolved"], report["alert_precision"]) == (4, 0.75)


def test_per_machine_figures(week):
    rows = {row["machine"]: row for row in plant_report(period=WEEK, now=AFTER_THE_WEEK)["by_machine"]}
    figures = ["breakdowns", "predicted", "surprise", "downtime_hours", "mtbf_hours", "mttr_hours"]
    assert {code: [row[name] for name in figures] for code, row in rows.items()} == {
        "M-A": [1, 1, 0, 8, 160, 5],
        "M-B": [2, 1, 1, 4, 82, 3],
        "M-C": [1, 1, 0, 1, 167, 1],
    }


def test_per_day_figures_cover_every_day_of_the_period(week):
    days = plant_report(period=WEEK, now=AFTER_THE_WEEK)["by_day"]
    assert [(row["day"].day, row["breakdowns"], row["predicted"], row["surprise"]) for row in days] == [
        (2, 1, 1, 0),
        (3, 1, 1, 0),
        (4, 0, 0, 0),
        (5, 1, 0, 1),
        (6, 0, 0, 0),
        (7, 0, 0, 0),
        (8, 1, 1, 0),
    ]


def test_a_period_still_running_counts_only_the_hours_that_have_passed(settings):
    settings.TIME_ZONE = "UTC"
    machine = MachineFactory()
    BreakdownFactory(machine=machine, down_at=at(4, 20), up_at=None)  # still down

    report = plant_report(period=WEEK, now=at(5, 0))

    assert report["period"]["hours_elapsed"] == 72
    assert report["downtime_hours"] == 4  # until now, not until the end of the week
    assert report["mtbf_hours"] == 68  # (72 - 4) / 1
    assert report["mttr_hours"] is None  # not repaired yet


def test_days_are_plant_local_days(settings):
    settings.TIME_ZONE = "Europe/Berlin"  # UTC+1 in November
    machine = MachineFactory()
    BreakdownFactory(machine=machine, down_at=datetime.datetime(2026, 11, 2, 22, 30, tzinfo=UTC))  # 2 Nov 23:30 there
    BreakdownFactory(machine=machine, down_at=datetime.datetime(2026, 11, 2, 23, 30, tzinfo=UTC))  # 3 Nov 00:30 there
    third = Period.of_days(first_day=datetime.date(2026, 11, 3), last_day=datetime.date(2026, 11, 3))

    report = plant_report(period=third, now=AFTER_THE_WEEK)

    assert report["period"]["start"] == datetime.datetime(2026, 11, 2, 23, tzinfo=UTC)
    assert report["breakdowns"] == 1
    assert [(row["day"], row["breakdowns"]) for row in report["by_day"]] == [(datetime.date(2026, 11, 3), 1)]


def test_an_empty_period_has_no_ratios():
    report = plant_report(period=WEEK, now=AFTER_THE_WEEK)
    assert (report["breakdowns"], report["mtbf_hours"], report["mttr_hours"]) == (0, None, None)
    assert (report["alert_precision"], report["median_lead_time_hours"]) == (None, None)


# --- the API ------------------------------------------------------------------------------------


@pytest.fixture
def manager_client(api_client, manager):
    api_client.force_authenticate(manager)
    return api_client


def test_the_summary_api_answers_for_the_days_asked(week, manager_client):
    response = manager_client.get("/api/reports/summary/", {"from": "2026-11-02", "to": "2026-11-08"})
    assert response.status_code == 200
    body = response.json()
    assert (body["period"]["first_day"], body["period"]["last_day"]) == ("2026-11-02", "2026-11-08")
    assert (body["machines_broken_down"], body["breakdowns"], body["downtime_hours"]) == (3, 4, 13)


def test_the_summary_defaults_to_the_last_seven_days_today_included(manager_client):
    period = manager_client.get("/api/reports/summary/").json()["period"]
    today = timezone.localdate()
    assert (period["first_day"], period["last_day"]) == (str(today - datetime.timedelta(days=6)), str(today))


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-13-01"}, "from", "Date has wrong format"),
        ({"from": "2026-11-09", "to": "2026-11-02"}, "from", "is after the last"),
        ({"from": "2024-01-01", "to": "2026-11-02"}, "to", "at most 366 days"),
    ],
)
def test_bad_periods_are_refused_saying_why(manager_client, params, field, message):
    response = manager_client.get("/api/reports/summary/", params)
    assert response.status_code == 400
    assert message in response.json()[field][0]


def test_csv_export_is_valid_csv_with_every_figure(week, manager_client):
    response = manager_client.get("/api/reports/summary/", {"from": "2026-11-02", "to": "2026-11-08", "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="maintainx-report-2026-11-02-2026-11-08.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert all(len(row) == 4 and None not in row for row in rows)  # rectangular: four columns everywhere
    figures = {(row["section"], row["key"], row["figure"]): row["value"] for row in rows}
    assert figures[("plant", "", "machines_broken_down")] == "3"
    assert figures[("plant", "", "mtbf_hours")] == "122.75"
    assert figures[("machine", "M-B", "downtime_hours")] == "4.0"
    assert figures[("day", "2026-11-05", "surprise")] == "1"
    assert figures[("period", "", "first_day")] == "2026-11-02"


def test_csv_export_of_a_bad_period_is_a_400_that_says_why(manager_client):
    response = manager_client.get("/api/reports/summary/", {"from": "someday", "format": "csv"})
    assert response.status_code == 400
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["error"]
    assert "Date has wrong format" in rows[1][0]
