import datetime
import logging
import math
import shutil
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalogue.models import INSPECT_ERROR_CODE, ErrorCode
from core.wiring import wired
from predictor.ml.artifacts import directory_sha256
from predictor.ml.rules import RuleFinding
from predictor.models import (
    HealthModelVersion,
    HealthState,
    MachineHealth,
    ModelDrift,
    ModelVersion,
    Prediction,
    SensorWarning,
    ShadowPrediction,
)
from realtime.broadcast import broadcast_on_commit
from telemetry.models import Machine

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # training imports scikit-learn, which registering a version does not need
    from predictor.ml.health import HealthModel
    from predictor.training import TrainedArtifact


@transaction.atomic
def model_version_activate(
    *, model_version: ModelVersion, by=None, note: str = "", at: datetime.datetime | None = None
) -> ModelVersion:
    """Make this version the active one of its kind, recording who (`by`, a user; None for a command or
    the promotion rule) and why; the previous one stays, inactive, for rollback. A challenger that is
    activated stops shadowing."""
    # Lock the kind's rows so that two activations at once cannot both deactivate and activate.
    list(ModelVersion.objects.select_for_update().filter(kind=model_version.kind))
    ModelVersion.objects.filter(kind=model_version.kind, is_active=True).exclude(pk=model_version.pk).update(
        is_active=False
    )
    model_version.is_active = True
    model_version.is_challenger = False
    model_version.activated_at = at or timezone.now()
    model_version.activated_by = by
    model_version.activation_note = note[:300]
    model_version.save(update_fields=["is_active", "is_challenger", "activated_at", "activated_by", "activation_note"])
    return model_version


@transaction.atomic
def model_version_register(
    *,
    kind: str,
    version: str,
    directory: Path,
    metrics: dict,
    data_description: str,
    activate: bool,
    challenger: bool = False,
    at: datetime.datetime | None = None,
) -> ModelVersion:
    """Record a trained artifact with the sha256 of its directory, which every load checks; active with
    `activate`, or the kind's challenger with `challenger` (it replaces the previous challenger and
    scores in shadow from `at`, default now)."""
    at = at or timezone.now()
    model_version = ModelVersion.objects.create(
        kind=kind,
        version=version,
        artifact_path=str(directory),
        sha256=directory_sha256(directory),
        metrics=_json_safe(metrics),
        data_description=data_description,
        trained_at=at,
    )
    if activate:
        model_version_activate(model_version=model_version, note="activated when it was trained", at=at)
    elif challenger:
        model_version_make_challenger(model_version=model_version, at=at)
    return model_version


def trained_artifact_register(
    *, artifact: "TrainedArtifact", activate: bool, challenger: bool = False, at: datetime.datetime | None = None
) -> ModelVersion:
    """Register what predictor.training wrote, with its metrics and the data it learned from."""
    return model_version_register(
        kind=artifact.kind,
        version=artifact.version,
        directory=artifact.directory,
        metrics=artifact.metrics,
        data_description=artifact.description,
        activate=activate,
        challenger=challenger,
        at=at,
    )


@transaction.atomic
def model_version_make_challenger(*, model_version: ModelVersion, at: datetime.datetime | None = None) -> ModelVersion:
    """Make an inactive version the challenger of its kind, in shadow from `at` (now) with a fresh report."""
    if model_version.is_active:
        raise ValueError(f"{model_version} is the active version, not a challenger")
    ModelVersion.objects.select_for_update().filter(kind=model_version.kind, is_challenger=True).exclude(
        pk=model_version.pk
    ).update(is_challenger=False)
    model_version.is_challenger = True
    model_version.shadow_since = at or timezone.now()
    model_version.shadow_report = {}
    model_version.save(update_fields=["is_challenger", "shadow_since", "shadow_report"])
    return model_version


def shadow_report_store(*, model_version: ModelVersion, report: dict) -> None:
    model_version.shadow_report = report
    model_version.save(update_fields=["shadow_report"])


@dataclass(frozen=True)
class ShadowDraft:
    machine_code: str
    ts: datetime.datetime
    failure_probability: float
    error_code: ErrorCode | None
    may_open: bool = True  # the plant's doubt, as it would apply to this version (Scorer.forest_doubted)


def shadow_predictions_record(*, model_version: ModelVersion, drafts: Sequence["ShadowDraft"]) -> int:
    """A challenger's predictions of one tick, in one bulk write; nothing else follows from them."""
    machine_ids = dict(
        Machine.objects.filter(code__in={draft.machine_code for draft in drafts}).values_list("code", "id")
    )
    return len(
        ShadowPrediction.objects.bulk_create(
            [
                ShadowPrediction(
                    machine_id=machine_ids[draft.machine_code],
                    ts=draft.ts,
                    model_version=model_version,
                    failure_probability=min(max(draft.failure_probability, 0.0), 1.0),
                    error_code=draft.error_code,
                    may_open=draft.may_open,
                )
                for draft in drafts
                if draft.machine_code in machine_ids
            ]
        )
    )


@dataclass(frozen=True)
class ModelDriftDraft:
    """A drift measured by the predictor (predictor.drift.DriftMonitor)."""

    model_version: ModelVersion
    machine_type: str
    psi: float
    feature: str
    feature_psi: float
    sample_size: int


def model_drifts_record(*, drifts: Sequence[ModelDriftDraft], measured_at: datetime.datetime) -> None:
    """Each version and machine type keeps its latest drift: one row, replaced in one upsert."""
    ModelDrift.objects.bulk_create(
        [
            ModelDrift(
                model_version=draft.model_version,
                machine_type=draft.machine_type,
                psi=draft.psi,
                feature=draft.feature,
                feature_psi=draft.feature_psi,
                sample_size=draft.sample_size,
                measured_at=measured_at,
            )
            for draft in drifts
        ],
        update_conflicts=True,
        unique_fields=["model_version", "machine_type"],
        update_fields=["psi", "feature", "feature_psi", "sample_size", "measured_at"],
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
class ConditionAlarm:
    """A condition that holds for one machine this tick, with the error code it raises and why, in
    words: the alarm rules of one code, or the machine's health model past its threshold long enough."""

    machine_id: int
    error_code: ErrorCode
    why: str


@dataclass(frozen=True)
class HealthDraft:
    """What a machine's health model said at a tick (predictor.health.HealthScorer)."""

    machine_id: int
    ts: datetime.datetime
    health: float  # 0-100, 50 at its threshold
    past_threshold: bool  # never while settling
    departures: list[str]
    # Repaired within the features' long window: the score still reads the readings from before the
    # repair, so it neither alerts nor confirms the forest (Scorer.forest_doubted).
    settling: bool = False


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
    health: Sequence[HealthDraft] = (),
    within_own_normal: Collection[int] = (),
    plant_upkeep: bool = True,
) -> list[Prediction]:
    """One tick's output in bulk writes: a Prediction per scored machine, a SensorWarning per
    machine whose sensors were not trusted, each health model's score; and, for their alerts, the
    alarm rules that hold for the machines whose rules were judged (`rules_judged`, machine codes)
    and the health models past their threshold for HEALTH_ALERT_MINUTES. A high prediction opens no
    alert for a machine in `within_own_normal` (Scorer.forest_doubted). `plant_upkeep`: this tick also
    does the plant-wide jobs of the handler (false on all predictor partitions but the first)."""
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
    anomaly_alarms = _health_record(health, at=detected_at)
    # Alerts and tickets from the predictions, the rules and the health models: PREDICTIONS_HANDLER,
    # wired to the tickets app.
    wired("PREDICTIONS_HANDLER")(
        predictions=created,
        detected_at=detected_at,
        rule_alarms=_rule_alarms(rule_findings, machine_ids=machine_ids),
        rules_judged=[machine_ids[code] for code in rules_judged if code in machine_ids],
        anomaly_alarms=anomaly_alarms,
        health_judged=[draft.machine_id for draft in health],
        within_own_normal=within_own_normal,
        plant_upkeep=plant_upkeep,
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


def _rule_alarms(findings: Sequence[RuleFinding], *, machine_ids: dict[str, int]) -> list[ConditionAlarm]:
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
        alarms.append(ConditionAlarm(machine_id=machine_id, error_code=error_codes[code], why="; ".join(reasons)[:300]))
    return alarms


# A machine's stored health is rewritten when it says something new: its alarm state changed, it has
# departures to word, its score moved HEALTH_SCORE_STEP, or it was scored HEALTH_SCORE_REFRESH ago (or
# up to 1.9 times that, by machine: different periods drift apart, so the refreshes do not come due in
# one tick). Age is counted in ticks, not from the newest reading, which moves by whole batches (a
# gateway's, or one reading a minute) for every machine at once. Rewriting every machine every tick
# cost 0.4 s of a 1,000-machine tick on PostgreSQL (make bench-scoring).
HEALTH_SCORE_STEP = 5.0
HEALTH_SCORE_REFRESH = datetime.timedelta(minutes=1)


def _health_record(drafts: Sequence[HealthDraft], *, at: datetime.datetime) -> list[ConditionAlarm]:
    """Each machine's latest health, in one bulk write of the rows that changed; the anomaly alarms of
    the machines past their threshold for HEALTH_ALERT_MINUTES without a break (one tick past it is
    noise)."""
    if not drafts:
        return []
    rows = MachineHealth.objects.in_bulk([draft.machine_id for draft in drafts], field_name="machine_id")
    alert_after = datetime.timedelta(minutes=settings.HEALTH_ALERT_MINUTES)
    holding: list[tuple[int, str]] = []
    changed = []
    for draft in drafts:
        row = rows.get(draft.machine_id)
        if row is None:
            continue  # its model was registered without a health row: the next learning pass adds one
        score = round(min(max(draft.health, 0.0), 100.0), 1)
        since = (row.past_threshold_since or at) if draft.past_threshold else None
        if (
            since != row.past_threshold_since
            or draft.departures
            or row.departures
            or row.score is None
            or abs(score - row.score) >= HEALTH_SCORE_STEP
            or row.scored_at is None
            or at - row.scored_at >= HEALTH_SCORE_REFRESH * (1 + (row.machine_id % 8) / 8)
        ):
            row.score, row.scored_at, row.departures, row.past_threshold_since = (
                score,
                at,
                draft.departures,
                since,
            )
            changed.append(row)
        if since is not None and at - since >= alert_after:
            held = at - since
            why = f"health {score:.0f} of 100, past its normal for {held.total_seconds() / 60:.0f} min"
            holding.append((draft.machine_id, "; ".join([why, *draft.departures])[:300]))
    MachineHealth.objects.bulk_update(changed, ["score", "scored_at", "departures", "past_threshold_since"])
    if not holding:
        return []
    inspect = ErrorCode.objects.filter(code=INSPECT_ERROR_CODE).first()
    if inspect is None:
        logger.warning("error code %s does not exist: no anomaly alert", INSPECT_ERROR_CODE)
        return []
    return [ConditionAlarm(machine_id=machine_id, error_code=inspect, why=why) for machine_id, why in holding]


def machine_health_learning(*, machine: Machine, learned_days: float, at: datetime.datetime) -> MachineHealth:
    """The learning pass looked at the machine and found too little usable data to learn from (a
    machine that has a model keeps it)."""
    health, _ = MachineHealth.objects.update_or_create(
        machine=machine, defaults={"learned_days": round(learned_days, 3), "last_learned_at": at}
    )
    return health


@transaction.atomic
def health_model_retire(*, machine: Machine, learned_days: float, at: datetime.datetime) -> MachineHealth:
    """The machine's active health model learned from the days before a failure, a fault developing
    taken for normal: it stops scoring (its version stays, inactive, for a look back) and the machine
    learns again from `learned_days` of usable data."""
    HealthModelVersion.objects.filter(machine=machine, is_active=True).update(is_active=False)
    health, _ = MachineHealth.objects.get_or_create(machine=machine)
    health.state = HealthState.LEARNING
    health.learned_days = round(learned_days, 3)
    health.last_learned_at = at
    health.score = None
    health.scored_at = None
    health.departures = []
    health.past_threshold_since = None
    health.save()
    return health


# Versions a machine keeps: the active one and the one before it, for a look back.
HEALTH_VERSIONS_KEPT = 2


@transaction.atomic
def health_model_register(
    *,
    machine: Machine,
    model: "HealthModel",
    learned_from: datetime.datetime,
    learned_to: datetime.datetime,
    metrics_watched: Sequence[str],
    learned_days: float,
    at: datetime.datetime,
) -> HealthModelVersion:
    """Save a machine's newly learned health model as its active version (sha256 recorded, checked on
    every load), mark the machine ready, and remove its versions older than the previous one."""
    version_name = f"{at:%Y%m%d-%H%M%S}"
    directory = Path(settings.MODEL_ARTIFACT_DIR) / "health" / machine.code / version_name
    sha256 = model.save(
        directory,
        data_description={
            "machine": machine.code,
            "learned_from": learned_from.isoformat(),
            "learned_to": learned_to.isoformat(),
            "learned_days": round(learned_days, 3),
            "metrics": list(metrics_watched),
        },
    )
    HealthModelVersion.objects.filter(machine=machine, is_active=True).update(is_active=False)
    version, _ = HealthModelVersion.objects.update_or_create(
        machine=machine,
        version=version_name,
        defaults={
            "artifact_path": str(directory),
            "sha256": sha256,
            "learned_from": learned_from,
            "learned_to": learned_to,
            "samples": model.learning_rows,
            "metrics": {
                "threshold": model.threshold,
                "typical_score": model.typical_score,
                "false_alarm_rate": model.false_alarm_rate,
                "confirmed_normal_rows": model.confirmed_normal_rows,
                "metrics_watched": list(metrics_watched),
                "features": list(model.feature_names),
            },
            "trained_at": at,
            "is_active": True,
        },
    )
    health, _ = MachineHealth.objects.get_or_create(machine=machine)
    health.state = HealthState.READY
    health.ready_since = health.ready_since or at
    health.last_relearned_at = health.last_learned_at = at
    health.learned_days = round(learned_days, 3)
    health.save()
    old = list(HealthModelVersion.objects.filter(machine=machine).order_by("-trained_at")[HEALTH_VERSIONS_KEPT:])
    for stale in old:
        transaction.on_commit(lambda path=stale.artifact_path: shutil.rmtree(path, ignore_errors=True))
    HealthModelVersion.objects.filter(pk__in=[stale.pk for stale in old]).delete()
    return version
