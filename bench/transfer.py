"""Models built on one plant, run on another: what a plant that is not our simulator gets.

    .venv/bin/python bench/transfer.py            (or: make bench-transfer; about 4 minutes on 2 cores)

Plant A is the demo plant (simulation/profiles/demo.toml); plant B (simulation/profiles/plant_b.toml)
has two machine types A never had, with metrics and ranges of their own, shifted baselines on the
types both share, 1.5 times the noise, faults that develop at other speeds, another MTBF.

1. The failure forest learns plant A (--a-days of history, every machine, the simulator's labels), as
   `train_models` does.
2. Plant B (another seed) runs --b-days; every variant is judged on the same last --evaluation-days,
   every 10 minutes, against B's ground-truth failures:
   (i) A's forest on every machine of B; (ii) the alarm rules alone (the metric specs' alarm limits,
   the product's defaults); (iii) each machine's health model with a learning period of 1, 3 and 7
   days of usable data, learned and relearned as the product does it (predictor.health; see
   `health_scores`): relearned daily on its last HEALTH_WINDOW_DAYS, leaving out the periods with an
   alert (the rules' and its own) and the days before each failure seen, retired when a later failure
   shows it learned from the days before it; (iv) all three as the product runs them: the forest
   only on the types it learned (and, on a machine it never learned, only while the machine's own
   health model sees it below FOREST_ALERT_HEALTH_BELOW, not while it is learning:
   Scorer.forest_doubted), the rules, the health models with 3 days of learning; an alert per
   machine while any holds (the one ticket a sick machine gets).
   Alerts follow the product's timing: a rule or health condition clears ALERT_CLEAR_MINUTES after it
   stops holding, a health model must stay past its threshold HEALTH_ALERT_MINUTES first, a forest
   alert opens at 0.8 and holds down to 0.5. An alert is right when its machine had a fault developing
   while it was open or fails within the forest's 24-hour horizon after it (a technician sent there
   finds something); a failure is caught when an alert was open within the horizon before it, the
   lead counted from that alert's opening. One simplification: the health models' learning does not
   leave out the periods of the forest's alerts, which the product's would (they are tickets there).
3. The same-plant figure beside them: A's forest on plant A with another seed, judged the same way.
4. A healthy plant B (no faults) for --healthy-days after 3 days of learning: anomaly alerts raised.
5. Real engines: C-MAPSS FD001's training units, each learning from its first 50 cycles
   (bench/engines_health.py, also `bench/models.py --only cmapss-health`).
6. Plant B learning from its own outcomes for --learning-weeks (8) with A's forest as the first active
   one: the crew works every ticket truthfully, a challenger is retrained weekly from B's outcomes only
   and promoted by the product's rule (bench/plant_learning.py, also `make bench-learning`).

Nothing here reads the database: the plants are simulated in memory from their profiles.
"""

import argparse
import datetime
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maintainx.settings")

import django  # noqa: E402 - the project's settings name the constants the product runs with

django.setup()

from django.conf import settings  # noqa: E402
from engines_health import engines_health_section  # noqa: E402
from plant_learning import default_rules, plant_learning_section  # noqa: E402

from predictor.health import metrics_watched  # noqa: E402
from predictor.ml.alerts import AlertHysteresis  # noqa: E402
from predictor.ml.features import (  # noqa: E402
    FEATURE_METRICS,
    LONG_WINDOW_S,
    METRIC_STATS,
    MachineWindow,
    feature_names,
    training_samples,
    windows_features,
)
from predictor.ml.forest import FailureForest  # noqa: E402
from predictor.ml.health import HealthModel, learning_state  # noqa: E402
from predictor.ml.rules import rule_findings  # noqa: E402
from predictor.training import (  # noqa: E402
    ALERT_CLEAR_THRESHOLD,
    ALERT_THRESHOLD,
    HORIZON_HOURS,
    RUL_CAP_HOURS,
    SAMPLE_EVERY_SECONDS,
)
from simulation.profiles import DEMO_PROFILE_PATH, PlantProfile, plant_profile_load  # noqa: E402
from simulation.training_data import simulation_record  # noqa: E402

PLANT_B_PATH = PROJECT_ROOT / "simulation" / "profiles" / "plant_b.toml"
DEFAULT_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
START = datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC)  # a fixed date: the figures never depend on today
EVALUATION_STEP_S = 600.0
LEARNING_DAYS = (1, 3, 7)
PRODUCT_LEARNING_DAYS = 3
NO_FAULTS_MTBF_HOURS = 1e9
PRODUCT_LABEL = f"(iv) all three, as the product runs (health after {PRODUCT_LEARNING_DAYS} days)"


@dataclass
class PlantRun:
    profile: PlantProfile
    windows: list[MachineWindow]
    faults: list[dict]
    machine_types: dict[str, str]  # machine code -> type name
    start: float
    end: float

    def failures(self, start: float, end: float) -> list[tuple[str, float]]:
        return [
            (fault["machine_code"], fault["failed_at"].timestamp())
            for fault in self.faults
            if fault["failed_at"] is not None and start <= fault["failed_at"].timestamp() < end
        ]


def plant_run(profile: PlantProfile, *, seed: int, days: float, mtbf_hours: float | None = None) -> PlantRun:
    """`days` of the profile's plant, one reading a minute a machine, with its ground truth."""
    simulation = profile.simulation(seed=seed, mtbf_hours=mtbf_hours)
    end = START + datetime.timedelta(days=days)
    codes = [machine.code for machine in profile.machines]
    types = {machine.code: machine.machine_type for machine in profile.machines}
    ranges = {
        machine.code: {
            metric.name: (metric.normal_min, metric.normal_max)
            for metric in profile.machine_type(machine.machine_type).metrics
        }
        for machine in profile.machines
    }
    windows, faults = simulation_record(simulation, codes=codes, start=START, end=end, normal_ranges=ranges)
    return PlantRun(profile, windows, faults, types, START.timestamp(), end.timestamp())


def forest_train(run: PlantRun, *, seed: int) -> FailureForest:
    """The failure forest as train_models fits it, on all of plant A's history."""
    samples = training_samples(
        run.windows,
        run.faults,
        horizon_hours=HORIZON_HOURS,
        sample_every_seconds=SAMPLE_EVERY_SECONDS,
        rul_cap_hours=RUL_CAP_HOURS,
    )
    return FailureForest(random_state=seed).fit(
        samples.X, samples.y_failure, feature_names=samples.feature_names, y_mode=samples.y_mode
    )


@dataclass
class Judged:
    """Every evaluated instant of every machine (machine order, then time), and what each source said."""

    codes: np.ndarray
    times: np.ndarray
    forest: np.ndarray  # failure probability
    rules: np.ndarray  # bool: some rule holds
    health: dict[int, np.ndarray]  # learning days -> bool: past the threshold


def instants(run: PlantRun, start: float) -> np.ndarray:
    return np.arange(start, run.end, EVALUATION_STEP_S)


def forest_probabilities(forest: FailureForest, run: PlantRun, at: np.ndarray) -> np.ndarray:
    features = windows_features(run.windows, [at] * len(run.windows), FEATURE_METRICS)
    return forest.predict_failure_probability(features)


def rules_holding(run: PlantRun, at: np.ndarray) -> np.ndarray:
    """Whether any of a machine's default alarm rules (its metrics' alarm limits) holds, per instant."""
    holding = []
    for window in run.windows:
        rules = default_rules(run.profile, run.machine_types[window.machine_code])
        holding.append([bool(rule_findings(window, rules, now_ts=t)) for t in at])
    return np.concatenate([np.asarray(row, dtype=bool) for row in holding])


def health_scores(
    run: PlantRun, at: np.ndarray, *, learning_days: float, rule_alerts: np.ndarray, retire: bool = True
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each machine's health model as the product runs it (predictor.health), past its threshold at `at`.

    A machine is looked at every HEALTH_LEARNING_CHECK_MINUTES while it learns and every
    HEALTH_RELEARN_HOURS once it has a model. Each time it samples its last HEALTH_WINDOW_DAYS every
    HEALTH_SAMPLE_MINUTES, leaving out what the plant has flagged by then: its alerts (the rules' and
    the model's own), and the HEALTH_PRE_FAILURE_DAYS before each failure seen until the machine is up
    again, each with the 12 hours after it that the features still look back into. With
    `learning_days` of usable samples it learns a new model; without, it keeps the one it has unless a
    failure since showed that one learned from the days before it (then it has none until it has
    learned again; `retire` False keeps it, as the predictor did before). No anomaly within the 12
    hours after a repair.

    Returns the flags and the health at `at` (machine order, then time; NaN without a model) and the
    machines without a model when the evaluation starts. `rule_alerts`: per machine, whether a rule
    holds at each instant from 12 hours into the run, every EVALUATION_STEP_S.
    """
    step = settings.HEALTH_SAMPLE_MINUTES * 60.0
    if step != EVALUATION_STEP_S:
        raise ValueError("the health models are sampled on the evaluation's own grid")
    grid = np.arange(run.start + LONG_WINDOW_S, run.end, step)
    at_index = np.searchsorted(grid, at)
    if not np.array_equal(grid[np.minimum(at_index, len(grid) - 1)], at):
        raise ValueError("the evaluated instants must lie on the health models' grid")
    flags, healths, unlearned = [], [], []
    for index, window in enumerate(run.windows):
        past, health = _health_as_the_product(
            run,
            window,
            grid,
            learning_days=learning_days,
            rule_holding=rule_alerts[index, : len(grid)],
            retire=retire,
        )
        flags.append(past[at_index])
        healths.append(health[at_index])
        if np.isnan(health[at_index[0]]):
            unlearned.append(window.machine_code)
    return np.concatenate(flags), np.concatenate(healths), unlearned


def _health_as_the_product(
    run: PlantRun,
    window: MachineWindow,
    grid: np.ndarray,
    *,
    learning_days: float,
    rule_holding: np.ndarray,
    retire: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """One machine's flags (past its threshold, not settling) and health on `grid` (see health_scores)."""
    metrics = metrics_watched(window)
    past = np.zeros(len(grid), dtype=bool)
    health = np.full(len(grid), np.nan)
    if not metrics:
        return past, health
    step = grid[1] - grid[0]
    features = windows_features([window], [grid], metrics)
    names = feature_names(metrics)
    reporting = np.isfinite(features[:, 0 : len(METRIC_STATS) * len(metrics) : len(METRIC_STATS)]).any(axis=1)
    before_failure = settings.HEALTH_PRE_FAILURE_DAYS * 86400.0
    repairs = _repairs(run, window.machine_code)
    failures = [failed for code, failed in run.failures(run.start, run.end) if code == window.machine_code]
    up_again = {failed: next((r for r in repairs if r >= failed), math.inf) for failed in failures}
    settling = np.zeros(len(grid), dtype=bool)
    for repaired in repairs:
        settling |= (grid >= repaired) & (grid < repaired + LONG_WINDOW_S)
    one_machine = np.zeros(len(grid), dtype=int)  # held_for and lingering take each instant's machine
    rule_alert = lingering(rule_holding, one_machine, settings.ALERT_CLEAR_MINUTES)
    check = settings.HEALTH_LEARNING_CHECK_MINUTES * 60.0

    model, learned_at, learned_to, trained_at = None, None, None, None
    relearn = settings.HEALTH_RELEARN_HOURS * 3600.0
    now = run.start + check
    scored_to = 0  # grid[:scored_to] holds what the model of the time said
    while now < run.end:
        upto = int(np.searchsorted(grid, now, side="right"))
        due = model is None or now - learned_at >= relearn
        if due and upto >= 2:  # before that, no instant has its 12 hours of readings behind it
            own_alert = held_for(past[:upto], one_machine[:upto], settings.HEALTH_ALERT_MINUTES)
            alerted = rule_alert[:upto] | lingering(own_alert, one_machine[:upto], settings.ALERT_CLEAR_MINUTES)
            rows, usable = _learning_rows(grid[:upto], now, alerted=alerted, failures=up_again)
            usable &= reporting[:upto]
            state = learning_state(grid[:upto][rows], usable[rows], required_days=learning_days, step_seconds=step)
            contaminated = model is not None and any(
                trained_at < failed <= now and failed - before_failure < learned_to for failed in failures
            )
            shorter = learning_state(
                grid[:upto][rows], usable[rows], required_days=settings.HEALTH_RELEARN_MIN_DAYS, step_seconds=step
            )
            if state.ready or (retire and contaminated and shorter.ready):
                try:
                    model = HealthModel.fit(
                        features[:upto][usable], names, false_alarm_rate=settings.HEALTH_FALSE_ALARM_RATE
                    )
                    learned_to, trained_at = float(grid[:upto][usable][-1]), now
                except ValueError:
                    pass  # nothing varies yet: as the product, no model from it
            elif retire and contaminated:
                model = None  # it learned a developing fault as normal (predictor.health._learned_before_a_failure)
            learned_at = now
        next_look = now + (check if model is None else relearn)
        stop = int(np.searchsorted(grid, next_look, side="right"))
        if model is not None and stop > scored_to:
            scores = model.score(features[scored_to:stop])
            past[scored_to:stop] = scores.past_threshold & ~settling[scored_to:stop]
            health[scored_to:stop] = scores.health
        scored_to = max(scored_to, stop)
        now = next_look
    return past, health


def _learning_rows(
    grid: np.ndarray, now: float, *, alerted: np.ndarray, failures: dict[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The instants of `grid` (up to `now`) in the learning window, and those of them the plant has not
    flagged by `now`: alerted, or within HEALTH_PRE_FAILURE_DAYS before a failure seen until the
    machine was up again (`failures`: failed at -> up again at), or with the features' 12-hour window
    reaching into either."""
    flagged = alerted.copy()
    for failed, up_again in failures.items():
        if failed <= now:
            flagged |= (grid >= failed - settings.HEALTH_PRE_FAILURE_DAYS * 86400.0) & (grid <= min(up_again, now))
    flagged = lingering(flagged, np.zeros(len(grid), dtype=int), LONG_WINDOW_S / 60)
    rows = grid >= now - settings.HEALTH_WINDOW_DAYS * 86400.0
    return rows, rows & ~flagged


def _repairs(run: PlantRun, code: str) -> list[float]:
    """When the machine was repaired (up again after a failure, or a fault fixed), ascending."""
    return sorted(
        fault["repaired_at"].timestamp()
        for fault in run.faults
        if fault["machine_code"] == code and fault["repaired_at"] is not None
    )


def held_for(flags: np.ndarray, codes: np.ndarray, minutes: float) -> np.ndarray:
    """True where `flags` has held, without a break, for `minutes` (the instants are EVALUATION_STEP_S apart)."""
    needed = round(minutes * 60 / EVALUATION_STEP_S)
    result = flags.copy()
    for lag in range(1, needed + 1):
        shifted = np.zeros_like(flags)
        shifted[lag:] = flags[:-lag]
        same_machine = np.zeros_like(flags)
        same_machine[lag:] = codes[lag:] == codes[:-lag]
        result &= shifted & same_machine
    return result


def lingering(flags: np.ndarray, codes: np.ndarray, minutes: float) -> np.ndarray:
    """True where `flags` held within the last `minutes`: an alert clears that long after its condition."""
    steps = round(minutes * 60 / EVALUATION_STEP_S)
    result = flags.copy()
    for lag in range(1, steps + 1):
        shifted = np.zeros_like(flags)
        shifted[lag:] = flags[:-lag] & (codes[lag:] == codes[:-lag])
        result |= shifted
    return result


@dataclass(frozen=True)
class Outcome:
    """Alerts as a manager counts them: an alert is right when its machine had a fault developing
    while it was open or fails within the horizon after it (a technician sent there finds something);
    a failure is caught when an alert was open within the horizon before it, the lead counted from the
    first such alert's opening (as predictor.ml.alerts)."""

    alerts: int
    right: int
    failures: int
    caught: int
    leads_hours: tuple[float, ...]
    # (machine code, opened at) of each alert that was not right.
    wrong_openings: tuple[tuple[str, float], ...] = ()

    @property
    def precision(self) -> float:
        return self.right / self.alerts if self.alerts else float("nan")

    @property
    def recall(self) -> float:
        return self.caught / self.failures if self.failures else float("nan")

    @property
    def median_lead_hours(self) -> float:
        return float(np.median(self.leads_hours)) if self.leads_hours else float("nan")


def outcome(run: PlantRun, codes: np.ndarray, times: np.ndarray, is_open: np.ndarray, *, start: float) -> Outcome:
    """`is_open`: whether an alert is open at each instant (machine order, then time) from `start` on."""
    horizon = HORIZON_HOURS * 3600.0
    faults: dict[str, list[tuple[float, float]]] = {}
    for fault in run.faults:
        ended = fault["failed_at"] or fault["repaired_at"]
        faults.setdefault(fault["machine_code"], []).append(
            (fault["started_at"].timestamp(), ended.timestamp() if ended else math.inf)
        )
    runs: dict[str, list[list[float]]] = {}
    for index in np.flatnonzero(is_open):
        code, t = codes[index], times[index]
        mine = runs.setdefault(code, [])
        if mine and t - mine[-1][1] <= 2 * EVALUATION_STEP_S:
            mine[-1][1] = t
        else:
            mine.append([t, t])
    alerts = right = 0
    wrong = []
    for code, mine in runs.items():
        for opened, last in mine:
            alerts += 1
            if any(began <= last + horizon and ended >= opened for began, ended in faults.get(code, ())):
                right += 1
            else:
                wrong.append((code, opened))
    failures = run.failures(start, run.end)
    leads = []
    for code, failed in failures:
        openings = [opened for opened, last in runs.get(code, ()) if opened <= failed and last >= failed - horizon]
        if openings:
            leads.append((failed - min(openings)) / 3600.0)
    return Outcome(alerts, right, len(failures), len(leads), tuple(leads), tuple(wrong))


def forest_open(probability: np.ndarray, codes: np.ndarray, *, may_open: np.ndarray | None = None) -> np.ndarray:
    """The forest's alerts: open at ALERT_THRESHOLD where `may_open` allows, held down to
    ALERT_CLEAR_THRESHOLD (the tickets' rule)."""
    hysteresis = AlertHysteresis(ALERT_THRESHOLD, ALERT_CLEAR_THRESHOLD)
    is_open = np.zeros(len(probability), dtype=bool)
    for index in range(len(probability)):
        was_open = bool(index) and is_open[index - 1] and codes[index] == codes[index - 1]
        if was_open or may_open is None or may_open[index]:
            is_open[index] = hysteresis.next_open(was_open, probability[index])
    return is_open


def row(label: str, result: Outcome, machine_weeks: float) -> str:
    per_ten = 10 * (result.alerts - result.right) / machine_weeks
    return (
        f"| {label} | {result.alerts} | {_fmt(result.precision)} | {_fmt(result.recall)} "
        f"({result.caught}/{result.failures}) | {_fmt(result.median_lead_hours, '.1f')} | {per_ten:.2f} |"
    )


def _fmt(value: float, spec: str = ".2f") -> str:
    return "-" if math.isnan(value) else format(value, spec)


def judge(
    run: PlantRun,
    forest: FailureForest,
    *,
    evaluation_days: float,
    trained_types: set[str],
    learned_codes: set[str],
    retire: bool = True,
) -> dict:
    """Every variant on the run's last `evaluation_days` (`retire`: see health_scores)."""
    evaluation_start = run.end - evaluation_days * 86400.0
    at = instants(run, evaluation_start)
    codes = np.repeat([window.machine_code for window in run.windows], len(at))
    times = np.tile(at, len(run.windows))
    failures = run.failures(evaluation_start, run.end)
    machine_weeks = len(run.windows) * evaluation_days / 7.0
    clear_minutes = settings.ALERT_CLEAR_MINUTES

    started = time.monotonic()
    probability = forest_probabilities(forest, run, at)
    forest_seconds = time.monotonic() - started
    started = time.monotonic()
    rules = rules_holding(run, at)
    # The rules over the learning days too: the health models leave those alerts out.
    all_at = np.arange(run.start + 12 * 3600.0, run.end, EVALUATION_STEP_S)
    rules_all = rules_holding(run, all_at).reshape(len(run.windows), len(all_at))
    rules_seconds = time.monotonic() - started
    forest_alerts = forest_open(probability, codes)
    rule_alerts = lingering(rules, codes, clear_minutes)
    results = {
        "(i) A's forest, every machine": outcome(run, codes, times, forest_alerts, start=evaluation_start),
        "(ii) alarm rules alone": outcome(run, codes, times, rule_alerts, start=evaluation_start),
    }
    health_alerts, health, unlearned = {}, {}, {}
    started = time.monotonic()
    for days in LEARNING_DAYS:
        past, health[days], unlearned[days] = health_scores(
            run, at, learning_days=days, rule_alerts=rules_all, retire=retire
        )
        health_alerts[days] = lingering(held_for(past, codes, settings.HEALTH_ALERT_MINUTES), codes, clear_minutes)
        label = f"(iii) health models after {days} day{'s' if days > 1 else ''}"
        results[label] = outcome(run, codes, times, health_alerts[days], start=evaluation_start)
    health_seconds = time.monotonic() - started
    on_trained_type = np.array([run.machine_types[code] in trained_types for code in codes])
    # On a machine the forest never learned, its alert opens only while the machine's own health model
    # sees it below FOREST_ALERT_HEALTH_BELOW (Scorer.forest_doubted), and holds by the forest's
    # hysteresis once open, as the tickets' alerts do.
    learned = np.array([code in learned_codes for code in codes])
    with np.errstate(invalid="ignore"):  # NaN: no health model, no confirmation
        believed = learned | (health[PRODUCT_LEARNING_DAYS] < settings.FOREST_ALERT_HEALTH_BELOW)
    product_forest = forest_open(probability, codes, may_open=on_trained_type & believed) & on_trained_type
    combined = product_forest | rule_alerts | health_alerts[PRODUCT_LEARNING_DAYS]
    results[PRODUCT_LABEL] = outcome(run, codes, times, combined, start=evaluation_start)
    # Which source opened each false alert of the product (those open at its first instant).
    position = {(code, t): index for index, (code, t) in enumerate(zip(codes, times, strict=True))}
    false_by_source = {"forest": 0, "rules": 0, "health models": 0}
    for opening in results[PRODUCT_LABEL].wrong_openings:
        index = position[opening]
        for name, alerts in (
            ("forest", product_forest),
            ("rules", rule_alerts),
            ("health models", health_alerts[PRODUCT_LEARNING_DAYS]),
        ):
            false_by_source[name] += int(alerts[index])
    return {
        "false_by_source": false_by_source,
        "results": results,
        "machine_weeks": machine_weeks,
        "failures": len(failures),
        "unlearned": unlearned,
        "seconds": {"forest": forest_seconds, "rules": rules_seconds, "health": health_seconds},
    }


def healthy_anomalies(profile: PlantProfile, *, seed: int, days: float) -> tuple[int, int, float]:
    """A plant with no faults: its health models learn PRODUCT_LEARNING_DAYS, then run `days`.
    Returns (anomaly alerts, machines, machine-weeks)."""
    run = plant_run(profile, seed=seed, days=PRODUCT_LEARNING_DAYS + days, mtbf_hours=NO_FAULTS_MTBF_HOURS)
    at = instants(run, run.start + PRODUCT_LEARNING_DAYS * 86400.0)
    codes = np.repeat([window.machine_code for window in run.windows], len(at))
    no_rules = np.zeros((len(run.windows), 10**6), dtype=bool)
    past, _, _ = health_scores(run, at, learning_days=PRODUCT_LEARNING_DAYS, rule_alerts=no_rules)
    alarmed = lingering(held_for(past, codes, settings.HEALTH_ALERT_MINUTES), codes, settings.ALERT_CLEAR_MINUTES)
    result = outcome(run, codes, np.tile(at, len(run.windows)), alarmed, start=at[0])
    return result.alerts, len(run.windows), len(run.windows) * days / 7.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a-days", type=float, default=30.0, help="days of plant A the forest learns")
    parser.add_argument("--b-days", type=float, default=21.0, help="days of plant B run")
    parser.add_argument("--evaluation-days", type=float, default=14.0, help="the last days of B judged")
    parser.add_argument("--healthy-days", type=float, default=14.0, help="days of the healthy plant B")
    parser.add_argument("--seed", type=int, default=11, help="plant A's seed (B and the same-plant run: +1, +2)")
    parser.add_argument("--plant-b", type=Path, default=PLANT_B_PATH, help="plant B's profile")
    parser.add_argument(
        "--datasets", type=Path, default=DEFAULT_DATASETS, help="folder holding cmapss/ (default %(default)s)"
    )
    parser.add_argument(
        "--learning-weeks", type=int, default=8, help="weeks of plant B learning from its outcomes (0: skip)"
    )
    parser.add_argument(
        "--keep-models-learned-before-failures",
        dest="retire",
        action="store_false",
        help="health models keep a model a later failure showed learned a fault developing (not retired)",
    )
    args = parser.parse_args(argv)
    if args.b_days - args.evaluation_days < max(LEARNING_DAYS):
        parser.error(f"--b-days must leave {max(LEARNING_DAYS)} days of learning before the evaluated days")

    plant_a = plant_profile_load(DEMO_PROFILE_PATH)
    plant_b = plant_profile_load(args.plant_b)
    started = time.monotonic()
    a_run = plant_run(plant_a, seed=args.seed, days=args.a_days)
    forest = forest_train(a_run, seed=args.seed)
    trained_types = {machine.machine_type for machine in plant_a.machines}
    learned_codes = {window.machine_code for window in a_run.windows}
    print(
        f"plant A: {len(a_run.windows)} machines, {args.a_days:g} days, "
        f"forest trained in {time.monotonic() - started:.0f} s"
    )

    started = time.monotonic()
    b_run = plant_run(plant_b, seed=args.seed + 1, days=args.b_days)
    b = judge(
        b_run,
        forest,
        evaluation_days=args.evaluation_days,
        trained_types=trained_types,
        learned_codes=learned_codes,
        retire=args.retire,
    )
    print(f"plant B: {len(b_run.windows)} machines, {args.b_days:g} days, judged in {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    same_run = plant_run(plant_a, seed=args.seed + 2, days=args.b_days)
    same = judge(
        same_run,
        forest,
        evaluation_days=args.evaluation_days,
        trained_types=trained_types,
        learned_codes=learned_codes,
        retire=args.retire,
    )
    print(f"plant A, seed {args.seed + 2}: judged in {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    anomalies, machines, healthy_weeks = healthy_anomalies(plant_b, seed=args.seed + 3, days=args.healthy_days)
    print(f"healthy plant B: {time.monotonic() - started:.0f} s")

    header = (
        "| variant | alerts | precision | recall (caught/failures) | median lead h | false alerts / 10 machine-weeks |"
    )
    rule = "|---|---|---|---|---|---|"
    lines = [
        f"## Transfer: trained on {plant_a.name}, run on {plant_b.name}",
        "",
        f"Plant A ({plant_a.name}, seed {args.seed}): the forest learned {args.a_days:g} days of "
        f"{len(a_run.windows)} machines. Plant B ({plant_b.name}, seed {args.seed + 1}): {len(b_run.windows)} "
        f"machines, {args.b_days:g} days; judged on the last {args.evaluation_days:g} days every "
        f"{EVALUATION_STEP_S / 60:g} min: {b['failures']} failures, {b['machine_weeks']:.1f} machine-weeks.",
        "",
        header,
        rule,
        *(row(label, result, b["machine_weeks"]) for label, result in b["results"].items()),
        "",
        f"Same plant for comparison (plant A, seed {args.seed + 2}, judged the same way: {same['failures']} "
        f"failures, {same['machine_weeks']:.1f} machine-weeks):",
        "",
        header,
        rule,
        *(row(label, result, same["machine_weeks"]) for label, result in same["results"].items()),
        "",
    ]
    product = b["results"][PRODUCT_LABEL]
    false_per_ten = 10 * (product.alerts - product.right) / b["machine_weeks"]
    lines += [
        "Targets for (iv) on plant B:",
        f"- precision {_fmt(product.precision)} (target ≥ 0.8): {_verdict(product.precision >= 0.8)}",
        f"- recall {_fmt(product.recall)} (target ≥ 0.8): {_verdict(product.recall >= 0.8)}",
        f"- median lead {_fmt(product.median_lead_hours, '.1f')} h (target ≥ 2 h): "
        f"{_verdict(product.median_lead_hours >= 2)}",
        f"- {false_per_ten:.2f} false alerts per 10 machine-weeks (target ≤ 1): {_verdict(false_per_ten <= 1)}; "
        "opened by: " + ", ".join(f"{name} {count}" for name, count in b["false_by_source"].items()),
        f"- healthy plant B, {args.healthy_days:g} days after {PRODUCT_LEARNING_DAYS} days of learning "
        f"({machines} machines, {healthy_weeks:.1f} machine-weeks): {anomalies} anomaly alerts (target 0): "
        f"{_verdict(anomalies == 0)}",
    ]
    unlearned = {days: codes for days, codes in b["unlearned"].items() if codes}
    if unlearned:
        lines.append(
            "- machines without a health model when the judged days begin (too little usable data yet), "
            f"by learning days: {unlearned}"
        )
    lines += ["", engines_health_section(args.datasets)]
    if args.learning_weeks:
        lines += [
            "",
            plant_learning_section(
                plant_b,
                a_forest=forest,
                a_types=trained_types,
                a_codes=learned_codes,
                seed=args.seed + 1,
                weeks=args.learning_weeks,
                retrain_days=7.0,
                corrupt=0.3,
            ),
        ]
    text = "\n".join(lines)
    print()
    print(text)
    results = PROJECT_ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "transfer.md").write_text(text + "\n", encoding="utf-8")
    return 0


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


if __name__ == "__main__":
    raise SystemExit(main())
