"""The dashboard events of alerts and tickets, pushed on commit (realtime.broadcast)."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Q

from core.roles import Role
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
