"""Alerts from the machines' own error reports (the listener's hand-off): the machine says it has failed."""

import datetime
import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from django.db import transaction

from catalogue.models import ErrorCode, FailureMode, Severity
from realtime.broadcast import batch as push_batch
from telemetry.models import Machine, MachineStatus
from telemetry.services import machine_status_set
from tickets.models import ALERT_OPEN_STATUSES, Alert, AlertSource, AlertStatus, Breakdown
from tickets.services.alerts import alerts_watched
from tickets.services.common import at_or_now
from tickets.services.events import alert_pushed
from tickets.services.machines import breakdown_start
from tickets.services.opening import ticket_for_new_alert

logger = logging.getLogger(__name__)

# A machine's own error report older than this is history (a backfill of past readings, a replay),
# not a failure anyone can still act on: it stays a stored reading and raises nothing. An hour
# covers a listener that was down for a while and catches up from the broker.
MACHINE_REPORT_MAX_AGE = datetime.timedelta(hours=1)


class MachineReport(Protocol):
    """A reading that carried the machine's own error code (telemetry.ingest.ReadingRow is one)."""

    machine_id: int
    ts: datetime.datetime
    error_code: str


def machine_reports_handle(*, reports: Sequence[MachineReport], now: datetime.datetime | None = None) -> list[Alert]:
    """Readings that carried an error code: the machine says it has failed. Raises a critical alert
    at once (no threshold, no cooldown), with its ticket; the machine goes down and a breakdown
    starts. Returns the alerts raised or refreshed.

    Called inside the ingest batch's transaction. A report the machine repeats is one alert; a
    report older than MACHINE_REPORT_MAX_AGE, or older than the repair that cleared the same code,
    raises nothing (a redelivery, a replay, a backfill of history).
    """
    now = at_or_now(now)
    oldest = now - MACHINE_REPORT_MAX_AGE
    first_report: dict[tuple[int, str], datetime.datetime] = {}
    for report in reports:
        if report.error_code and report.ts >= oldest:
            key = (report.machine_id, report.error_code)
            if key not in first_report or report.ts < first_report[key]:
                first_report[key] = report.ts
    if not first_report:
        return []
    try:
        # A savepoint: the readings of the batch are stored whatever happens to the alerting. The
        # batch of pushes around it is sent only if the savepoint's changes are kept.
        with push_batch(), transaction.atomic():
            return _machine_reports_raise(first_report, now=now, oldest=oldest)
    except Exception:
        # The listener must go on storing readings; the failure report is in the readings, and
        # the log says why it raised no alert.
        logger.exception("could not raise alerts for machine reports %s", sorted(first_report))
        return []


def _error_codes_for(codes: Iterable[str]) -> dict[str, ErrorCode]:
    """The error codes by code; a code nobody has described yet is created (critical, "other") so
    that the failure is not lost, and a supervisor can give it a title and an SOP in the admin."""
    codes = set(codes)
    found = {error_code.code: error_code for error_code in ErrorCode.objects.filter(code__in=codes)}
    for code in sorted(codes - set(found)):
        found[code], _ = ErrorCode.objects.get_or_create(
            code=code,
            defaults={
                "title": f"{code} (reported by a machine, not described yet)",
                "severity": Severity.CRITICAL,
                "failure_mode": FailureMode.OTHER,
            },
        )
    return found


def _machine_reports_raise(
    first_report: dict[tuple[int, str], datetime.datetime], *, now: datetime.datetime, oldest: datetime.datetime
) -> list[Alert]:
    codes = _error_codes_for(code for _, code in first_report)
    machine_ids = sorted({machine_id for machine_id, _ in first_report})
    machines = {
        machine.pk: machine
        for machine in Machine.objects.select_for_update(no_key=True).filter(pk__in=machine_ids).order_by("pk")
    }
    open_alerts, _ = alerts_watched(machine_ids=machine_ids, at=now, sources=AlertSource.values)
    already_down = set(
        Breakdown.objects.filter(machine_id__in=machine_ids, up_at__isnull=True).values_list("machine_id", flat=True)
    )
    repaired_since: dict[tuple[int, int], datetime.datetime] = {}
    for machine_id, code_id, cleared_at in Alert.objects.filter(
        machine_id__in=machine_ids, status=AlertStatus.CLEARED, cleared_at__gte=oldest
    ).values_list("machine_id", "error_code_id", "cleared_at"):
        key = (machine_id, code_id)
        repaired_since[key] = max(cleared_at, repaired_since.get(key, cleared_at))
    alerts = []
    for (machine_id, code), ts in sorted(first_report.items(), key=lambda item: item[1]):
        machine, error_code = machines.get(machine_id), codes[code]
        if machine is None:
            continue
        cleared_at = repaired_since.get((machine_id, error_code.pk))
        if cleared_at is not None and ts <= cleared_at:
            continue  # from before the repair that cleared this code
        alert = next((a for a in open_alerts.get(machine_id, []) if a.error_code_id == error_code.pk), None)
        if alert is None:
            alert, created = Alert.objects.get_or_create(
                machine=machine,
                error_code=error_code,
                status__in=ALERT_OPEN_STATUSES,
                defaults={
                    "source": AlertSource.MACHINE,
                    "probability": 1.0,
                    "opened_at": ts,
                    "refreshed_at": now,
                },
            )
            if created:
                open_alerts[machine_id].append(alert)
                alert_pushed(alert, "raised", machine_code=machine.code)
        else:
            created = False
        if not created:
            if machine_id in already_down:
                continue  # the machine repeats what it reported: this failure is already known
            alert.probability = 1.0
            alert.refreshed_at = now
            alert.below_clear_threshold_since = None
            alert.save(update_fields=["probability", "refreshed_at", "below_clear_threshold_since", "updated_at"])
            alert_pushed(alert, "refreshed", machine_code=machine.code)
        alerts.append(alert)
        predicted_by = next(
            (a for a in open_alerts[machine_id] if a.source == AlertSource.PREDICTION and a.opened_at <= ts), None
        )
        machine_status_set(
            machine=machine, status=MachineStatus.DOWN, at=ts, only_from=[MachineStatus.RUNNING, MachineStatus.DEGRADED]
        )
        breakdown_start(machine=machine, down_at=ts, error_code=error_code, predicted_by=predicted_by)
        already_down.add(machine_id)
        ticket_for_new_alert(alert=alert, machine=machine, prediction=None, at=now, reported_at=ts)
    return alerts
