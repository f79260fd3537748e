"""The operator's one-screen summary (`manage.py plant_status`): reads across the apps, writes nothing.

Each figure is one aggregate query, and "newest reading / prediction per machine" walks the
(machine, ts) indexes machine by machine rather than scanning the readings table.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from predictor.models import ModelVersion, Prediction
from telemetry.models import Machine, MachineStatus
from telemetry.selectors import machine_newest_reading_ts
from tickets.models import ALERT_OPEN_STATUSES, Alert, Ticket, TicketStatus

# A machine whose newest reading is older than this is not being heard from.
SILENT_AFTER = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class PlantStatus:
    now: datetime.datetime
    machines_by_status: dict[str, int]
    silent_machines: list[str]  # running machines with no reading within SILENT_AFTER
    newest_reading_at: datetime.datetime | None
    newest_prediction_at: datetime.datetime | None
    open_alerts: dict[str, int]  # by status
    tickets: dict[str, int]  # open and in progress; unassigned and escalated among the open ones
    active_models: list[ModelVersion]


def plant_status_read(*, now: datetime.datetime) -> PlantStatus:
    newest = Machine.objects.annotate(
        last_reading=machine_newest_reading_ts(),
        last_prediction=Subquery(
            Prediction.objects.filter(machine=OuterRef("pk")).order_by("-ts").values("created_at")[:1]
        ),
    ).values_list("code", "status", "last_reading", "last_prediction")
    by_status = dict.fromkeys(MachineStatus.values, 0)
    silent, last_readings, last_predictions = [], [], []
    for code, status, last_reading, last_prediction in newest:
        by_status[status] = by_status.get(status, 0) + 1
        if last_reading is not None:
            last_readings.append(last_reading)
        if last_prediction is not None:
            last_predictions.append(last_prediction)
        if status == MachineStatus.RUNNING and (last_reading is None or now - last_reading > SILENT_AFTER):
            silent.append(code)
    alerts = dict(
        Alert.objects.filter(status__in=ALERT_OPEN_STATUSES).values_list("status").annotate(n=Count("id")).order_by()
    )
    tickets = Ticket.objects.aggregate(
        open=Count("id", filter=Q(status=TicketStatus.OPEN)),
        in_progress=Count("id", filter=Q(status=TicketStatus.IN_PROGRESS)),
        unassigned=Count("id", filter=Q(status=TicketStatus.OPEN, assignee__isnull=True)),
        escalated=Count("id", filter=Q(status=TicketStatus.OPEN, escalated_at__isnull=False)),
    )
    return PlantStatus(
        now=now,
        machines_by_status=by_status,
        silent_machines=sorted(silent),
        newest_reading_at=max(last_readings, default=None),
        newest_prediction_at=max(last_predictions, default=None),
        open_alerts={status: alerts.get(status, 0) for status in ALERT_OPEN_STATUSES},
        tickets=tickets,
        active_models=list(ModelVersion.objects.filter(is_active=True).order_by("kind")),
    )


def _age(now: datetime.datetime, moment: datetime.datetime | None) -> str:
    if moment is None:
        return "never"
    seconds = max(0.0, (now - moment).total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def plant_status_text(status: PlantStatus) -> str:
    machines = sum(status.machines_by_status.values())
    states = ", ".join(
        f"{count} {MachineStatus(name).label.lower()}" for name, count in status.machines_by_status.items()
    )
    silent = status.silent_machines
    silent_line = (
        f"{len(silent)} running machines silent for over {SILENT_AFTER.seconds // 60} min: "
        + ", ".join(silent[:12])
        + (" …" if len(silent) > 12 else "")
        if silent
        else "every running machine reported in the last 5 min"
    )
    models = (
        "; ".join(f"{version.get_kind_display()} {version.version}" for version in status.active_models)
        or "none: manage.py train_models --activate"
    )
    tickets = status.tickets
    lines = [
        f"MaintainX plant status at {timezone.localtime(status.now):%Y-%m-%d %H:%M:%S %Z}",
        f"  machines     {machines}: {states}",
        f"  telemetry    newest reading {_age(status.now, status.newest_reading_at)}; {silent_line}",
        f"  predictor    newest prediction {_age(status.now, status.newest_prediction_at)}; active models: {models}",
        "  alerts       " + ", ".join(f"{count} {name}" for name, count in status.open_alerts.items()),
        f"  tickets      {tickets['open']} open ({tickets['unassigned']} unassigned, "
        f"{tickets['escalated']} escalated), {tickets['in_progress']} in progress",
    ]
    return "\n".join(lines)
