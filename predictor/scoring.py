"""One predictor tick: every running machine's recent window → the active models' one predict entry
(predictor.ml.predict) → predictions, their failure modes mapped to the catalogue's error codes.

Plain classes and functions the tests call directly; `manage.py run_predictor` only loops over
`Scorer.tick` and handles signals.
"""

import datetime
import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from catalogue.selectors import error_code_by_failure_mode
from core.errors import error_first_line
from predictor.challengers import ModelUpkeep
from predictor.drift import DriftMonitor
from predictor.health import HealthScorer, health_learning_pass
from predictor.ml.features import LONG_WINDOW_S, MachineWindow, windows_features
from predictor.ml.predict import LoadedArtifact, Predictor, StageClock
from predictor.ml.rules import RuleFinding, rule_findings
from predictor.models import ModelKind, ModelVersion, SensorProblem
from predictor.partitions import WHOLE_PLANT, Partition
from predictor.rules import machine_rules
from predictor.selectors import (
    MachineRef,
    machines_to_score,
    metric_units,
    model_version_artifact_load,
    serving_model_versions,
)
from predictor.services import (
    HealthDraft,
    PredictionDraft,
    SensorWarningDraft,
    ShadowDraft,
    predictions_record,
    shadow_predictions_record,
)
from predictor.windows import RecentWindows
from telemetry.selectors import machines_sensor_faults

logger = logging.getLogger(__name__)

# A machine whose newest reading is older than this is not predicted: its sensor or link is down.
STALE_AFTER = datetime.timedelta(minutes=5)
# A signal that has not moved at all for this long is a stuck sensor, not a machine.
FLAT_WINDOW_S = 1800.0
FLAT_MIN_POINTS = 10
# Beyond this multiple of a metric's alarm limit a reading is physically implausible.
IMPLAUSIBLE_FACTOR = 5.0


# After a tick the database refused, the next try waits this long, doubling up to the interval.
DATABASE_RETRY_FIRST_S = 1.0

# The stages of a tick, in order; TickResult.stage_seconds has one entry per stage that ran.
TICK_STAGES: tuple[str, ...] = (
    "selector",
    "sensor checks",
    "rules",
    "features",
    "health",
    "forest",
    "explanations",
    "lstm",
    "shadow",
    "write",
)


@dataclass(frozen=True)
class TickResult:
    predicted: int
    skipped: int
    models: tuple[str, ...]
    stage_seconds: dict[str, float] = field(default_factory=dict)


def sensor_problem(window: MachineWindow, *, now: datetime.datetime) -> tuple[str, str] | None:
    """(problem, detail) when the window cannot be trusted, None when it can."""
    if len(window.ts) == 0:
        return SensorProblem.STALE, "no readings in the last 12 hours"
    age = now.timestamp() - window.ts[-1]
    if age > STALE_AFTER.total_seconds():
        return SensorProblem.STALE, f"newest reading is {age / 60:.0f} minutes old"
    # Times ascend: the last 30 minutes are a tail, which nearly always holds a metric's latest value.
    recent_from = int(np.searchsorted(window.ts, window.ts[-1] - FLAT_WINDOW_S, side="left"))
    for name, values in window.values.items():
        tail = values[recent_from:]
        recent_values = tail[~np.isnan(tail)]
        if len(recent_values) >= FLAT_MIN_POINTS and recent_values.max() == recent_values.min():
            return SensorProblem.FLAT, f"{name} has read exactly {recent_values[-1]:g} for 30 minutes"
        known = recent_values if len(recent_values) else values[~np.isnan(values)]
        if not len(known):
            continue
        value = known[-1]
        low, high = window.normal_ranges.get(name, (None, None))
        limit = max(abs(low or 0.0), abs(high or 0.0)) * IMPLAUSIBLE_FACTOR
        if limit and abs(value) > limit:
            return SensorProblem.OUT_OF_RANGE, f"{name} reads {value:g}, beyond any plausible value"
        if low is not None and low >= 0 and value < 0:
            return SensorProblem.OUT_OF_RANGE, f"{name} reads {value:g}, below zero"
    return None


class Scorer:
    """Keeps the active models and the forest's challenger loaded (reloading when another version is
    activated) and the machines' recent windows (reading only what changed since the last tick), and
    scores ticks. `upkeep`: the champion/challenger schedule to run between ticks (run_predictor's).
    `partition`: the machines this worker scores (run_predictor --partition i/K); the plant's upkeep
    runs on partition 0 only (Partition.runs_plant_upkeep)."""

    # The key of the forest's challenger among the loaded models.
    CHALLENGER = "challenger"

    def __init__(self, *, upkeep: ModelUpkeep | None = None, partition: Partition = WHOLE_PLANT):
        self.upkeep = upkeep
        self.partition = partition
        self._loaded: dict[str, tuple[int, LoadedArtifact]] = {}
        # Features look 12 hours back from a machine's latest reading, which may be minutes old.
        self._windows = RecentWindows(hours=LONG_WINDOW_S / 3600 + 0.5, partition=partition)
        self._warned_no_forest = False
        self._health = HealthScorer()
        self._drift = DriftMonitor()

    def _models(self) -> dict[str, tuple[ModelVersion, LoadedArtifact]]:
        models = {}
        active = serving_model_versions(challenger_key=self.CHALLENGER)
        stale = [kind for kind, version in active.items() if self._loaded.get(kind, (None,))[0] != version.id]
        if stale:
            # A loaded forest and TensorFlow are millions of Python objects that live as long as the process; a
            # full garbage collection walking them took 0.3 s, a third of a tick's budget, every few ticks. Frozen,
            # they are left out of collections; unfrozen while switching, so a replaced model can be freed.
            gc.unfreeze()
            for kind in stale:
                logger.info("loading %s", active[kind])
                self._loaded[kind] = (active[kind].id, model_version_artifact_load(active[kind]))
            gc.collect()
            gc.freeze()
        for kind, version in active.items():
            models[kind] = (version, self._loaded[kind][1])
        return models

    def run(
        self,
        *,
        stop: threading.Event,
        interval: float,
        on_tick: Callable[[TickResult, float], None] = lambda result, seconds: None,
        once: bool = False,
    ) -> int:
        """Tick every `interval` seconds (from one tick's start to the next) until `stop` is set;
        `on_tick` gets each result and its duration. Returns the number of ticks."""
        ticks = 0
        retry_delay = DATABASE_RETRY_FIRST_S
        while not stop.is_set():
            started = time.monotonic()
            try:
                result = self.tick()
            except (OperationalError, InterfaceError) as exc:
                # The database is down or restarting: the tick is lost (the next one scores the same machines
                # from the same readings), the process is not. A one-off run reports the failure instead.
                connection.close()  # a broken connection is replaced on the next attempt
                if once:
                    raise
                logger.warning("database unavailable (%s); next tick in %.0f s", error_first_line(exc), retry_delay)
                stop.wait(retry_delay)
                retry_delay = min(retry_delay * 2, max(interval, DATABASE_RETRY_FIRST_S))
                continue
            retry_delay = DATABASE_RETRY_FIRST_S
            ticks += 1
            on_tick(result, time.monotonic() - started)
            self._between_ticks(once=once)
            if once:
                break
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        return ticks

    def tick(self, *, now: datetime.datetime | None = None) -> TickResult:
        """Judge every running machine by its alarm rules, and score it with the active models when
        there are some: rules need no model, so a plant that has trained none is watched too."""
        now = now or timezone.now()
        models = self._models()
        forest = models.get(ModelKind.RANDOM_FOREST)
        if forest is None and not self._warned_no_forest:
            logger.warning(
                "no active Random Forest: alarm rules only (train one with `manage.py train_models --activate`)"
            )
            self._warned_no_forest = True
        clock = StageClock()
        with clock.stage("selector"):
            windows = self._windows.windows(end=now)
        warnings, healthy = [], []
        with clock.stage("sensor checks"):
            faults = machines_sensor_faults(now=now, within=STALE_AFTER)
            for window in windows:
                fault = faults.get(window.machine_code)
                if fault is not None:
                    problem = (SensorProblem.STALE if fault.offline else SensorProblem.OUT_OF_RANGE, fault.detail[:300])
                else:
                    problem = sensor_problem(window, now=now)
                if problem:
                    warnings.append(SensorWarningDraft(window.machine_code, *problem))
                else:
                    healthy.append(window)
        machines = machines_to_score(partition=self.partition) if healthy else []
        with clock.stage("rules"):
            findings = self._rule_findings(healthy, machines=machines, now=now)
        with clock.stage("features"):
            # Once for the forest and the health models that watch the same metrics.
            features = windows_features(healthy, [window.ts[-1:] for window in healthy])
        with clock.stage("health"):
            health = self._health_scores(healthy, machines=machines, features=features)
        learned = self._learned_types(healthy, forest=forest, machines=machines)
        drafts = []
        if learned and forest is not None:
            rows = {window.machine_code: row for row, window in enumerate(healthy)}
            learned_features = features[[rows[window.machine_code] for window in learned]]
            drafts = self._predict(
                learned, forest=forest, lstm=models.get(ModelKind.LSTM), clock=clock, features=learned_features
            )
        shadow = []
        challenger = models.get(self.CHALLENGER)
        if challenger is not None and healthy:
            with clock.stage("shadow"):
                shadow = self._shadow(
                    healthy, challenger=challenger, machines=machines, features=features, health=health
                )
        with clock.stage("write"):
            predictions_record(
                predictions=drafts,
                warnings=warnings,
                detected_at=now,
                rule_findings=findings,
                rules_judged=[window.machine_code for window in healthy],
                health=health,
                within_own_normal=self.forest_doubted(health, forest=forest, machines=machines),
                plant_upkeep=self.partition.runs_plant_upkeep,
            )
            if shadow:
                shadow_predictions_record(model_version=challenger[0], drafts=shadow)
            if self.partition.runs_plant_upkeep:
                # Partition 0's machines are a sample of every type drawn by a hash: drift needs no more.
                self._drift.observe(forest, windows=healthy, machines=machines, features=features, now=now)
        return TickResult(
            len(drafts), len(warnings), tuple(str(version) for version, _ in models.values()), clock.seconds
        )

    def _between_ticks(self, *, once: bool) -> None:
        """Learn the health models that are due, and run the champion/challenger schedule; a database
        that went down since the tick costs this once, and the next tick finds out for itself. Plant-wide
        jobs: partition 0 only."""
        if not self.partition.runs_plant_upkeep:
            return
        try:
            self.learn()
            if self.upkeep is not None and not once:  # a one-off run exits before any training could end
                self.upkeep.run_due()
        except (OperationalError, InterfaceError) as exc:
            connection.close()
            logger.warning("database unavailable between ticks (%s)", error_first_line(exc))

    def learn(self, *, now: datetime.datetime | None = None, all_due: bool = False) -> None:
        """Between two ticks: learn the health models of the next few machines that are due
        (HEALTH_LEARN_PER_TICK), so a plant's learning is spread over ticks and never holds one up;
        `all_due`: of every machine that is due (a replay of the past, which no live tick waits on)."""
        if settings.HEALTH_LEARN_PER_TICK:
            limit = None if all_due else settings.HEALTH_LEARN_PER_TICK
            for outcome in health_learning_pass(now=now, limit=limit):
                if outcome.model_version is not None:
                    logger.info("%s: health model %s learned", outcome.machine_code, outcome.model_version.version)

    def _health_scores(
        self, windows: list[MachineWindow], *, machines: list[MachineRef], features: np.ndarray
    ) -> list[HealthDraft]:
        """Each machine's health by its own model, for machines whose sensors can be trusted."""
        if not windows:
            return []
        types = {ref.id: ref.machine_type_id for ref in machines}

        def units() -> dict[int, dict[str, str]]:
            by_type = metric_units(machine_type_ids=set(types.values()))
            return {machine_id: by_type.get(type_id, {}) for machine_id, type_id in types.items()}

        return self._health.score(
            windows, machine_ids={ref.code: ref.id for ref in machines}, units=units, shared=features
        )

    @staticmethod
    def forest_doubted(
        health: list[HealthDraft], *, forest: tuple[ModelVersion, LoadedArtifact] | None, machines: list[MachineRef]
    ) -> set[int]:
        """Machines the forest never learned (it records those it did) whose own health model does not
        see them below FOREST_ALERT_HEALTH_BELOW, has not learned their normal yet, or reads a window
        that still holds the readings from before a repair (settling: on plant B, the forest's false
        alerts in the hours after a preventive fix were confirmed so, bench/plant_learning.py): a high
        probability opens no alert for them. A forest that learned another plant is not believed on its
        own (bench/transfer.py: on a plant it never saw, most of its alerts were false); one that
        learned this machine is, unless it learned from the plant's own outcomes
        (FOREST_FROM_OUTCOMES_NEEDS_HEALTH: then every machine is one it never learned). A forest that
        did not record its machines learned all of them."""
        if forest is None:
            return set()
        artifact = forest[1]
        from_outcomes = settings.FOREST_FROM_OUTCOMES_NEEDS_HEALTH and artifact.trained_on_plant_outcomes
        learned = set() if from_outcomes else set(artifact.recorded("machine_codes") or ())
        if not learned and not from_outcomes:
            return set()
        confirmed = {
            draft.machine_id
            for draft in health
            if draft.health < settings.FOREST_ALERT_HEALTH_BELOW and not draft.settling
        }
        return {ref.id for ref in machines if ref.code not in learned and ref.id not in confirmed}

    @staticmethod
    def _learned_types(
        windows: list[MachineWindow], *, forest: tuple[ModelVersion, LoadedArtifact] | None, machines: list[MachineRef]
    ) -> list[MachineWindow]:
        """The windows of machines whose type the forest learned (all, for a forest that did not record
        its types): on a type it never saw, its probability means nothing, and the rules and the
        health models watch that machine instead."""
        trained = forest[1].recorded("machine_types") if forest is not None else None
        if not trained:
            return windows
        trained = set(trained)
        type_of = {ref.code: ref.machine_type for ref in machines}
        return [window for window in windows if type_of.get(window.machine_code) in trained]

    def _rule_findings(
        self, windows: list[MachineWindow], *, machines: list[MachineRef], now: datetime.datetime
    ) -> list[RuleFinding]:
        """The alarm rules that hold, for machines whose sensors can be trusted (a stuck or implausible
        sensor gets a sensor warning, not an alarm). Rules are read each tick: an edit counts at once."""
        if not windows:
            return []
        rules = machine_rules(machines)
        codes = {ref.code: ref.id for ref in machines}
        now_ts = now.timestamp()
        findings = []
        for window in windows:
            machine_id = codes.get(window.machine_code)
            if machine_id is not None:
                findings.extend(rule_findings(window, rules.get(machine_id, ()), now_ts=now_ts))
        return findings

    def _shadow(
        self,
        windows: list[MachineWindow],
        *,
        challenger: tuple[ModelVersion, LoadedArtifact],
        machines: list[MachineRef],
        features: np.ndarray,
        health: list[HealthDraft],
    ) -> list[ShadowDraft]:
        """The challenger's word on the machines of the types it learned, from the tick's features: stored
        to judge it by, never alerted on (the LSTM's remaining life is the active one's, and left out),
        with whether the plant would have believed it there, were it active (forest_doubted)."""
        learned = self._learned_types(windows, forest=challenger, machines=machines)
        if not learned:
            return []
        rows = {window.machine_code: row for row, window in enumerate(windows)}
        forecasts = Predictor(challenger[1]).predict(
            learned, features=features[[rows[window.machine_code] for window in learned]], explain=False
        )
        codes = error_code_by_failure_mode()
        doubted = self.forest_doubted(health, forest=challenger, machines=machines)
        doubted_codes = {ref.code for ref in machines if ref.id in doubted}
        return [
            ShadowDraft(
                machine_code=forecast.machine_code,
                ts=datetime.datetime.fromtimestamp(forecast.ts, tz=datetime.UTC),
                failure_probability=forecast.failure_probability,
                error_code=codes.get(forecast.failure_mode) if forecast.failure_mode else None,
                may_open=forecast.machine_code not in doubted_codes,
            )
            for forecast in forecasts
        ]

    def _predict(
        self,
        windows: list[MachineWindow],
        *,
        forest: tuple[ModelVersion, LoadedArtifact],
        lstm: tuple[ModelVersion, LoadedArtifact] | None,
        clock: StageClock,
        features: np.ndarray,
    ) -> list[PredictionDraft]:
        forest_version, forest_artifact = forest
        predictor = Predictor(forest_artifact, lstm[1] if lstm else None)
        forecasts = predictor.predict(windows, clock=clock, features=features)
        codes = error_code_by_failure_mode()
        return [
            PredictionDraft(
                machine_code=forecast.machine_code,
                ts=datetime.datetime.fromtimestamp(forecast.ts, tz=datetime.UTC),
                model_version=forest_version,
                rul_model_version=lstm[0] if lstm else None,
                failure_probability=forecast.failure_probability,
                error_code=codes.get(forecast.failure_mode) if forecast.failure_mode else None,
                rul_hours=forecast.rul_hours,
                rul_low_hours=forecast.rul_low_hours,
                rul_high_hours=forecast.rul_high_hours,
                top_signals=forecast.explanation,
            )
            for forecast in forecasts
        ]
