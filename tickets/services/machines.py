"""A machine's state as the alerts and tickets move it: its status and its breakdowns."""

import datetime
from collections.abc import Iterable

from catalogue.models import ErrorCode
from realtime.broadcast import broadcast_on_commit
from telemetry.models import Machine
from tickets.models import Alert, Breakdown, BreakdownSource


def machine_status_set(
    *, machine: Machine, status: str, at: datetime.datetime, only_from: Iterable[str] | None = None
) -> bool:
    """Move the machine to `status` (from one of `only_from`, when given); pushes the change."""
    machines = Machine.objects.filter(pk=machine.pk).exclude(status=status)
    if only_from is not None:
        machines = machines.filter(status__in=list(only_from))
    if not machines.update(status=status, status_changed_at=at):
        return False
    machine.status, machine.status_changed_at = status, at
    broadcast_on_commit({"type": "machine", "event": "status", "machine": machine.code, "status": status})
    return True


def breakdown_start(
    *, machine: Machine, down_at: datetime.datetime, error_code: ErrorCode, predicted_by: Alert | None
) -> Breakdown:
    """The machine failed at `down_at`; a machine already down keeps its breakdown."""
    breakdown, _ = Breakdown.objects.get_or_create(
        machine=machine,
        up_at__isnull=True,
        defaults={
            "down_at": down_at,
            "error_code": error_code,
            "source": BreakdownSource.MACHINE_REPORT,
            "predicted_by": predicted_by,
        },
    )
    return breakdown
