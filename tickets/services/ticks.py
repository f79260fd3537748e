"""The predictor tick's hand-off (settings.PREDICTIONS_HANDLER): its predictions and its alarm rules
become alerts, and the tick is MaintainX's clock for escalating tickets nobody started."""

import datetime
from collections.abc import Collection, Sequence

from predictor.models import Prediction
from predictor.services import ConditionAlarm
from realtime.broadcast import batch as push_batch
from tickets.services.alerts import alerts_from_predictions
from tickets.services.conditions import alerts_from_health, alerts_from_rules
from tickets.services.escalation import tickets_escalate_overdue


def predictions_handle(
    *,
    predictions: Sequence[Prediction],
    detected_at: datetime.datetime,
    rule_alarms: Sequence[ConditionAlarm] = (),
    rules_judged: Collection[int] = (),
    anomaly_alarms: Sequence[ConditionAlarm] = (),
    health_judged: Collection[int] = (),
    within_own_normal: Collection[int] = (),
    plant_upkeep: bool = True,
) -> None:
    """Once per predictor tick: raise, refresh or clear alerts from the tick's predictions, its alarm
    rules and its health models (tickets.services.conditions), then escalate the tickets nobody started in time (the
    tick is MaintainX's clock for that). With several predictor workers (run_predictor --partition),
    only the one with `plant_upkeep` escalates.

    Costs two queries when nothing is above the threshold and no alert is open, whatever the
    number of predictions.
    """
    with push_batch():
        alerts_from_predictions(predictions=predictions, at=detected_at, within_own_normal=within_own_normal)
        alerts_from_rules(rule_alarms=rule_alarms, rules_judged=rules_judged, at=detected_at)
        alerts_from_health(anomaly_alarms=anomaly_alarms, health_judged=health_judged, at=detected_at)
        if plant_upkeep:
            tickets_escalate_overdue(now=detected_at)
