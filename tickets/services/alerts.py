"""Alerts from predictions (the predictor's hand-off): raised, refreshed, cleared with hysteresis and a
cooldown; acknowledged by a person, or marked false by one."""

import datetime
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from predictor.ml.alerts import AlertHysteresis
from predictor.models import Prediction
from telemetry.models import Machine, MachineStatus
from telemetry.services import machine_status_set
from tickets.models import (
    ALERT_OPEN_STATUSES,
    Alert,
    AlertSource,
    AlertStatus,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketOutcome,
    TicketStatus,
)
from tickets.permissions import alert_may_acknowledge, alert_may_mark_false
from tickets.services.common import WorkflowError, at_or_now, person_name
from tickets.services.events import alert_pushed, ticket_pushed
from tickets.services.opening import ticket_for_new_alert

logger = logging.getLogger(__name__)


# The alerts a prediction refreshes, clears and cools down by: the models' own and the failures the
# machines reported. An alarm rule's or a health model's alert stands beside them, so the banner says
# who saw what; a prediction of the same error code refreshes it (one open alert per machine and code).
PREDICTION_WATCHED_SOURCES = (AlertSource.PREDICTION, AlertSource.MACHINE)


def alerts_watched(
    *,
    machine_ids: Iterable[int] | None,
    at: datetime.datetime,
    sources: Sequence[str] = PREDICTION_WATCHED_SOURCES,
):
    """Open alerts of these sources, and the cleared ones not re-armed yet that still hold their machine
    down: those cleared within the cooldown, and those a person said were false (marked false, or
    their ticket resolved as a false alarm) within ALERT_FALSE_HOLD_HOURS, annotated `said_false`."""
    cooldown_start = at - datetime.timedelta(minutes=settings.ALERT_COOLDOWN_MINUTES)
    hold_start = at - datetime.timedelta(hours=settings.ALERT_FALSE_HOLD_HOURS)
    said_false = Q(marked_false_at__isnull=False) | Q(ticket__outcome=TicketOutcome.FALSE_ALARM)
    alerts = (
        Alert.objects.filter(
            Q(status__in=ALERT_OPEN_STATUSES)
            | Q(status=AlertStatus.CLEARED, cleared_at__gte=cooldown_start)
            | (Q(status=AlertStatus.CLEARED, rearmed_at__isnull=True, cleared_at__gte=hold_start) & said_false),
            source__in=list(sources),
        )
        .annotate(said_false=ExpressionWrapper(said_false, output_field=BooleanField()))
        .select_related("machine", "error_code")
    )
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
def alerts_from_predictions(
    *, predictions: Sequence[Prediction], at: datetime.datetime, within_own_normal: Collection[int] = ()
) -> list[Alert]:
    """Apply a tick's predictions to the alerts; returns the alerts raised.

    - p ≥ PREDICTION_THRESHOLD raises an alert for the machine and the predicted error code, with
      its ticket, or refreshes the machine's open alert: never a second one.
    - Hysteresis (predictor.ml.alerts.AlertHysteresis, the rule the models are evaluated by): an
      open predicted alert clears itself once p has stayed below ALERT_CLEAR_THRESHOLD for
      ALERT_CLEAR_MINUTES.
    - Cooldown: for ALERT_COOLDOWN_MINUTES after an alert of a machine cleared, no new alert opens
      for it unless p first fell below the threshold and then rose again (the window a repaired
      machine is judged on still holds the readings from before the repair).
    - A false alarm holds longer: after a person said an alert was false (its ticket resolved as a
      false alarm, or the alert marked false), no new alert opens for the machine until p has fallen
      below ALERT_CLEAR_THRESHOLD, for up to ALERT_FALSE_HOLD_HOURS. A forest that runs high on a
      healthy machine would otherwise send the crew back to it every cooldown for the same reading,
      and one hovering about the alert threshold at every dip below it.
    - A machine in `within_own_normal` (its health model sees it well within its own normal:
      settings.FOREST_ALERT_HEALTH_BELOW) gets no new alert from a high probability: a forest that
      learned another plant is not believed against the machine's own history. An open alert is
      still refreshed.

    The failure probability belongs to the machine (failure of any kind within the horizon), so
    hysteresis and cooldown work per machine; the error code says which failure is most likely.
    """
    hysteresis = _alert_hysteresis()
    latest: dict[int, Prediction] = {}
    for prediction in predictions:
        current = latest.get(prediction.machine_id)
        if current is None or prediction.ts >= current.ts:
            latest[prediction.machine_id] = prediction
    open_alerts, cooling = alerts_watched(machine_ids=None, at=at)

    to_raise: dict[int, Prediction] = {}
    changed: list[Alert] = []
    for machine_id, prediction in latest.items():
        if hysteresis.opens(prediction.failure_probability):
            alerts = open_alerts.get(machine_id)
            if alerts:
                changed.append(_alert_refreshed(_alert_to_refresh(alerts, prediction), prediction=prediction, at=at))
            elif machine_id not in within_own_normal:
                to_raise[machine_id] = prediction
        elif machine_id in open_alerts:
            changed.extend(
                _alerts_below_threshold(open_alerts[machine_id], prediction=prediction, at=at, hysteresis=hysteresis)
            )
        elif machine_id in cooling:
            for alert in cooling[machine_id]:
                if alert.said_false and hysteresis.holds(prediction.failure_probability):
                    continue  # a false alarm re-arms only once p has fallen below the clear threshold
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


def _alert_hysteresis() -> AlertHysteresis:
    """The live alerts' thresholds, from the settings."""
    return AlertHysteresis(threshold=settings.PREDICTION_THRESHOLD, clear_threshold=settings.ALERT_CLEAR_THRESHOLD)


def _alerts_below_threshold(
    alerts: list[Alert], *, prediction: Prediction, at: datetime.datetime, hysteresis: AlertHysteresis
) -> list[Alert]:
    """Hysteresis for a machine's open predicted alerts; clears those whose time below has run out.

    Returns the alerts left open, changed, for one bulk update.
    """
    clear_after = datetime.timedelta(minutes=settings.ALERT_CLEAR_MINUTES)
    probability = prediction.failure_probability
    still_open = []
    for alert in alerts:
        if alert.source != AlertSource.PREDICTION:
            continue  # a failure the machine reported clears with its ticket, not with a prediction
        alert.probability = probability
        alert.last_prediction = prediction
        if hysteresis.holds(probability):
            alert.below_clear_threshold_since = None
        elif alert.below_clear_threshold_since is None:
            alert.below_clear_threshold_since = at
        if alert.below_clear_threshold_since is not None and at - alert.below_clear_threshold_since >= clear_after:
            alert_clear(
                alert=alert,
                at=at,
                reason=f"Recovered: failure probability below {hysteresis.clear_threshold:.0%} for "
                f"{settings.ALERT_CLEAR_MINUTES} minutes",
                rearmed=True,
            )
        else:
            # Pushed like a high refresh: a banner must not keep showing a probability that has fallen.
            alert_pushed(alert, "refreshed", machine_code=alert.machine.code)
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
    open_alerts, cooling = alerts_watched(machine_ids=machines, at=at)
    raised = []
    for machine_id in sorted(machines):
        machine, prediction = machines[machine_id], high[machine_id]
        alerts = open_alerts.get(machine_id)
        if alerts:
            _alert_refresh(_alert_to_refresh(alerts, prediction), prediction=prediction, at=at)
            continue
        if cooling.get(machine_id):
            continue  # cleared within the cooldown, or said false, and the probability has not dipped since
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
        alert_pushed(alert, "raised", machine_code=machine.code)
        machine_status_set(machine=machine, status=MachineStatus.DEGRADED, at=at, only_from=[MachineStatus.RUNNING])
        ticket_for_new_alert(alert=alert, machine=machine, prediction=prediction, at=at)
    return raised


def _alert_refreshed(alert: Alert, *, prediction: Prediction, at: datetime.datetime) -> Alert:
    """A high prediction confirms the open alert; set here, saved by the caller (in bulk), pushed on commit."""
    if alert.source == AlertSource.PREDICTION:
        # A failure the machine reported stays certain whatever the model thinks of its readings.
        alert.probability = prediction.failure_probability
    alert.last_prediction = prediction
    alert.refreshed_at = alert.updated_at = at
    alert.below_clear_threshold_since = None
    alert_pushed(alert, "refreshed", machine_code=alert.machine.code)
    return alert


def _alert_refresh(alert: Alert, *, prediction: Prediction, at: datetime.datetime) -> None:
    _alert_refreshed(alert, prediction=prediction, at=at).save(
        update_fields=["probability", "last_prediction", "refreshed_at", "below_clear_threshold_since", "updated_at"]
    )


def alert_clear(
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
    alert_pushed(alert, "cleared", machine_code=machine.code)
    alert_ticket = Ticket.objects.filter(alert=alert).exclude(status=TicketStatus.RESOLVED).first()
    if alert_ticket is not None and alert_ticket != ticket:
        TicketEvent.objects.create(ticket=alert_ticket, kind=TicketEventKind.ALERT_CLEARED, note=reason, at=at)
        alert_ticket.save(update_fields=["updated_at"])
        ticket_pushed(alert_ticket, "alert_cleared")
    if not Alert.objects.filter(machine_id=alert.machine_id, status__in=ALERT_OPEN_STATUSES).exists():
        machine_status_set(machine=machine, status=MachineStatus.RUNNING, at=at, only_from=[MachineStatus.DEGRADED])


@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor, at: datetime.datetime | None = None) -> Alert:
    """A person has seen the alert: active → acknowledged, with who and when."""
    if not alert_may_acknowledge(actor):
        raise PermissionDenied("Only managers and supervisors may acknowledge alerts.")
    at = at_or_now(at)
    alert = Alert.objects.select_for_update(of=("self",)).select_related("machine", "error_code").get(pk=alert.pk)
    if alert.status == AlertStatus.ACKNOWLEDGED:
        raise WorkflowError(
            f"Alert #{alert.pk} was already acknowledged by {person_name(alert.acknowledged_by)} "
            f"at {timezone.localtime(alert.acknowledged_at):%Y-%m-%d %H:%M}."
        )
    if alert.status == AlertStatus.CLEARED:
        raise WorkflowError(f"Alert #{alert.pk} is cleared ({alert.clear_reason}); there is nothing to acknowledge.")
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = at
    alert.acknowledged_by = actor
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "updated_at"])
    ticket = Ticket.objects.filter(alert=alert).first()
    alert_pushed(alert, "acknowledged", machine_code=alert.machine.code, user_ids=[ticket and ticket.assignee_id])
    return alert


@transaction.atomic
def alert_mark_false(*, alert: Alert, actor, reason: str, at: datetime.datetime | None = None) -> Alert:
    """A manager or supervisor says the alert was wrong: who, when and why are kept on it (a label
    for the models, as a ticket resolved as a false alarm is), and it clears, so it stops showing
    red; the machine leaves `degraded` when no other alert holds it there.

    An alert with an unresolved ticket is refused, with the ticket to resolve as a false alarm
    instead. The ticket's outcome is the label the models train on, given by whoever looked at the
    machine, and ticket states have no "cancelled": clearing the alert under the ticket would leave
    a technician sent to a machine for nothing, and two labels that may disagree.

    Cleared without re-arming: a prediction that still runs high raises no new alert within the
    cooldown (alerts_from_predictions). An alarm rule or a health model that still holds raises a
    new one on its next tick, as it would after any clearing.
    """
    if not alert_may_mark_false(actor):
        raise PermissionDenied("Only managers and supervisors may mark alerts false.")
    at = at_or_now(at)
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("Marking an alert false needs a reason: why it was wrong.")
    alert = Alert.objects.select_for_update(of=("self",)).select_related("machine", "error_code").get(pk=alert.pk)
    if alert.status == AlertStatus.CLEARED:
        if alert.marked_false_at is not None:
            raise WorkflowError(
                f"Alert #{alert.pk} was already marked false by {person_name(alert.marked_false_by)} "
                f"at {timezone.localtime(alert.marked_false_at):%Y-%m-%d %H:%M}."
            )
        raise WorkflowError(f"Alert #{alert.pk} is cleared ({alert.clear_reason}); there is nothing to mark false.")
    ticket = Ticket.objects.filter(alert=alert).exclude(status=TicketStatus.RESOLVED).first()
    if ticket is not None:
        raise WorkflowError(
            f"Alert #{alert.pk} has ticket #{ticket.pk} ({ticket.get_status_display().lower()}): resolve the "
            f"ticket as a false alarm instead; its assignee or a supervisor can, and that clears the alert."
        )
    alert_clear(alert=alert, at=at, reason=f"Marked false by {person_name(actor)}: {reason}", actor=actor)
    # After clearing: the database holds a mark only on a cleared alert.
    alert.marked_false_at = at
    alert.marked_false_by = actor
    alert.marked_false_reason = reason
    alert.save(update_fields=["marked_false_at", "marked_false_by", "marked_false_reason", "updated_at"])
    return alert
