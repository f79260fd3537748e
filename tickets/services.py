"""Writes to tickets, alerts and SOPs. Every change to a ticket records a TicketEvent."""

from django.db import transaction

from telemetry.models import Machine
from tickets.models import SOP, ErrorCode, Severity, Ticket, TicketEvent, TicketEventKind


@transaction.atomic
def ticket_create(
    *,
    machine: Machine,
    title: str,
    actor=None,
    description: str = "",
    error_code: ErrorCode | None = None,
    sop: SOP | None = None,
    priority: int | None = None,
) -> Ticket:
    """Open a ticket by hand (a work order); alert-driven tickets come from the predictor."""
    if priority is None:
        priority = error_code.severity if error_code else Severity.MEDIUM
    ticket = Ticket.objects.create(
        machine=machine, title=title, description=description, error_code=error_code, sop=sop, priority=priority
    )
    TicketEvent.objects.create(ticket=ticket, actor=actor, kind=TicketEventKind.CREATED, to_status=ticket.status)
    return ticket


def ticket_record_edit(*, ticket: Ticket, actor, changed_fields: list[str]) -> TicketEvent | None:
    """Record an edit of a ticket's descriptive fields (title, priority, SOP…) in its audit trail."""
    if not changed_fields:
        return None
    labels = [str(Ticket._meta.get_field(name).verbose_name) for name in changed_fields]
    return TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=TicketEventKind.EDITED, note="Changed: " + ", ".join(labels)
    )
