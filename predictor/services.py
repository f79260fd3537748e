import datetime
import logging
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from catalogue.models import ErrorCode
from core.wiring import wired
from predictor.ml.artifacts import directory_sha256
from predictor.ml.rules import RuleFinding
from predictor.models import ModelVersion, Prediction, SensorWarning
from realtime.broadcast import broadcast_on_commit
from telemetry.models import Machine

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # training imports scikit-learn, which registering a version does not need
    from predictor.training import TrainedArtifact


@transaction.atomic
def model_version_activate(*, model_version: ModelVersion) -> ModelVersion:
    """Make this version the active one of its kind; the previous one stays, inactive, for rollback."""
    # Lock the kind's rows so that two activations at once cannot both deactivate and activate.
    list(ModelVersion.objects.select_for_update().filter(kind=model_version.kind))
    ModelVersion.objects.filter(kind=model_version.kind, is_active=True).exclude(pk=model_version.pk).update(
        is_active=False
    )
    model_version.is_active = True
    model_version.activated_at = timezone.now()
    model_version.save(update_fields=["is_active", "activated_at"])
    return model_version


@transaction.atomic
def model_version_register(
    *, kind: str, version: str, directory: Path, metrics: dict, data_description: str, activate: bool
) -> ModelVersion:
    """Record a trained artifact with the sha256 of its directory, which every load checks."""
    model_version = ModelVersion.objects.create(
        kind=kind,
        version=version,
        artifact_path=str(directory),
        sha256=directory_sha256(directory),
        metrics=_json_safe(metrics),
        data_description=data_description,
        trained_at=timezone.now(),
    )
    if activate:
        model_version_activate(model_version=model_version)
    return model_version


def trained_artifact_register(*, artifact: "TrainedArtifact", activate: bool) -> ModelVersion:
    """Register what predictor.training wrote, with its metrics and the data it learned from."""
    return model_version_register(
        kind=artifact.kind,
        version=artifact.version,
        directory=artifact.directory,
        metrics=artifact.metrics,
        data_description=artifact.description,
        activate=activate,
    )


def _json_safe(metrics: dict) -> dict:
    # NaN (an AUC undefined on one class) is not JSON; None says "not measured" in the admin and API.
    return {key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in metrics.items()}


@dataclass(frozen=True)
class PredictionDraft:
    machine_code: str
    ts: datetime.datetime
    model_version: ModelVersion
    rul_model_version: ModelVersion | None
    failure_probability: float
    error_code: ErrorCode | None
    rul_hours: float | None
    rul_low_hours: float | None
    rul_high_hours: float | None
    top_signals: list[str]


@dataclass(frozen=True)
class RuleAlarm:
    """The rules of one error code that hold for one machine this tick, and why, in words."""

    machine_id: int
    error_code: ErrorCode
    why: str


@dataclass(frozen=True)
class SensorWarningDraft:
    machine_code: str
    problem: str
    detail: str


@transaction.atomic
def predictions_record(
    *,
    predictions: list[PredictionDraft],
    warnings: list[SensorWarningDraft],
    detected_at: datetime.datetime,
    rule_findings: Sequence[RuleFinding] = (),
    rules_judged: Collection[str] = (),
) -> list[Prediction]:
    """One tick's output in two bulk writes: a Prediction per scored machine, a SensorWarning per
    machine whose sensors were not trusted; and the alarm rules that hold for the machines whose
    rules were judged (`rules_judged`, machine codes), for their alerts."""
    codes = (
        {draft.machine_code for draft in predictions}
        | {draft.machine_code for draft in warnings}
        | set(rules_judged)
        | {finding.machine_code for finding in rule_findings}
    )
    machine_ids = dict(Machine.objects.filter(code__in=codes).values_list("code", "id"))
    created = Prediction.objects.bulk_create(
        [
            Prediction(
                machine_id=machine_ids[draft.machine_code],
                ts=draft.ts,
                model_version=draft.model_version,
                rul_model_version=draft.rul_model_version,
                failure_probability=min(max(draft.failure_probability, 0.0), 1.0),
                error_code=draft.error_code,
                rul_hours=draft.rul_hours,
                rul_low_hours=draft.rul_low_hours,
                rul_high_hours=draft.rul_high_hours,
                top_signals=draft.top_signals,
                created_at=detected_at,
            )
            for draft in predictions
        ]
    )
    SensorWarning.objects.bulk_create(
        [
            SensorWarning(
                machine_id=machine_ids[draft.machine_code],
                problem=draft.problem,
                detail=draft.detail[:300],
                detected_at=detected_at,
            )
            for draft in warnings
        ]
    )
    # Alerts and tickets from the predictions and the rules: PREDICTIONS_HANDLER, wired to the tickets app.
    wired("PREDICTIONS_HANDLER")(
        predictions=created,
        detected_at=detected_at,
        rule_alarms=_rule_alarms(rule_findings, machine_ids=machine_ids),
        rules_judged=[machine_ids[code] for code in rules_judged if code in machine_ids],
    )
    # Dashboards refetch the newest predictions when told there are new ones, instead of polling.
    broadcast_on_commit(
        {
            "type": "predictions",
            "event": "scored",
            "at": detected_at.isoformat(),
            "predicted": len(created),
            "skipped": len(warnings),
        }
    )
    return created


def _rule_alarms(findings: Sequence[RuleFinding], *, machine_ids: dict[str, int]) -> list[RuleAlarm]:
    """One alarm per machine and error code (two rules of one code on one machine are one alert)."""
    whys: dict[tuple[int, str], list[str]] = {}
    for finding in findings:
        if finding.machine_code in machine_ids:
            whys.setdefault((machine_ids[finding.machine_code], finding.rule.error_code), []).append(finding.why)
    error_codes = ErrorCode.objects.in_bulk({code for _, code in whys}, field_name="code")
    alarms = []
    for (machine_id, code), reasons in whys.items():
        if code not in error_codes:
            logger.warning("an alarm rule names error code %s, which does not exist: no alert", code)
            continue
        alarms.append(RuleAlarm(machine_id=machine_id, error_code=error_codes[code], why="; ".join(reasons)[:300]))
    return alarms
