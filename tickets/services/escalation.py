"""Open tickets nobody started in time go to the supervisors."""

import datetime

from django.conf import settings
from django.db import transaction

from tickets.models import (
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)
from tickets.services.common import at_or_now
from tickets.services.events import TicketNews, TicketNewsKind, supervisor_ids, ticket_news, ticket_pushed


@transaction.atomic(savepoint=False)
def tickets_escalate_overdue(*, now: datetime.datetime | None = None) -> list[Ticket]:
    """Open tickets nobody started within TICKET_ESCALATE_MINUTES go to the supervisors, once each.

    Run on every predictor tick (predictions_handle; of partition 0 with several workers); cheap when
    nothing is due (one indexed query).
    """
    now = at_or_now(now)
    minutes = settings.TICKET_ESCALATE_MINUTES
    due = list(
        Ticket.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(
            status=TicketStatus.OPEN,
            escalated_at__isnull=True,
            opened_at__lte=now - datetime.timedelta(minutes=minutes),
        )
        .select_related("machine")
        .order_by("opened_at", "pk")
    )
    if not due:
        return []
    supervisors = supervisor_ids()
    for ticket in due:
        ticket.escalated_at = ticket.updated_at = now
        waited = (now - ticket.opened_at).total_seconds() / 60
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEventKind.ESCALATED,
            note=f"Not started {waited:.0f} minutes after it opened (limit {minutes}); supervisors told",
            at=now,
        )
        ticket_pushed(ticket, "escalated", user_ids=supervisors)
        ticket_news(TicketNews(ticket, TicketNewsKind.ESCALATED, at=now))
    Ticket.objects.bulk_update(due, ["escalated_at", "updated_at"])
    return due
