"""The ticket workflow: take, open → in_progress → resolved, reopen, reassign, comment; who may, and why not."""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied

from catalogue.models import FailureMode
from core.roles import Role
from core.tests.factories import UserFactory
from telemetry.models import Machine, MachineStatus
from tickets.models import (
    Alert,
    AlertStatus,
    Breakdown,
    BreakdownSource,
    Ticket,
    TicketEventKind,
    TicketOutcome,
    TicketStatus,
)
from tickets.services import (
    WorkflowError,
    alert_acknowledge,
    alerts_from_predictions,
    ticket_comment,
    ticket_create,
    ticket_reassign,
    ticket_reopen,
    ticket_resolve,
    ticket_start,
    ticket_take,
)
from tickets.tests.conftest import AT

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def boss(db):
    return UserFactory(username="super", role=Role.SUPERVISOR)


@pytest.fixture
def colleague(day_shift):
    user = UserFactory(username="tech2", role=Role.TECHNICIAN)
    day_shift.technicians.add(user)
    return user


@pytest.fixture
def ticket(pump, bearing_code, predict, technician_on_shift) -> Ticket:
    """A predicted bearing failure: an alert and its ticket, assigned to tech1."""
    alerts_from_predictions(predictions=[predict(pump, 0.9, bearing_code)], at=AT)
    ticket = Ticket.objects.get()
    assert ticket.assignee == technician_on_shift
    return ticket


@pytest.fixture
def unassigned(pump) -> Ticket:
    """A ticket opened while nobody was on shift: nobody has it."""
    ticket = ticket_create(machine=pump, title="Coupling rattles", at=AT)
    assert ticket.assignee is None
    return ticket


def started(ticket, actor, at=AT + 5 * MINUTE) -> Ticket:
    return ticket_start(ticket=ticket, actor=actor, at=at)


# --- legal ---------------------------------------------------------------------------------------


def test_the_assignee_starts_the_ticket_and_the_machine_goes_into_maintenance(ticket, technician_on_shift):
    ticket = started(ticket, technician_on_shift)
    assert (ticket.status, ticket.started_at) == (TicketStatus.IN_PROGRESS, AT + 5 * MINUTE)
    event = ticket.events.get(kind=TicketEventKind.STATUS_CHANGED)
    assert (event.actor, event.from_status, event.to_status) == (
        technician_on_shift,
        TicketStatus.OPEN,
        TicketStatus.IN_PROGRESS,
    )
    machine = Machine.objects.get(pk=ticket.machine_id)
    assert (machine.status, machine.status_changed_at) == (MachineStatus.MAINTENANCE, AT + 5 * MINUTE)


def test_a_supervisor_may_start_someone_elses_ticket(ticket, boss):
    assert started(ticket, boss).status == TicketStatus.IN_PROGRESS


def test_a_technician_takes_an_unassigned_ticket_and_may_then_work_on_it(unassigned, colleague):
    ticket = ticket_take(ticket=unassigned, actor=colleague, at=AT + MINUTE)

    assert (ticket.assignee, ticket.assigned_at, ticket.status) == (colleague, AT + MINUTE, TicketStatus.OPEN)
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee, stored.assigned_at) == (colleague, AT + MINUTE)
    event = ticket.events.filter(kind=TicketEventKind.ASSIGNED).last()
    assert (event.actor, event.assignee, event.at) == (colleague, colleague, AT + MINUTE)
    assert event.note == f"Taken by {colleague.get_full_name()}"
    assert started(ticket, colleague).status == TicketStatus.IN_PROGRESS


def test_a_supervisor_may_take_an_unassigned_ticket_to_go_themself(unassigned, boss):
    assert ticket_take(ticket=unassigned, actor=boss).assignee == boss


@pytest.mark.parametrize("outcome", TicketOutcome.values)
def test_resolving_records_outcome_notes_downtime_clears_the_alert_and_the_machine_runs_again(
    ticket, technician_on_shift, outcome
):
    started(ticket, technician_on_shift)
    resolved_at = AT + 65 * MINUTE
    found = "" if outcome == TicketOutcome.FALSE_ALARM else FailureMode.BEARING_WEAR
    ticket = ticket_resolve(
        ticket=ticket,
        actor=technician_on_shift,
        outcome=outcome,
        found_failure_mode=found,
        notes=" Replaced the bearing. ",
        at=resolved_at,
    )

    assert (ticket.status, ticket.outcome, ticket.resolution_notes, ticket.resolved_at) == (
        TicketStatus.RESOLVED,
        outcome,
        "Replaced the bearing.",
        resolved_at,
    )
    assert (ticket.downtime_start, ticket.downtime_end) == (AT + 5 * MINUTE, resolved_at)
    alert = Alert.objects.get()
    assert (alert.status, alert.cleared_at) == (AlertStatus.CLEARED, resolved_at)
    assert alert.clear_reason.startswith(f"Ticket #{ticket.pk} resolved")
    assert Machine.objects.get(pk=ticket.machine_id).status == MachineStatus.RUNNING
    event = ticket.events.filter(kind=TicketEventKind.STATUS_CHANGED).last()
    assert (event.from_status, event.to_status) == (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED)
    assert "Replaced the bearing." in event.note


def test_a_confirmed_failure_is_recorded_as_a_breakdown_predicted_by_its_alert(ticket, technician_on_shift):
    started(ticket, technician_on_shift)
    ticket_resolve(
        ticket=ticket,
        actor=technician_on_shift,
        outcome=TicketOutcome.FAILURE_CONFIRMED,
        found_failure_mode=FailureMode.BEARING_WEAR,
        notes="Cage broken",
        at=AT + 65 * MINUTE,
    )
    breakdown = Breakdown.objects.get()
    assert (breakdown.source, breakdown.down_at, breakdown.up_at, breakdown.ticket) == (
        BreakdownSource.TICKET,
        AT + 5 * MINUTE,
        AT + 65 * MINUTE,
        ticket,
    )
    assert breakdown.predicted_by == ticket.alert


def test_a_false_alarm_or_preventive_fix_is_no_breakdown(ticket, technician_on_shift):
    started(ticket, technician_on_shift)
    ticket_resolve(ticket=ticket, actor=technician_on_shift, outcome=TicketOutcome.FALSE_ALARM, notes="Sensor loose")
    assert Breakdown.objects.count() == 0


def test_resolving_ends_the_breakdown_of_a_machine_that_went_down(ticket, technician_on_shift, pump):
    down_at = AT + 2 * MINUTE
    Breakdown.objects.create(machine=pump, source=BreakdownSource.MACHINE_REPORT, down_at=down_at)
    started(ticket, technician_on_shift)
    ticket_resolve(
        ticket=ticket,
        actor=technician_on_shift,
        outcome=TicketOutcome.FAILURE_CONFIRMED,
        found_failure_mode=FailureMode.BEARING_WEAR,
        notes="Replaced",
        at=AT + MINUTE * 90,
    )
    breakdown = Breakdown.objects.get()  # no second one for the confirmed failure
    assert (breakdown.up_at, breakdown.ticket) == (AT + 90 * MINUTE, ticket)
    assert Ticket.objects.get().downtime_start == down_at


def test_a_supervisor_reopens_a_resolved_ticket_within_24_hours(ticket, technician_on_shift, boss):
    started(ticket, technician_on_shift)
    ticket_resolve(ticket=ticket, actor=technician_on_shift, outcome=TicketOutcome.FALSE_ALARM, notes="Nothing")
    resolved_at = Ticket.objects.get().resolved_at

    ticket = ticket_reopen(ticket=ticket, actor=boss, note="Still noisy", at=resolved_at + datetime.timedelta(hours=23))

    assert (ticket.status, ticket.outcome, ticket.resolved_at, ticket.resolution_notes) == (
        TicketStatus.OPEN,
        "",
        None,
        "",
    )
    event = ticket.events.get(kind=TicketEventKind.REOPENED)
    assert (event.actor, event.from_status, event.to_status) == (boss, TicketStatus.RESOLVED, TicketStatus.OPEN)
    assert "Still noisy" in event.note
    assert "false alarm: Nothing" in event.note
    # Reopened work goes through the workflow again.
    assert ticket_start(ticket=ticket, actor=technician_on_shift).status == TicketStatus.IN_PROGRESS


def test_a_supervisor_reassigns_and_both_technicians_are_recorded(ticket, boss, colleague, technician_on_shift):
    ticket = ticket_reassign(ticket=ticket, actor=boss, assignee=colleague, at=AT + MINUTE)
    assert (ticket.assignee, ticket.assigned_at) == (colleague, AT + MINUTE)
    event = ticket.events.filter(kind=TicketEventKind.ASSIGNED).last()
    assert (event.actor, event.assignee) == (boss, colleague)
    assert event.note == f"Reassigned from {technician_on_shift.get_full_name()} to {colleague.get_full_name()}"


def test_the_assignee_and_supervisors_comment(ticket, technician_on_shift, boss):
    ticket_comment(ticket=ticket, actor=technician_on_shift, text="Ordered a 6205 bearing")
    ticket_comment(ticket=ticket, actor=boss, text="Approved")
    comments = ticket.events.filter(kind=TicketEventKind.COMMENTED)
    assert [(e.actor, e.note) for e in comments] == [
        (technician_on_shift, "Ordered a 6205 bearing"),
        (boss, "Approved"),
    ]


def test_a_manager_acknowledges_an_alert_once(ticket):
    manager = UserFactory(username="boss", role=Role.MANAGER)
    alert = alert_acknowledge(alert=ticket.alert, actor=manager, at=AT + MINUTE)
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_at) == (
        AlertStatus.ACKNOWLEDGED,
        manager,
        AT + MINUTE,
    )
    with pytest.raises(WorkflowError, match="already acknowledged by"):
        alert_acknowledge(alert=alert, actor=manager)


# --- illegal -------------------------------------------------------------------------------------


def test_another_technician_may_not_start_resolve_or_comment(ticket, colleague):
    with pytest.raises(PermissionDenied, match="assignee or a supervisor"):
        started(ticket, colleague)
    with pytest.raises(PermissionDenied):
        ticket_comment(ticket=ticket, actor=colleague, text="mine now")
    assert Ticket.objects.get().status == TicketStatus.OPEN


def test_a_manager_may_read_but_not_work_on_tickets(ticket):
    manager = UserFactory(username="boss", role=Role.MANAGER)
    with pytest.raises(PermissionDenied):
        started(ticket, manager)


def test_starting_twice_is_refused_saying_since_when(ticket, technician_on_shift):
    started(ticket, technician_on_shift)
    with pytest.raises(WorkflowError, match=r"cannot be started: it is already in progress since"):
        started(ticket, technician_on_shift)


def test_resolving_an_open_ticket_is_refused_saying_start_it_first(ticket, technician_on_shift):
    with pytest.raises(WorkflowError, match="start it first"):
        ticket_resolve(ticket=ticket, actor=technician_on_shift, outcome=TicketOutcome.FALSE_ALARM, notes="x")


@pytest.mark.parametrize(
    ("outcome", "notes", "reason"),
    [("", "Replaced", "outcome must be one of"), ("fixed", "Replaced", "got 'fixed'"), ("false_alarm", "  ", "notes")],
)
def test_resolving_needs_a_known_outcome_and_notes(ticket, technician_on_shift, outcome, notes, reason):
    started(ticket, technician_on_shift)
    with pytest.raises(WorkflowError, match=reason):
        ticket_resolve(ticket=ticket, actor=technician_on_shift, outcome=outcome, notes=notes)
    assert Ticket.objects.get().status == TicketStatus.IN_PROGRESS


def test_a_resolved_ticket_cannot_be_started_resolved_or_reassigned(ticket, technician_on_shift, boss, colleague):
    started(ticket, technician_on_shift)
    ticket_resolve(
        ticket=ticket,
        actor=technician_on_shift,
        outcome=TicketOutcome.PREVENTIVE_FIX,
        found_failure_mode=FailureMode.LUBRICATION_LOSS,
        notes="Greased",
    )
    with pytest.raises(WorkflowError, match="it is resolved; a supervisor may reopen it"):
        started(ticket, boss)
    with pytest.raises(WorkflowError, match="it is resolved"):
        ticket_resolve(ticket=ticket, actor=boss, outcome=TicketOutcome.FALSE_ALARM, notes="again")
    with pytest.raises(WorkflowError, match="reopen it first"):
        ticket_reassign(ticket=ticket, actor=boss, assignee=colleague)


def test_only_a_resolved_ticket_can_be_reopened(ticket, boss):
    with pytest.raises(WorkflowError, match="only a resolved ticket can, and it is open"):
        ticket_reopen(ticket=ticket, actor=boss)


def test_reopening_after_24_hours_is_refused(ticket, technician_on_shift, boss):
    started(ticket, technician_on_shift)
    ticket_resolve(ticket=ticket, actor=technician_on_shift, outcome=TicketOutcome.FALSE_ALARM, notes="x", at=AT)
    with pytest.raises(WorkflowError, match="more than 24 hours ago"):
        ticket_reopen(ticket=ticket, actor=boss, at=AT + datetime.timedelta(hours=24, seconds=1))


def test_technicians_may_not_reopen_or_reassign(ticket, technician_on_shift, colleague):
    started(ticket, technician_on_shift)
    ticket_resolve(ticket=ticket, actor=technician_on_shift, outcome=TicketOutcome.FALSE_ALARM, notes="x")
    with pytest.raises(PermissionDenied, match="Only supervisors may reopen"):
        ticket_reopen(ticket=ticket, actor=technician_on_shift)
    with pytest.raises(PermissionDenied, match="Only supervisors may reassign"):
        ticket_reassign(ticket=ticket, actor=technician_on_shift, assignee=colleague)


def test_reassigning_to_someone_who_is_not_a_technician_or_to_the_same_one_is_refused(
    ticket, boss, technician_on_shift
):
    with pytest.raises(WorkflowError, match="not an active technician"):
        ticket_reassign(ticket=ticket, actor=boss, assignee=boss)
    with pytest.raises(WorkflowError, match="already assigned to"):
        ticket_reassign(ticket=ticket, actor=boss, assignee=technician_on_shift)


def test_taking_a_ticket_someone_has_is_refused_saying_who_and_since_when(ticket, colleague, technician_on_shift):
    who = re.escape(technician_on_shift.get_full_name())
    with pytest.raises(WorkflowError, match=rf"cannot be taken: {who} has it since"):
        ticket_take(ticket=ticket, actor=colleague)
    with pytest.raises(WorkflowError, match="is already yours"):
        ticket_take(ticket=ticket, actor=technician_on_shift)
    assert Ticket.objects.get().assignee == technician_on_shift


def test_a_ticket_in_progress_or_resolved_cannot_be_taken(unassigned, boss, colleague):
    # A supervisor may start a ticket nobody has; it is then no longer free to take.
    started(unassigned, boss)
    with pytest.raises(WorkflowError, match="cannot be taken: it is already in progress since"):
        ticket_take(ticket=unassigned, actor=colleague)
    ticket_resolve(
        ticket=unassigned,
        actor=boss,
        outcome=TicketOutcome.PREVENTIVE_FIX,
        found_failure_mode=FailureMode.IMBALANCE,
        notes="Tightened",
    )
    with pytest.raises(WorkflowError, match="cannot be taken: it is resolved"):
        ticket_take(ticket=unassigned, actor=colleague)
    assert Ticket.objects.get().assignee is None


def test_managers_and_users_without_a_role_may_not_take_tickets(unassigned):
    for user in (UserFactory(username="boss", role=Role.MANAGER), UserFactory(username="visitor")):
        with pytest.raises(PermissionDenied, match="Only technicians and supervisors take tickets"):
            ticket_take(ticket=unassigned, actor=user)
    assert Ticket.objects.get().assignee is None
    assert not Ticket.objects.get().events.filter(kind=TicketEventKind.ASSIGNED, actor__isnull=False).exists()


def test_an_empty_comment_is_refused(ticket, technician_on_shift):
    with pytest.raises(WorkflowError, match="needs some text"):
        ticket_comment(ticket=ticket, actor=technician_on_shift, text="   ")


def test_acknowledging_needs_a_manager_or_supervisor_and_an_active_alert(ticket, technician_on_shift, boss):
    with pytest.raises(PermissionDenied):
        alert_acknowledge(alert=ticket.alert, actor=technician_on_shift)
    started(ticket, technician_on_shift)
    ticket_resolve(ticket=ticket, actor=technician_on_shift, outcome=TicketOutcome.FALSE_ALARM, notes="x")
    with pytest.raises(WorkflowError, match="is cleared"):
        alert_acknowledge(alert=ticket.alert, actor=boss)
