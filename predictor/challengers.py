"""Champion and challenger: the plant's own outcomes train a challenger on a schedule, the challenger
scores in shadow, and it takes over only when it did better on what the plant recorded since.

- `challenger_train` trains a forest from the plant's labels (TRAINING_SOURCES["plant"]) and registers
  it as the challenger; too few failure events (TRAINING_MIN_FAILURE_EVENTS) train nothing.
- `shadow_evaluation` judges, over the same period and on the plant's outcomes (predictor.ml.outcomes),
  the alerts the challenger's shadow predictions would have raised (where the plant would have
  believed them, had it been active: ShadowPrediction.may_open) and the alerts the active version did
  raise, and stores the report on the challenger. The active version is judged on what it did:
  the plant doubts a forest that learned elsewhere where a machine's own health model sees it normal,
  and holds it after a false alarm, so its raw scores would raise many alerts nobody saw, and any
  precise challenger, one trained on wrong outcomes included, would look better than it was.
- `promotion_verdict` is the rule (MODEL_PROMOTION): automatic when the challenger is at least as good
  on precision and on recall, better on one, over at least MODEL_PROMOTION_MIN_EVENTS outcomes, and
  precise enough and seeing enough of the outcomes coming on its own (MODEL_PROMOTION_MIN_PRECISION,
  MODEL_PROMOTION_MIN_RECALL), and has stayed so at every evaluation for MODEL_PROMOTION_SUSTAIN_HOURS
  (`promotion_sustained`); manual leaves it to a person in the admin.
- `ModelUpkeep` runs the three between the predictor's ticks, when they are due. The predictor's loop is
  the scheduler: it already keeps the plant's clock (a replay of the past runs it with its own), which a
  cron-style scheduler would not.
"""

import datetime
import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from core.errors import error_first_line
from core.wiring import wired, wired_map
from predictor.ml.alerts import AlertHysteresis
from predictor.ml.outcomes import WEEK_S, AlertSpan, outcome_report, would_have_alerted
from predictor.models import ModelKind, ModelVersion
from predictor.selectors import (
    active_model_versions,
    challenger_version,
    model_version_horizon_hours,
    model_version_machine_count,
    newest_model_version,
    score_series,
)
from predictor.services import model_version_activate, shadow_report_store, trained_artifact_register

logger = logging.getLogger(__name__)

# Two scores further apart than this do not continue one alert (the machine was stopped or silent).
SHADOW_MAX_GAP = datetime.timedelta(minutes=15)
# After a retraining that found too few events, the next try waits this long.
RETRAIN_RETRY_AFTER = datetime.timedelta(days=1)


def challenger_train(*, now: datetime.datetime, seed: int = 1, progress: Callable[[str], None] = logger.info):
    """Train a forest from the plant's own labels over the last RETRAIN_HISTORY_DAYS and register it
    as the challenger; returns it, or the reason nothing was trained (too few events)."""
    from predictor.training import (  # noqa: PLC0415 - scikit-learn only when training
        TrainingRequest,
        forest_train,
        label_events_line,
        too_few_failure_events,
    )

    start = now - datetime.timedelta(days=settings.RETRAIN_HISTORY_DAYS)
    outcomes = wired("PLANT_OUTCOMES_SELECTOR")(start=start, end=now)
    found = len(outcomes.failures) + len(outcomes.prevented)
    if found < settings.TRAINING_MIN_FAILURE_EVENTS:
        # Counted before a month of every machine's readings is read: most days of a young plant end here.
        return (
            f"too few failure events to train on: {found} (failures {len(outcomes.failures)} + preventive fixes "
            f"{len(outcomes.prevented)}) in the last {settings.RETRAIN_HISTORY_DAYS:g} days; "
            f"TRAINING_MIN_FAILURE_EVENTS is {settings.TRAINING_MIN_FAILURE_EVENTS}"
        )
    data = wired_map("TRAINING_SOURCES")["plant"](TrainingRequest(days=settings.RETRAIN_HISTORY_DAYS, end=now))
    events = data.description["label_events"]
    progress(f"retraining from the plant's outcomes: {label_events_line(events)}")
    refusal = too_few_failure_events(events, minimum=settings.TRAINING_MIN_FAILURE_EVENTS)
    if refusal:
        return refusal
    artifact = forest_train(data, seed=seed, progress=progress, version=f"{now:%Y%m%d-%H%M%S}-plant-s{seed}")
    challenger = trained_artifact_register(artifact=artifact, activate=False, challenger=True, at=now)
    progress(f"{challenger} scores in shadow from {now:%Y-%m-%d %H:%M}")
    return challenger


def shadow_evaluation(challenger: ModelVersion, *, now: datetime.datetime) -> dict:
    """The alerts the challenger would have raised in shadow and those the active version raised over
    the same period, judged on the plant's outcomes since the challenger started shadowing, or since the
    active version was activated when that came later (before it, the active version raised nothing: on
    plant B, a challenger trained on 30 % flipped outcomes read recall 0.57 against 0.21 for a forest
    promoted a day before, over the five days it had shadowed, bench/plant_learning.py); stored on the
    challenger."""
    champion = active_model_versions().get(challenger.kind)
    since = challenger.shadow_since or challenger.trained_at
    if champion is not None and champion.activated_at is not None:
        since = max(since, champion.activated_at)
    horizon_hours = model_version_horizon_hours(challenger)
    outcomes = wired("PLANT_OUTCOMES_SELECTOR")(start=since, end=now)
    hysteresis = AlertHysteresis(settings.PREDICTION_THRESHOLD, settings.ALERT_CLEAR_THRESHOLD)
    weeks = max((now - since).total_seconds(), 0.0) / WEEK_S

    def judged(alerts: list[AlertSpan], machines: int) -> dict:
        return outcome_report(
            alerts, outcomes, horizon_s=horizon_hours * 3600, now=now.timestamp(), machine_weeks=machines * weeks
        ).as_dict()

    def judged_in_shadow(model_version: ModelVersion) -> dict:
        series = score_series(model_version, start=since, end=now)
        alerts = would_have_alerted(
            machine_codes=series.machine_codes,
            times=series.times,
            scores=series.scores,
            hysteresis=hysteresis,
            max_gap_seconds=SHADOW_MAX_GAP.total_seconds(),
            now=now.timestamp(),
            may_open=series.may_open,
        )
        return judged(alerts, len(set(series.machine_codes.tolist())))

    def judged_as_raised(model_version: ModelVersion) -> dict:
        alerts = wired("RAISED_ALERTS_SELECTOR")(model_version_id=model_version.pk, start=since, end=now)
        return judged(alerts, model_version_machine_count(model_version, start=since, end=now))

    report = {
        "since": since.isoformat(),
        "evaluated_at": now.isoformat(),
        "horizon_hours": horizon_hours,
        "challenger": judged_in_shadow(challenger),
        "champion_version": champion.version if champion else None,
        "champion": judged_as_raised(champion) if champion else None,
    }
    better, why = promotion_verdict(
        report["challenger"],
        report["champion"],
        min_events=settings.MODEL_PROMOTION_MIN_EVENTS,
        min_precision=settings.MODEL_PROMOTION_MIN_PRECISION,
        min_recall=settings.MODEL_PROMOTION_MIN_RECALL,
    )
    previous = challenger.shadow_report or {}
    # Better than another active version is no evidence against this one.
    same_champion = previous.get("champion_version") == report["champion_version"]
    better_since = _better_since(previous.get("better_since") if same_champion else None, better=better, now=now)
    report["better"], report["better_since"] = better, better_since.isoformat() if better_since else None
    report["promote"], report["verdict"] = promotion_sustained(
        why, better_since=better_since, now=now, hours=settings.MODEL_PROMOTION_SUSTAIN_HOURS
    )
    shadow_report_store(model_version=challenger, report=report)
    return report


def _better_since(previous: str | None, *, better: bool, now: datetime.datetime) -> datetime.datetime | None:
    """Since when the challenger has been better at every evaluation (None: it is not now)."""
    if not better:
        return None
    return datetime.datetime.fromisoformat(previous) if previous else now


def promotion_sustained(
    why: str, *, better_since: datetime.datetime | None, now: datetime.datetime, hours: float
) -> tuple[bool, str]:
    """Whether a challenger better since `better_since` (None: not better) is due for promotion, having
    stayed better for `hours`, and the verdict in words."""
    if better_since is None:
        return False, why
    held = (now - better_since).total_seconds() / 3600.0
    if held < hours:
        return False, f"{why}; better for {held:.1f} h of the {hours:g} h it must stay so"
    return True, why


def promotion_verdict(
    challenger: dict, champion: dict | None, *, min_events: int, min_precision: float, min_recall: float = 0.0
) -> tuple[bool, str]:
    """Whether the challenger did better than the active version (None: there is none), and why, in words."""
    events = challenger["events"]
    if events < min_events:
        return False, f"waiting for outcomes: {events} of the {min_events} needed since it started shadowing"
    precision, recall = challenger["precision"], challenger["recall"]
    if precision is None or recall is None:
        return False, "none of its alerts judged yet"
    if precision < min_precision:
        return False, f"precision {precision:.2f} is below the floor of {min_precision:.2f}"
    if recall < min_recall:
        return False, f"recall {recall:.2f} is below the floor of {min_recall:.2f}"
    active_precision = (champion or {}).get("precision") or 0.0
    active_recall = (champion or {}).get("recall") or 0.0
    compared = (
        f"precision {precision:.2f} vs {active_precision:.2f}, recall {recall:.2f} vs {active_recall:.2f} "
        f"over {events} outcomes"
    )
    if precision < active_precision or recall < active_recall:
        return False, f"not better than the active version: {compared}"
    if precision == active_precision and recall == active_recall:
        return False, f"no better than the active version: {compared}"
    return True, f"better than the active version: {compared}"


def challenger_promote(challenger: ModelVersion, *, by=None, note: str = "", at: datetime.datetime | None = None):
    """Make the challenger the active version; the one it replaces stays for a rollback."""
    return model_version_activate(model_version=challenger, by=by, note=note or "promoted by hand", at=at)


class ModelUpkeep:
    """Between the predictor's ticks: judge the challenger every SHADOW_EVALUATE_MINUTES (promoting it
    when MODEL_PROMOTION is automatic and the verdict says so), and train a new challenger from the
    plant's outcomes every RETRAIN_EVERY_DAYS. `background`: train in a thread, so that a training of
    minutes never holds up a tick (the live predictor); otherwise in line (a replay of the past)."""

    def __init__(self, *, background: bool):
        self.background = background
        self._training: threading.Thread | None = None
        self._evaluated_at: datetime.datetime | None = None
        self._retrain_tried_at: datetime.datetime | None = None

    @property
    def training(self) -> bool:
        return self._training is not None and self._training.is_alive()

    def run_due(self, *, now: datetime.datetime | None = None) -> None:
        now = now or timezone.now()
        if self.training:
            return
        if self._evaluation_due(now):
            self._evaluated_at = now
            self.evaluate(now=now)
        if self._retraining_due(now):
            self._retrain_tried_at = now
            if self.background:
                self._training = threading.Thread(target=self._train_closing_connection, args=(now,), daemon=True)
                self._training.start()
            else:
                self.train(now=now)

    def evaluate(self, *, now: datetime.datetime) -> dict | None:
        challenger = challenger_version(kind=ModelKind.RANDOM_FOREST)
        if challenger is None:
            return None
        report = shadow_evaluation(challenger, now=now)
        if report["promote"] and settings.MODEL_PROMOTION == "automatic":
            challenger_promote(challenger, note=f"promoted by the rule: {report['verdict']}", at=now)
            logger.info("%s promoted: %s", challenger, report["verdict"])
        return report

    def train(self, *, now: datetime.datetime) -> ModelVersion | str:
        outcome = challenger_train(now=now)
        if isinstance(outcome, str):
            logger.info("no challenger trained: %s", outcome)
        return outcome

    def _train_closing_connection(self, now: datetime.datetime) -> None:
        try:
            self.train(now=now)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("retraining stopped, the database is unavailable (%s)", error_first_line(exc))
            self._retrain_tried_at = None  # try again once it is back
        except Exception:
            logger.exception("retraining failed")
        finally:
            connection.close()  # the thread's own connection

    def _evaluation_due(self, now: datetime.datetime) -> bool:
        every = datetime.timedelta(minutes=settings.SHADOW_EVALUATE_MINUTES)
        return self._evaluated_at is None or now - self._evaluated_at >= every

    def _retraining_due(self, now: datetime.datetime) -> bool:
        if not settings.RETRAIN_EVERY_DAYS:
            return False
        if self._retrain_tried_at is not None and now - self._retrain_tried_at < RETRAIN_RETRY_AFTER:
            return False
        newest = newest_model_version(kind=ModelKind.RANDOM_FOREST)
        return newest is None or now - newest.trained_at >= datetime.timedelta(days=settings.RETRAIN_EVERY_DAYS)
