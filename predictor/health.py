"""Each machine's health model in the running plant: learned from the machine's own normal data
(predictor.ml.health), relearned on a rolling window, and scored every predictor tick.

Learning. A machine's history over the last HEALTH_WINDOW_DAYS is sampled every
HEALTH_SAMPLE_MINUTES (the features need 12 hours of readings behind each instant); the samples that
fall in a flagged period (an alert, a ticket, the HEALTH_PRE_FAILURE_DAYS before a breakdown: the
tickets app says which, through settings.HEALTH_FLAGGED_PERIODS_SELECTOR) are left out, so a
developing fault never becomes normal. A false alarm is no flagged period: someone looked and found
the machine normal, so the model learns from it, and its threshold is kept above those samples'
scores (HEALTH_CONFIRMED_NORMAL_SELECTOR): what was judged normal once does not alarm again. Once
HEALTH_LEARNING_DAYS of usable samples are there, a model is fitted on the metrics the machine
actually reports, whatever its type: a machine nobody described is watched as well as a catalogued
one. It is relearned every HEALTH_RELEARN_HOURS. A failure that comes after a model learned shows
that the days before it (which the model may have learned from) were a fault developing: a
relearning that then finds fewer than HEALTH_LEARNING_DAYS of usable data replaces that model with
one learned from at least HEALTH_RELEARN_MIN_DAYS, or else retires it and the machine learns again,
rather than holding the repaired machine against a sick machine's normal.

Scoring. `HealthScorer` keeps each machine's active model loaded (checked by its sha256) and scores
the tick's windows at their newest reading; a machine past its threshold for HEALTH_ALERT_MINUTES
without a break raises an anomaly alert (predictor.services.predictions_record), unless it was
repaired within the features' 12-hour window (their readings from before the repair are no news).
"""

import datetime
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from core.wiring import wired
from predictor.ml.features import (
    FEATURE_METRICS,
    LONG_WINDOW_S,
    METRIC_STATS,
    MachineWindow,
    feature_names,
    windows_features,
)
from predictor.ml.health import HealthModel, learning_rows_mask, learning_state, scores_of_many
from predictor.models import HealthModelVersion, HealthState
from predictor.selectors import machine_windows
from predictor.services import HealthDraft, health_model_register, health_model_retire, machine_health_learning
from telemetry.models import Machine, MachineStatus

logger = logging.getLogger(__name__)

# Below this health a tick's departures are worded: a machine at its usual self needs no why.
EXPLAIN_BELOW_HEALTH = 80.0


@dataclass(frozen=True)
class LearningOutcome:
    machine_code: str
    learned_days: float
    model_version: HealthModelVersion | None  # None: still learning


def metrics_watched(window: MachineWindow) -> tuple[str, ...]:
    """The metrics a machine's health model watches: those it reports, known to the catalogue or not."""
    return tuple(sorted(name for name, values in window.values.items() if np.isfinite(values).any()))


def machine_learn(machine: Machine, *, now: datetime.datetime) -> LearningOutcome:
    """Learn (or relearn) one machine's health model from its own usable history up to `now`; while
    there is not enough of it, record how much there is."""
    window_days = settings.HEALTH_WINDOW_DAYS
    [window] = machine_windows(end=now, hours=window_days * 24 + LONG_WINDOW_S / 3600, machines=[machine])
    metrics = metrics_watched(window)
    step = settings.HEALTH_SAMPLE_MINUTES * 60.0
    instants = np.empty(0)
    if metrics and len(window.ts):
        # Each instant needs a whole long window of readings behind it, as the features expect.
        first = max(window.ts[0] + LONG_WINDOW_S, now.timestamp() - window_days * 86400.0)
        instants = np.arange(now.timestamp(), first, -step)[::-1]
    flagged = wired("HEALTH_FLAGGED_PERIODS_SELECTOR")(
        machine_ids=[machine.pk],
        start=now - datetime.timedelta(days=window_days + LONG_WINDOW_S / 86400),
        end=now,
        before_failure=datetime.timedelta(days=settings.HEALTH_PRE_FAILURE_DAYS),
    )[machine.pk]
    # An instant whose features' long window reaches into a flagged period is flagged too.
    periods = [(begin, end + LONG_WINDOW_S) for begin, end in flagged]
    features = windows_features([window], [instants], metrics) if len(instants) else np.empty((0, 0))
    names = feature_names(metrics)
    usable = learning_rows_mask(instants, periods)
    if len(instants):
        # An instant with no reading of any metric in its short window is a silent machine, not a normal one.
        short_means = features[:, 0 : len(METRIC_STATS) * len(metrics) : len(METRIC_STATS)]
        usable &= np.isfinite(short_means).any(axis=1)
    state = learning_state(instants, usable, required_days=settings.HEALTH_LEARNING_DAYS, step_seconds=step)
    if not state.ready:
        if not _learned_before_a_failure(machine, now=now):
            machine_health_learning(machine=machine, learned_days=state.usable_days, at=now)
            return LearningOutcome(machine.code, state.usable_days, None)
        shorter = learning_state(instants, usable, required_days=settings.HEALTH_RELEARN_MIN_DAYS, step_seconds=step)
        if not shorter.ready:
            logger.info("%s: its health model learned from the days before a failure; learning again", machine.code)
            health_model_retire(machine=machine, learned_days=state.usable_days, at=now)
            return LearningOutcome(machine.code, state.usable_days, None)
        logger.info(
            "%s: its health model learned from the days before a failure; relearned from %.1f clean days",
            machine.code,
            state.usable_days,
        )
    confirmed = wired("HEALTH_CONFIRMED_NORMAL_SELECTOR")(
        machine_ids=[machine.pk], start=now - datetime.timedelta(days=window_days), end=now
    )[machine.pk]
    model = HealthModel.fit(
        features[usable],
        names,
        false_alarm_rate=settings.HEALTH_FALSE_ALARM_RATE,
        confirmed_normal=features[usable & _within(instants, confirmed)],
    )
    used = instants[usable]
    version = health_model_register(
        machine=machine,
        model=model,
        learned_from=datetime.datetime.fromtimestamp(used[0], tz=datetime.UTC),
        learned_to=datetime.datetime.fromtimestamp(used[-1], tz=datetime.UTC),
        metrics_watched=metrics,
        learned_days=state.usable_days,
        at=now,
    )
    return LearningOutcome(machine.code, state.usable_days, version)


def _learned_before_a_failure(machine: Machine, *, now: datetime.datetime) -> bool:
    """Whether the machine's active model learned from what is now known to be the days before a failure
    (one that came after it learned, so it could not leave them out): a developing fault, taken for normal.
    A relearning with HEALTH_LEARNING_DAYS of usable data replaces such a model anyway; one with less
    replaces it from at least HEALTH_RELEARN_MIN_DAYS or retires it (machine_learn), rather than keep
    it, which would hold false alarms against the repaired machine for days."""
    active = HealthModelVersion.objects.filter(machine=machine, is_active=True).first()
    if active is None:
        return False
    failures = wired("HEALTH_FAILURES_SELECTOR")(machine_ids=[machine.pk], start=active.trained_at, end=now)[machine.pk]
    before_failure = settings.HEALTH_PRE_FAILURE_DAYS * 86400.0
    return any(failed - before_failure < active.learned_to.timestamp() for failed in failures)


def _within(instants: np.ndarray, periods: list[tuple[float, float]]) -> np.ndarray:
    """Which instants fall inside one of the periods (closed)."""
    inside = np.zeros(len(instants), dtype=bool)
    for begin, end in periods:
        inside |= (instants >= begin) & (instants <= end)
    return inside


def machines_due_for_learning(*, now: datetime.datetime, limit: int | None = None) -> list[Machine]:
    """Running machines whose learning is due, the longest waiting first: never looked at; still
    learning, last looked at HEALTH_LEARNING_CHECK_MINUTES ago or more, and long enough ago that the
    days it lacked could have come in since (usable data grows no faster than time passes, so a new
    plant is not looked at every hour for days); or ready and last learned HEALTH_RELEARN_HOURS ago or
    more (a relearning that found too little usable data, after a long alert say, keeps the model it
    had, unless that model learned from the days before a failure, and waits as long)."""
    check_before = now - datetime.timedelta(minutes=settings.HEALTH_LEARNING_CHECK_MINUTES)
    relearn_before = now - datetime.timedelta(hours=settings.HEALTH_RELEARN_HOURS)
    candidates = (
        Machine.objects.filter(status__in=[MachineStatus.RUNNING, MachineStatus.DEGRADED])
        .filter(
            Q(health__isnull=True)
            | Q(health__last_learned_at__isnull=True)
            | Q(health__state=HealthState.LEARNING, health__last_learned_at__lte=check_before)
            | Q(health__state=HealthState.READY, health__last_learned_at__lte=relearn_before)
        )
        .select_related("machine_type", "health")
        .order_by(F("health__last_learned_at").asc(nulls_first=True), "id")
    )
    due = [machine for machine in candidates if _lacking_days_passed(machine, now=now)]
    return due[:limit] if limit is not None else due


def _lacking_days_passed(machine: Machine, *, now: datetime.datetime) -> bool:
    health = getattr(machine, "health", None)
    if health is None or health.state != HealthState.LEARNING or health.last_learned_at is None:
        return True
    lacking = datetime.timedelta(days=max(0.0, settings.HEALTH_LEARNING_DAYS - health.learned_days))
    return health.last_learned_at + lacking <= now


def health_learning_pass(*, now: datetime.datetime | None = None, limit: int | None = None) -> list[LearningOutcome]:
    """Learn the machines that are due (at most `limit`: the predictor spreads a plant over its ticks)."""
    now = now or timezone.now()
    outcomes = []
    for machine in machines_due_for_learning(now=now, limit=limit):
        try:
            outcomes.append(machine_learn(machine, now=now))
        except ValueError as exc:
            # Data a model cannot be fitted on (every feature flat, say) is no reason to stop the others.
            logger.warning("%s: no health model learned: %s", machine.code, exc)
            machine_health_learning(machine=machine, learned_days=0.0, at=now)
    return outcomes


class HealthScorer:
    """Keeps each machine's active health model loaded (reloaded when another version becomes active)."""

    def __init__(self):
        # machine id -> (version id, model, the metrics it watches in the order of its features)
        self._loaded: dict[int, tuple[int, HealthModel, tuple[str, ...]]] = {}

    def _models(self, machine_ids: Sequence[int]) -> dict[int, tuple[HealthModel, tuple[str, ...]]]:
        models = {}
        for version in HealthModelVersion.objects.filter(machine_id__in=machine_ids, is_active=True):
            kept = self._loaded.get(version.machine_id)
            if kept is None or kept[0] != version.pk:
                model = HealthModel.load(version.artifact_path, expected_sha256=version.sha256)
                kept = (version.pk, model, tuple(version.metrics["metrics_watched"]))
                self._loaded[version.machine_id] = kept
            models[version.machine_id] = kept[1:]
        return models

    def score(
        self,
        windows: Sequence[MachineWindow],
        *,
        machine_ids: dict[str, int],
        units: Callable[[], dict[int, dict[str, str]]],
        shared: np.ndarray | None = None,
    ) -> list[HealthDraft]:
        """One health draft per window whose machine has an active model, at its newest reading.
        `units()` gives each machine's metric units, read only when a departure is worded. `shared`:
        the windows' features of FEATURE_METRICS at their newest reading (a row each, as the tick
        computed them for the forest): a model that watches only those metrics reads its columns there."""
        ids = [machine_ids[window.machine_code] for window in windows if window.machine_code in machine_ids]
        models = self._models(ids)
        # Machines that watch the same metrics share one pass of the feature code.
        groups: dict[tuple[str, ...], list[tuple[MachineWindow, int, HealthModel]]] = {}
        for window in windows:
            machine_id = machine_ids.get(window.machine_code)
            if machine_id not in models or not len(window.ts):
                continue
            model, metrics = models[machine_id]
            groups.setdefault(metrics, []).append((window, machine_id, model))
        drafts = []
        units_by_machine: dict[int, dict[str, str]] | None = None
        row_of = {window.machine_code: row for row, window in enumerate(windows)}
        for metrics, members in groups.items():
            if shared is not None and set(metrics) <= _SHARED_METRICS:
                columns = [_SHARED_COLUMN[name] for name in feature_names(metrics)]
                features = shared[np.ix_([row_of[window.machine_code] for window, _, _ in members], columns)]
            else:
                at = [window.ts[-1:] for window, _, _ in members]
                features = windows_features([window for window, _, _ in members], at, metrics)
            scores = scores_of_many([model for _, _, model in members], features)
            for position, (window, machine_id, model) in enumerate(members):
                health = float(scores.health[position])
                settling = _settling(window)
                departures = []
                if health < EXPLAIN_BELOW_HEALTH:
                    units_by_machine = units() if units_by_machine is None else units_by_machine
                    departures = model.explain(features[position], units=units_by_machine.get(machine_id, {}))
                drafts.append(
                    HealthDraft(
                        machine_id=machine_id,
                        ts=datetime.datetime.fromtimestamp(window.ts[-1], tz=datetime.UTC),
                        health=health,
                        past_threshold=bool(scores.past_threshold[position]) and not settling,
                        departures=departures,
                        settling=settling,
                    )
                )
        return drafts


_SHARED_METRICS = frozenset(FEATURE_METRICS)
_SHARED_COLUMN = {name: column for column, name in enumerate(feature_names(FEATURE_METRICS))}


def _settling(window: MachineWindow) -> bool:
    """Repaired within the features' long window: the window still holds the readings from before
    the repair, so a departure now says what was fixed, not what is coming (no anomaly alert yet, and
    no confirmation of the forest's probability, which reads the same window)."""
    return window.last_repair_ts is not None and window.ts[-1] - window.last_repair_ts < LONG_WINDOW_S
