"""The dashboard events of alerts and tickets, pushed on commit (realtime.broadcast), and the news
of tickets that people are told of (notifications, through the handler the composition root wires)."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth import get_user_model
from django.db.models import Q

from core.roles import Role
from core.wiring import wired
from realtime.broadcast import broadcast_on_commit
from tickets.models import (
    Alert,
    Ticket,
)

User = get_user_model()


def alert_pushed(alert: Alert, event: str, *, machine_code: str, user_ids: Iterable[int | None] = ()) -> None:
    broadcast_on_commit(
        {
            "type": "alert",
            "event": event,
            "id": alert.pk,
            "machine": machine_code,
            "error_code": alert.error_code.code,
            "status": alert.status,
            "probability": None if alert.probability is None else round(alert.probability, 3),
            "source": alert.source,
        },
        user_ids=user_ids,
    )


def ticket_pushed(ticket: Ticket, event: str, *, user_ids: Iterable[int | None] = (), plant: bool = True) -> None:
    broadcast_on_commit(
        {
            "type": "ticket",
            "event": event,
            "id": ticket.pk,
            "machine": ticket.machine.code,
            "status": ticket.status,
            "priority": ticket.priority,
            "assignee": ticket.assignee_id,
        },
        user_ids=[ticket.assignee_id, *user_ids],
        plant=plant,
    )


def supervisor_ids() -> list[int]:
    return list(
        User.objects.filter(Q(groups__name=Role.SUPERVISOR) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


class TicketNewsKind(StrEnum):
    ASSIGNED = "assigned"
    REASSIGNED = "reassigned"
    ESCALATED = "escalated"
    COMMENTED = "commented"
    UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class TicketNews:
    """What happened to a ticket that someone may need to be told of; who is told, and how, is the
    notifications' business (their rules: shifts, digests, channels)."""

    ticket: Ticket
    what: TicketNewsKind
    at: datetime.datetime
    actor_id: int | None = None
    previous_assignee_id: int | None = None
    comment: str = ""


def ticket_news(news: TicketNews) -> None:
    """Hand `news` to TICKET_NEWS_HANDLER inside the caller's transaction: what it records commits or
    rolls back with the ticket, and it delivers nothing before the commit."""
    wired("TICKET_NEWS_HANDLER")(news)
