"""Plant B learns from its own outcomes: the product runs on a plant it never saw for --weeks simulated
weeks, the crew works every ticket truthfully, and a challenger forest is retrained every week from B's
outcomes only, scored in shadow and promoted by the product's rule.

    .venv/bin/python bench/plant_learning.py      (or: make bench-learning; `bench/transfer.py` runs it too)

The loop, every 10 minutes of plant B (simulation/profiles/plant_b.toml, a reading a minute a machine):
- The product judges each machine as the predictor does: the alarm rules (the metric specs' limits), its
  health model (learned after HEALTH_LEARNING_DAYS of its own data, relearned every HEALTH_RELEARN_HOURS
  on the last HEALTH_WINDOW_DAYS leaving out alerts, tickets and the HEALTH_PRE_FAILURE_DAYS before a
  failure, no anomaly in the 12 hours after a repair) and the active forest. The first active forest is
  plant A's (bench/transfer.py's), believed on B's machines only where their health model confirms it,
  past the 12 hours after a repair (Scorer.forest_doubted); a forest trained on B's outcomes is held to
  the same on every machine (FOREST_FROM_OUTCOMES_NEEDS_HEALTH=0 believes it on B's machines, as the
  product did before).
- One alert per machine while any of them holds (a health model past its threshold for
  HEALTH_ALERT_MINUTES; a rule or health alert clears ALERT_CLEAR_MINUTES after its condition; a forest
  alert opens at 0.8 and holds down to 0.5); none within ALERT_COOLDOWN_MINUTES of the last one closing,
  and after a false alarm no forest alert until its probability fell below 0.5 (ALERT_FALSE_HOLD_HOURS).
- Each alert is a ticket. The crew starts it after the profile's response time and says what it
  finds, truthfully: a fault developing is fixed (the simulator's repair; a "preventive fix" after the
  profile's job time), a machine already down is repaired ("failure confirmed"), a healthy machine is
  "false alarm". A failure nobody saw coming is the machine's own report (a breakdown).
- Those records are all the learning sees. Every --retrain-days the plant's labels (failures, preventive
  fixes, false alarms as hard negatives) train a challenger with predictor.training.forest_fit_evaluate,
  unless there are fewer than TRAINING_MIN_FAILURE_EVENTS; it scores in shadow on every instant, and is
  judged every SHADOW_EVALUATE_MINUTES on the plant's outcomes since it began, or since the active forest
  was activated when that came later (predictor.ml.outcomes, as predictor.challengers does): the
  challenger on the alerts its scores would have raised where the product would have believed them (its
  own machines; elsewhere where their health model confirmed), the active forest on the alerts it did
  raise. It is promoted by predictor.challengers.promotion_verdict once it has stayed better for
  MODEL_PROMOTION_SUSTAIN_HOURS (promotion_sustained).
- Beside it, a challenger trained on the same outcomes with --corrupt of the crew's outcomes flipped
  (a fix recorded as a false alarm and the reverse) is judged the same way; it must never be promoted.

Each week is judged against the simulator's ground truth (not the plant's records): an alert is right
when a fault was developing while it was open or the machine failed within the 24-hour horizon after it;
a fault that ended that week (it failed, or the crew fixed it) is caught when an alert was open within
the horizon before its end; the lead is the hours from that alert's opening to the failure, or to when
the fixed fault would have failed.

Nothing here reads the database: the plant is simulated in memory, the product's functions run on it.
"""

import argparse
import dataclasses
import datetime
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maintainx.settings")

import django  # noqa: E402 - the project's settings name the constants the product runs with

django.setup()

from django.conf import settings  # noqa: E402

from predictor.challengers import promotion_sustained, promotion_verdict  # noqa: E402
from predictor.health import metrics_watched  # noqa: E402
from predictor.ml.alerts import AlertHysteresis  # noqa: E402
from predictor.ml.features import FEATURE_METRICS, LONG_WINDOW_S, MachineWindow, feature_names, windows_features  # noqa: E402
from predictor.ml.forest import FailureForest  # noqa: E402
from predictor.ml.health import HealthModel, learning_rows_mask  # noqa: E402
from predictor.ml.outcomes import AlertSpan, PlantOutcomes, outcome_report, would_have_alerted  # noqa: E402
from predictor.ml.rules import alarm_limit_rules, rule_findings  # noqa: E402
from predictor.training import (  # noqa: E402
    ALERT_CLEAR_THRESHOLD,
    ALERT_THRESHOLD,
    HORIZON_HOURS,
    TrainingData,
    forest_fit_evaluate,
    samples_build,
)
from simulation.engine import DEVELOPING, DOWN, FAILED, REPAIRED, STARTED  # noqa: E402
from simulation.profiles import PlantProfile  # noqa: E402

STEP_S = 600.0
HOUR_S = 3600.0
DAY_S = 86400.0
WEEK_S = 7 * DAY_S
SETTLING_S = LONG_WINDOW_S  # no anomaly while the features still see the repair (predictor.health)
START = datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC)  # a fixed date: the figures never depend on today


def default_rules(profile: PlantProfile, machine_type: str) -> list:
    """The product's default alarm rules of a machine type: its metrics' alarm limits."""
    return [
        rule
        for metric in profile.machine_type(machine_type).metrics
        for rule in alarm_limit_rules(
            key=metric.name,
            metric=metric.name,
            unit=metric.unit,
            alarm_min=metric.alarm_min,
            alarm_max=metric.alarm_max,
            error_code="E-INS-01",
        )
    ]


def _one_thread(forest: FailureForest) -> FailureForest:
    """Predict in the calling thread, as a loaded forest serves (FailureForest.load): joblib's threads
    cost more than they give on a few dozen rows."""
    for model in (forest.failure_model, forest.mode_model):
        if model is not None:
            model.n_jobs = 1
    return forest


def _at(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


class Recording:
    """Every machine's readings so far, in arrays allocated once: windows are views, never copies."""

    def __init__(self, profile: PlantProfile, *, minutes: int):
        self.codes = [machine.code for machine in profile.machines]
        self.ranges = {
            machine.code: {
                metric.name: (metric.normal_min, metric.normal_max)
                for metric in profile.machine_type(machine.machine_type).metrics
            }
            for machine in profile.machines
        }
        self.ts = {code: np.empty(minutes + 1) for code in self.codes}
        self.values = {code: {} for code in self.codes}
        self.count = dict.fromkeys(self.codes, 0)
        self.errors = {code: [] for code in self.codes}
        self.repairs = {code: [] for code in self.codes}
        self._capacity = minutes + 1

    def add(self, reading) -> None:
        code, index = reading.machine_code, self.count[reading.machine_code]
        self.ts[code][index] = reading.ts.timestamp()
        for name, value in reading.metrics.items():
            column = self.values[code].get(name)
            if column is None:
                column = self.values[code][name] = np.full(self._capacity, np.nan)
            column[index] = value
        if reading.error_code:
            self.errors[code].append(reading.ts.timestamp())
        self.count[code] = index + 1

    def window(self, code: str) -> MachineWindow:
        count = self.count[code]
        return MachineWindow(
            machine_code=code,
            ts=self.ts[code][:count],
            values={name: column[:count] for name, column in self.values[code].items()},
            normal_ranges=self.ranges[code],
            error_code_times=np.asarray(self.errors[code], dtype=np.float64),
            repair_times=np.asarray(self.repairs[code], dtype=np.float64),
        )

    def windows(self) -> list[MachineWindow]:
        return [self.window(code) for code in self.codes]


class Series:
    """What a forest said, instant after instant: (machine, time, probability) in arrays grown in place."""

    def __init__(self, codes: list[str]):
        self._codes = np.asarray(codes, dtype=str)
        self._index = {code: index for index, code in enumerate(codes)}
        self.machines = np.empty(0, dtype=np.int32)
        self.times = np.empty(0)
        self.scores = np.empty(0)
        self.may_open = np.empty(0, dtype=bool)  # whether the product would have let the score open an alert
        self.count = 0

    def add(self, codes: list[str], now: float, scores: np.ndarray, may_open: list[bool]) -> None:
        needed = self.count + len(codes)
        if needed > len(self.times):
            size = max(needed, 2 * len(self.times), 4096)
            self.machines = np.resize(self.machines, size)
            self.times = np.resize(self.times, size)
            self.scores = np.resize(self.scores, size)
            self.may_open = np.resize(self.may_open, size)
        self.machines[self.count : needed] = [self._index[code] for code in codes]
        self.times[self.count : needed] = now
        self.scores[self.count : needed] = scores
        self.may_open[self.count : needed] = may_open
        self.count = needed

    def since(self, start: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        first = int(np.searchsorted(self.times[: self.count], start, side="left"))
        part = slice(first, self.count)
        return self._codes[self.machines[part]], self.times[part], self.scores[part], self.may_open[part]


@dataclass
class Forest:
    """A forest as the product serves it: what it learned (None: every machine, every type)."""

    name: str
    model: FailureForest
    machine_types: set[str] | None
    machine_codes: set[str] | None
    series: Series
    since: float = 0.0  # when it began scoring (in shadow, for a challenger)
    from_outcomes: bool = False  # trained on the plant's own outcomes (LoadedArtifact.trained_on_plant_outcomes)
    verdict: str = ""
    better_since: float | None = None  # better than the active one at every evaluation since
    diagnosed_day: int | None = None  # the plant day of its last verdict in the diagnostic


@dataclass
class Ticket:
    code: str
    opened: float
    source: str
    starts: float
    resolved: float | None = None
    outcome: str = ""
    mode: str = ""  # the failure mode found


@dataclass
class Truth:
    """The simulator's ground truth: every fault, with when it would have failed and how it ended."""

    started: float
    planned_failure: float
    mode: str = ""
    failed: float | None = None
    fixed: float | None = None  # by the crew, before it failed

    @property
    def ended(self) -> float | None:
        return self.failed if self.failed is not None else self.fixed


class MachineState:
    """One machine's alert conditions between instants."""

    def __init__(self):
        self.rule_last_held = -np.inf
        self.health_past_since: float | None = None
        self.health_last_alarmed = -np.inf
        self.forest_open = False
        self.forest_opened_at = -np.inf
        self.ticket: Ticket | None = None
        self.closed_at = -np.inf
        self.clearing = False  # its ticket's resolution, due at closed_at, clears the forest's alert
        self.cleared_as_false = False  # ... resolved as a false alarm
        self.forest_held_until = -np.inf  # a false alarm: no forest alert until it falls (ALERT_FALSE_HOLD_HOURS)
        self.health: HealthModel | None = None
        self.health_metrics: tuple[str, ...] = ()
        self.learned_at = -np.inf


@dataclass
class Week:
    alerts: list[tuple[float, float, str]] = field(default_factory=list)  # opened, closed, machine
    champion: str = ""
    notes: list[str] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    from transfer import PLANT_B_PATH, forest_train, plant_run  # noqa: PLC0415 - plant A's forest, as transfer trains it

    from simulation.profiles import DEMO_PROFILE_PATH, plant_profile_load  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11, help="plant A's seed; plant B runs with seed + 1")
    parser.add_argument("--a-days", type=float, default=30.0, help="days of plant A its forest learns")
    parser.add_argument(
        "--retrain-days",
        type=float,
        default=7.0,
        help="days between two retrainings (0: never, plant A's forest all along: what the learning adds)",
    )
    parser.add_argument("--corrupt", type=float, default=0.3, help="share of outcomes flipped for the bad challenger")
    parser.add_argument("--plant-b", type=Path, default=PLANT_B_PATH, help="plant B's profile")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also print, at each retraining, what the plant's labels are against the simulator's truth, and "
        "each challenger's alerts judged on the plant's outcomes beside the truth; at the end, the false tickets "
        "and what each detector said on the faults nobody caught",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    plant_a = plant_profile_load(DEMO_PROFILE_PATH)
    a_run = plant_run(plant_a, seed=args.seed, days=args.a_days)
    forest = forest_train(a_run, seed=args.seed)
    print(f"plant A's forest trained in {time.monotonic() - started:.0f} s")
    text = plant_learning_section(
        plant_profile_load(args.plant_b),
        a_forest=forest,
        a_types={machine.machine_type for machine in plant_a.machines},
        a_codes={window.machine_code for window in a_run.windows},
        seed=args.seed + 1,
        weeks=args.weeks,
        retrain_days=args.retrain_days,
        corrupt=args.corrupt,
        diagnose=args.diagnose,
    )
    print()
    print(text)
    results = PROJECT_ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "plant_learning.md").write_text(text + "\n", encoding="utf-8")
    return 0


def plant_learning_section(
    plant_b: PlantProfile,
    *,
    a_forest: FailureForest,
    a_types: set[str],
    a_codes: set[str],
    seed: int,
    weeks: int,
    retrain_days: float,
    corrupt: float,
    diagnose: bool = False,
) -> str:
    """The loop on plant B (with `seed`), starting from plant A's forest; its figures as markdown."""
    first = Forest(
        "plant A's forest",
        _one_thread(a_forest),
        machine_types=a_types,
        machine_codes=a_codes,
        series=Series([machine.code for machine in plant_b.machines]),
    )
    loop = LearningLoop(
        plant_b,
        seed=seed,
        weeks=weeks,
        first_forest=first,
        retrain_days=retrain_days,
        corrupt=corrupt,
        diagnose=diagnose,
    )
    started = time.monotonic()
    loop.run()
    print(f"plant B, {weeks} weeks in the loop: {time.monotonic() - started:.0f} s")
    return loop.report()


class LearningLoop:
    def __init__(
        self,
        profile: PlantProfile,
        *,
        seed: int,
        weeks: int,
        first_forest: Forest,
        retrain_days: float,
        corrupt: float,
        diagnose: bool = False,
    ):
        self.profile = profile
        self.diagnose = diagnose
        self.diagnostics: list[str] = []
        self.seed = seed
        self.weeks = weeks
        self.retrain_days = retrain_days
        self.corrupt = corrupt
        self.rng = np.random.default_rng(seed)
        self.simulation = profile.simulation(seed=seed)
        self.start = START.timestamp()
        self.end = self.start + weeks * WEEK_S
        self.recording = Recording(profile, minutes=int((self.end - self.start) / 60))
        self.types = {machine.code: machine.machine_type for machine in profile.machines}
        self.rules = {machine.code: default_rules(profile, machine.machine_type) for machine in profile.machines}
        self.states = {code: MachineState() for code in self.recording.codes}
        self.champion = first_forest
        self.champion_since = self.start  # when the active forest was activated
        self.challengers: dict[str, Forest] = {}  # "challenger" and "corrupted"
        self.tickets: list[Ticket] = []
        self._waiting: list[Ticket] = []  # for the crew
        self.truth: dict[str, list[Truth]] = {code: [] for code in self.recording.codes}
        self.failures: list[tuple[str, float, str]] = []  # the machine's own reports: (machine, at, mode)
        self.current_mode: dict[str, str] = {}
        self.weeks_log = [Week() for _ in range(weeks)]
        self.hysteresis = AlertHysteresis(ALERT_THRESHOLD, ALERT_CLEAR_THRESHOLD)
        self.promotions: list[tuple[float, str, str]] = []  # (day, forest, why)
        # The alerts the active forest raised, by its name: what the champion is judged on in shadow.
        self.raised: dict[str, list[AlertSpan]] = {}
        self.corrupted_promotable: dict[str, str] = {}
        self.trainings: list[str] = []
        # --diagnose: what each machine's detectors said at each instant, for the faults nobody caught
        self.trace: dict[str, list[tuple]] = {code: [] for code in self.recording.codes}

    # --- the plant ------------------------------------------------------------------------------

    def _simulate(self, until: float) -> None:
        """Step the plant a minute at a time up to `until`, doing the crew's work as it falls due."""
        while self._minute < until:
            due = [ticket for ticket in self._waiting if ticket.starts <= self._minute]
            for ticket in due:
                self._waiting.remove(ticket)
                self._work(ticket, at=self._minute)
            tick = self.simulation.tick(_at(self._minute))
            for reading in tick.readings:
                self.recording.add(reading)
            self._events(tick.events)
            self._minute += 60.0

    def _events(self, events) -> None:
        for event in events:
            record = event.fault
            code = record.machine_code
            if event.event == STARTED:
                self.truth[code].append(
                    Truth(record.started_at.timestamp(), record.planned_failure_at.timestamp(), record.failure_mode)
                )
                self.current_mode[code] = record.failure_mode
            elif event.event == FAILED:
                self.truth[code][-1].failed = record.failed_at.timestamp()
                self.failures.append((code, record.failed_at.timestamp(), record.failure_mode))
            elif event.event == REPAIRED:
                self.recording.repairs[code].append(record.repaired_at.timestamp())
                fault = self.truth[code][-1] if self.truth[code] else None
                if fault is not None and fault.failed is None and fault.fixed is None:
                    fault.fixed = record.repaired_at.timestamp()
                self.current_mode.pop(code, None)

    def _work(self, ticket: Ticket, *, at: float) -> None:
        """The crew at the machine: what it finds, truthfully, and what it does."""
        machine = self.simulation.machines[ticket.code]
        crew = self.profile.crew
        if machine.state in (DEVELOPING, DOWN):
            ticket.outcome = "preventive_fix" if machine.state == DEVELOPING else "failure_confirmed"
            ticket.mode = self.current_mode.get(ticket.code, "other")  # what the crew found
            done = at + crew.default_job_hours * self.rng.uniform(*crew.pace) * HOUR_S
            ticket.resolved = done
            self._events(self.simulation.repair(machine_code=ticket.code, at=_at(at)))
        else:
            ticket.outcome = "false_alarm"
            ticket.resolved = at + 0.5 * HOUR_S  # a look, and back
        state = self.states[ticket.code]
        state.closed_at = ticket.resolved
        state.clearing = True
        state.cleared_as_false = ticket.outcome == "false_alarm"
        if ticket.outcome == "false_alarm":
            state.forest_held_until = ticket.resolved + settings.ALERT_FALSE_HOLD_HOURS * HOUR_S
        state.ticket = None

    # --- the product ----------------------------------------------------------------------------

    def run(self) -> None:
        self._minute = self.start
        next_retrain = self.start + self.retrain_days * DAY_S if self.retrain_days else np.inf
        next_health = self.start
        next_evaluation = self.start
        for instant in np.arange(self.start + STEP_S, self.end + 1.0, STEP_S):
            self._simulate(instant)
            if instant >= next_health:
                self._health_learn(instant)
                next_health = instant + settings.HEALTH_LEARNING_CHECK_MINUTES * 60.0
            self._judge(instant)
            if instant >= next_evaluation and self.challengers:
                self._evaluate_challengers(instant)
                next_evaluation = instant + settings.SHADOW_EVALUATE_MINUTES * 60.0
            if instant >= next_retrain:
                self._retrain(instant)
                next_retrain = instant + self.retrain_days * DAY_S

    def _judge(self, now: float) -> None:
        windows = self.recording.windows()
        fresh = [w for w in windows if len(w.ts) and now - w.ts[-1] <= 300.0]
        if not fresh:
            return
        at = [np.array([now])] * len(fresh)
        features = windows_features(fresh, at, FEATURE_METRICS)
        health = self._health_now(fresh, now)
        serving = {"champion": self.champion, **self.challengers}
        probability = {}
        for role, forest in serving.items():
            scored = [
                index
                for index, window in enumerate(fresh)
                if forest.machine_types is None or self.types[window.machine_code] in forest.machine_types
            ]
            if scored:
                values = forest.model.predict_failure_probability(features[scored])
                scored_codes = [fresh[i].machine_code for i in scored]
                probability[role] = dict(zip(scored_codes, values, strict=True))
                forest.series.add(
                    scored_codes, now, values, [self._may_open(forest, code, health.get(code)) for code in scored_codes]
                )
        for window in fresh:
            code = window.machine_code
            state = self.states[code]
            if rule_findings(window, self.rules[code], now_ts=now):
                state.rule_last_held = now
            score = health.get(code)
            if score is not None and score[1]:
                state.health_past_since = state.health_past_since if state.health_past_since is not None else now
                if now - state.health_past_since >= settings.HEALTH_ALERT_MINUTES * 60.0:
                    state.health_last_alarmed = now
            else:
                state.health_past_since = None
            champion_p = probability.get("champion", {}).get(code)
            was_open = state.forest_open
            if state.clearing and now >= state.closed_at:
                state.clearing = state.forest_open = False  # the ticket's resolution cleared the alert
            if champion_p is None:
                state.forest_open = False
            elif state.forest_open:
                state.forest_open = self.hysteresis.holds(champion_p)
            else:
                if state.closed_at <= now < state.forest_held_until and not self.hysteresis.holds(champion_p):
                    state.forest_held_until = -np.inf  # fell below the clear threshold: re-armed
                held = now < state.forest_held_until
                state.forest_open = (
                    not held and self._may_open(self.champion, code, score) and self.hysteresis.opens(champion_p)
                )
            self._forest_alert_record(code, state, was_open=was_open, now=now)
            self._alert(code, state, now)
            if self.diagnose:
                self.trace[code].append(
                    (
                        now,
                        np.nan if champion_p is None else champion_p,
                        self._may_open(self.champion, code, score),
                        np.nan if score is None else score[0],
                        state.health_past_since is not None,
                        state.rule_last_held == now,
                        state.ticket is not None,
                        now - state.closed_at < settings.ALERT_COOLDOWN_MINUTES * 60.0,
                        now < state.forest_held_until,
                    )
                )

    def _may_open(self, forest: Forest, code: str, health: tuple[float, bool, bool] | None) -> bool:
        """Whether the product lets the forest's high probability open an alert on the machine
        (Scorer.forest_doubted): it learned the machine, and not from the plant's own outcomes
        (FOREST_FROM_OUTCOMES_NEEDS_HEALTH), or the machine's own health model confirms, past its
        settling after a repair."""
        from_outcomes = forest.from_outcomes and settings.FOREST_FROM_OUTCOMES_NEEDS_HEALTH
        believed = not from_outcomes and (forest.machine_codes is None or code in forest.machine_codes)
        return believed or (health is not None and health[0] < settings.FOREST_ALERT_HEALTH_BELOW and not health[2])

    def _forest_alert_record(self, code: str, state: MachineState, *, was_open: bool, now: float) -> None:
        """Keep the active forest's alert as the product stores it: opened, cleared, and whether a person
        said it was false (its ticket resolved as a false alarm)."""
        if state.forest_open and not was_open:
            state.forest_opened_at = now
        elif was_open and not state.forest_open:
            said_false = state.cleared_as_false and now >= state.closed_at
            self.raised.setdefault(self.champion.name, []).append(
                AlertSpan(code, opened=state.forest_opened_at, closed=now, source="prediction", marked_false=said_false)
            )

    def _alert(self, code: str, state: MachineState, now: float) -> None:
        clear_s = settings.ALERT_CLEAR_MINUTES * 60.0
        sources = [
            name
            for name, holds in (
                ("rule", now - state.rule_last_held <= clear_s),
                ("anomaly", now - state.health_last_alarmed <= clear_s),
                ("prediction", state.forest_open),
            )
            if holds
        ]
        if not sources or state.ticket is not None:
            return
        if now - state.closed_at < settings.ALERT_COOLDOWN_MINUTES * 60.0:
            return
        crew = self.profile.crew
        ticket = Ticket(code, opened=now, source=sources[0], starts=now + self.rng.uniform(*crew.respond_minutes) * 60)
        state.ticket = ticket
        self.tickets.append(ticket)
        self._waiting.append(ticket)

    # --- health models --------------------------------------------------------------------------

    def _health_now(self, windows: list[MachineWindow], now: float) -> dict[str, tuple[float, bool, bool]]:
        """(health 0-100, past its threshold, settling) of each machine with a health model, as
        predictor.health.HealthScorer drafts it: never past its threshold while settling (repaired
        within the features' window)."""
        groups: dict[tuple[str, ...], list[MachineWindow]] = {}
        for window in windows:
            state = self.states[window.machine_code]
            if state.health is not None:
                groups.setdefault(state.health_metrics, []).append(window)
        result = {}
        for metrics, members in groups.items():
            features = windows_features(members, [np.array([now])] * len(members), metrics)
            for window, row in zip(members, features, strict=True):
                code = window.machine_code
                scores = self.states[code].health.score(row[None, :])
                repairs = self.recording.repairs[code]
                settling = any(now - repaired < SETTLING_S for repaired in repairs if repaired <= now)
                result[code] = (float(scores.health[0]), bool(scores.past_threshold[0]) and not settling, settling)
        return result

    def _health_learn(self, now: float) -> None:
        """Learn the machines that are due: after HEALTH_LEARNING_DAYS of data, then every HEALTH_RELEARN_HOURS."""
        for code in self.recording.codes:
            state = self.states[code]
            due = state.health is None or now - state.learned_at >= settings.HEALTH_RELEARN_HOURS * HOUR_S
            if not due or now - self.start < settings.HEALTH_LEARNING_DAYS * DAY_S:
                continue
            window = self.recording.window(code)
            metrics = metrics_watched(window)
            if not metrics or not len(window.ts):
                continue
            first = max(window.ts[0] + LONG_WINDOW_S, now - settings.HEALTH_WINDOW_DAYS * DAY_S)
            times = np.arange(first, now, settings.HEALTH_SAMPLE_MINUTES * 60.0)
            features = windows_features([window], [times], metrics)
            excluded = [(begin, end + LONG_WINDOW_S) for begin, end in self._flagged(code, now)]
            usable = learning_rows_mask(times, excluded) & np.isfinite(features[:, 0])
            confirmed = np.zeros(len(times), dtype=bool)
            for ticket in self.tickets:
                if ticket.code == code and ticket.outcome == "false_alarm" and ticket.resolved <= now:
                    confirmed |= (times >= ticket.opened) & (times <= ticket.resolved)
            state.learned_at = now
            try:
                state.health = HealthModel.fit(
                    features[usable],
                    feature_names(metrics),
                    false_alarm_rate=settings.HEALTH_FALSE_ALARM_RATE,
                    confirmed_normal=features[usable & confirmed],
                )
                state.health_metrics = metrics
            except ValueError:
                continue  # too little usable data yet: the previous model (if any) stays

    def _flagged(self, code: str, now: float) -> list[tuple[float, float]]:
        """As tickets.selectors.machine_flagged_periods: tickets but false alarms, and the days before a failure."""
        before = settings.HEALTH_PRE_FAILURE_DAYS * DAY_S
        periods = [
            (ticket.opened, ticket.resolved if ticket.resolved is not None else now)
            for ticket in self.tickets
            if ticket.code == code and ticket.outcome != "false_alarm"
        ]
        periods += [(failed - before, failed + DAY_S) for machine, failed, _ in self.failures if machine == code]
        return periods

    # --- learning from the plant ---------------------------------------------------------------

    def _records(self, *, until: float, corrupt: float = 0.0) -> TrainingData:
        """What the plant recorded up to `until`, as train_models --source plant reads it."""
        rng = np.random.default_rng([self.seed, int(until)])
        faults = [
            {"machine_code": code, "failure_mode": mode, "started_at": failed, "failed_at": failed, "repaired_at": None}
            for code, failed, mode in self.failures
            if failed <= until
        ]
        for fault in faults:
            later = [r for r in self.recording.repairs[fault["machine_code"]] if r >= fault["failed_at"]]
            fault["repaired_at"] = min(later) if later and min(later) <= until else None
        prevented, normal = [], []
        for ticket in self.tickets:
            if ticket.resolved is None or ticket.resolved > until or ticket.outcome == "failure_confirmed":
                continue
            outcome = ticket.outcome
            if corrupt and rng.random() < corrupt:
                outcome = "false_alarm" if outcome == "preventive_fix" else "preventive_fix"
            if outcome == "preventive_fix":
                prevented.append(
                    {
                        "machine_code": ticket.code,
                        "failure_mode": ticket.mode or "other",
                        "noticed_at": ticket.opened,
                        "worked_from": ticket.starts,
                        "fixed_at": ticket.resolved,
                    }
                )
            else:
                normal.append({"machine_code": ticket.code, "start": ticket.opened, "end": ticket.resolved})
        description = {
            "machines": len(self.recording.codes),
            "failures": len(faults),
            "label_events": {"failures": len(faults), "preventive_fixes": len(prevented), "false_alarms": len(normal)},
        }
        return TrainingData(self.recording.windows(), faults, description, prevented=prevented, normal_periods=normal)

    def _outcomes(self, *, since: float, until: float) -> PlantOutcomes:
        """The plant's outcomes between `since` and `until`, as tickets.selectors.plant_outcomes gives them."""
        return PlantOutcomes(
            failures=[(code, failed) for code, failed, _ in self.failures if since <= failed <= until],
            prevented=[
                (ticket.code, ticket.opened, ticket.resolved)
                for ticket in self.tickets
                if ticket.outcome == "preventive_fix"
                and ticket.resolved is not None
                and since <= ticket.resolved <= until
            ],
        )

    def _retrain(self, now: float) -> None:
        week = self._week(now - 1)
        for challenger in self.challengers.values():
            self.trainings.append(
                f"day {(now - self.start) / DAY_S:.0f}: {challenger.name} retired: {challenger.verdict}"
            )
            if self.diagnose:
                self._diagnose_alerts(challenger, now=now)
        data = self._records(until=now)
        if self.diagnose:
            self._diagnose_labels(data, now=now)
        events = data.description["label_events"]
        found = events["failures"] + events["preventive_fixes"]
        if found < settings.TRAINING_MIN_FAILURE_EVENTS:
            self.trainings.append(f"day {(now - self.start) / DAY_S:.0f}: {found} failure events, too few to train")
            return
        types = set(self.types.values())
        codes = set(self.recording.codes)
        for role, corrupt in (("challenger", 0.0), ("corrupted", self.corrupt)):
            records = self._records(until=now, corrupt=corrupt) if corrupt else data
            evaluation = forest_fit_evaluate(records, seed=self.seed, progress=lambda line: None)
            name = f"B week {week + 1}" + (f" ({corrupt:.0%} of outcomes flipped)" if corrupt else "")
            self.challengers[role] = Forest(
                name,
                _one_thread(evaluation.forest),
                types,
                codes,
                series=Series(self.recording.codes),
                since=now,
                from_outcomes=True,
            )
        self.trainings.append(
            f"day {(now - self.start) / DAY_S:.0f}: trained on failures {events['failures']}, preventive fixes "
            f"{events['preventive_fixes']}, false alarms {events['false_alarms']}"
        )

    def _shadow_alerts(
        self, forest: Forest, *, since: float, now: float, raw: bool = False
    ) -> tuple[list[AlertSpan], np.ndarray]:
        """The alerts the forest's scores would have raised since `since`, where the product would have
        believed them (`raw`: wherever they were high), and the machines it scored."""
        codes, times, scores, may_open = forest.series.since(since)
        alerts = would_have_alerted(
            machine_codes=codes,
            times=times,
            scores=scores,
            hysteresis=self.hysteresis,
            max_gap_seconds=900.0,
            now=now,
            may_open=None if raw else may_open,
        )
        return alerts, codes

    def _judged(self, forest: Forest, *, since: float, now: float, raw: bool = False) -> dict:
        alerts, codes = self._shadow_alerts(forest, since=since, now=now, raw=raw)
        weeks = (now - since) / WEEK_S
        return outcome_report(
            alerts,
            self._outcomes(since=since, until=now),
            horizon_s=HORIZON_HOURS * HOUR_S,
            now=now,
            machine_weeks=len(set(codes.tolist())) * weeks,
        ).as_dict()

    def _judged_on_raised(self, forest: Forest, *, since: float, now: float) -> dict:
        """The active forest judged on the alerts it really raised since `since` (the product's
        predictor.challengers.shadow_evaluation): doubted where a machine's own health model saw it
        normal, held after a false alarm, cleared with its ticket."""
        alerts = [span for span in self.raised.get(forest.name, []) if span.opened >= since]
        alerts += [
            AlertSpan(code, opened=state.forest_opened_at, source="prediction")
            for code, state in self.states.items()
            if state.forest_open and state.forest_opened_at >= since
        ]
        codes = forest.series.since(since)[0]
        return outcome_report(
            alerts,
            self._outcomes(since=since, until=now),
            horizon_s=HORIZON_HOURS * HOUR_S,
            now=now,
            machine_weeks=len(set(codes.tolist())) * (now - since) / WEEK_S,
        ).as_dict()

    def _evaluate_challengers(self, now: float) -> None:
        for role in ("challenger", "corrupted"):
            challenger = self.challengers.get(role)
            if challenger is None:
                continue
            # Both over the same period: since it began shadowing, or since the active forest was
            # activated when that came later (predictor.challengers.shadow_evaluation).
            since = max(challenger.since, self.champion_since)
            mine = self._judged(challenger, since=since, now=now)
            active = self._judged_on_raised(self.champion, since=since, now=now)
            if self.diagnose:
                self._diagnose_verdict(challenger, mine=mine, raised=active, since=since, now=now)
            better, why = promotion_verdict(
                mine,
                active,
                min_events=settings.MODEL_PROMOTION_MIN_EVENTS,
                min_precision=settings.MODEL_PROMOTION_MIN_PRECISION,
                min_recall=settings.MODEL_PROMOTION_MIN_RECALL,
            )
            if not better:
                challenger.better_since = None
            elif challenger.better_since is None:
                challenger.better_since = now
            promote, challenger.verdict = promotion_sustained(
                why,
                better_since=None if challenger.better_since is None else _at(challenger.better_since),
                now=_at(now),
                hours=settings.MODEL_PROMOTION_SUSTAIN_HOURS,
            )
            if not promote:
                continue
            day = (now - self.start) / DAY_S
            if role == "corrupted":
                self.corrupted_promotable.setdefault(challenger.name, f"day {day:.1f}: {challenger.verdict}")
                continue
            self.promotions.append((day, challenger.name, challenger.verdict))
            self.champion = challenger
            self.champion_since = now
            self.challengers.pop("challenger")
            # The corrupted one is now judged against the new champion, from now on: being better than
            # the one before is no evidence against it.
            for other in self.challengers.values():
                other.better_since = None

    # --- the diagnostic (--diagnose): the plant's labels and the shadow judgement beside the truth -----

    def _developing(self, code: str, at: np.ndarray) -> np.ndarray:
        """Whether a fault of the machine was developing (begun, not yet failed or fixed) at each instant."""
        developing = np.zeros(len(at), dtype=bool)
        for fault in self.truth[code]:
            ended = fault.ended if fault.ended is not None else fault.planned_failure
            developing |= (at >= fault.started) & (at < ended)
        return developing

    def _diagnose_verdict(self, challenger: Forest, *, mine: dict, raised: dict, since: float, now: float) -> None:
        """Once a plant day: the challenger beside the active forest judged on the alerts it raised and,
        as before, on every alert its raw scores would have raised."""
        day = int((now - self.start) // DAY_S)
        if challenger.diagnosed_day == day:
            return
        challenger.diagnosed_day = day
        raw = self._judged(self.champion, since=since, now=now, raw=True)

        def figures(report: dict) -> str:
            def share(value):
                return "-" if value is None else f"{value:.2f}"

            return f"{share(report['precision'])} / {share(report['recall'])} ({report['alerts']} alerts)"

        self.diagnostics.append(
            f"- day {day}: {challenger.name}: {figures(mine)} over {mine['events']} outcomes; "
            f"{self.champion.name} as raised {figures(raised)}, raw scores {figures(raw)}"
        )

    def _diagnose_labels(self, data: TrainingData, *, now: float) -> None:
        """Every sampled instant of the history by where it stands to the plant's records (the horizon
        before a failure; a preventive fix's horizon before its alert, alert to work, work to resolution;
        a false alarm's window; the rest), the share of each with a fault developing in the simulator's
        truth, the median hours since the last repair, and the labels the product's rule gives them."""
        every = samples_build(dataclasses.replace(data, prevented=[], normal_periods=[]), with_sequences=False)
        labelled = samples_build(data, with_sequences=False)
        label_of = {}
        for code, at, failing, hard in zip(
            labelled.machine_codes, labelled.times, labelled.y_failure, labelled.hard_negative, strict=True
        ):
            label_of[code, at] = "positive" if failing else ("hard negative" if hard else "negative")
        horizon = HORIZON_HOURS * HOUR_S
        kinds = np.full(len(every.times), "other", dtype=object)
        developing = np.zeros(len(every.times), dtype=bool)
        worked = [t for t in self.tickets if (t.resolved or np.inf) <= now]
        for code in np.unique(every.machine_codes):
            rows = np.flatnonzero(every.machine_codes == code)
            at = every.times[rows]
            developing[rows] = self._developing(code, at)
            failed = np.array([f for c, f, _ in self.failures if c == code and f <= now])
            mine = [t for t in worked if t.code == code]
            for row, t in zip(rows, at, strict=True):
                if len(failed) and np.any((failed > t) & (failed <= t + horizon)):
                    kinds[row] = "a failure within 24 h"
                    continue
                ticket = next((k for k in mine if k.opened - horizon <= t < k.resolved), None)
                if ticket is None:
                    continue
                if ticket.outcome == "false_alarm":
                    kinds[row] = "false alarm, alert to resolved" if t >= ticket.opened else "24 h before a false alarm"
                elif ticket.outcome == "preventive_fix":
                    if t < ticket.opened:
                        kinds[row] = "fix, 24 h before its alert"
                    elif t < ticket.starts:
                        kinds[row] = "fix, alert to work"
                    else:
                        kinds[row] = "fix, work to resolved"
        since_repair = every.X[:, every.feature_names.index("hours_since_repair")]
        events = data.description["label_events"]
        self.diagnostics += [
            "",
            f"Sampled instants on day {(now - self.start) / DAY_S:.0f} (failures {events['failures']}, preventive "
            f"fixes {events['preventive_fixes']}, false alarms {events['false_alarms']}):",
            "",
            "| instants | count | fault developing (truth) | median h since repair | the product's labels |",
            "|---|---|---|---|---|",
        ]
        for kind in sorted(set(kinds.tolist())):
            rows = np.flatnonzero(kinds == kind)
            labels = [label_of.get((every.machine_codes[r], every.times[r]), "left out") for r in rows]
            counted = ", ".join(f"{name} {labels.count(name)}" for name in sorted(set(labels)))
            self.diagnostics.append(
                f"| {kind} | {len(rows)} | {developing[rows].mean():.2f} | {np.median(since_repair[rows]):.1f} | "
                f"{counted} |"
            )
        positive = np.array(
            [label_of.get((c, t)) == "positive" for c, t in zip(every.machine_codes, every.times, strict=True)]
        )
        self.diagnostics.append(
            f"| the product's positives | {positive.sum()} | {developing[positive].mean():.2f} | "
            f"{np.median(since_repair[positive]):.1f} | |"
        )

    def _diagnose_alerts(self, forest: Forest, *, now: float) -> None:
        """The forest's alerts since it began shadowing, each judged on the plant's outcomes and on the
        truth; the false ones by the hours since the machine's last repair at their opening."""
        alerts, _ = self._shadow_alerts(forest, since=forest.since, now=now)
        outcomes = self._outcomes(since=forest.since, until=now)
        horizon = HORIZON_HOURS * HOUR_S
        counts: dict[str, int] = {}
        for alert in alerts:
            judged = outcome_report([alert], outcomes, horizon_s=horizon, now=now)
            plant = "right" if judged.true_alerts else ("pending" if judged.pending_alerts else "false")
            closed = alert.closed if alert.closed is not None else now
            truth = any(
                fault.started <= closed + horizon
                and (fault.ended if fault.ended is not None else np.inf) >= alert.opened
                for fault in self.truth[alert.machine_code]
            )
            repairs = [r for r in self.recording.repairs[alert.machine_code] if r <= alert.opened]
            since_repair = (alert.opened - max(repairs)) / HOUR_S if repairs else np.inf
            ticket_open = any(
                t.code == alert.machine_code and t.opened <= alert.opened < (t.resolved or np.inf) for t in self.tickets
            )
            where = (
                "during a ticket"
                if ticket_open
                else (
                    "within 6 h of a repair"
                    if since_repair < 6
                    else ("6-24 h after a repair" if since_repair < 24 else "later")
                )
            )
            key = f"plant {plant}, truth {'right' if truth else 'false'}, {where}"
            counts[key] = counts.get(key, 0) + 1
        self.diagnostics += [
            "",
            f"{forest.name}, shadowing day {(forest.since - self.start) / DAY_S:.0f} to "
            f"{(now - self.start) / DAY_S:.0f}: {len(alerts)} alerts; verdict: {forest.verdict}",
            "",
            "| alerts judged on the plant's outcomes, on the truth, and when they opened | count |",
            "|---|---|",
            *(f"| {key} | {count} |" for key, count in sorted(counts.items())),
        ]

    def _diagnose_false_tickets(self, horizon: float) -> None:
        """The tickets the truth says were false, by source, week and what came before on their machine."""
        counts: dict[str, int] = {}
        for ticket in self.tickets:
            if self._right(ticket, horizon):
                continue
            earlier = [
                t
                for t in self.tickets
                if t.code == ticket.code and t.resolved is not None and t.resolved <= ticket.opened
            ]
            previous = max(earlier, key=lambda t: t.resolved) if earlier else None
            gap = (ticket.opened - previous.resolved) / HOUR_S if previous else np.inf
            before = (
                f"{previous.outcome} {'< 12 h' if gap < 12 else ('12-48 h' if gap < 48 else '> 48 h')} before"
                if previous
                else "first ticket"
            )
            key = f"week {self._week(ticket.opened) + 1}, {ticket.source}, {before}"
            counts[key] = counts.get(key, 0) + 1
        self.diagnostics += [
            "",
            "| false tickets (truth): week, source, the machine's previous ticket | count |",
            "|---|---|",
            *(f"| {key} | {count} |" for key, count in sorted(counts.items())),
        ]

    def _caught(self, code: str, fault: Truth, horizon: float) -> list[float]:
        """When the tickets that caught the fault opened (one open within the horizon before its end)."""
        return [
            t.opened
            for t in self.tickets
            if t.code == code
            and t.opened <= fault.ended
            and (t.resolved if t.resolved is not None else self.end) >= fault.ended - horizon
        ]

    def _diagnose_missed_faults(self, horizon: float) -> None:
        """Each fault no ticket caught: what each detector said on its machine while it developed."""
        lines = []
        for code, faults in self.truth.items():
            trace = np.array(self.trace[code], dtype=np.float64).reshape(-1, 9)
            for fault in faults:
                if fault.ended is None or fault.ended < self.start or self._caught(code, fault, horizon):
                    continue
                rows = trace[(trace[:, 0] >= fault.started) & (trace[:, 0] <= fault.ended)]
                p, may, health, past, rule, ticket, cooling, held = rows[:, 1:].T if len(rows) else [np.empty(0)] * 8
                believed = p[may.astype(bool)]
                earlier = [t for t in self.tickets if t.code == code and t.opened <= fault.started]
                previous = max(earlier, key=lambda t: t.opened) if earlier else None
                before = (
                    f"{previous.source} {previous.outcome or 'open'} {(fault.started - previous.opened) / HOUR_S:.0f} h"
                    if previous
                    else "none"
                )

                def top(values):
                    return f"{np.nanmax(values):.2f}" if len(values) and np.isfinite(values).any() else "-"

                lines.append(
                    f"| {self._week(fault.ended) + 1} (day {(fault.ended - self.start) / DAY_S:.1f}) | "
                    f"{code} {self.types[code]} | {fault.mode} | "
                    f"{(fault.ended - fault.started) / HOUR_S:.1f} | {top(p)} | {top(believed)} | "
                    f"{'-' if not np.isfinite(health).any() else f'{np.nanmin(health):.0f}'} | "
                    f"{int(past.sum()) * STEP_S / 60:.0f} | {int(rule.sum())} | "
                    f"{int(ticket.sum())}/{int(cooling.sum())}/{int(held.sum())} | {before} |"
                )
        self.diagnostics += [
            "",
            "| missed: week (day it ended) | machine | mode | developed h | forest max p | max p it could open | "
            "min health | min past threshold | rule instants | ticket/cooldown/held instants | "
            "the previous ticket, before |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *sorted(lines),
        ]

    def _week(self, at: float) -> int:
        return min(int((at - self.start) // WEEK_S), self.weeks - 1)

    # --- the figures ----------------------------------------------------------------------------

    def report(self) -> str:
        horizon = HORIZON_HOURS * HOUR_S
        lines = [
            f"## Learning from plant B's own outcomes: {self.weeks} weeks, {len(self.recording.codes)} machines",
            "",
            "| week | alerts | precision | recall (caught/faults) | median lead h | false alerts / machine-week "
            "(rule, health, forest) | active forest at the week's end |",
            "|---|---|---|---|---|---|---|",
        ]
        weekly = []
        champion_by_week = self._champions_by_week()
        for week in range(self.weeks):
            begin, finish = self.start + week * WEEK_S, self.start + (week + 1) * WEEK_S
            alerts = [t for t in self.tickets if begin <= t.opened < finish]
            right = sum(1 for t in alerts if self._right(t, horizon))
            ended = [
                (code, fault)
                for code, faults in self.truth.items()
                for fault in faults
                if fault.ended is not None and begin <= fault.ended < finish
            ]
            caught, leads = 0, []
            for code, fault in ended:
                opened = self._caught(code, fault, horizon)
                if opened:
                    caught += 1
                    leads.append((fault.planned_failure if fault.failed is None else fault.failed) - min(opened))
            precision = right / len(alerts) if alerts else float("nan")
            recall = caught / len(ended) if ended else float("nan")
            lead = float(np.median(leads)) / HOUR_S if leads else float("nan")
            false_rate = (len(alerts) - right) / len(self.recording.codes)
            wrong = [t.source for t in alerts if not self._right(t, horizon)]
            by_source = ", ".join(str(wrong.count(source)) for source in ("rule", "anomaly", "prediction"))
            weekly.append((precision, recall, lead))
            lines.append(
                f"| {week + 1} | {len(alerts)} | {precision:.2f} | {recall:.2f} ({caught}/{len(ended)}) | "
                f"{lead:.1f} | {false_rate:.2f} ({by_source}) | {champion_by_week[week]} |"
            )
        lines += ["", "Retraining:", *(f"- {line}" for line in self.trainings)]
        if self.diagnose:
            for challenger in self.challengers.values():
                self._diagnose_alerts(challenger, now=self.end)
            self._diagnose_false_tickets(horizon)
            self._diagnose_missed_faults(horizon)
            lines += ["", "### Diagnostic", *self.diagnostics]
        promoted = [f"day {day:.1f}: {name} promoted, {why}" for day, name, why in self.promotions]
        lines += ["", "Promotions:", *(f"- {line}" for line in promoted or ["none"])]
        late = weekly[3:]
        met = all(p >= 0.9 and r >= 0.9 and lead >= 2.0 for p, r, lead in late)
        first = weekly[0]
        promoted_weeks = [week for week, name in enumerate(champion_by_week) if name != champion_by_week[0]]
        never_worse = all(
            weekly[w][0] >= first[0] and weekly[w][1] >= first[1] for w in promoted_weeks if w < len(weekly)
        )
        lines += [
            "",
            "Targets:",
            "- from week 4 on, precision ≥ 0.9, recall ≥ 0.9, median lead ≥ 2 h: "
            + ("met" if met else "NOT met")
            + " ("
            + ", ".join(f"week {w + 4}: {p:.2f}/{r:.2f}/{lead:.1f} h" for w, (p, r, lead) in enumerate(late))
            + ")",
            "- never worse than week 1 (precision and recall) once a promoted forest is active: "
            + ("met" if never_worse else "NOT met"),
            f"- the challenger trained on {self.corrupt:.0%} flipped outcomes is never promoted: "
            + (
                "met"
                if not self.corrupted_promotable
                else "NOT met: " + "; ".join(f"{name}, {why}" for name, why in self.corrupted_promotable.items())
            ),
        ]
        return "\n".join(lines)

    def _right(self, ticket: Ticket, horizon: float) -> bool:
        closed = ticket.resolved if ticket.resolved is not None else self.end
        return any(
            fault.started <= closed + horizon and (fault.ended if fault.ended is not None else np.inf) >= ticket.opened
            for fault in self.truth[ticket.code]
        )

    def _champions_by_week(self) -> list[str]:
        names, current = [], "plant A's forest"
        for week in range(self.weeks):
            for day, name, _ in self.promotions:
                if day <= (week + 1) * 7:
                    current = name
            names.append(current)
        return names


if __name__ == "__main__":
    raise SystemExit(main())
