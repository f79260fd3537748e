"""From predictions and machine reports to alerts: one per sick machine, hysteresis, cooldown."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalogue.models import ErrorCode, FailureMode, Severity
from core.roles import Role
from core.tests.factories import UserFactory
from predictor.models import Prediction
from predictor.services import PredictionDraft, predictions_record
from telemetry.ingest import ReadingRow
from telemetry.models import Machine, MachineStatus
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory, MachineTypeFactory
from tickets.models import (
    Alert,
    AlertSource,
    AlertStatus,
    Breakdown,
    Ticket,
    TicketEventKind,
    TicketOutcome,
    TicketStatus,
)
from tickets.services import (
    MACHINE_REPORT_MAX_AGE,
    alerts_from_predictions,
    predictions_handle,
    ticket_resolve,
    ticket_start,
)
from tickets.tests.conftest import AT

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


def feed(predict, machine, probabilities_by_minute, error_code):
    """Predictions at AT + m minutes, one tick each, in order."""
    for minute, probability in probabilities_by_minute:
        at = AT + minute * MINUTE
        predictions_handle(predictions=[predict(machine, probability, error_code, at=at)], detected_at=at)


def report(machine, error_code: str, *, at: datetime.datetime) -> None:
    """The machine publishes a reading with its own error code, through the listener's ingest."""
    readings_ingest(rows=[ReadingRow(machine.id, machine.code, at, {"vibration": 11.2}, error_code)])


def test_threshold_crossing_opens_one_alert_and_one_assigned_ticket_with_sop_explanation_rul_and_evidence(
    pump, bearing_code, forest, technician_on_shift
):
    readings_ingest(
        rows=[
            ReadingRow(pump.id, pump.code, AT - minutes * MINUTE, {"vibration": 3.0 + minutes / 10})
            for minutes in range(90)
        ]
    )
    draft = PredictionDraft(
        machine_code=pump.code,
        ts=AT,
        model_version=forest,
        rul_model_version=None,
        failure_probability=0.86,
        error_code=bearing_code,
        rul_hours=30.0,
        rul_low_hours=18.0,
        rul_high_hours=44.0,
        top_signals=["vibration 3.1x its 12-hour level, rising 0.4 mm/s per hour"],
    )

    [prediction] = predictions_record(predictions=[draft], warnings=[], detected_at=AT)

    alert = Alert.objects.get()
    assert (alert.machine, alert.error_code, alert.status, alert.source) == (
        pump,
        bearing_code,
        AlertStatus.ACTIVE,
        AlertSource.PREDICTION,
    )
    assert (alert.probability, alert.last_prediction, alert.opened_at) == (0.86, prediction, AT)
    ticket = Ticket.objects.get()
    assert ticket.alert == alert
    assert (ticket.error_code, ticket.sop.title, ticket.assignee) == (
        bearing_code,
        "Replace a worn bearing",
        technician_on_shift,
    )
    assert (ticket.status, ticket.priority, ticket.probability) == (TicketStatus.OPEN, Severity.HIGH, 0.86)
    assert ticket.explanation == ["vibration 3.1x its 12-hour level, rising 0.4 mm/s per hour"]
    assert (ticket.rul_hours, ticket.rul_low_hours, ticket.rul_high_hours) == (30.0, 18.0, 44.0)
    assert "86%" in ticket.title
    assert "18-44 h" in ticket.description
    window = ticket.evidence["window"]
    assert window["to"] == AT.isoformat()
    assert len(window["metrics"]["vibration"]) == 61  # one row per minute of the last hour, both ends included
    assert ticket.evidence["prediction"]["model_version"] == str(forest)
    assert [event.kind for event in ticket.events.all()] == [TicketEventKind.CREATED, TicketEventKind.ASSIGNED]
    assert Machine.objects.get(pk=pump.pk).status == MachineStatus.DEGRADED


def test_probability_below_the_threshold_raises_nothing(pump, bearing_code, predict):
    feed(predict, pump, [(0, 0.79)], bearing_code)
    assert (Alert.objects.count(), Ticket.objects.count()) == (0, 0)
    assert Machine.objects.get(pk=pump.pk).status == MachineStatus.RUNNING


def test_repeated_high_predictions_refresh_the_open_alert(pump, bearing_code, predict):
    feed(predict, pump, [(0, 0.85), (10, 0.93)], bearing_code)

    alert = Alert.objects.get()
    assert (alert.probability, alert.refreshed_at, alert.opened_at) == (0.93, AT + 10 * MINUTE, AT)
    assert alert.last_prediction == Prediction.objects.latest("ts")
    assert Ticket.objects.count() == 1


def test_a_wavering_failure_mode_keeps_one_alert_per_sick_machine(pump, bearing_code, overheating_code, predict):
    feed(predict, pump, [(0, 0.85)], bearing_code)
    feed(predict, pump, [(10, 0.9)], overheating_code)

    alert = Alert.objects.get()
    assert (alert.error_code, alert.probability) == (bearing_code, 0.9)
    assert Ticket.objects.count() == 1


def test_a_prediction_raises_its_own_alert_beside_a_rule_s_and_joins_its_ticket(
    pump, bearing_code, overheating_code, predict
):
    rule_alert = Alert.objects.create(
        machine=pump, error_code=overheating_code, source=AlertSource.RULE, probability=None, opened_at=AT
    )
    feed(predict, pump, [(5, 0.9)], bearing_code)

    predicted = Alert.objects.get(source=AlertSource.PREDICTION)
    assert (predicted.error_code, predicted.probability) == (bearing_code, 0.9)
    rule_alert.refresh_from_db()
    assert (rule_alert.status, rule_alert.probability, rule_alert.last_prediction) == (AlertStatus.ACTIVE, None, None)


def test_a_machine_well_within_its_own_normal_gets_no_new_alert_from_the_forest_but_keeps_an_open_one(
    pump, bearing_code, predict
):
    alerts_from_predictions(predictions=[predict(pump, 0.9, bearing_code)], at=AT, within_own_normal={pump.id})
    assert not Alert.objects.exists()

    alerts_from_predictions(predictions=[predict(pump, 0.9, bearing_code)], at=AT)
    later = AT + 10 * MINUTE
    alerts_from_predictions(
        predictions=[predict(pump, 0.95, bearing_code, at=later)], at=later, within_own_normal={pump.id}
    )
    [alert] = Alert.objects.all()
    assert (alert.probability, alert.refreshed_at) == (0.95, later)


def test_a_prediction_of_a_rule_alert_s_code_refreshes_that_alert_and_keeps_its_source(pump, bearing_code, predict):
    rule_alert = Alert.objects.create(
        machine=pump, error_code=bearing_code, source=AlertSource.RULE, probability=None, opened_at=AT
    )
    feed(predict, pump, [(5, 0.9)], bearing_code)

    [alert] = Alert.objects.all()
    assert (alert.pk, alert.source, alert.last_prediction) == (
        rule_alert.pk,
        AlertSource.RULE,
        Prediction.objects.get(),
    )


def test_high_prediction_without_an_error_code_raises_nothing_and_says_so(pump, predict, caplog):
    feed(predict, pump, [(0, 0.95)], None)
    assert Alert.objects.count() == 0
    assert "no error code predicted" in caplog.text


def test_alert_clears_only_after_the_probability_stays_below_the_lower_threshold_for_the_set_time(
    pump, bearing_code, predict, settings
):
    settings.ALERT_CLEAR_THRESHOLD, settings.ALERT_CLEAR_MINUTES = 0.5, 30
    feed(predict, pump, [(0, 0.9), (5, 0.6), (10, 0.4), (30, 0.45)], bearing_code)
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.ACTIVE  # below 0.5 for 20 minutes only
    assert alert.below_clear_threshold_since == AT + 10 * MINUTE

    feed(predict, pump, [(35, 0.55), (40, 0.3), (69, 0.3)], bearing_code)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACTIVE  # 0.55 at 35 started the count again: 29 minutes below
    assert alert.probability == 0.3

    feed(predict, pump, [(70, 0.3)], bearing_code)
    alert.refresh_from_db()
    assert (alert.status, alert.cleared_at, alert.cleared_by) == (AlertStatus.CLEARED, AT + 70 * MINUTE, None)
    assert "below 50% for 30 minutes" in alert.clear_reason
    assert Machine.objects.get(pk=pump.pk).status == MachineStatus.RUNNING
    ticket = Ticket.objects.get()
    assert ticket.status == TicketStatus.OPEN  # a person decides what the ticket was
    assert ticket.events.filter(kind=TicketEventKind.ALERT_CLEARED).count() == 1


def test_recovered_alert_may_reopen_at_once_when_the_probability_rises_again(pump, bearing_code, predict, settings):
    settings.ALERT_CLEAR_MINUTES, settings.ALERT_COOLDOWN_MINUTES = 30, 60
    feed(predict, pump, [(0, 0.9), (10, 0.2), (40, 0.2), (45, 0.85)], bearing_code)

    assert list(Alert.objects.order_by("opened_at").values_list("status", flat=True)) == [
        AlertStatus.CLEARED,
        AlertStatus.ACTIVE,
    ]
    # The first alert's ticket is still open: the new alert joins it instead of opening a second.
    ticket = Ticket.objects.get()
    assert ticket.alert == Alert.objects.get(status=AlertStatus.ACTIVE)


def resolve_alert_ticket(at: datetime.datetime, outcome=TicketOutcome.PREVENTIVE_FIX) -> Ticket:
    ticket = Ticket.objects.get(status=TicketStatus.OPEN)
    ticket_start(ticket=ticket, actor=ticket.assignee or _supervisor(), at=at - 10 * MINUTE)
    found = "" if outcome == TicketOutcome.FALSE_ALARM else FailureMode.BEARING_WEAR
    return ticket_resolve(
        ticket=ticket, actor=_supervisor(), outcome=outcome, found_failure_mode=found, notes="Regreased", at=at
    )


def _supervisor():
    return UserFactory(username="super", role=Role.SUPERVISOR)


def test_no_new_alert_within_the_cooldown_after_a_repair_while_the_probability_stays_high(
    pump, bearing_code, predict, settings
):
    settings.ALERT_COOLDOWN_MINUTES = 60
    feed(predict, pump, [(0, 0.9)], bearing_code)
    resolve_alert_ticket(AT + 20 * MINUTE)
    assert Alert.objects.get().status == AlertStatus.CLEARED

    # The window still holds the readings from before the repair: no alert storm.
    feed(predict, pump, [(30, 0.9), (50, 0.95), (79, 0.9)], bearing_code)
    assert Alert.objects.count() == 1

    # Past the cooldown and still high: the repair did not take.
    feed(predict, pump, [(81, 0.9)], bearing_code)
    assert Alert.objects.filter(status=AlertStatus.ACTIVE).count() == 1
    assert Ticket.objects.count() == 2


def test_within_the_cooldown_a_new_alert_needs_the_probability_to_fall_and_rise_again(
    pump, bearing_code, predict, settings
):
    settings.ALERT_COOLDOWN_MINUTES = 60
    feed(predict, pump, [(0, 0.9)], bearing_code)
    resolve_alert_ticket(AT + 20 * MINUTE)
    feed(predict, pump, [(30, 0.9), (35, 0.6)], bearing_code)
    assert Alert.objects.count() == 1

    feed(predict, pump, [(40, 0.88)], bearing_code)
    new = Alert.objects.get(status=AlertStatus.ACTIVE)
    assert new.opened_at == AT + 40 * MINUTE


def test_after_a_false_alarm_no_new_alert_until_the_probability_falls_below_the_clear_threshold(
    pump, bearing_code, predict, settings
):
    settings.ALERT_COOLDOWN_MINUTES, settings.ALERT_FALSE_HOLD_HOURS = 60, 168
    feed(predict, pump, [(0, 0.9)], bearing_code)
    resolve_alert_ticket(AT + 20 * MINUTE, outcome=TicketOutcome.FALSE_ALARM)

    # Well past the cooldown, the same high probability: the crew already said the machine is fine.
    feed(predict, pump, [(90, 0.9), (300, 0.92), (24 * 60, 0.9)], bearing_code)
    assert Alert.objects.count() == 1
    assert Ticket.objects.count() == 1

    # A dip below the alert threshold that stays above the clear threshold: a forest hovering about
    # 0.8 on the same healthy machine, still held.
    feed(predict, pump, [(24 * 60 + 10, 0.6), (24 * 60 + 20, 0.85)], bearing_code)
    assert Alert.objects.count() == 1

    # It fell below the clear threshold: re-armed, and a new rise is a new alert with its ticket.
    feed(predict, pump, [(24 * 60 + 30, 0.45), (24 * 60 + 40, 0.85)], bearing_code)
    new = Alert.objects.get(status=AlertStatus.ACTIVE)
    assert new.opened_at == AT + (24 * 60 + 40) * MINUTE
    assert Ticket.objects.count() == 2


def test_a_false_alarm_holds_its_machine_for_at_most_the_false_hold(pump, bearing_code, predict, settings):
    settings.ALERT_COOLDOWN_MINUTES, settings.ALERT_FALSE_HOLD_HOURS = 60, 2
    feed(predict, pump, [(0, 0.9)], bearing_code)
    resolve_alert_ticket(AT + 20 * MINUTE, outcome=TicketOutcome.FALSE_ALARM)

    feed(predict, pump, [(100, 0.9), (139, 0.9)], bearing_code)
    assert Alert.objects.count() == 1

    feed(predict, pump, [(141, 0.9)], bearing_code)
    assert Alert.objects.get(status=AlertStatus.ACTIVE).opened_at == AT + 141 * MINUTE


def test_a_tick_of_a_thousand_predictions_below_the_threshold_costs_constant_queries(
    pump, bearing_code, forest, django_assert_max_num_queries
):
    machine_type = MachineTypeFactory()
    machines = Machine.objects.bulk_create(
        [Machine(code=f"B-{n:04d}", name=f"Bulk {n}", machine_type=machine_type) for n in range(999)]
    )
    feed_at = AT + MINUTE
    predictions = Prediction.objects.bulk_create(
        [
            Prediction(machine=machine, ts=feed_at, model_version=forest, failure_probability=0.1, created_at=feed_at)
            for machine in [*machines, pump]
        ]
    )
    with django_assert_max_num_queries(3):  # open alerts, their hysteresis in bulk, tickets due for escalation
        predictions_handle(predictions=predictions, detected_at=feed_at)
    assert Alert.objects.count() == 0


# --- the machine's own error code ---------------------------------------------------------------


def test_machine_reported_error_code_raises_a_critical_alert_and_ticket_at_once(
    pump, bearing_code, technician_on_shift, settings
):
    now = timezone.now()
    report(pump, "E-BRG-01", at=now - MINUTE)

    alert = Alert.objects.get()
    assert (alert.source, alert.probability, alert.status, alert.opened_at) == (
        AlertSource.MACHINE,
        1.0,
        AlertStatus.ACTIVE,
        now - MINUTE,
    )
    ticket = Ticket.objects.get()
    assert (ticket.alert, ticket.priority, ticket.sop.title) == (alert, Severity.CRITICAL, "Replace a worn bearing")
    assert "M-007 reported E-BRG-01" in ticket.title
    machine = Machine.objects.get(pk=pump.pk)
    assert (machine.status, machine.status_changed_at) == (MachineStatus.DOWN, now - MINUTE)
    breakdown = Breakdown.objects.get()
    assert (breakdown.machine, breakdown.down_at, breakdown.up_at, breakdown.predicted) == (
        pump,
        now - MINUTE,
        None,
        False,
    )


def test_a_machine_repeating_its_error_code_stays_one_alert_one_ticket(pump, bearing_code):
    now = timezone.now()
    report(pump, "E-BRG-01", at=now - 3 * MINUTE)
    events = Ticket.objects.get().events.count()
    report(pump, "E-BRG-01", at=now - 2 * MINUTE)
    report(pump, "E-BRG-01", at=now - MINUTE)

    assert (Alert.objects.count(), Ticket.objects.count(), Breakdown.objects.count()) == (1, 1, 1)
    assert Ticket.objects.get().events.count() == events


def test_an_old_error_report_is_history_and_raises_nothing(pump, bearing_code):
    report(pump, "E-BRG-01", at=timezone.now() - MACHINE_REPORT_MAX_AGE - MINUTE)
    assert (Alert.objects.count(), Ticket.objects.count(), Breakdown.objects.count()) == (0, 0, 0)
    assert Machine.objects.get(pk=pump.pk).status == MachineStatus.RUNNING


def test_an_error_report_from_before_the_repair_raises_nothing(pump, bearing_code, technician_on_shift):
    failed_at = timezone.now() - 30 * MINUTE
    report(pump, "E-BRG-01", at=failed_at)
    ticket = Ticket.objects.get()
    ticket_start(ticket=ticket, actor=ticket.assignee or _supervisor(), at=failed_at + 5 * MINUTE)
    ticket_resolve(
        ticket=ticket,
        actor=_supervisor(),
        outcome=TicketOutcome.FAILURE_CONFIRMED,
        found_failure_mode=FailureMode.BEARING_WEAR,
        notes="New bearing",
        at=failed_at + 20 * MINUTE,
    )

    # The broker delivers the failure again (a redelivery after a listener restart).
    readings_ingest(rows=[ReadingRow(pump.id, pump.code, failed_at + MINUTE, {"vibration": 11.0}, "E-BRG-01")])

    assert Alert.objects.filter(status__in=Alert.OPEN_STATUSES).count() == 0
    assert Ticket.objects.count() == 1
    assert Machine.objects.get(pk=pump.pk).status == MachineStatus.RUNNING


def test_a_failure_after_a_predicted_alert_joins_its_ticket_and_counts_as_predicted(
    pump, bearing_code, predict, technician_on_shift
):
    now = timezone.now()
    alerted_at = now - 40 * MINUTE
    alerts_from_predictions(predictions=[predict(pump, 0.9, bearing_code, at=alerted_at)], at=alerted_at)
    report(pump, "E-BRG-01", at=now - MINUTE)

    alert = Alert.objects.get()
    assert (alert.source, alert.probability) == (AlertSource.PREDICTION, 1.0)
    ticket = Ticket.objects.get()
    assert ticket.priority == Severity.CRITICAL
    assert ticket.events.filter(kind=TicketEventKind.FAILURE_REPORTED).count() == 1
    breakdown = Breakdown.objects.get()
    assert breakdown.predicted_by == alert
    assert breakdown.down_at - alert.opened_at == 39 * MINUTE


def test_a_failure_of_another_code_than_predicted_switches_the_ticket_to_the_reported_code(
    pump, bearing_code, overheating_code, predict
):
    now = timezone.now()
    alerts_from_predictions(predictions=[predict(pump, 0.9, bearing_code, at=now - 20 * MINUTE)], at=now - 20 * MINUTE)
    report(pump, "E-TMP-01", at=now - MINUTE)

    assert set(Alert.objects.values_list("error_code__code", "source")) == {
        ("E-BRG-01", AlertSource.PREDICTION),
        ("E-TMP-01", AlertSource.MACHINE),
    }
    ticket = Ticket.objects.get()
    assert (ticket.error_code, ticket.sop, ticket.priority) == (overheating_code, None, Severity.CRITICAL)
    assert "changed from E-BRG-01" in ticket.events.get(kind=TicketEventKind.FAILURE_REPORTED).note
    assert Breakdown.objects.get().predicted_by.error_code == bearing_code


def test_an_error_code_nobody_described_is_kept_as_a_critical_code(pump):
    report(pump, "E-XYZ-99", at=timezone.now() - MINUTE)
    code = ErrorCode.objects.get(code="E-XYZ-99")
    assert (code.severity, code.failure_mode) == (Severity.CRITICAL, FailureMode.OTHER)
    assert Alert.objects.get().error_code == code


def test_readings_without_error_codes_cost_the_ingest_no_alert_query(pump):
    other = MachineFactory()
    rows = [
        ReadingRow(m.id, m.code, timezone.now() - n * MINUTE, {"vibration": 2.0})
        for m in (pump, other)
        for n in range(5)
    ]
    with CaptureQueriesContext(connection) as queries:
        assert readings_ingest(rows=rows).stored == 10
    assert not [query["sql"] for query in queries if "tickets_" in query["sql"]]
