"""Reads of predictions and sensor warnings for the API (the dashboard's machine cards and pages)."""

import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from predictor.models import Prediction, SensorWarning
from telemetry.models import Machine


def prediction_list(
    *,
    machine_code: str | None = None,
    since: datetime.datetime | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
) -> QuerySet[Prediction]:
    """Predictions, newest first; `since` compares the time they were recorded (for catching up)."""
    predictions = Prediction.objects.select_related("machine", "error_code", "model_version", "rul_model_version")
    if machine_code is not None:
        predictions = predictions.filter(machine__code=machine_code)
    if since is not None:
        predictions = predictions.filter(created_at__gt=since)
    if start is not None:
        predictions = predictions.filter(ts__gte=start)
    if end is not None:
        predictions = predictions.filter(ts__lt=end)
    return predictions.order_by("-ts", "-pk")


def predictions_latest() -> dict[str, tuple[Prediction | None, SensorWarning | None]]:
    """Each machine's newest prediction, and its newest sensor warning when that came later (the
    predictor skipped the machine since): three queries whatever the plant's size, each latest row
    found through the (machine, -ts) index instead of scanning the history.
    """
    machines = Machine.objects.annotate(
        prediction_id=Subquery(
            Prediction.objects.filter(machine=OuterRef("pk")).order_by("-ts", "-pk").values("pk")[:1]
        ),
        warning_id=Subquery(
            SensorWarning.objects.filter(machine=OuterRef("pk")).order_by("-detected_at", "-pk").values("pk")[:1]
        ),
    ).values_list("code", "prediction_id", "warning_id")
    machines = list(machines)
    predictions = Prediction.objects.select_related(
        "machine", "error_code", "model_version", "rul_model_version"
    ).in_bulk([prediction_id for _, prediction_id, _ in machines if prediction_id is not None])
    warnings = SensorWarning.objects.in_bulk([warning_id for _, _, warning_id in machines if warning_id is not None])
    latest = {}
    for code, prediction_id, warning_id in machines:
        prediction, warning = predictions.get(prediction_id), warnings.get(warning_id)
        if warning is not None and prediction is not None and warning.detected_at <= prediction.created_at:
            warning = None
        latest[code] = (prediction, warning)
    return latest
