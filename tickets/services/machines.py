"""A machine's breakdowns as the alerts and tickets record them (its status is telemetry's: machine_status_set)."""

import datetime

from catalogue.models import ErrorCode
from telemetry.models import Machine
from tickets.models import Alert, Breakdown, BreakdownSource


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
