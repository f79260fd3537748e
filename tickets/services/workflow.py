"""A ticket's workflow: take, start, resolve, reopen, reassign, comment, tick its SOP checklist, edit;
each change a TicketEvent.

Start, resolve, comment and checklist ticks take a `done_at`: the time a tablet did it offline and
sent it later. It is checked (tickets.services.common.done_at_checked) and becomes the event's `at`,
with the time the server received it beside it, so the activity shows both.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import Truncator

from catalogue.models import FailureMode
from core.roles import Role, user_role
from telemetry.models import MachineStatus
from telemetry.services import machine_status_set
from tickets.models import (
    ALERT_OPEN_STATUSES,
    FOUND_FAILURE_OUTCOMES,
    Alert,
    AlertSource,
    Breakdown,
    BreakdownSource,
    Ticket,
    TicketChecklistTick,
    TicketEvent,
    TicketEventKind,
    TicketOutcome,
    TicketStatus,
)
from tickets.permissions import ticket_may_manage, ticket_may_take, ticket_may_work_on
from tickets.services.alerts import alert_clear
from tickets.services.common import WorkflowError, at_or_now, done_at_checked, person_name
from tickets.services.events import TicketNews, TicketNewsKind, ticket_news, ticket_pushed
from tickets.services.opening import ticket_assign

REOPEN_WITHIN = datetime.timedelta(hours=24)


def ticket_record_edit(*, ticket: Ticket, actor, changed_fields: list[str]) -> TicketEvent | None:
    """Record an edit of a ticket's descriptive fields (title, priority, SOP…) in its audit trail."""
    if not changed_fields:
        return None
    labels = [str(Ticket._meta.get_field(name).verbose_name) for name in changed_fields]
    event = TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=TicketEventKind.EDITED, note="Changed: " + ", ".join(labels)
    )
    ticket_pushed(ticket, "edited")
    return event


def _ticket_locked(ticket: Ticket) -> Ticket:
    """The ticket, row-locked for the rest of the transaction, as the last commit left it.

    Lock first, then read with the joins: in one statement, a transaction that waited for the lock
    gets the ticket's row as the other transaction committed it, but PostgreSQL re-checks the joined
    rows by their old keys, so an assignee set meanwhile would come back as None.
    """
    list(Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk", flat=True))
    return Ticket.objects.select_related("machine", "alert", "assignee", "error_code").get(pk=ticket.pk)


def _require_work(actor, ticket: Ticket, action: str) -> None:
    if not ticket_may_work_on(actor, ticket):
        raise PermissionDenied(f"Only the ticket's assignee or a supervisor may {action} it.")


def _require_manage(actor, action: str) -> None:
    if not ticket_may_manage(actor):
        raise PermissionDenied(f"Only supervisors may {action} a ticket.")


def _status_event(
    ticket: Ticket,
    *,
    actor,
    from_status: str,
    at: datetime.datetime,
    received_at: datetime.datetime | None,
    note: str = "",
) -> None:
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=TicketEventKind.STATUS_CHANGED,
        from_status=from_status,
        to_status=ticket.status,
        note=note,
        at=at,
        received_at=received_at,
    )


def _when_done(
    ticket: Ticket,
    *,
    at: datetime.datetime | None,
    done_at: datetime.datetime | None,
    not_before: datetime.datetime | None = None,
    not_before_what: str = "",
) -> tuple[datetime.datetime, datetime.datetime | None]:
    """(when it was done, when the server received it or None when that is the same instant)."""
    received_at = at_or_now(at)
    if done_at is None:
        return received_at, None
    when = done_at_checked(
        ticket=ticket,
        done_at=done_at,
        received_at=received_at,
        not_before=not_before,
        not_before_what=not_before_what,
    )
    return when, received_at


def _refuse_unless_status(ticket: Ticket, wanted: str, action: str) -> None:
    if ticket.status == wanted:
        return
    reasons = {
        TicketStatus.OPEN: "it is open and not started yet: start it first (status in_progress)",
        TicketStatus.IN_PROGRESS: f"it is already in progress since "
        f"{timezone.localtime(ticket.started_at):%Y-%m-%d %H:%M}"
        if ticket.started_at
        else "it is already in progress",
        TicketStatus.RESOLVED: "it is resolved; a supervisor may reopen it within 24 hours of its resolution",
    }
    raise WorkflowError(f"Ticket #{ticket.pk} cannot be {action}: {reasons[ticket.status]}.")


@transaction.atomic
def ticket_take(*, ticket: Ticket, actor, at: datetime.datetime | None = None) -> Ticket:
    """A technician (or a supervisor who goes themself) takes an open ticket nobody has.

    The row lock decides between two who take it at once: the second waits for the first to
    commit, then finds the ticket assigned and is refused, saying who has it.
    """
    at = at_or_now(at)
    ticket = _ticket_locked(ticket)
    if not ticket_may_take(actor):
        raise PermissionDenied("Only technicians and supervisors take tickets.")
    _refuse_unless_status(ticket, TicketStatus.OPEN, "taken")
    if ticket.assignee_id == actor.pk:
        raise WorkflowError(f"Ticket #{ticket.pk} is already yours.")
    if ticket.assignee_id is not None:
        since = f" since {timezone.localtime(ticket.assigned_at):%Y-%m-%d %H:%M}" if ticket.assigned_at else ""
        raise WorkflowError(f"Ticket #{ticket.pk} cannot be taken: {person_name(ticket.assignee)} has it{since}.")
    ticket_assign(ticket=ticket, assignee=actor, actor=actor, at=at, note=f"Taken by {person_name(actor)}")
    return ticket


@transaction.atomic
def ticket_start(
    *, ticket: Ticket, actor, at: datetime.datetime | None = None, done_at: datetime.datetime | None = None
) -> Ticket:
    """open → in_progress: work begins, the machine is under maintenance."""
    ticket = _ticket_locked(ticket)
    _require_work(actor, ticket, "start")
    _refuse_unless_status(ticket, TicketStatus.OPEN, "started")
    at, received_at = _when_done(ticket, at=at, done_at=done_at)
    ticket.status = TicketStatus.IN_PROGRESS
    ticket.started_at = at
    ticket.save(update_fields=["status", "started_at", "updated_at"])
    _status_event(ticket, actor=actor, from_status=TicketStatus.OPEN, at=at, received_at=received_at)
    machine_status_set(machine=ticket.machine, status=MachineStatus.MAINTENANCE, at=at)
    ticket_pushed(ticket, "started")
    return ticket


def found_failure_mode_problem(*, outcome: str, found_failure_mode: str) -> str | None:
    """Why this failure mode found does not go with this outcome, or None when it does.

    A confirmed failure or a preventive fix says which failure mode was found: the resolve form
    offers the predicted one, so a technician who agrees changes nothing, and one who found another
    gives the models a label they could not get otherwise. A false alarm found none.
    """
    if outcome in FOUND_FAILURE_OUTCOMES:
        if not found_failure_mode:
            return f"Say which failure mode you found ({TicketOutcome(outcome).label.lower()})."
        if found_failure_mode not in FailureMode.values:
            return f"The failure mode found must be one of {', '.join(FailureMode.values)}; got {found_failure_mode!r}."
    elif found_failure_mode:
        return "A false alarm found no failure: leave the failure mode found empty."
    return None


@transaction.atomic
def ticket_resolve(
    *,
    ticket: Ticket,
    actor,
    outcome: str,
    notes: str,
    found_failure_mode: str = "",
    at: datetime.datetime | None = None,
    done_at: datetime.datetime | None = None,
) -> Ticket:
    """in_progress → resolved with an outcome, the failure mode found and notes: records the
    downtime, ends the machine's breakdown (or records one, for a confirmed failure), clears the
    alert, and the machine runs again."""
    ticket = _ticket_locked(ticket)
    _require_work(actor, ticket, "resolve")
    _refuse_unless_status(ticket, TicketStatus.IN_PROGRESS, "resolved")
    at, received_at = _when_done(
        ticket, at=at, done_at=done_at, not_before=ticket.started_at, not_before_what="was started"
    )
    if outcome not in TicketOutcome.values:
        raise WorkflowError(f"The outcome must be one of {', '.join(TicketOutcome.values)}; got {outcome!r}.")
    found_failure_mode = found_failure_mode or ""
    problem = found_failure_mode_problem(outcome=outcome, found_failure_mode=found_failure_mode)
    if problem is not None:
        raise WorkflowError(problem)
    notes = (notes or "").strip()
    if not notes:
        raise WorkflowError("Resolving a ticket needs notes: what was found and what was done.")

    breakdown = Breakdown.objects.select_for_update().filter(machine=ticket.machine, up_at__isnull=True).first()
    if breakdown is not None:
        breakdown.up_at, breakdown.ticket = max(at, breakdown.down_at), ticket
        breakdown.save(update_fields=["up_at", "ticket"])
    elif outcome == TicketOutcome.FAILURE_CONFIRMED and not ticket.breakdowns.exists():
        alert = ticket.alert
        predicted = (
            alert is not None and alert.source == AlertSource.PREDICTION and alert.opened_at <= ticket.started_at
        )
        breakdown = Breakdown.objects.create(
            machine=ticket.machine,
            error_code=ticket.error_code,
            source=BreakdownSource.TICKET,
            down_at=ticket.started_at,
            up_at=at,
            ticket=ticket,
            predicted_by=alert if predicted else None,
        )
    ticket.status = TicketStatus.RESOLVED
    ticket.outcome = outcome
    ticket.found_failure_mode = found_failure_mode
    ticket.resolution_notes = notes
    ticket.resolved_at = at
    ticket.downtime_start = min(breakdown.down_at if breakdown else ticket.started_at, at)
    ticket.downtime_end = at
    ticket.save(
        update_fields=[
            "status",
            "outcome",
            "found_failure_mode",
            "resolution_notes",
            "resolved_at",
            "downtime_start",
            "downtime_end",
            "updated_at",
        ]
    )
    label = TicketOutcome(outcome).label
    _status_event(
        ticket,
        actor=actor,
        from_status=TicketStatus.IN_PROGRESS,
        at=at,
        received_at=received_at,
        note=f"{label}{_found(ticket)}: {notes}",
    )
    for alert in (
        Alert.objects.filter(machine=ticket.machine, status__in=ALERT_OPEN_STATUSES)
        .filter(Q(pk=ticket.alert_id) | Q(ticket__isnull=True))
        .select_related("machine", "error_code")
    ):
        alert_clear(alert=alert, at=at, reason=f"Ticket #{ticket.pk} resolved: {label.lower()}", ticket=ticket)
    if not Ticket.objects.filter(machine=ticket.machine, status=TicketStatus.IN_PROGRESS).exists():
        machine_status_set(machine=ticket.machine, status=MachineStatus.RUNNING, at=at)
    ticket_pushed(ticket, "resolved")
    return ticket


def _found(ticket: Ticket) -> str:
    """The failure mode found, in words after the outcome (", found bearing wear"), with the
    predicted one beside it when the technician found another."""
    if not ticket.found_failure_mode:
        return ""
    found = f", found {FailureMode(ticket.found_failure_mode).label.lower()}"
    predicted = ticket.error_code.failure_mode if ticket.error_code else ""
    if predicted and predicted != ticket.found_failure_mode:
        found += f" (predicted {FailureMode(predicted).label.lower()})"
    return found


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, actor, note: str = "", at: datetime.datetime | None = None) -> Ticket:
    """resolved → open, by a supervisor, within 24 hours of the resolution (later: a new ticket)."""
    at = at_or_now(at)
    ticket = _ticket_locked(ticket)
    _require_manage(actor, "reopen")
    if ticket.status != TicketStatus.RESOLVED:
        raise WorkflowError(
            f"Ticket #{ticket.pk} cannot be reopened: only a resolved ticket can, and it is "
            f"{ticket.get_status_display().lower()}."
        )
    if at - ticket.resolved_at > REOPEN_WITHIN:
        raise WorkflowError(
            f"Ticket #{ticket.pk} cannot be reopened: it was resolved more than 24 hours ago "
            f"({timezone.localtime(ticket.resolved_at):%Y-%m-%d %H:%M}); open a new ticket instead."
        )
    previous = (
        f"previous resolution: {TicketOutcome(ticket.outcome).label.lower()}{_found(ticket)}: {ticket.resolution_notes}"
    )
    ticket.status = TicketStatus.OPEN
    ticket.outcome = ""
    ticket.found_failure_mode = ""
    ticket.resolution_notes = ""
    ticket.resolved_at = None
    ticket.downtime_end = None
    ticket.save(
        update_fields=[
            "status",
            "outcome",
            "found_failure_mode",
            "resolution_notes",
            "resolved_at",
            "downtime_end",
            "updated_at",
        ]
    )
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=TicketEventKind.REOPENED,
        from_status=TicketStatus.RESOLVED,
        to_status=TicketStatus.OPEN,
        note="; ".join(part for part in ((note or "").strip(), previous) if part),
        at=at,
    )
    ticket_pushed(ticket, "reopened")
    return ticket


@transaction.atomic
def ticket_reassign(*, ticket: Ticket, actor, assignee, at: datetime.datetime | None = None) -> Ticket:
    """A supervisor gives an unresolved ticket to another technician."""
    at = at_or_now(at)
    ticket = _ticket_locked(ticket)
    _require_manage(actor, "reassign")
    if ticket.status == TicketStatus.RESOLVED:
        raise WorkflowError(f"Ticket #{ticket.pk} cannot be reassigned: it is resolved; reopen it first.")
    if not assignee.is_active or user_role(assignee) != Role.TECHNICIAN:
        raise WorkflowError(f"{person_name(assignee)} is not an active technician: tickets go to technicians.")
    if ticket.assignee_id == assignee.pk:
        raise WorkflowError(f"Ticket #{ticket.pk} is already assigned to {person_name(assignee)}.")
    note = f"Reassigned from {person_name(ticket.assignee)} to {person_name(assignee)}"
    ticket_assign(ticket=ticket, assignee=assignee, actor=actor, at=at, note=note)
    return ticket


@transaction.atomic
def ticket_comment(
    *,
    ticket: Ticket,
    actor,
    text: str,
    at: datetime.datetime | None = None,
    done_at: datetime.datetime | None = None,
) -> TicketEvent:
    ticket = _ticket_locked(ticket)
    _require_work(actor, ticket, "comment on")
    text = (text or "").strip()
    if not text:
        raise WorkflowError("A comment needs some text.")
    at, received_at = _when_done(ticket, at=at, done_at=done_at)
    event = TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=TicketEventKind.COMMENTED, note=text, at=at, received_at=received_at
    )
    ticket.save(update_fields=["updated_at"])
    ticket_pushed(ticket, "commented")
    # News when it reaches the server: a comment written offline an hour ago is still new to the assignee.
    news_at = received_at or at
    ticket_news(TicketNews(ticket, TicketNewsKind.COMMENTED, at=news_at, actor_id=actor.pk, comment=text))
    return event


@transaction.atomic
def ticket_checklist_tick(
    *,
    ticket: Ticket,
    actor,
    step: int,
    done: bool,
    at: datetime.datetime | None = None,
    done_at: datetime.datetime | None = None,
) -> TicketChecklistTick:
    """Tick (or untick) step number `step` of the ticket's SOP, kept on the server with who and when.

    Ticks sent late from a tablet may arrive out of order: the latest by `done_at` wins, and an
    older one changes nothing (no event). A resolved ticket's checklist is closed (WorkflowError);
    a step its SOP does not have is a ValidationError naming `step`.
    """
    ticket = _ticket_locked(ticket)
    _require_work(actor, ticket, "tick the checklist of")
    if ticket.status == TicketStatus.RESOLVED:
        raise WorkflowError(f"Ticket #{ticket.pk}'s checklist cannot be changed: the ticket is resolved.")
    sop_step = ticket.sop.steps.filter(order=step).first() if ticket.sop_id else None
    if sop_step is None:
        raise ValidationError({"step": [f"Ticket #{ticket.pk}'s SOP has no step {step}."]})
    at, received_at = _when_done(ticket, at=at, done_at=done_at)
    tick = TicketChecklistTick.objects.filter(ticket=ticket, step=step).first()
    if tick is not None and tick.done_at > at:
        return tick
    if tick is None:
        tick = TicketChecklistTick(ticket=ticket, step=step)
    tick.done, tick.done_at, tick.done_by = done, at, actor
    tick.save()
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=TicketEventKind.CHECKLIST_TICKED,
        note=f"Step {step} {'done' if done else 'not done'}: {Truncator(sop_step.instruction).chars(120)}",
        at=at,
        received_at=received_at,
    )
    ticket.save(update_fields=["updated_at"])
    ticket_pushed(ticket, "checklist_ticked")
    return tick
