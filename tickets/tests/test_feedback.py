"""Feedback where it happens: the failure mode a technician found on resolving a ticket, and an alert
a manager or supervisor marks false without a ticket. Both are labels the models learn from."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from catalogue.models import FailureMode
from core.roles import Role
from core.tests.factories import UserFactory
from telemetry.models import Machine, MachineStatus
from tickets.models import Alert, AlertStatus, Ticket, TicketEventKind, TicketOutcome, TicketStatus
from tickets.services import (
    WorkflowError,
    alert_mark_false,
    alerts_from_predictions,
    ticket_create,
    ticket_reopen,
    ticket_resolve,
    ticket_start,
)
from tickets.tests.conftest import AT
from tickets.tests.factories import AlertFactory, TicketFactory

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def alert_ticket(pump, bearing_code, predict, technician_on_shift) -> Ticket:
    """A predicted bearing failure's ticket, started by tech1."""
    alerts_from_predictions(predictions=[predict(pump, 0.9, bearing_code)], at=AT)
    return ticket_start(ticket=Ticket.objects.get(), actor=technician_on_shift, at=AT + 5 * MINUTE)


@pytest.fixture
def lone_alert(pump, bearing_code) -> Alert:
    """An open predicted alert that no ticket answers (as a second alert joining a machine's ticket)."""
    Machine.objects.filter(pk=pump.pk).update(status=MachineStatus.DEGRADED)
    return AlertFactory(machine=pump, error_code=bearing_code, opened_at=AT, refreshed_at=AT)


@pytest.fixture
def boss(db):
    return UserFactory(username="boss", role=Role.MANAGER)


def _resolve(ticket, actor, outcome, found=""):
    return ticket_resolve(
        ticket=ticket, actor=actor, outcome=outcome, found_failure_mode=found, notes="Looked", at=AT + 60 * MINUTE
    )


# --- the failure mode found, on the service ------------------------------------------------------


def test_a_mode_found_other_than_the_predicted_one_is_kept_and_the_audit_trail_says_both(
    alert_ticket, technician_on_shift
):
    ticket = _resolve(alert_ticket, technician_on_shift, TicketOutcome.FAILURE_CONFIRMED, FailureMode.LUBRICATION_LOSS)

    assert Ticket.objects.get().found_failure_mode == FailureMode.LUBRICATION_LOSS
    event = ticket.events.filter(kind=TicketEventKind.STATUS_CHANGED).last()
    assert event.note == "Failure confirmed, found lubrication loss (predicted bearing wear): Looked"


@pytest.mark.parametrize("outcome", [TicketOutcome.FAILURE_CONFIRMED, TicketOutcome.PREVENTIVE_FIX])
def test_a_confirmed_failure_or_preventive_fix_must_say_which_mode_was_found(
    alert_ticket, technician_on_shift, outcome
):
    with pytest.raises(WorkflowError, match="Say which failure mode you found"):
        _resolve(alert_ticket, technician_on_shift, outcome)
    with pytest.raises(WorkflowError, match="got 'rust'"):
        _resolve(alert_ticket, technician_on_shift, outcome, "rust")
    assert Ticket.objects.get().status == TicketStatus.IN_PROGRESS


def test_a_false_alarm_found_no_failure_mode(alert_ticket, technician_on_shift):
    with pytest.raises(WorkflowError, match="A false alarm found no failure"):
        _resolve(alert_ticket, technician_on_shift, TicketOutcome.FALSE_ALARM, FailureMode.BEARING_WEAR)

    ticket = _resolve(alert_ticket, technician_on_shift, TicketOutcome.FALSE_ALARM)
    assert (ticket.outcome, ticket.found_failure_mode) == (TicketOutcome.FALSE_ALARM, "")


def test_reopening_forgets_the_mode_found_and_the_trail_keeps_it(alert_ticket, technician_on_shift):
    supervisor = UserFactory(username="super", role=Role.SUPERVISOR)
    _resolve(alert_ticket, technician_on_shift, TicketOutcome.PREVENTIVE_FIX, FailureMode.IMBALANCE)

    ticket = ticket_reopen(ticket=alert_ticket, actor=supervisor, at=AT + 70 * MINUTE)

    assert (ticket.outcome, ticket.found_failure_mode) == ("", "")
    assert "preventive fix, found imbalance / misalignment (predicted bearing wear)" in ticket.events.last().note


# --- the failure mode found, in the database -----------------------------------------------------


def _resolved_ticket(**fields):
    now = timezone.now()
    return TicketFactory(
        status=TicketStatus.RESOLVED, started_at=now, resolved_at=now, resolution_notes="done", **fields
    )


def test_the_database_refuses_a_mode_found_on_a_false_alarm_or_an_unresolved_ticket():
    with pytest.raises(IntegrityError), transaction.atomic():
        _resolved_ticket(outcome=TicketOutcome.FALSE_ALARM, found_failure_mode=FailureMode.OVERHEATING)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(found_failure_mode=FailureMode.OVERHEATING)


def test_the_database_refuses_an_unknown_mode_found():
    with pytest.raises(IntegrityError), transaction.atomic():
        _resolved_ticket(outcome=TicketOutcome.FAILURE_CONFIRMED, found_failure_mode="rust")


def test_the_database_keeps_a_confirmed_failure_resolved_before_the_question_was_asked():
    ticket = _resolved_ticket(outcome=TicketOutcome.FAILURE_CONFIRMED)
    assert Ticket.objects.get(pk=ticket.pk).found_failure_mode == ""


@pytest.mark.django_db(transaction=True)
def test_the_migration_leaves_tickets_resolved_before_it_without_a_mode_found():
    ticket = _resolved_ticket(outcome=TicketOutcome.FAILURE_CONFIRMED)
    alert = AlertFactory(status=AlertStatus.CLEARED, cleared_at=timezone.now())
    executor = MigrationExecutor(connection)
    executor.migrate([("tickets", "0003_alert_from_health_models")])
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([("tickets", "0004_feedback_found_mode_and_false_alerts")])

        assert Ticket.objects.get(pk=ticket.pk).found_failure_mode == ""
        assert Alert.objects.filter(pk=alert.pk, marked_false_at__isnull=True, marked_false_reason="").exists()
    finally:
        # Going back to 0003 unapplied what depends on the later tickets' migrations (notifications'
        # tables) and the later columns: the tests after this one need the whole schema again.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


# --- the failure mode found, through the API -----------------------------------------------------


@pytest.fixture
def tech1_client(api_client, technician_on_shift):
    api_client.force_authenticate(technician_on_shift)
    return api_client


def test_the_ticket_detail_offers_the_predicted_mode_and_returns_the_one_found(alert_ticket, tech1_client):
    url = f"/api/tickets/{alert_ticket.pk}/"
    assert tech1_client.get(url).json()["predicted_failure_mode"] == FailureMode.BEARING_WEAR

    response = tech1_client.patch(
        url,
        {"status": "resolved", "outcome": "failure_confirmed", "found_failure_mode": "overheating", "notes": "Fan"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["found_failure_mode"], body["predicted_failure_mode"]) == ("overheating", "bearing_wear")
    listed = tech1_client.get("/api/tickets/").json()["results"]
    assert [row["found_failure_mode"] for row in listed] == ["overheating"]


def test_a_work_order_without_an_error_code_predicts_no_mode(pump, technician_on_shift, tech1_client):
    ticket = ticket_create(machine=pump, title="Check the guard", assignee=technician_on_shift)
    assert tech1_client.get(f"/api/tickets/{ticket.pk}/").json()["predicted_failure_mode"] is None


@pytest.mark.parametrize(
    ("outcome", "found", "message"),
    [
        ("failure_confirmed", None, "Say which failure mode you found"),
        ("preventive_fix", "", "Say which failure mode you found"),
        ("failure_confirmed", "rust", "not a valid choice"),
        ("false_alarm", "bearing_wear", "A false alarm found no failure"),
    ],
)
def test_a_mode_found_that_does_not_fit_the_outcome_is_a_400_naming_the_field(
    alert_ticket, tech1_client, outcome, found, message
):
    body = {"status": "resolved", "outcome": outcome, "notes": "Looked"}
    if found is not None:
        body["found_failure_mode"] = found

    response = tech1_client.patch(f"/api/tickets/{alert_ticket.pk}/", body, format="json")

    assert response.status_code == 400
    assert message in " ".join(response.json()["found_failure_mode"])
    assert Ticket.objects.get().status == TicketStatus.IN_PROGRESS


# --- an alert marked false, on the service -------------------------------------------------------


def test_marking_an_alert_false_keeps_who_when_why_and_clears_it(lone_alert, boss):
    alert = alert_mark_false(alert=lone_alert, actor=boss, reason="  Sensor cable was loose  ", at=AT + MINUTE)

    alert.refresh_from_db()
    assert (alert.marked_false_by, alert.marked_false_at, alert.marked_false_reason) == (
        boss,
        AT + MINUTE,
        "Sensor cable was loose",
    )
    assert (alert.status, alert.cleared_at, alert.cleared_by) == (AlertStatus.CLEARED, AT + MINUTE, boss)
    assert alert.clear_reason == f"Marked false by {boss.get_full_name()}: Sensor cable was loose"
    assert Machine.objects.get(pk=lone_alert.machine_id).status == MachineStatus.RUNNING


def test_a_high_prediction_right_after_raises_no_new_alert_within_the_cooldown(lone_alert, boss, predict, pump):
    alert_mark_false(alert=lone_alert, actor=boss, reason="Sensor cable was loose", at=AT + MINUTE)

    raised = alerts_from_predictions(
        predictions=[predict(pump, 0.95, lone_alert.error_code, at=AT + 2 * MINUTE)], at=AT + 2 * MINUTE
    )

    assert raised == []
    assert Alert.objects.get().status == AlertStatus.CLEARED


def test_a_prediction_still_high_past_the_cooldown_raises_nothing_until_it_has_fallen_below_the_clear_threshold(
    lone_alert, boss, predict, pump, settings
):
    settings.ALERT_COOLDOWN_MINUTES = 60
    alert_mark_false(alert=lone_alert, actor=boss, reason="Sensor cable was loose", at=AT + MINUTE)

    def tick(minute: int, probability: float) -> list:
        at = AT + minute * MINUTE
        return alerts_from_predictions(predictions=[predict(pump, probability, lone_alert.error_code, at=at)], at=at)

    assert tick(120, 0.95) == []
    assert tick(130, 0.7) == []  # below the alert threshold, not below the clear threshold: still held
    assert tick(135, 0.85) == []
    assert tick(138, 0.4) == []  # fell below the clear threshold: re-armed
    [raised] = tick(140, 0.9)
    assert raised.opened_at == AT + 140 * MINUTE


def test_an_alert_with_an_unresolved_ticket_is_refused_naming_the_ticket_to_resolve(alert_ticket, boss):
    alert = alert_ticket.alert
    with pytest.raises(WorkflowError, match=rf"has ticket #{alert_ticket.pk} \(in progress\): resolve the ticket"):
        alert_mark_false(alert=alert, actor=boss, reason="Nothing wrong", at=AT + 10 * MINUTE)
    alert.refresh_from_db()
    assert (alert.status, alert.marked_false_at) == (AlertStatus.ACTIVE, None)


def test_a_cleared_alert_or_one_already_marked_is_refused(lone_alert, boss):
    alert_mark_false(alert=lone_alert, actor=boss, reason="Sensor cable was loose", at=AT + MINUTE)
    with pytest.raises(WorkflowError, match=rf"already marked false by {boss.get_full_name()} at"):
        alert_mark_false(alert=lone_alert, actor=boss, reason="again", at=AT + 2 * MINUTE)

    cleared = AlertFactory(status=AlertStatus.CLEARED, cleared_at=AT, clear_reason="Recovered")
    with pytest.raises(WorkflowError, match=r"is cleared \(Recovered\); there is nothing to mark false"):
        alert_mark_false(alert=cleared, actor=boss, reason="wrong", at=AT + 2 * MINUTE)


def test_marking_false_needs_a_reason_and_a_manager_or_supervisor(lone_alert, technician_on_shift, boss):
    with pytest.raises(WorkflowError, match="needs a reason"):
        alert_mark_false(alert=lone_alert, actor=boss, reason="   ")
    with pytest.raises(PermissionDenied, match="Only managers and supervisors"):
        alert_mark_false(alert=lone_alert, actor=technician_on_shift, reason="Looks fine to me")
    assert Alert.objects.get().status == AlertStatus.ACTIVE


def test_the_database_holds_a_false_mark_only_on_a_cleared_alert_with_a_reason(lone_alert, boss):
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.filter(pk=lone_alert.pk).update(marked_false_at=AT, marked_false_reason="wrong")
    cleared = AlertFactory(status=AlertStatus.CLEARED, cleared_at=AT)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.filter(pk=cleared.pk).update(marked_false_at=AT, marked_false_reason="")


# --- an alert marked false, through the API ------------------------------------------------------


def _mark_false(client, alert, body):
    return client.post(f"/api/alerts/{alert.pk}/mark-false/", body, format="json")


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SUPERVISOR])
def test_a_manager_or_supervisor_marks_an_alert_false_through_the_api(api_client, lone_alert, role):
    person = UserFactory(username="watcher", role=role)
    api_client.force_authenticate(person)
    marked_at = AT + 3 * MINUTE

    with time_machine.travel(marked_at, tick=False):
        response = _mark_false(api_client, lone_alert, {"reason": "Sensor cable was loose"})

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["marked_false_by"]["username"], body["marked_false_reason"]) == (
        "cleared",
        "watcher",
        "Sensor cable was loose",
    )
    assert datetime.datetime.fromisoformat(body["marked_false_at"]) == marked_at
    listed = api_client.get("/api/alerts/", {"status": ["active", "acknowledged"]}).json()["results"]
    assert listed == []


def test_a_technician_may_not_mark_an_alert_false(tech1_client, lone_alert):
    response = _mark_false(tech1_client, lone_alert, {"reason": "Looks fine to me"})
    assert response.status_code == 403
    assert Alert.objects.get().status == AlertStatus.ACTIVE


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 2001}])
def test_marking_false_without_a_reason_is_a_400_naming_the_field(api_client, boss, lone_alert, body):
    api_client.force_authenticate(boss)
    response = _mark_false(api_client, lone_alert, body)
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]


def test_marking_false_an_alert_with_a_ticket_is_a_400_that_says_to_resolve_it(api_client, boss, alert_ticket):
    api_client.force_authenticate(boss)
    response = _mark_false(api_client, alert_ticket.alert, {"reason": "Nothing wrong"})
    assert response.status_code == 400
    assert f"has ticket #{alert_ticket.pk}" in response.json()["detail"]
    assert "resolve the ticket as a false alarm" in response.json()["detail"]


def test_marking_false_an_unknown_alert_is_a_404(api_client, boss):
    api_client.force_authenticate(boss)
    assert api_client.post("/api/alerts/999/mark-false/", {"reason": "wrong"}, format="json").status_code == 404


# --- the admin ----------------------------------------------------------------------------------


def test_the_admin_shows_the_mode_found_and_the_false_mark(admin_client, alert_ticket, technician_on_shift, boss):
    _resolve(alert_ticket, technician_on_shift, TicketOutcome.FAILURE_CONFIRMED, FailureMode.LUBRICATION_LOSS)
    lone = AlertFactory(machine=alert_ticket.machine, error_code=alert_ticket.error_code)
    alert_mark_false(alert=lone, actor=boss, reason="Sensor cable was loose", at=AT + 2 * MINUTE)

    ticket_page = admin_client.get(f"/admin/tickets/ticket/{alert_ticket.pk}/change/").content.decode()
    alert_page = admin_client.get(f"/admin/tickets/alert/{lone.pk}/change/").content.decode()
    listed = admin_client.get("/admin/tickets/ticket/", {"found_failure_mode": "lubrication_loss"}).content.decode()

    assert "Found failure mode" in ticket_page
    assert "Lubrication loss" in ticket_page
    assert "Marked false reason" in alert_page
    assert "Sensor cable was loose" in alert_page
    assert f"/admin/tickets/ticket/{alert_ticket.pk}/change/" in listed
