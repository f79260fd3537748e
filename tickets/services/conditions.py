"""Alerts from conditions that need no failure model (the predictor's hand-off, beside its
predictions): alarm rules that hold, and health models past their threshold. A condition raises one
alert per machine and error code, with its ticket; the alert clears once its condition has not held
for ALERT_CLEAR_MINUTES (the same hysteresis in time as a prediction's)."""

import datetime
from collections.abc import Callable, Collection, Sequence

from django.conf import settings
from django.db import transaction

from predictor.services import ConditionAlarm
from telemetry.models import Machine, MachineStatus
from telemetry.services import machine_status_set
from tickets.models import ALERT_OPEN_STATUSES, Alert, AlertSource
from tickets.services.alerts import alert_clear
from tickets.services.events import alert_pushed
from tickets.services.opening import ticket_for_new_alert


@transaction.atomic(savepoint=False)
def alerts_from_rules(
    *, rule_alarms: Sequence[ConditionAlarm], rules_judged: Collection[int], at: datetime.datetime
) -> list[Alert]:
    """Apply a tick's alarm rules; `rules_judged` are the machines whose rules were judged (a machine
    that was not, being down or silent, keeps its alerts as they are). Returns the alerts raised."""
    return _alerts_from_conditions(
        source=AlertSource.RULE,
        alarms=rule_alarms,
        judged=rules_judged,
        at=at,
        recovered=lambda alert: (
            f"Recovered: no rule of {alert.error_code.code} has held for {settings.ALERT_CLEAR_MINUTES} minutes"
        ),
    )


@transaction.atomic(savepoint=False)
def alerts_from_health(
    *, anomaly_alarms: Sequence[ConditionAlarm], health_judged: Collection[int], at: datetime.datetime
) -> list[Alert]:
    """Apply a tick's health scores: a machine past its health model's threshold long enough raises
    an anomaly alert; `health_judged` are the machines whose health was scored. Returns the alerts raised."""
    return _alerts_from_conditions(
        source=AlertSource.ANOMALY,
        alarms=anomaly_alarms,
        judged=health_judged,
        at=at,
        recovered=lambda alert: (
            f"Recovered: back within its normal behaviour for {settings.ALERT_CLEAR_MINUTES} minutes"
        ),
    )


def _alerts_from_conditions(
    *,
    source: str,
    alarms: Sequence[ConditionAlarm],
    judged: Collection[int],
    at: datetime.datetime,
    recovered: Callable[[Alert], str],
) -> list[Alert]:
    holding = {(alarm.machine_id, alarm.error_code.pk): alarm for alarm in alarms}
    judged = set(judged) | {machine_id for machine_id, _ in holding}
    open_alerts = {
        (alert.machine_id, alert.error_code_id): alert
        for alert in Alert.objects.filter(machine_id__in=judged, status__in=ALERT_OPEN_STATUSES).select_related(
            "machine", "error_code"
        )
    }
    clear_after = datetime.timedelta(minutes=settings.ALERT_CLEAR_MINUTES)
    for key, alert in open_alerts.items():
        if alert.source != source:
            continue  # another source's alert clears by its own rule
        if key in holding:
            alert.detail = holding[key].why
            alert.refreshed_at = at
            alert.below_clear_threshold_since = None
            alert.save(update_fields=["detail", "refreshed_at", "below_clear_threshold_since", "updated_at"])
            alert_pushed(alert, "refreshed", machine_code=alert.machine.code)
        elif alert.below_clear_threshold_since is None:
            alert.below_clear_threshold_since = at
            alert.save(update_fields=["below_clear_threshold_since", "updated_at"])
        elif at - alert.below_clear_threshold_since >= clear_after:
            alert_clear(alert=alert, at=at, reason=recovered(alert), rearmed=True)
    new = {key: alarm for key, alarm in holding.items() if key not in open_alerts}
    return _alerts_raise(new, source=source, at=at) if new else []


def _alerts_raise(alarms: dict[tuple[int, int], ConditionAlarm], *, source: str, at: datetime.datetime) -> list[Alert]:
    # The machines' rows are locked as for a prediction's alert (see alerts._alerts_raise): a second
    # predictor waits, then finds the alert and leaves it; the unique constraint is the last guard.
    machines = {
        machine.pk: machine
        for machine in Machine.objects.select_for_update(no_key=True)
        .filter(pk__in={machine_id for machine_id, _ in alarms})
        .order_by("pk")
    }
    raised = []
    for (machine_id, _), alarm in sorted(alarms.items()):
        machine = machines[machine_id]
        alert, created = Alert.objects.get_or_create(
            machine=machine,
            error_code=alarm.error_code,
            status__in=ALERT_OPEN_STATUSES,
            defaults={
                "source": source,
                "probability": None,
                "detail": alarm.why,
                "opened_at": at,
                "refreshed_at": at,
            },
        )
        if not created:
            continue
        raised.append(alert)
        alert_pushed(alert, "raised", machine_code=machine.code)
        machine_status_set(machine=machine, status=MachineStatus.DEGRADED, at=at, only_from=[MachineStatus.RUNNING])
        ticket_for_new_alert(alert=alert, machine=machine, prediction=None, at=at)
    return raised
