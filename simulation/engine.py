"""The plant simulator: machines that run healthy, develop faults over hours, fail, and get repaired.

Pure Python, no Django: the command and `simulation.runner` feed it machine profiles and
instants, and take readings and ground-truth events out. The tests drive it directly.

Reproducibility. Every random value is a function of the seed, the machine code and an instant,
never of how many machines run or which other instants were simulated:
- a machine's fault timeline is drawn forward from a fixed epoch by an RNG keyed on (seed, code),
  so two runs with the same seed agree on when each fault starts and fails, whatever window or
  tick spacing they simulate; a repair restarts the timeline from an RNG keyed on its instant.
  Which natural faults a window holds therefore depends on where it lies in time: what must be in
  a window (a demo's scenario, a test's failure) is forced there (`fault_force`), and a forced
  fault keeps its kind, development and shape whatever the date and through earlier repairs;
- a reading's noise comes from an RNG reseeded with (seed, code, ts), so the reading at an instant
  is the same in a history at 60 s steps and in a live run at 5 Hz.

Calibration. Each metric is modelled by its role (vibration, temperature, current, speed, flow,
discharge_pressure, oil_temperature: by default the metric's name, or the role a plant profile gives
a metric of another name) and placed by the machine type's normal and alarm limits, so a type with
other limits gets plausible values without code changes, and the faults move a metric by its role.
A metric with no role sits in the middle of its normal range with a little noise and no fault moves
it. A plant profile (simulation.profiles) may shift a metric's healthy mean, scale the plant's noise,
and bring its own fault kinds and downtimes; the defaults here are the demo plant's.
"""

# Every random number here is simulation noise, none is a secret: the stdlib generator is the right one.
# ruff: noqa: S311

import datetime
import math
import random
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

from catalogue.failure_modes import BEARING_WEAR, ELECTRICAL_FAULT, IMBALANCE, LUBRICATION_LOSS, OVERHEATING

HOUR = 3600.0
EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_EPOCH_S = EPOCH.timestamp()


# The codes of the demo seed; the runner replaces them with those of the ErrorCode table.
DEFAULT_ERROR_CODES: Mapping[str, str] = {
    BEARING_WEAR: "E-BRG-01",
    OVERHEATING: "E-TMP-01",
    IMBALANCE: "E-VIB-01",
    LUBRICATION_LOSS: "E-LUB-01",
    ELECTRICAL_FAULT: "E-ELC-01",
}

VIBRATION = "vibration"
TEMPERATURE = "temperature"
CURRENT = "current"
SPEED = "speed"
FLOW = "flow"
DISCHARGE_PRESSURE = "discharge_pressure"
OIL_TEMPERATURE = "oil_temperature"
# What a metric can behave as; a metric of one of these names behaves as it unless told otherwise.
METRIC_ROLES: tuple[str, ...] = (VIBRATION, TEMPERATURE, OIL_TEMPERATURE, CURRENT, SPEED, FLOW, DISCHARGE_PRESSURE)

STARTED = "started"
FAILED = "failed"
REPAIRED = "repaired"

HEALTHY = "healthy"
DEVELOPING = "developing"
DOWN = "down"


@dataclass(frozen=True, slots=True)
class FaultKind:
    failure_mode: str
    # Simulated hours from onset to failure, drawn uniformly; mostly past a day so that a 24 h
    # prediction horizon has something to find before the failure is obvious.
    development_hours: tuple[float, float]
    # Relative frequency among faults.
    weight: float
    # The machine types (by name) it strikes; empty: every type.
    machine_types: tuple[str, ...] = ()

    def strikes(self, machine_type: str) -> bool:
        return not self.machine_types or machine_type in self.machine_types


FAULT_KINDS: tuple[FaultKind, ...] = (
    FaultKind(BEARING_WEAR, (48.0, 120.0), 0.30),
    FaultKind(OVERHEATING, (12.0, 72.0), 0.20),
    FaultKind(IMBALANCE, (24.0, 96.0), 0.20),
    FaultKind(LUBRICATION_LOSS, (24.0, 120.0), 0.15),
    FaultKind(ELECTRICAL_FAULT, (6.0, 36.0), 0.15),
)
FAULT_KIND_BY_MODE: Mapping[str, FaultKind] = {kind.failure_mode: kind for kind in FAULT_KINDS}
FAILURE_MODES: tuple[str, ...] = tuple(FAULT_KIND_BY_MODE)
DOWNTIME_HOURS = (2.0, 8.0)


@dataclass(frozen=True, slots=True)
class MetricRange:
    """A metric of a machine type and its limits (any may be open), as in telemetry.MetricSpec."""

    name: str
    normal_min: float | None = None
    normal_max: float | None = None
    alarm_min: float | None = None
    alarm_max: float | None = None
    # How it behaves (one of METRIC_ROLES); None: as its name says, or generic for another name.
    role: str | None = None
    # The healthy mean the limits place, times the scale plus the offset (in the metric's unit).
    baseline_scale: float = 1.0
    baseline_offset: float = 0.0

    @property
    def behaves_as(self) -> str | None:
        if self.role is not None:
            return self.role
        return self.name if self.name in METRIC_ROLES else None


@dataclass(frozen=True, slots=True)
class MachineProfile:
    code: str
    metrics: tuple[MetricRange, ...]
    # Its type's name: which fault kinds strike it (FaultKind.machine_types).
    machine_type: str = ""


@dataclass(frozen=True, slots=True)
class SimulatedReading:
    machine_code: str
    ts: datetime.datetime
    metrics: dict[str, float]
    error_code: str = ""


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """What the ground truth says about one fault at the moment of an event."""

    machine_code: str
    failure_mode: str
    error_code: str
    started_at: datetime.datetime
    planned_failure_at: datetime.datetime
    failed_at: datetime.datetime | None
    repaired_at: datetime.datetime | None


@dataclass(frozen=True, slots=True)
class FaultEvent:
    event: str  # STARTED, FAILED or REPAIRED
    fault: FaultRecord


@dataclass(slots=True)
class Fault:
    """One fault of one machine: its plan (drawn in advance) and what has happened to it so far."""

    machine_code: str
    failure_mode: str
    error_code: str
    started_s: float
    planned_failure_s: float
    back_in_service_s: float  # the end of the downtime after the planned failure
    # Shape parameters of this fault's trend, drawn with the plan (e.g. the growth rate of bearing wear).
    shape: dict[str, float]
    start_reported: bool = False
    failed_at: datetime.datetime | None = None
    repaired_at: datetime.datetime | None = None

    @property
    def started_at(self) -> datetime.datetime:
        return _datetime(self.started_s)

    @property
    def planned_failure_at(self) -> datetime.datetime:
        return _datetime(self.planned_failure_s)

    def progress(self, ts_s: float) -> float:
        """0 at onset, 1 at the planned failure."""
        return (ts_s - self.started_s) / (self.planned_failure_s - self.started_s)

    def record(self) -> FaultRecord:
        return FaultRecord(
            machine_code=self.machine_code,
            failure_mode=self.failure_mode,
            error_code=self.error_code,
            started_at=self.started_at,
            planned_failure_at=self.planned_failure_at,
            failed_at=self.failed_at,
            repaired_at=self.repaired_at,
        )


@dataclass(slots=True)
class MetricModel:
    """How one metric of one machine behaves when healthy, and where its failure level lies."""

    name: str
    mean: float  # at average load
    load_gain: float  # change from average to peak load
    sigma: float  # sensor and process noise
    decimals: int
    normal_min: float | None
    normal_max: float | None
    alarm_max: float | None
    # A fault that fails on this metric drives it here: past the alarm limit by more than the
    # daily load swing and the noise, so the failing reading alarms at any hour.
    fail_level: float | None
    ceiling: float  # never beyond: a value past it would be a broken sensor, not a failing machine

    @property
    def headroom(self) -> float:
        """How far a fault must move the metric from its healthy mean to reach the failure level."""
        return (self.fail_level - self.mean) if self.fail_level is not None else 0.0


def metric_models_calibrate(
    profile: MachineProfile, rng: random.Random, *, noise_scale: float = 1.0
) -> dict[str, MetricModel]:
    """This machine's healthy behaviour, drawn from its own RNG and placed by its type's limits."""
    models = {}
    for spec in sorted(profile.metrics, key=lambda metric: metric.name):
        models[spec.name] = _metric_model(spec, rng, noise_scale=noise_scale)
    return models


def _metric_model(spec: MetricRange, rng: random.Random, *, noise_scale: float = 1.0) -> MetricModel:
    low, high = _normal_range(spec)
    width = high - low
    name = spec.name
    role = spec.behaves_as
    decimals = 2
    if role == VIBRATION:
        # ISO 10816: a machine in good condition runs well inside zone A/B; 1-3 mm/s RMS is typical.
        mean = min(max(rng.uniform(0.3, 0.55) * high, 1.25), 2.6)
        load_gain, sigma, decimals = 0.02 * mean, 0.03 * mean, 3
    elif role == TEMPERATURE:
        mean = max(high - rng.uniform(15.0, 25.0), low + 0.3 * width)
        load_gain, sigma = 3.0, 0.35
    elif role == OIL_TEMPERATURE:
        mean = low + rng.uniform(0.35, 0.55) * width
        load_gain, sigma = 2.5, 0.3
    elif role == CURRENT:
        mean = low + rng.uniform(0.4, 0.6) * width
        load_gain, sigma = 0.08 * mean, 0.012 * width
    elif role == SPEED:
        # The value is recomputed from the current (slip grows with load); this is the fallback.
        mean = low + 0.55 * width
        load_gain, sigma, decimals = -0.1 * width, 0.01 * width, 1
    elif role == FLOW:
        mean = low + rng.uniform(0.35, 0.6) * width
        load_gain, sigma = 0.08 * width, 0.01 * width
    elif role == DISCHARGE_PRESSURE:
        # More demand, a little less head: the pressure sags at the load peak.
        mean = low + rng.uniform(0.4, 0.6) * width
        load_gain, sigma, decimals = -0.05 * width, 0.012 * width, 3
    else:
        mean = low + 0.5 * width
        load_gain, sigma, decimals = 0.0, 0.01 * width, 3
    # The profile's shift and noise; the defaults leave every value exactly as drawn.
    mean = mean * spec.baseline_scale + spec.baseline_offset
    sigma *= noise_scale
    fail_level = None
    ceiling = high + width
    if spec.alarm_max is not None:
        band = spec.alarm_max - (spec.normal_max if spec.normal_max is not None else mean)
        margin = 0.1 * band + abs(load_gain) + 3.0 * sigma
        fail_level = spec.alarm_max + margin
        ceiling = spec.alarm_max + band + margin
    return MetricModel(
        name=name,
        mean=mean,
        load_gain=load_gain,
        sigma=sigma,
        decimals=decimals,
        normal_min=spec.normal_min,
        normal_max=spec.normal_max,
        alarm_max=spec.alarm_max,
        fail_level=fail_level,
        ceiling=ceiling,
    )


def _normal_range(spec: MetricRange) -> tuple[float, float]:
    """The normal range with open ends closed by the alarm limits, or by zero and one unit."""
    low = spec.normal_min
    high = spec.normal_max
    if low is None:
        low = spec.alarm_min if spec.alarm_min is not None else 0.0
    if high is None:
        high = spec.alarm_max if spec.alarm_max is not None else low + 1.0
    if high <= low:
        high = low + 1.0
    return low, high


def daily_load(ts_s: float, *, utc_offset_hours: float) -> float:
    """The plant's load cycle, -1 at night to +1 at its peak at 15:00 plant time."""
    local_hours = (ts_s / HOUR + utc_offset_hours) % 24.0
    return math.sin(2.0 * math.pi * (local_hours - 9.0) / 24.0)


class MachineSimulation:
    """One machine: its healthy behaviour, its fault timeline, and the state between ticks.

    `step` must be called with increasing instants; it returns the reading at that instant (None
    while the machine is down) and appends the fault events that happened up to it.
    """

    def __init__(
        self,
        *,
        profile: MachineProfile,
        seed: int,
        mtbf_hours: float,
        error_codes: Mapping[str, str] = DEFAULT_ERROR_CODES,
        utc_offset_hours: float = 0.0,
        fault_kinds: Sequence[FaultKind] = FAULT_KINDS,
        downtime_hours: tuple[float, float] = DOWNTIME_HOURS,
        noise_scale: float = 1.0,
    ):
        self.code = profile.code
        self.seed = seed
        self.mtbf_hours = mtbf_hours
        self.error_codes = {**DEFAULT_ERROR_CODES, **error_codes}
        self.utc_offset_hours = utc_offset_hours
        self.fault_kinds = tuple(kind for kind in fault_kinds if kind.strikes(profile.machine_type))
        if not self.fault_kinds:
            raise ValueError(f"machine {self.code!r}: no fault kind strikes its type {profile.machine_type!r}")
        self._kind_by_mode = {kind.failure_mode: kind for kind in self.fault_kinds}
        self.downtime_hours = downtime_hours
        self.models = metric_models_calibrate(
            profile, random.Random(f"{seed}:{self.code}:baseline"), noise_scale=noise_scale
        )
        # The faults move metrics by role: role -> this machine's metric that plays it.
        self.metric_by_role = {spec.behaves_as: spec.name for spec in profile.metrics if spec.behaves_as is not None}
        if len(self.metric_by_role) < sum(1 for spec in profile.metrics if spec.behaves_as is not None):
            raise ValueError(f"machine {self.code!r}: two of its metrics behave as the same role")
        # Most machines name their metrics by role: the faults then work on the values as they are.
        self._named_by_role = all(role == name for role, name in self.metric_by_role.items())
        self._models_by_role = {role: self.models[name] for role, name in self.metric_by_role.items()}
        self._noise = random.Random()
        # High bits: this machine; low 64 bits: the instant in microseconds (see _reading).
        self._noise_key = random.Random(f"{seed}:{self.code}:noise").getrandbits(64) << 64
        self._forced: list[Fault] = []  # planned by fault_force, kept through repairs
        self._faults: Iterator[Fault] = self._timeline_from(_EPOCH_S)
        self._fault: Fault | None = None  # the current fault, or the next one while healthy
        self._first_step_s: float | None = None
        self._last_step_s: float | None = None
        self.state = HEALTHY

    # --- fault timeline ---------------------------------------------------------------------

    def _timeline_from(self, origin_s: float) -> Iterator[Fault]:
        """The faults to come after `origin_s`: the natural ones, and the forced ones that have not
        begun by then, each replacing the natural faults it overlaps. A repair draws the natural
        timeline anew from its instant; the forced faults ahead stay where they were planned."""
        natural = self._faults_from(origin_s)
        for forced in sorted((f for f in self._forced if f.started_s >= origin_s), key=lambda f: f.started_s):
            for fault in natural:
                if fault.back_in_service_s > forced.started_s:
                    break
                yield fault
            yield forced
            natural = self._faults_from(forced.back_in_service_s)
        yield from natural

    def _faults_from(self, origin_s: float) -> Iterator[Fault]:
        """The faults to come after `origin_s`, one healthy spell, development and downtime each."""
        rng = random.Random(f"{self.seed}:{self.code}:faults:{round(origin_s * 1e6)}")
        modes = [kind.failure_mode for kind in self.fault_kinds]
        weights = [kind.weight for kind in self.fault_kinds]
        healthy_s = self.mtbf_hours * HOUR
        t = origin_s
        while True:
            started_s = t + rng.expovariate(1.0 / healthy_s)
            fault = self._fault_plan(rng, failure_mode=rng.choices(modes, weights)[0], started_s=started_s)
            yield fault
            t = fault.back_in_service_s

    def _fault_plan(
        self,
        rng: random.Random,
        *,
        failure_mode: str,
        started_s: float | None = None,
        failure_s: float | None = None,
        min_development_s: float = 0.0,
        development_s: float | None = None,
    ) -> Fault:
        kind = self._kind_by_mode[failure_mode]
        drawn_s = rng.uniform(*kind.development_hours) * HOUR  # drawn always, so the shape below is too
        development_s = max(drawn_s if development_s is None else development_s, min_development_s)
        if started_s is None:
            started_s = failure_s - development_s
        planned_failure_s = started_s + development_s
        return Fault(
            machine_code=self.code,
            failure_mode=failure_mode,
            error_code=self.error_codes[failure_mode],
            started_s=started_s,
            planned_failure_s=planned_failure_s,
            back_in_service_s=planned_failure_s + rng.uniform(*self.downtime_hours) * HOUR,
            shape=_fault_shape(failure_mode, rng),
        )

    def fault_force(
        self,
        *,
        failure_at: datetime.datetime,
        failure_mode: str | None = None,
        started_before: datetime.datetime | None = None,
        development: datetime.timedelta | None = None,
    ) -> Fault:
        """Plan a fault that fails at `failure_at`, replacing the natural faults it overlaps.

        `started_before`: the fault is already developing then, by an hour at least, even if that
        makes it longer than its kind's usual development (a demo at a high speedup needs it).
        `development`: from onset to failure, instead of a span drawn from the kind's usual range
        (minutes make a sudden failure that no prediction can see coming).
        Call before the first step: it rewrites the timeline ahead of the machine, not its past.

        The fault's kind, development and shape are drawn from the seed, the machine and the kind
        asked for, not from the instant: a scenario planned relative to "now" plays out the same
        way on every date.
        """
        if self._first_step_s is not None:
            raise RuntimeError(f"{self.code}: a fault can only be forced before the simulation starts")
        failure_s = failure_at.timestamp()
        rng = random.Random(f"{self.seed}:{self.code}:forced:{failure_mode or 'any'}")
        if failure_mode is None:
            failure_mode = rng.choices(list(self._kind_by_mode), [kind.weight for kind in self.fault_kinds])[0]
        elif failure_mode not in self._kind_by_mode:
            raise ValueError(f"{self.code}: no fault of kind {failure_mode!r} strikes this machine's type")
        min_development_s = failure_s - started_before.timestamp() + HOUR if started_before is not None else 0.0
        forced = self._fault_plan(
            rng,
            failure_mode=failure_mode,
            failure_s=failure_s,
            min_development_s=min_development_s,
            development_s=development.total_seconds() if development is not None else None,
        )
        self._forced.append(forced)
        self._faults = self._timeline_from(_EPOCH_S)
        self._fault = None
        return forced

    def faults_between(self, start: datetime.datetime, end: datetime.datetime) -> list[Fault]:
        """The faults planned to be under way (developing or down) at some instant between `start` and
        `end`. Ask before the first step, as fault_force: a repair redraws the natural faults after it."""
        if self._first_step_s is not None:
            raise RuntimeError(f"{self.code}: the planned faults are known only before the simulation starts")
        start_s, end_s = start.timestamp(), end.timestamp()
        found = []
        for fault in self._timeline_from(_EPOCH_S):
            if fault.started_s >= end_s:
                break
            if fault.back_in_service_s > start_s:
                found.append(fault)
        return found

    def _fault_at(self, ts_s: float, events: list[FaultEvent]) -> Fault:
        """The fault in progress at ts_s, or the next one; faults that ended before it are closed."""
        if self._first_step_s is None:
            self._first_step_s = ts_s
        while True:
            if self._fault is None:
                self._fault = next(self._faults)
            fault = self._fault
            if ts_s < fault.back_in_service_s:
                return fault
            # Over before ts_s. Report it unless it ended before the simulation began: a fault the
            # readings never showed has no place in this run's ground truth.
            if fault.back_in_service_s > self._first_step_s:
                self._report_start(fault, events)
                if fault.failed_at is None:
                    fault.failed_at = fault.planned_failure_at
                    events.append(FaultEvent(FAILED, fault.record()))
                fault.repaired_at = _datetime(fault.back_in_service_s)
                events.append(FaultEvent(REPAIRED, fault.record()))
            self._fault = None

    def _report_start(self, fault: Fault, events: list[FaultEvent]) -> None:
        if not fault.start_reported:
            fault.start_reported = True
            events.append(FaultEvent(STARTED, fault.record()))

    def repair(self, *, at: datetime.datetime, events: list[FaultEvent]) -> bool:
        """A technician fixed the machine at `at`: a developing fault is prevented, a down machine returns.

        Returns whether there was anything to repair; a healthy machine is left as it is.
        """
        at_s = at.timestamp()
        fault = self._fault_at(at_s, events)
        if at_s < fault.started_s:
            return False
        self._report_start(fault, events)
        if fault.failed_at is None and at_s >= fault.planned_failure_s:
            # It failed between two ticks, before anyone got to it.
            fault.failed_at = fault.planned_failure_at
            events.append(FaultEvent(FAILED, fault.record()))
        fault.repaired_at = at
        events.append(FaultEvent(REPAIRED, fault.record()))
        self._faults = self._timeline_from(at_s)
        self._fault = None
        self.state = HEALTHY
        return True

    # --- readings ---------------------------------------------------------------------------

    def step(
        self, ts: datetime.datetime, events: list[FaultEvent], ts_s: float | None = None
    ) -> SimulatedReading | None:
        if ts_s is None:
            ts_s = ts.timestamp()
        fault = self._fault_at(ts_s, events)
        previous_step_s, self._last_step_s = self._last_step_s, ts_s
        if ts_s < fault.started_s:
            self.state = HEALTHY
            return self._reading(ts, ts_s)
        self._report_start(fault, events)
        if ts_s < fault.planned_failure_s:
            self.state = DEVELOPING
            return self._reading(ts, ts_s, fault=fault, progress=fault.progress(ts_s))
        self.state = DOWN
        if fault.failed_at is not None:
            return None  # down: nothing to publish
        if previous_step_s is None:
            # Already down when the simulation began: it failed unobserved, on plan.
            fault.failed_at = fault.planned_failure_at
            events.append(FaultEvent(FAILED, fault.record()))
            return None
        fault.failed_at = ts
        events.append(FaultEvent(FAILED, fault.record()))
        return self._reading(ts, ts_s, fault=fault, progress=1.0, failing=True)

    def _reading(
        self,
        ts: datetime.datetime,
        ts_s: float,
        *,
        fault: Fault | None = None,
        progress: float = 0.0,
        failing: bool = False,
    ) -> SimulatedReading:
        noise = self._noise
        noise.seed(self._noise_key + round(ts_s * 1e6))
        load = daily_load(ts_s, utc_offset_hours=self.utc_offset_hours)
        models = self.models
        rand = noise.random
        jitter = {name: model.sigma * _standard_normal(rand) for name, model in models.items()}
        values = {name: model.mean + model.load_gain * load + jitter[name] for name, model in models.items()}
        by_role = self.metric_by_role
        if fault is not None:
            if self._named_by_role:
                _fault_apply(fault, progress, load=load, values=values, models=models, noise=noise)
            else:
                role_values = {role: values[name] for role, name in by_role.items()}
                _fault_apply(fault, progress, load=load, values=role_values, models=self._models_by_role, noise=noise)
                for role, name in by_role.items():
                    values[name] = role_values[role]
        if SPEED in by_role and CURRENT in by_role:
            speed, current = by_role[SPEED], by_role[CURRENT]
            values[speed] = _shaft_speed(models[speed], models[current], values[current]) + jitter[speed]
        if failing:
            for role in failing_metrics(fault.failure_mode, by_role):
                name = by_role[role]
                model = models[name]
                if model.fail_level is not None:
                    values[name] = max(values[name], model.alarm_max + 0.3 * (model.fail_level - model.alarm_max))
        metrics = {}
        for name, value in values.items():
            model = models[name]
            metrics[name] = round(min(max(value, 0.0), model.ceiling), model.decimals)
        return SimulatedReading(self.code, ts, metrics, fault.error_code if failing else "")


def _standard_normal(rand: Callable[[], float]) -> float:
    """Box-Muller with one draw per call: random.gauss costs four times as much, and this is the hot loop."""
    return math.sqrt(-2.0 * math.log(1.0 - rand())) * math.cos(2.0 * math.pi * rand())


def _shaft_speed(speed: MetricModel, current: MetricModel, amps: float) -> float:
    """An induction motor slows as it works harder: slip grows from no load to full load current.

    Synchronous speed is the top of the normal speed range; at the rated (normal maximum) current
    the slip takes 80 % of the normal range, which leaves a motor on its normal current inside it.
    """
    synchronous = speed.normal_max if speed.normal_max is not None else speed.mean
    full_load_slip = 0.8 * (synchronous - (speed.normal_min if speed.normal_min is not None else synchronous - 50.0))
    no_load_amps = current.normal_min if current.normal_min is not None else 0.0
    rated_amps = current.normal_max if current.normal_max is not None else current.mean * 1.5
    load_fraction = (amps - no_load_amps) / max(rated_amps - no_load_amps, 1e-6)
    return synchronous - full_load_slip * max(load_fraction, 0.0)


def _fault_shape(failure_mode: str, rng: random.Random) -> dict[str, float]:
    """The parameters that make two faults of one kind differ, drawn when the fault is planned."""
    if failure_mode == BEARING_WEAR:
        return {"growth": rng.uniform(3.5, 5.0), "heat": rng.uniform(3.0, 8.0)}
    if failure_mode == OVERHEATING:
        return {"current_rise": rng.uniform(0.08, 0.15)}
    if failure_mode == IMBALANCE:
        return {"step": rng.uniform(0.25, 0.4), "heat": rng.uniform(1.0, 3.0)}
    if failure_mode == LUBRICATION_LOSS:
        return {"vibration_share": rng.uniform(0.6, 0.85)}
    if failure_mode == ELECTRICAL_FAULT:
        return {"heat": rng.uniform(4.0, 10.0)}
    raise ValueError(f"unknown failure mode {failure_mode!r}")


def _fault_apply(
    fault: Fault,
    progress: float,
    *,
    load: float,
    values: dict[str, float],
    models: Mapping[str, MetricModel],
    noise: random.Random,
) -> None:
    """Move the healthy values the way this kind of fault does, `progress` of the way to failure."""
    _FAULT_EFFECTS[fault.failure_mode](fault.shape, progress, load=load, values=values, models=models, noise=noise)


def _bearing_wear(
    shape: dict[str, float],
    p: float,
    *,
    load: float,
    values: dict[str, float],
    models: Mapping[str, MetricModel],
    noise: random.Random,
) -> None:
    heat = shape["heat"] * p * p
    _shift(values, TEMPERATURE, heat)
    _shift(values, OIL_TEMPERATURE, 0.5 * heat)
    vibration = models.get(VIBRATION)
    if vibration is not None:
        growth = shape["growth"]
        delta = vibration.headroom * math.expm1(growth * p) / math.expm1(growth)
        # A spalled race knocks: impacts get likelier and harder as the damage spreads.
        if noise.random() < 0.01 + 0.2 * p * p:
            delta += noise.uniform(0.3, 1.0) * (0.05 + 0.35 * p) * vibration.headroom
        values[VIBRATION] += delta


def _overheating(
    shape: dict[str, float],
    p: float,
    *,
    load: float,
    values: dict[str, float],
    models: Mapping[str, MetricModel],
    noise: random.Random,
) -> None:
    rise = p**1.6
    temperature = models.get(TEMPERATURE)
    if temperature is not None:
        # Worse under load: the drift is a tenth larger at the afternoon peak, smaller at night.
        heat = temperature.headroom * rise * (1.1 + 0.1 * load)
        values[TEMPERATURE] += heat
        _shift(values, OIL_TEMPERATURE, 0.5 * heat)
    current = models.get(CURRENT)
    if current is not None:
        values[CURRENT] += shape["current_rise"] * current.mean * rise


def _imbalance(
    shape: dict[str, float],
    p: float,
    *,
    load: float,
    values: dict[str, float],
    models: Mapping[str, MetricModel],
    noise: random.Random,
) -> None:
    vibration = models.get(VIBRATION)
    if vibration is not None:
        # A thrown balance weight or a shifted coupling: a jump at onset, then wear makes it worse.
        step = shape["step"]
        values[VIBRATION] += vibration.headroom * (step + (1.0 - step) * p**1.4)
    _shift(values, TEMPERATURE, shape["heat"] * p)


def _lubrication_loss(
    shape: dict[str, float],
    p: float,
    *,
    load: float,
    values: dict[str, float],
    models: Mapping[str, MetricModel],
    noise: random.Random,
) -> None:
    creep = p * p
    vibration = models.get(VIBRATION)
    if vibration is not None and vibration.alarm_max is not None and vibration.normal_max is not None:
        # Vibration climbs into the unsatisfactory zone but the heat is what trips the machine.
        target = vibration.normal_max + shape["vibration_share"] * (vibration.alarm_max - vibration.normal_max)
        values[VIBRATION] += (target - vibration.mean) * creep
    for name in (TEMPERATURE, OIL_TEMPERATURE):
        model = models.get(name)
        if model is not None:
            values[name] += model.headroom * creep


def _electrical_fault(
    shape: dict[str, float],
    p: float,
    *,
    load: float,
    values: dict[str, float],
    models: Mapping[str, MetricModel],
    noise: random.Random,
) -> None:
    instability = p * p
    current = models.get(CURRENT)
    if current is not None:
        values[CURRENT] += 0.1 * current.mean * p + noise.gauss(0.0, 0.12 * current.mean * instability)
        _shift(values, TEMPERATURE, shape["heat"] * p + noise.gauss(0.0, 1.2 * instability))
        return
    # No current sensor: the failing winding of the driving motor shows as erratic heat and a
    # jittery vibration signal.
    temperature = models.get(TEMPERATURE)
    if temperature is not None:
        values[TEMPERATURE] += temperature.headroom * p**1.5 + noise.gauss(0.0, 2.0 * instability)
    vibration = models.get(VIBRATION)
    if vibration is not None:
        values[VIBRATION] += abs(noise.gauss(0.0, 0.2 * vibration.mean * instability))


# One signature for every kind, so each takes the load and noise whether it uses them or not.
_FAULT_EFFECTS = {
    BEARING_WEAR: _bearing_wear,
    OVERHEATING: _overheating,
    IMBALANCE: _imbalance,
    LUBRICATION_LOSS: _lubrication_loss,
    ELECTRICAL_FAULT: _electrical_fault,
}
# The failure modes the simulator can play (a plant profile's fault kinds are some of these).
SIMULATED_FAILURE_MODES: tuple[str, ...] = tuple(_FAULT_EFFECTS)


def _shift(values: dict[str, float], name: str, delta: float) -> None:
    if name in values:
        values[name] += delta


def failing_metrics(failure_mode: str, metric_names: Collection[str]) -> list[str]:
    """Which of these metrics a failure of this kind drives past its alarm limit."""
    if failure_mode in (BEARING_WEAR, IMBALANCE):
        names = [VIBRATION]
    elif failure_mode == OVERHEATING:
        names = [TEMPERATURE]
    elif failure_mode == LUBRICATION_LOSS:
        names = [TEMPERATURE, OIL_TEMPERATURE]
    else:
        names = [CURRENT] if CURRENT in metric_names else [TEMPERATURE]
    return [name for name in names if name in metric_names]


def _datetime(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


# --- the plant ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Tick:
    readings: list[SimulatedReading]
    events: list[FaultEvent]


@dataclass(frozen=True, slots=True)
class PlantState:
    healthy: int
    developing: int
    down: int
    failures: int  # since the simulation started


class PlantSimulation:
    """All simulated machines, stepped together through the same instants."""

    def __init__(
        self,
        *,
        machines: Sequence[MachineProfile],
        seed: int,
        mtbf_hours: float = 200.0,
        error_codes: Mapping[str, str] = DEFAULT_ERROR_CODES,
        utc_offset_hours: float = 0.0,
        fault_kinds: Sequence[FaultKind] = FAULT_KINDS,
        downtime_hours: tuple[float, float] = DOWNTIME_HOURS,
        noise_scale: float = 1.0,
    ):
        """The defaults are the demo plant's; a plant profile (simulation.profiles) gives its own."""
        if mtbf_hours <= 0:
            raise ValueError("mtbf_hours must be positive")
        self.seed = seed
        self.fault_kinds = tuple(fault_kinds)
        self.machines: dict[str, MachineSimulation] = {}
        for profile in machines:
            if profile.code in self.machines:
                raise ValueError(f"machine {profile.code!r} is listed twice")
            self.machines[profile.code] = MachineSimulation(
                profile=profile,
                seed=seed,
                mtbf_hours=mtbf_hours,
                error_codes=error_codes,
                utc_offset_hours=utc_offset_hours,
                fault_kinds=fault_kinds,
                downtime_hours=downtime_hours,
                noise_scale=noise_scale,
            )
        self.failures = 0  # observed since the first tick
        self._first_tick: datetime.datetime | None = None

    def fault_force(
        self,
        *,
        machine_code: str,
        failure_at: datetime.datetime,
        failure_mode: str | None = None,
        started_before: datetime.datetime | None = None,
        development: datetime.timedelta | None = None,
    ) -> FaultRecord:
        modes = [kind.failure_mode for kind in self.fault_kinds]
        if failure_mode is not None and failure_mode not in modes:
            raise ValueError(f"unknown failure mode {failure_mode!r} (one of {', '.join(modes)})")
        if development is not None and development <= datetime.timedelta(0):
            raise ValueError("a fault's development must be positive")
        machine = self._machine(machine_code)
        return machine.fault_force(
            failure_at=failure_at, failure_mode=failure_mode, started_before=started_before, development=development
        ).record()

    def faults_between(
        self, *, machine_code: str, start: datetime.datetime, end: datetime.datetime
    ) -> list[FaultRecord]:
        return [fault.record() for fault in self._machine(machine_code).faults_between(start, end)]

    def fault_modes(self, machine_code: str) -> tuple[str, ...]:
        """The kinds of fault that strike this machine's type."""
        return tuple(kind.failure_mode for kind in self._machine(machine_code).fault_kinds)

    def tick(self, ts: datetime.datetime) -> Tick:
        if self._first_tick is None:
            self._first_tick = ts
        ts_s = ts.timestamp()
        readings = []
        events: list[FaultEvent] = []
        for machine in self.machines.values():
            reading = machine.step(ts, events, ts_s)
            if reading is not None:
                readings.append(reading)
        self._count_failures(events)
        return Tick(readings, events)

    def repair(self, *, machine_code: str, at: datetime.datetime) -> list[FaultEvent]:
        events: list[FaultEvent] = []
        if self._first_tick is None:
            self._first_tick = at
        self._machine(machine_code).repair(at=at, events=events)
        self._count_failures(events)
        return events

    def state(self) -> PlantState:
        states = [machine.state for machine in self.machines.values()]
        return PlantState(
            healthy=states.count(HEALTHY),
            developing=states.count(DEVELOPING),
            down=states.count(DOWN),
            failures=self.failures,
        )

    def _machine(self, code: str) -> MachineSimulation:
        try:
            return self.machines[code]
        except KeyError:
            raise ValueError(f"machine {code!r} is not simulated") from None

    def _count_failures(self, events: list[FaultEvent]) -> None:
        # A machine already down at the first tick failed before this run: ground truth, not news.
        self.failures += sum(
            1 for event in events if event.event == FAILED and event.fault.failed_at >= self._first_tick
        )


# --- time -----------------------------------------------------------------------------------------

_MICROSECOND = datetime.timedelta(microseconds=1)


def history_instants(
    *, start: datetime.datetime, end: datetime.datetime, step_seconds: float
) -> Iterator[datetime.datetime]:
    """The instants in [start, end) that are whole multiples of the step since the epoch.

    Aligned to the epoch rather than to `start`, so a second history over an overlapping window
    lands on the same instants and its readings are duplicates, not interleaved near-copies.
    """
    step_us = round(step_seconds * 1e6)
    if step_us <= 0:
        raise ValueError("the history step must be positive")
    start_us = (start - EPOCH) // _MICROSECOND
    end_us = (end - EPOCH) // _MICROSECOND
    t_us = -(-start_us // step_us) * step_us
    while t_us < end_us:
        yield EPOCH + datetime.timedelta(microseconds=t_us)
        t_us += step_us


SPEEDUP_NEEDS_DURATION = (
    "--speedup above 1 needs --duration: simulated time runs ahead of the wall clock, so the run starts "
    "duration * (speedup - 1) seconds in the past to end at the present; without an end it would publish "
    "readings from the future, which the listener rejects (more than 5 minutes ahead)."
)


@dataclass(frozen=True, slots=True)
class LiveClock:
    """Live tick k is the simulated instant start + k·speedup/rate, published at wall offset k/rate."""

    start: datetime.datetime
    rate: float
    speedup: float

    @classmethod
    def ending_at_present(
        cls, *, now: datetime.datetime, rate: float, speedup: float, duration_s: float | None
    ) -> "LiveClock":
        """A clock whose last tick is at the present (or runs with it, at speedup 1 or less)."""
        if rate <= 0 or speedup <= 0:
            raise ValueError("rate and speedup must be positive")
        lead_s = 0.0
        if speedup > 1:
            if duration_s is None:
                raise ValueError(SPEEDUP_NEEDS_DURATION)
            lead_s = duration_s * (speedup - 1)
        # Whole seconds, rounded down: ticks are never ahead of the wall clock.
        start = (now - datetime.timedelta(seconds=lead_s)).replace(microsecond=0)
        return cls(start=start, rate=rate, speedup=speedup)

    def simulated_at(self, tick: int) -> datetime.datetime:
        return self.start + datetime.timedelta(seconds=tick * self.speedup / self.rate)

    def wall_offset(self, tick: int) -> float:
        return tick / self.rate

    def simulated_after(self, *, wall_seconds: float) -> datetime.datetime:
        return self.start + datetime.timedelta(seconds=wall_seconds * self.speedup)

    def last_tick(self, *, duration_s: float) -> int:
        """The last tick inside a run of `duration_s` wall seconds (the one at the end included)."""
        return math.floor(duration_s * self.rate + 1e-9)
