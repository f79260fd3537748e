import datetime
from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from tickets.models import SOP, Alert, Breakdown, ErrorCode, SOPStep, Ticket, TicketEvent, TicketStatus
from tickets.permissions import ticket_visibility

_STEPS_IN_ORDER = Prefetch("steps", queryset=SOPStep.objects.order_by("order", "id"))


def error_code_list() -> QuerySet[ErrorCode]:
    return ErrorCode.objects.all()


def sop_for_error_code(*, code: str) -> SOP | None:
    """The newest published SOP for the error code, with its steps in order; None if it has none.

    Raises ErrorCode.DoesNotExist for an unknown code, so callers can tell the two apart.
    """
    error_code = ErrorCode.objects.get(code=code)
    return (
        error_code.sops.filter(is_published=True)
        .order_by("-version", "-updated_at")
        .prefetch_related(_STEPS_IN_ORDER, "error_codes")
        .first()
    )


def tickets_resolved_since(
    *, machine_codes: Iterable[str], since: datetime.datetime
) -> list[tuple[int, str, datetime.datetime]]:
    """(ticket id, machine code, resolved_at) of these machines' tickets resolved after `since`, oldest first."""
    return list(
        Ticket.objects.filter(
            machine__code__in=list(machine_codes), status=TicketStatus.RESOLVED, resolved_at__gt=since
        )
        .order_by("resolved_at", "id")
        .values_list("id", "machine__code", "resolved_at")
    )


def error_code_by_failure_mode() -> dict[str, ErrorCode]:
    """The error code a predicted failure mode opens tickets with: the first code of each mode."""
    codes: dict[str, ErrorCode] = {}
    for error_code in ErrorCode.objects.order_by("code"):
        codes.setdefault(error_code.failure_mode, error_code)
    return codes


def sop_list() -> QuerySet[SOP]:
    """Published SOPs, newest version first within a title, with their steps and error codes."""
    return SOP.objects.filter(is_published=True).prefetch_related(_STEPS_IN_ORDER, "error_codes")


def alert_list() -> QuerySet[Alert]:
    """Every alert (all roles read them), newest first, with what the list shows in one query: the
    why and the remaining life come from the alert's last prediction."""
    return Alert.objects.select_related(
        "machine", "error_code", "acknowledged_by", "cleared_by", "ticket", "last_prediction"
    )


def ticket_list(*, user) -> QuerySet[Ticket]:
    """The tickets `user` may see (tickets.permissions): the API lists and fetches through this."""
    return Ticket.objects.filter(ticket_visibility(user)).select_related("machine", "error_code", "assignee", "alert")


def ticket_detail_list(*, user) -> QuerySet[Ticket]:
    """ticket_list with the SOP's steps and the audit trail, for one ticket's page."""
    return ticket_list(user=user).prefetch_related(
        Prefetch("sop", queryset=SOP.objects.prefetch_related(_STEPS_IN_ORDER, "error_codes")),
        Prefetch("events", queryset=TicketEvent.objects.select_related("actor", "assignee").order_by("at", "id")),
    )


def tickets_in_hand() -> QuerySet[Ticket]:
    """Open and in-progress tickets that someone is assigned to, oldest first, with their machine,
    error code and SOP steps (the demo's simulated crew works through these)."""
    return (
        Ticket.objects.filter(status__in=[TicketStatus.OPEN, TicketStatus.IN_PROGRESS], assignee__isnull=False)
        .select_related("machine", "error_code", "assignee")
        .prefetch_related(Prefetch("sop", queryset=SOP.objects.prefetch_related(_STEPS_IN_ORDER)))
        .order_by("opened_at", "pk")
    )


def breakdown_open(*, machine_id: int) -> bool:
    """Whether the machine is down now: a breakdown started and not ended."""
    return Breakdown.objects.filter(machine_id=machine_id, up_at__isnull=True).exists()
