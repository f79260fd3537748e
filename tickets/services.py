"""Writes to alerts, tickets and breakdowns, and the machine status changes that go with them.

Every change to a ticket records a TicketEvent; every change to an alert or a ticket is pushed to
the dashboards once it commits (tickets.push). Who may do what is decided by tickets.permissions,
the same rules the API filters with; a change the object's state does not allow raises
WorkflowError with the reason, which the API answers with 400.

Entry points of the other apps:
- predictor: `predictions_handle` once per tick, with the tick's saved predictions;
- telemetry: `machine_reports_handle` with the readings of a batch that carried an error code.
"""

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.roles import Role, user_role
from predictor.models import Prediction
from telemetry.models import Machine, MachineStatus, ReadingMinute
from tickets.assignment import assignee_for_new_ticket
from tickets.models import (
    ALERT_OPEN_STATUSES,
    SOP,
    Alert,
    AlertSource,
    AlertStatus,
    Breakdown,
    BreakdownSource,
    ErrorCode,
    FailureMode,
    Severity,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketOutcome,
    TicketStatus,
)
from tickets.permissions import alert_may_acknowledge, ticket_may_manage, ticket_may_take, ticket_may_work_on
from tickets.push import batch as push_batch
from tickets.push import broadcast_on_commit
from tickets.selectors import sop_for_error_code

logger = logging.getLogger(__name__)
User = get_user_model()

# A machine's own error report older than this is history (a backfill of past readings, a replay),
# not a failure anyone can still act on: it stays a stored reading and raises nothing. An hour
# covers a listener that was down for a while and catches up from the broker.
MACHINE_REPORT_MAX_AGE = datetime.timedelta(hours=1)
# The readings window kept on a ticket as evidence: what the technician sees the model saw.
EVIDENCE_WINDOW = datetime.timedelta(hours=1)
REOPEN_WITHIN = datetime.timedelta(hours=24)


class WorkflowError(Exception):
    """A change the alert's or ticket's state does not allow; the message says why."""


class MachineReport(Protocol):
    """A reading that carried the machine's own error code (telemetry.ingest.ReadingRow is one)."""

    machine_id: int
    ts: datetime.datetime
    error_code: str


def _name(user) -> str:
    return user.get_full_name() or user.username if user is not None else "nobody"


def _at(moment: datetime.datetime | None) -> datetime.datetime:
    return moment if moment is not None else timezone.now()


# --- push payloads ------------------------------------------------------------------------------


def _alert_pushed(alert: Alert, event: str, *, machine_code: str, user_ids: Iterable[int | None] = ()) -> None:
    broadcast_on_commit(
        {
            "type": "alert",
            "event": event,
            "id": alert.pk,
            "machine": machine_code,
            "error_code": alert.error_code.code,
            "status": alert.status,
            "probability": round(alert.probability, 3),
        },
        user_ids=user_ids,
    )


def _ticket_pushed(ticket: Ticket, event: str, *, user_ids: Iterable[int | None] = (), plant: bool = True) -> None:
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


def _supervisor_ids() -> list[int]:
    return list(
        User.objects.filter(Q(groups__name=Role.SUPERVISOR) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- machine status -----------------------------------------------------------------------------


def _machine_status_set(
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


# --- alerts from predictions (the predictor's hand-off) -----------------------------------------


def predictions_handle(*, predictions: Sequence[Prediction], detected_at: datetime.datetime) -> None:
    """Once per predictor tick: raise, refresh or clear alerts from the tick's predictions, then
    escalate the tickets nobody started in time (the tick is MaintainX's clock for that).

    Costs two queries when nothing is above the threshold and no alert is open, whatever the
    number of predictions.
    """
    with push_batch():
        alerts_from_predictions(predictions=predictions, at=detected_at)
        tickets_escalate_overdue(now=detected_at)


def _alerts_watched(*, machine_ids: Iterable[int] | None, at: datetime.datetime):
    """Open alerts, and alerts cleared within the cooldown that are not re-armed yet."""
    cooldown_start = at - datetime.timedelta(minutes=settings.ALERT_COOLDOWN_MINUTES)
    alerts = Alert.objects.filter(
        Q(status__in=ALERT_OPEN_STATUSES) | Q(status=AlertStatus.CLEARED, cleared_at__gte=cooldown_start)
    ).select_related("machine", "error_code")
    if machine_ids is not None:
        alerts = alerts.filter(machine_id__in=list(machine_ids))
    open_alerts: dict[int, list[Alert]] = defaultdict(list)
    cooling: dict[int, list[Alert]] = defaultdict(list)
    for alert in alerts.order_by("opened_at", "pk"):
        if alert.status in ALERT_OPEN_STATUSES:
            open_alerts[alert.machine_id].append(alert)
        elif alert.rearmed_at is None:
            cooling[alert.machine_id].append(alert)
    return open_alerts, cooling


# No savepoint: inside the predictor's transaction a savepoint would only cost round trips, and
# any error here must roll back the whole tick anyway.
@transaction.atomic(savepoint=False)
def alerts_from_predictions(*, predictions: Sequence[Prediction], at: datetime.datetime) -> list[Alert]:
    """Apply a tick's predictions to the alerts; returns the alerts raised.

    - p ≥ PREDICTION_THRESHOLD raises an alert for the machine and the predicted error code, with
      its ticket, or refreshes the machine's open alert: never a second one.
    - Hysteresis: an open predicted alert clears itself once p has stayed below
      ALERT_CLEAR_THRESHOLD for ALERT_CLEAR_MINUTES.
    - Cooldown: for ALERT_COOLDOWN_MINUTES after an alert of a machine cleared, no new alert opens
      for it unless p first fell below the threshold and then rose again (the window a repaired
      machine is judged on still holds the readings from before the repair).

    The failure probability belongs to the machine (failure of any kind within the horizon), so
    hysteresis and cooldown work per machine; the error code says which failure is most likely.
    """
    threshold = settings.PREDICTION_THRESHOLD
    latest: dict[int, Prediction] = {}
    for prediction in predictions:
        current = latest.get(prediction.machine_id)
        if current is None or prediction.ts >= current.ts:
            latest[prediction.machine_id] = prediction
    open_alerts, cooling = _alerts_watched(machine_ids=None, at=at)

    to_raise: dict[int, Prediction] = {}
    changed: list[Alert] = []
    for machine_id, prediction in latest.items():
        if prediction.failure_probability >= threshold:
            alerts = open_alerts.get(machine_id)
            if alerts:
                changed.append(_alert_refreshed(_alert_to_refresh(alerts, prediction), prediction=prediction, at=at))
            else:
                to_raise[machine_id] = prediction
        elif machine_id in open_alerts:
            changed.extend(_alerts_below_threshold(open_alerts[machine_id], prediction=prediction, at=at))
        elif machine_id in cooling:
            for alert in cooling[machine_id]:
                alert.rearmed_at = at
                changed.append(alert)
    if changed:
        for alert in changed:
            alert.updated_at = at
        Alert.objects.bulk_update(
            changed,
            [
                "probability",
                "last_prediction",
                "refreshed_at",
                "below_clear_threshold_since",
                "rearmed_at",
                "updated_at",
            ],
        )
    return _alerts_raise(to_raise, at=at) if to_raise else []


def _alert_to_refresh(alerts: list[Alert], prediction: Prediction) -> Alert:
    """The machine's open alert for the predicted code, else its oldest open one: one sick machine
    keeps one alert while the most likely failure mode wavers between codes."""
    return next((a for a in alerts if a.error_code_id == prediction.error_code_id), alerts[0])


def _alerts_below_threshold(alerts: list[Alert], *, prediction: Prediction, at: datetime.datetime) -> list[Alert]:
    """Hysteresis for a machine's open predicted alerts; clears those whose time below has run out.

    Returns the alerts left open, changed, for one bulk update.
    """
    clear_threshold = settings.ALERT_CLEAR_THRESHOLD
    clear_after = datetime.timedelta(minutes=settings.ALERT_CLEAR_MINUTES)
    probability = prediction.failure_probability
    still_open = []
    for alert in alerts:
        if alert.source != AlertSource.PREDICTION:
            continue  # a failure the machine reported clears with its ticket, not with a prediction
        alert.probability = probability
        alert.last_prediction = prediction
        if probability >= clear_threshold:
            alert.below_clear_threshold_since = None
        elif alert.below_clear_threshold_since is None:
            alert.below_clear_threshold_since = at
        if alert.below_clear_threshold_since is not None and at - alert.below_clear_threshold_since >= clear_after:
            _alert_clear(
                alert=alert,
                at=at,
                reason=f"Recovered: failure probability below {clear_threshold:.0%} for "
                f"{settings.ALERT_CLEAR_MINUTES} minutes",
                rearmed=True,
            )
        else:
            # Pushed like a high refresh: a banner must not keep showing a probability that has fallen.
            _alert_pushed(alert, "refreshed", machine_code=alert.machine.code)
            still_open.append(alert)
    return still_open


def _alerts_raise(high: dict[int, Prediction], *, at: datetime.datetime) -> list[Alert]:
    """Raise alerts for machines that had none open; refreshes one that another process raised meanwhile."""
    # Two predictors scoring the same machine at once: the machine's row lock makes the second
    # wait for the first to commit, then see its alert and refresh it. NO KEY: the listener's
    # inserts of readings (a foreign-key share lock on the machine) are not held up. The unique
    # constraint on open alerts is the last guard (get_or_create).
    machines = {
        machine.pk: machine
        for machine in Machine.objects.select_for_update(no_key=True).filter(pk__in=list(high)).order_by("pk")
    }
    open_alerts, cooling = _alerts_watched(machine_ids=machines, at=at)
    raised = []
    for machine_id in sorted(machines):
        machine, prediction = machines[machine_id], high[machine_id]
        alerts = open_alerts.get(machine_id)
        if alerts:
            _alert_refresh(_alert_to_refresh(alerts, prediction), prediction=prediction, at=at)
            continue
        if cooling.get(machine_id):
            continue  # cleared within the cooldown and the probability has not dipped since
        if prediction.error_code_id is None:
            logger.warning(
                "%s: failure probability %.2f but no error code predicted", machine.code, prediction.failure_probability
            )
            continue
        alert, created = Alert.objects.get_or_create(
            machine=machine,
            error_code=prediction.error_code,
            status__in=ALERT_OPEN_STATUSES,
            defaults={
                "source": AlertSource.PREDICTION,
                "probability": prediction.failure_probability,
                "last_prediction": prediction,
                "opened_at": at,
                "refreshed_at": at,
            },
        )
        if not created:
            _alert_refresh(alert, prediction=prediction, at=at)
            continue
        raised.append(alert)
        _alert_pushed(alert, "raised", machine_code=machine.code)
        _machine_status_set(machine=machine, status=MachineStatus.DEGRADED, at=at, only_from=[MachineStatus.RUNNING])
        _ticket_for_new_alert(alert=alert, machine=machine, prediction=prediction, at=at)
    return raised


def _alert_refreshed(alert: Alert, *, prediction: Prediction, at: datetime.datetime) -> Alert:
    """A high prediction confirms the open alert; set here, saved by the caller (in bulk), pushed on commit."""
    if alert.source == AlertSource.PREDICTION:
        # A failure the machine reported stays certain whatever the model thinks of its readings.
        alert.probability = prediction.failure_probability
    alert.last_prediction = prediction
    alert.refreshed_at = alert.updated_at = at
    alert.below_clear_threshold_since = None
    _alert_pushed(alert, "refreshed", machine_code=alert.machine.code)
    return alert


def _alert_refresh(alert: Alert, *, prediction: Prediction, at: datetime.datetime) -> None:
    _alert_refreshed(alert, prediction=prediction, at=at).save(
        update_fields=["probability", "last_prediction", "refreshed_at", "below_clear_threshold_since", "updated_at"]
    )


def _alert_clear(
    *, alert: Alert, at: datetime.datetime, reason: str, actor=None, rearmed: bool = False, ticket: Ticket | None = None
) -> None:
    """Clear an open alert; its ticket (if still open) records it, the machine leaves `degraded`."""
    alert.status = AlertStatus.CLEARED
    alert.cleared_at = at
    alert.cleared_by = actor
    alert.clear_reason = reason[:200]
    alert.below_clear_threshold_since = None
    # Cleared on recovery, the probability is already low: a new rise may alert at once.
    alert.rearmed_at = at if rearmed else None
    alert.save(
        update_fields=[
            "status",
            "cleared_at",
            "cleared_by",
            "clear_reason",
            "below_clear_threshold_since",
            "rearmed_at",
            "updated_at",
        ]
    )
    machine = alert.machine
    _alert_pushed(alert, "cleared", machine_code=machine.code)
    alert_ticket = Ticket.objects.filter(alert=alert).exclude(status=TicketStatus.RESOLVED).first()
    if alert_ticket is not None and alert_ticket != ticket:
        TicketEvent.objects.create(ticket=alert_ticket, kind=TicketEventKind.ALERT_CLEARED, note=reason, at=at)
        alert_ticket.save(update_fields=["updated_at"])
        _ticket_pushed(alert_ticket, "alert_cleared")
    if not Alert.objects.filter(machine_id=alert.machine_id, status__in=ALERT_OPEN_STATUSES).exists():
        _machine_status_set(machine=machine, status=MachineStatus.RUNNING, at=at, only_from=[MachineStatus.DEGRADED])


@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor, at: datetime.datetime | None = None) -> Alert:
    """A person has seen the alert: active → acknowledged, with who and when."""
    if not alert_may_acknowledge(actor):
        raise PermissionDenied("Only managers and supervisors may acknowledge alerts.")
    at = _at(at)
    alert = Alert.objects.select_for_update(of=("self",)).select_related("machine", "error_code").get(pk=alert.pk)
    if alert.status == AlertStatus.ACKNOWLEDGED:
        raise WorkflowError(
            f"Alert #{alert.pk} was already acknowledged by {_name(alert.acknowledged_by)} "
            f"at {timezone.localtime(alert.acknowledged_at):%Y-%m-%d %H:%M}."
        )
    if alert.status == AlertStatus.CLEARED:
        raise WorkflowError(f"Alert #{alert.pk} is cleared ({alert.clear_reason}); there is nothing to acknowledge.")
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = at
    alert.acknowledged_by = actor
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "updated_at"])
    ticket = Ticket.objects.filter(alert=alert).first()
    _alert_pushed(alert, "acknowledged", machine_code=alert.machine.code, user_ids=[ticket and ticket.assignee_id])
    return alert


# --- alerts from the machines' own error reports (the listener's hand-off) -----------------------


def machine_reports_handle(*, reports: Sequence[MachineReport], now: datetime.datetime | None = None) -> list[Alert]:
    """Readings that carried an error code: the machine says it has failed. Raises a critical alert
    at once (no threshold, no cooldown), with its ticket; the machine goes down and a breakdown
    starts. Returns the alerts raised or refreshed.

    Called inside the ingest batch's transaction. A report the machine repeats is one alert; a
    report older than MACHINE_REPORT_MAX_AGE, or older than the repair that cleared the same code,
    raises nothing (a redelivery, a replay, a backfill of history).
    """
    now = _at(now)
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
    open_alerts, _ = _alerts_watched(machine_ids=machine_ids, at=now)
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
                _alert_pushed(alert, "raised", machine_code=machine.code)
        else:
            created = False
        if not created:
            if machine_id in already_down:
                continue  # the machine repeats what it reported: this failure is already known
            alert.probability = 1.0
            alert.refreshed_at = now
            alert.below_clear_threshold_since = None
            alert.save(update_fields=["probability", "refreshed_at", "below_clear_threshold_since", "updated_at"])
            _alert_pushed(alert, "refreshed", machine_code=machine.code)
        alerts.append(alert)
        predicted_by = next(
            (a for a in open_alerts[machine_id] if a.source == AlertSource.PREDICTION and a.opened_at <= ts), None
        )
        _machine_status_set(
            machine=machine, status=MachineStatus.DOWN, at=ts, only_from=[MachineStatus.RUNNING, MachineStatus.DEGRADED]
        )
        _breakdown_start(machine=machine, down_at=ts, error_code=error_code, predicted_by=predicted_by)
        already_down.add(machine_id)
        _ticket_for_new_alert(alert=alert, machine=machine, prediction=None, at=now, reported_at=ts)
    return alerts


# --- breakdowns ---------------------------------------------------------------------------------


def _breakdown_start(
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


# --- tickets ------------------------------------------------------------------------------------


def _evidence(*, machine: Machine, prediction: Prediction | None, at: datetime.datetime) -> dict:
    """The readings window the alert was raised on (per-minute mean, min and max of each metric)
    and the model versions that fired, frozen on the ticket."""
    end = prediction.ts if prediction is not None else at
    start = end - EVIDENCE_WINDOW
    metrics: dict[str, list] = defaultdict(list)
    for metric, minute, count, total, low, high in (
        ReadingMinute.objects.filter(machine=machine, minute__gte=start, minute__lte=end)
        .order_by("metric", "minute")
        .values_list("metric", "minute", "count", "total", "minimum", "maximum")
    ):
        metrics[metric].append([minute.isoformat(), round(total / count, 4), low, high])
    evidence: dict = {
        "window": {"from": start.isoformat(), "to": end.isoformat(), "step": "1 minute", "metrics": dict(metrics)}
    }
    if prediction is not None:
        evidence["prediction"] = {
            "id": prediction.pk,
            "ts": prediction.ts.isoformat(),
            "probability": prediction.failure_probability,
            "model_version": str(prediction.model_version),
            "rul_model_version": str(prediction.rul_model_version) if prediction.rul_model_version_id else None,
        }
    return evidence


def _rul_sentence(prediction: Prediction) -> str:
    if prediction.rul_hours is None:
        return ""
    if prediction.rul_low_hours is not None and prediction.rul_high_hours is not None:
        return (
            f" Remaining useful life about {prediction.rul_hours:.0f} h "
            f"({prediction.rul_low_hours:.0f}-{prediction.rul_high_hours:.0f} h)."
        )
    return f" Remaining useful life about {prediction.rul_hours:.0f} h."


def _ticket_for_new_alert(
    *,
    alert: Alert,
    machine: Machine,
    prediction: Prediction | None,
    at: datetime.datetime,
    reported_at: datetime.datetime | None = None,
) -> Ticket:
    """One sick machine, one ticket: a machine whose alert-born ticket is still unresolved gets the
    new alert on that ticket (an event, a higher priority); otherwise a new ticket opens, with the
    error code, its SOP, the explanation, the RUL range and the evidence, and is assigned."""
    reported = reported_at is not None
    error_code = alert.error_code
    existing = (
        Ticket.objects.select_for_update(of=("self",))
        .filter(machine=machine, alert__isnull=False)
        .exclude(status=TicketStatus.RESOLVED)
        .select_related("machine", "alert", "error_code")
        .order_by("-opened_at")
        .first()
    )
    if existing is not None:
        return _ticket_takes_alert(existing, alert=alert, reported_at=reported_at, at=at)

    if reported:
        title = f"{machine.code} reported {error_code.code}: {error_code.title}"
        description = f"The machine reported a failure at {timezone.localtime(reported_at):%Y-%m-%d %H:%M:%S}."
    else:
        title = f"{error_code.title} predicted on {machine.code} ({prediction.failure_probability:.0%})"
        description = (
            f"Failure probability {prediction.failure_probability:.0%} within the horizon, most likely "
            f"{error_code.code}.{_rul_sentence(prediction)}"
        )
    ticket = Ticket.objects.create(
        machine=machine,
        alert=alert,
        error_code=error_code,
        sop=sop_for_error_code(code=error_code.code),
        title=title[:200],
        description=description,
        priority=Severity.CRITICAL if reported else error_code.severity,
        opened_at=at,
        probability=1.0 if reported else prediction.failure_probability,
        explanation=list(prediction.top_signals) if prediction is not None else [],
        rul_hours=prediction.rul_hours if prediction is not None else None,
        rul_low_hours=prediction.rul_low_hours if prediction is not None else None,
        rul_high_hours=prediction.rul_high_hours if prediction is not None else None,
        evidence=_evidence(machine=machine, prediction=prediction, at=reported_at or at),
    )
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.CREATED,
        to_status=ticket.status,
        note=f"Opened by alert #{alert.pk} ({alert.get_source_display().lower()})",
        at=at,
    )
    _ticket_pushed(ticket, "opened")
    _ticket_assign_automatically(ticket=ticket, at=at)
    return ticket


def _ticket_takes_alert(
    ticket: Ticket, *, alert: Alert, reported_at: datetime.datetime | None, at: datetime.datetime
) -> Ticket:
    changed = ["updated_at"]
    notes = []
    if reported_at is not None:
        notes.append(
            f"The machine reported {alert.error_code.code} ({alert.error_code.title}) "
            f"at {timezone.localtime(reported_at):%Y-%m-%d %H:%M:%S}: it has failed."
        )
        if ticket.error_code_id != alert.error_code_id:
            # The machine's own report outranks a prediction: the ticket follows its code and SOP.
            previous = ticket.error_code.code if ticket.error_code else "none"
            ticket.error_code = alert.error_code
            ticket.sop = sop_for_error_code(code=alert.error_code.code)
            changed += ["error_code", "sop"]
            notes.append(f"Error code changed from {previous} and the SOP with it.")
        kind = TicketEventKind.FAILURE_REPORTED
        priority = Severity.CRITICAL
    else:
        notes.append(f"Alert #{alert.pk} raised again: {alert.error_code.code} at {alert.probability:.0%}.")
        kind = TicketEventKind.EDITED
        priority = alert.error_code.severity
    if ticket.alert_id != alert.pk and (ticket.alert is None or ticket.alert.status == AlertStatus.CLEARED):
        ticket.alert = alert
        changed.append("alert")
    if priority > ticket.priority:
        ticket.priority = priority
        changed.append("priority")
    ticket.save(update_fields=changed)
    TicketEvent.objects.create(ticket=ticket, kind=kind, note=" ".join(notes), at=at)
    _ticket_pushed(ticket, "failure_reported" if reported_at is not None else "alert_raised")
    return ticket


def _ticket_assign_automatically(*, ticket: Ticket, at: datetime.datetime, actor=None) -> None:
    assignee = assignee_for_new_ticket(ticket=ticket, at=at)
    if assignee is None:
        supervisors = _supervisor_ids()
        TicketEvent.objects.create(
            ticket=ticket,
            actor=actor,
            kind=TicketEventKind.ASSIGNED,
            note=f"Nobody on shift: left unassigned; {len(supervisors)} supervisor(s) told",
            at=at,
        )
        _ticket_pushed(ticket, "unassigned", user_ids=supervisors, plant=False)
        return
    ticket.assignee, ticket.assigned_at = assignee, at
    ticket.save(update_fields=["assignee", "assigned_at", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=TicketEventKind.ASSIGNED,
        assignee=assignee,
        note=f"Assigned to {_name(assignee)}: least busy technician on shift",
        at=at,
    )
    _ticket_pushed(ticket, "assigned")


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
    assignee=None,
    at: datetime.datetime | None = None,
) -> Ticket:
    """Open a ticket by hand (a work order); without an assignee it is assigned by the policy.

    Alert-driven tickets come from the predictor and the machines' reports."""
    at = _at(at)
    if priority is None:
        priority = error_code.severity if error_code else Severity.MEDIUM
    if sop is None and error_code is not None:
        sop = sop_for_error_code(code=error_code.code)
    ticket = Ticket.objects.create(
        machine=machine,
        title=title,
        description=description,
        error_code=error_code,
        sop=sop,
        priority=priority,
        opened_at=at,
    )
    TicketEvent.objects.create(ticket=ticket, actor=actor, kind=TicketEventKind.CREATED, to_status=ticket.status, at=at)
    _ticket_pushed(ticket, "opened")
    if assignee is None:
        _ticket_assign_automatically(ticket=ticket, at=at, actor=actor)
    else:
        _ticket_assign(ticket=ticket, assignee=assignee, actor=actor, at=at, note=f"Assigned to {_name(assignee)}")
    return ticket


def ticket_record_edit(*, ticket: Ticket, actor, changed_fields: list[str]) -> TicketEvent | None:
    """Record an edit of a ticket's descriptive fields (title, priority, SOP…) in its audit trail."""
    if not changed_fields:
        return None
    labels = [str(Ticket._meta.get_field(name).verbose_name) for name in changed_fields]
    event = TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=TicketEventKind.EDITED, note="Changed: " + ", ".join(labels)
    )
    _ticket_pushed(ticket, "edited")
    return event


def _ticket_locked(ticket: Ticket) -> Ticket:
    """The ticket, row-locked for the rest of the transaction, as the last commit left it.

    Lock first, then read with the joins: in one statement, a transaction that waited for the lock
    gets the ticket's row as the other transaction committed it, but PostgreSQL re-checks the joined
    rows by their old keys, so an assignee set meanwhile would come back as None.
    """
    list(Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk", flat=True))
    return Ticket.objects.select_related("machine", "alert", "assignee", "error_code").get(pk=ticket.pk)


def _require_work(actor, ticket: Ticket, action: str) -> None:
    if not ticket_may_work_on(actor, ticket):
        raise PermissionDenied(f"Only the ticket's assignee or a supervisor may {action} it.")


def _require_manage(actor, action: str) -> None:
    if not ticket_may_manage(actor):
        raise PermissionDenied(f"Only supervisors may {action} a ticket.")


def _status_event(ticket: Ticket, *, actor, from_status: str, at: datetime.datetime, note: str = "") -> None:
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=TicketEventKind.STATUS_CHANGED,
        from_status=from_status,
        to_status=ticket.status,
        note=note,
        at=at,
    )


def _refuse_unless_status(ticket: Ticket, wanted: str, action: str) -> None:
    if ticket.status == wanted:
        return
    reasons = {
        TicketStatus.OPEN: "it is open and not started yet: start it first (status in_progress)",
        TicketStatus.IN_PROGRESS: f"it is already in progress since "
        f"{timezone.localtime(ticket.started_at):%Y-%m-%d %H:%M}"
        if ticket.started_at
        else "it is already in progress",
        TicketStatus.RESOLVED: "it is resolved; a supervisor may reopen it within 24 hours of its resolution",
    }
    raise WorkflowError(f"Ticket #{ticket.pk} cannot be {action}: {reasons[ticket.status]}.")


@transaction.atomic
def ticket_take(*, ticket: Ticket, actor, at: datetime.datetime | None = None) -> Ticket:
    """A technician (or a supervisor who goes themself) takes an open ticket nobody has.

    The row lock decides between two who take it at once: the second waits for the first to
    commit, then finds the ticket assigned and is refused, saying who has it.
    """
    at = _at(at)
    ticket = _ticket_locked(ticket)
    if not ticket_may_take(actor):
        raise PermissionDenied("Only technicians and supervisors take tickets.")
    _refuse_unless_status(ticket, TicketStatus.OPEN, "taken")
    if ticket.assignee_id == actor.pk:
        raise WorkflowError(f"Ticket #{ticket.pk} is already yours.")
    if ticket.assignee_id is not None:
        since = f" since {timezone.localtime(ticket.assigned_at):%Y-%m-%d %H:%M}" if ticket.assigned_at else ""
        raise WorkflowError(f"Ticket #{ticket.pk} cannot be taken: {_name(ticket.assignee)} has it{since}.")
    _ticket_assign(ticket=ticket, assignee=actor, actor=actor, at=at, note=f"Taken by {_name(actor)}")
    return ticket


@transaction.atomic
def ticket_start(*, ticket: Ticket, actor, at: datetime.datetime | None = None) -> Ticket:
    """open → in_progress: work begins, the machine is under maintenance."""
    at = _at(at)
    ticket = _ticket_locked(ticket)
    _require_work(actor, ticket, "start")
    _refuse_unless_status(ticket, TicketStatus.OPEN, "started")
    ticket.status = TicketStatus.IN_PROGRESS
    ticket.started_at = at
    ticket.save(update_fields=["status", "started_at", "updated_at"])
    _status_event(ticket, actor=actor, from_status=TicketStatus.OPEN, at=at)
    _machine_status_set(machine=ticket.machine, status=MachineStatus.MAINTENANCE, at=at)
    _ticket_pushed(ticket, "started")
    return ticket


@transaction.atomic
def ticket_resolve(*, ticket: Ticket, actor, outcome: str, notes: str, at: datetime.datetime | None = None) -> Ticket:
    """in_progress → resolved with an outcome and notes: records the downtime, ends the machine's
    breakdown (or records one, for a confirmed failure), clears the alert, and the machine runs again."""
    at = _at(at)
    ticket = _ticket_locked(ticket)
    _require_work(actor, ticket, "resolve")
    _refuse_unless_status(ticket, TicketStatus.IN_PROGRESS, "resolved")
    if outcome not in TicketOutcome.values:
        raise WorkflowError(f"The outcome must be one of {', '.join(TicketOutcome.values)}; got {outcome!r}.")
    notes = (notes or "").strip()
    if not notes:
        raise WorkflowError("Resolving a ticket needs notes: what was found and what was done.")

    breakdown = Breakdown.objects.select_for_update().filter(machine=ticket.machine, up_at__isnull=True).first()
    if breakdown is not None:
        breakdown.up_at, breakdown.ticket = max(at, breakdown.down_at), ticket
        breakdown.save(update_fields=["up_at", "ticket"])
    elif outcome == TicketOutcome.FAILURE_CONFIRMED and not ticket.breakdowns.exists():
        alert = ticket.alert
        predicted = (
            alert is not None and alert.source == AlertSource.PREDICTION and alert.opened_at <= ticket.started_at
        )
        breakdown = Breakdown.objects.create(
            machine=ticket.machine,
            error_code=ticket.error_code,
            source=BreakdownSource.TICKET,
            down_at=ticket.started_at,
            up_at=at,
            ticket=ticket,
            predicted_by=alert if predicted else None,
        )
    ticket.status = TicketStatus.RESOLVED
    ticket.outcome = outcome
    ticket.resolution_notes = notes
    ticket.resolved_at = at
    ticket.downtime_start = min(breakdown.down_at if breakdown else ticket.started_at, at)
    ticket.downtime_end = at
    ticket.save(
        update_fields=[
            "status",
            "outcome",
            "resolution_notes",
            "resolved_at",
            "downtime_start",
            "downtime_end",
            "updated_at",
        ]
    )
    label = TicketOutcome(outcome).label
    _status_event(ticket, actor=actor, from_status=TicketStatus.IN_PROGRESS, at=at, note=f"{label}: {notes}")
    for alert in (
        Alert.objects.filter(machine=ticket.machine, status__in=ALERT_OPEN_STATUSES)
        .filter(Q(pk=ticket.alert_id) | Q(ticket__isnull=True))
        .select_related("machine", "error_code")
    ):
        _alert_clear(alert=alert, at=at, reason=f"Ticket #{ticket.pk} resolved: {label.lower()}", ticket=ticket)
    if not Ticket.objects.filter(machine=ticket.machine, status=TicketStatus.IN_PROGRESS).exists():
        _machine_status_set(machine=ticket.machine, status=MachineStatus.RUNNING, at=at)
    _ticket_pushed(ticket, "resolved")
    return ticket


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, actor, note: str = "", at: datetime.datetime | None = None) -> Ticket:
    """resolved → open, by a supervisor, within 24 hours of the resolution (later: a new ticket)."""
    at = _at(at)
    ticket = _ticket_locked(ticket)
    _require_manage(actor, "reopen")
    if ticket.status != TicketStatus.RESOLVED:
        raise WorkflowError(
            f"Ticket #{ticket.pk} cannot be reopened: only a resolved ticket can, and it is "
            f"{ticket.get_status_display().lower()}."
        )
    if at - ticket.resolved_at > REOPEN_WITHIN:
        raise WorkflowError(
            f"Ticket #{ticket.pk} cannot be reopened: it was resolved more than 24 hours ago "
            f"({timezone.localtime(ticket.resolved_at):%Y-%m-%d %H:%M}); open a new ticket instead."
        )
    previous = f"previous resolution: {TicketOutcome(ticket.outcome).label.lower()}: {ticket.resolution_notes}"
    ticket.status = TicketStatus.OPEN
    ticket.outcome = ""
    ticket.resolution_notes = ""
    ticket.resolved_at = None
    ticket.downtime_end = None
    ticket.save(update_fields=["status", "outcome", "resolution_notes", "resolved_at", "downtime_end", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=TicketEventKind.REOPENED,
        from_status=TicketStatus.RESOLVED,
        to_status=TicketStatus.OPEN,
        note="; ".join(part for part in ((note or "").strip(), previous) if part),
        at=at,
    )
    _ticket_pushed(ticket, "reopened")
    return ticket


def _ticket_assign(*, ticket: Ticket, assignee, actor, at: datetime.datetime, note: str) -> None:
    previous = ticket.assignee_id
    ticket.assignee, ticket.assigned_at = assignee, at
    ticket.save(update_fields=["assignee", "assigned_at", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=TicketEventKind.ASSIGNED, assignee=assignee, note=note, at=at
    )
    _ticket_pushed(ticket, "assigned", user_ids=[previous])


@transaction.atomic
def ticket_reassign(*, ticket: Ticket, actor, assignee, at: datetime.datetime | None = None) -> Ticket:
    """A supervisor gives an unresolved ticket to another technician."""
    at = _at(at)
    ticket = _ticket_locked(ticket)
    _require_manage(actor, "reassign")
    if ticket.status == TicketStatus.RESOLVED:
        raise WorkflowError(f"Ticket #{ticket.pk} cannot be reassigned: it is resolved; reopen it first.")
    if not assignee.is_active or user_role(assignee) != Role.TECHNICIAN:
        raise WorkflowError(f"{_name(assignee)} is not an active technician: tickets go to technicians.")
    if ticket.assignee_id == assignee.pk:
        raise WorkflowError(f"Ticket #{ticket.pk} is already assigned to {_name(assignee)}.")
    note = f"Reassigned from {_name(ticket.assignee)} to {_name(assignee)}"
    _ticket_assign(ticket=ticket, assignee=assignee, actor=actor, at=at, note=note)
    return ticket


@transaction.atomic
def ticket_comment(*, ticket: Ticket, actor, text: str, at: datetime.datetime | None = None) -> TicketEvent:
    at = _at(at)
    ticket = _ticket_locked(ticket)
    _require_work(actor, ticket, "comment on")
    text = (text or "").strip()
    if not text:
        raise WorkflowError("A comment needs some text.")
    event = TicketEvent.objects.create(ticket=ticket, actor=actor, kind=TicketEventKind.COMMENTED, note=text, at=at)
    ticket.save(update_fields=["updated_at"])
    _ticket_pushed(ticket, "commented")
    return event


@transaction.atomic(savepoint=False)
def tickets_escalate_overdue(*, now: datetime.datetime | None = None) -> list[Ticket]:
    """Open tickets nobody started within TICKET_ESCALATE_MINUTES go to the supervisors, once each.

    Run on every predictor tick (predictions_handle); cheap when nothing is due (one indexed query).
    """
    now = _at(now)
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
    supervisors = _supervisor_ids()
    for ticket in due:
        ticket.escalated_at = ticket.updated_at = now
        waited = (now - ticket.opened_at).total_seconds() / 60
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEventKind.ESCALATED,
            note=f"Not started {waited:.0f} minutes after it opened (limit {minutes}); supervisors told",
            at=now,
        )
        _ticket_pushed(ticket, "escalated", user_ids=supervisors)
    Ticket.objects.bulk_update(due, ["escalated_at", "updated_at"])
    return due
