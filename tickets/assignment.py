"""Who gets a new ticket: the assignment policy, one function so that it is easy to replace."""

import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from core.roles import Role
from tickets.models import Shift, Ticket, TicketStatus

User = get_user_model()


def technicians_on_shift(*, at: datetime.datetime) -> list[int]:
    """Ids of the active technicians whose shift covers `at` (plant-local time, settings.TIME_ZONE)."""
    moment = timezone.localtime(at).time()
    on_shift = set()
    for shift in Shift.objects.prefetch_related("technicians"):
        if shift.covers(moment):
            on_shift.update(user.pk for user in shift.technicians.all() if user.is_active)
    return list(
        User.objects.filter(pk__in=on_shift, groups__name=Role.TECHNICIAN).order_by("pk").values_list("pk", flat=True)
    )


def least_busy_technician_on_shift(*, ticket: Ticket, at: datetime.datetime):
    """The technician on shift with the fewest open and in-progress tickets; ties go to the one
    assigned least recently (never assigned counts as longest ago), then to the lowest id so that
    the choice is repeatable. None when nobody is on shift.

    It locks the candidates' rows for the caller's transaction first, so that two tickets opened
    at once are assigned one after the other and the second sees the first one's load.
    """
    candidates = technicians_on_shift(at=at)
    if not candidates:
        return None
    list(
        User.objects.select_for_update(no_key=True)
        .filter(pk__in=candidates)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return (
        User.objects.filter(pk__in=candidates)
        .annotate(
            load=Count(
                "assigned_tickets",
                filter=Q(assigned_tickets__status__in=[TicketStatus.OPEN, TicketStatus.IN_PROGRESS]),
            ),
            last_assigned=Max("assigned_tickets__assigned_at"),
        )
        .order_by("load", F("last_assigned").asc(nulls_first=True), "pk")
        .first()
    )


# The policy the services use. Replace it with any function of the same signature.
assignee_for_new_ticket = least_busy_technician_on_shift
