"""Plant profiles: the plant the simulator plays and the demo seeds, read from a TOML file.

A profile holds what makes one plant differ from another: its machine types (metrics, units and
limits, how a metric behaves and where its healthy mean sits), its machines, its noise, its fault
kinds (how often and how fast each develops, which types it strikes), its downtimes and its crew
(shifts, technicians, how fast they respond and work). `demo.toml` beside this module is today's
demo plant; the README's "Plant profiles" section documents the format.

Plain Python, like the engine it configures: no Django (the engine runs outside it). Every problem
in a file is reported as a ProfileError naming the file, the key and what is wrong with its value.
"""

import argparse
import datetime
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.engine import (
    METRIC_ROLES,
    SIMULATED_FAILURE_MODES,
    FaultKind,
    MachineProfile,
    MetricRange,
    PlantSimulation,
)

PROFILES_DIR = Path(__file__).resolve().parent
DEMO_PROFILE_PATH = PROFILES_DIR / "demo.toml"


class ProfileError(ValueError):
    """A profile file that cannot be played: the message names the file, the key and the problem."""


@dataclass(frozen=True)
class MetricProfile:
    name: str
    unit: str
    normal_min: float | None
    normal_max: float | None
    alarm_min: float | None
    alarm_max: float | None
    role: str | None = None  # None: as its name says (simulation.engine.METRIC_ROLES), else generic
    baseline_scale: float = 1.0
    baseline_offset: float = 0.0
    # What the sensor can read at all (telemetry.MetricSpec.physical_min/max); the simulator ignores it.
    physical_min: float | None = None
    physical_max: float | None = None

    def metric_range(self) -> MetricRange:
        return MetricRange(
            self.name,
            self.normal_min,
            self.normal_max,
            self.alarm_min,
            self.alarm_max,
            role=self.role,
            baseline_scale=self.baseline_scale,
            baseline_offset=self.baseline_offset,
        )


@dataclass(frozen=True)
class MachineTypeProfile:
    name: str
    description: str
    metrics: tuple[MetricProfile, ...]

    def metric(self, name: str) -> MetricProfile | None:
        return next((metric for metric in self.metrics if metric.name == name), None)


@dataclass(frozen=True)
class MachineEntry:
    code: str
    name: str
    machine_type: str
    line: str
    location: str
    installed_at: datetime.date


@dataclass(frozen=True)
class ShiftProfile:
    name: str
    starts_at: datetime.time  # plant-local wall-clock time (settings.TIME_ZONE)
    ends_at: datetime.time


@dataclass(frozen=True)
class TechnicianProfile:
    username: str
    first_name: str
    last_name: str
    shifts: tuple[str, ...]


@dataclass(frozen=True)
class CrewProfile:
    respond_minutes: tuple[float, float]  # from a ticket's assignment to starting work
    pace: tuple[float, float]  # actual job time ÷ the SOP's estimate
    default_job_hours: float  # a job without an SOP (or without estimates)
    shifts: tuple[ShiftProfile, ...]
    technicians: tuple[TechnicianProfile, ...]


@dataclass(frozen=True)
class PlantProfile:
    name: str
    description: str
    # None: the install's TIME_ZONE places the plant's load cycle (the runner asks Django).
    utc_offset_hours: float | None
    mtbf_hours: float
    downtime_hours: tuple[float, float]
    noise_scale: float
    machine_types: tuple[MachineTypeProfile, ...]
    machines: tuple[MachineEntry, ...]
    fault_kinds: tuple[FaultKind, ...]
    crew: CrewProfile
    path: Path | None = None

    def machine_type(self, name: str) -> MachineTypeProfile | None:
        return next((machine_type for machine_type in self.machine_types if machine_type.name == name), None)

    def metric_ranges(self, machine_type: str) -> tuple[MetricRange, ...]:
        return tuple(metric.metric_range() for metric in self.machine_type(machine_type).metrics)

    def machine_profiles(self) -> list[MachineProfile]:
        """The engine's view of every machine of the profile, without a database."""
        ranges = {machine_type.name: self.metric_ranges(machine_type.name) for machine_type in self.machine_types}
        return [
            MachineProfile(machine.code, ranges[machine.machine_type], machine_type=machine.machine_type)
            for machine in self.machines
        ]

    def simulation(
        self,
        *,
        seed: int,
        machines: Sequence[MachineProfile] | None = None,
        mtbf_hours: float | None = None,
        utc_offset_hours: float | None = None,
        error_codes: Mapping[str, str] | None = None,
    ) -> PlantSimulation:
        """The plant simulation of this profile (of its own machines unless `machines` are given)."""
        options = {"error_codes": error_codes} if error_codes is not None else {}
        offset = utc_offset_hours if utc_offset_hours is not None else self.utc_offset_hours
        return PlantSimulation(
            machines=self.machine_profiles() if machines is None else machines,
            seed=seed,
            mtbf_hours=self.mtbf_hours if mtbf_hours is None else mtbf_hours,
            utc_offset_hours=offset or 0.0,
            fault_kinds=self.fault_kinds,
            downtime_hours=self.downtime_hours,
            noise_scale=self.noise_scale,
            **options,
        )


def plant_profile_load(path: Path | str = DEMO_PROFILE_PATH) -> PlantProfile:
    """Read and check a profile file; a ProfileError names the file, the key and the problem."""
    path = Path(path)
    try:
        with path.open("rb") as profile_file:
            document = tomllib.load(profile_file)
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc
    return _Reader(path).plant(document)


# --- reading and checking -------------------------------------------------------------------------

_MISSING = object()
_PLANT_KEYS = {
    "name",
    "description",
    "utc_offset_hours",
    "mtbf_hours",
    "downtime_hours",
    "noise",
    "machine_types",
    "machines",
    "machine_groups",
    "fault_kinds",
    "crew",
}
_TYPE_KEYS = {"name", "description", "metrics"}
_METRIC_KEYS = {
    "name",
    "unit",
    "normal_min",
    "normal_max",
    "alarm_min",
    "alarm_max",
    "role",
    "baseline_scale",
    "baseline_offset",
    "physical_min",
    "physical_max",
}
_MACHINE_KEYS = {"code", "name", "type", "line", "location", "installed"}
_GROUP_KEYS = {"type", "code_prefix", "first", "count", "digits", "name", "line", "location", "installed"}
_FAULT_KEYS = {"failure_mode", "development_hours", "weight", "machine_types"}
_CREW_KEYS = {"respond_minutes", "pace", "default_job_hours", "shifts", "technicians"}
_SHIFT_KEYS = {"name", "starts", "ends"}
_TECHNICIAN_KEYS = {"username", "first_name", "last_name", "shifts"}


class _Reader:
    """Reads one profile document; every error says where (file and dotted key) and what."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, problem: str) -> ProfileError:
        return ProfileError(f"{self.path}: {key}: {problem}")

    # --- values ---

    def table(self, value: Any, key: str, allowed: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_kind(value)}")
        unknown = sorted(set(value) - allowed)
        if unknown:
            known = ", ".join(sorted(allowed))
            raise self.fail(_join(key, unknown[0]), f"unknown key (known: {known})")
        return value

    def tables(self, table: dict, key: str, where: str, *, required: bool = True) -> list:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            if required:
                raise self.fail(_join(where, key), "missing")
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.fail(_join(where, key), f"expected an array of tables, got {_kind(value)}")
        if required and not value:
            raise self.fail(_join(where, key), "must not be empty")
        return value

    def text(self, table: dict, key: str, where: str, *, default: Any = _MISSING) -> str:
        value = self._get(table, key, where, default)
        if not isinstance(value, str) or (default is _MISSING and not value.strip()):
            raise self.fail(_join(where, key), f"expected a non-empty string, got {_kind(value)}")
        return value

    def number(
        self,
        table: dict,
        key: str,
        where: str,
        *,
        default: Any = _MISSING,
        positive: bool = False,
        at_least: float | None = None,
    ) -> float | None:
        value = self._get(table, key, where, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(_join(where, key), f"expected a finite number, got {_kind(value)}")
        if positive and value <= 0:
            raise self.fail(_join(where, key), f"must be positive, got {value!r}")
        if at_least is not None and value < at_least:
            raise self.fail(_join(where, key), f"must be at least {at_least:g}, got {value!r}")
        return float(value)

    def integer(self, table: dict, key: str, where: str, *, default: Any = _MISSING, minimum: int = 0) -> int:
        value = self._get(table, key, where, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(_join(where, key), f"expected a whole number of at least {minimum}, got {value!r}")
        return value

    def span(self, table: dict, key: str, where: str, *, default: Any = _MISSING, positive: bool = False):
        value = self._get(table, key, where, default)
        name = _join(where, key)
        if (
            not isinstance(value, list | tuple)
            or len(value) != 2
            or not all(isinstance(item, int | float) and not isinstance(item, bool) for item in value)
            or not all(math.isfinite(item) for item in value)
        ):
            raise self.fail(name, f"expected [low, high], two finite numbers, got {value!r}")
        low, high = float(value[0]), float(value[1])
        if low > high:
            raise self.fail(name, f"low {low:g} is above high {high:g}")
        if low < 0 or (positive and low <= 0):
            raise self.fail(name, f"must be {'positive' if positive else 'zero or more'}, got {value!r}")
        return (low, high)

    def date(self, table: dict, key: str, where: str) -> datetime.date:
        value = self._get(table, key, where, _MISSING)
        if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
            raise self.fail(_join(where, key), f"expected a TOML date (2016-03-14), got {value!r}")
        return value

    def time(self, table: dict, key: str, where: str) -> datetime.time:
        value = self._get(table, key, where, _MISSING)
        if not isinstance(value, datetime.time):
            raise self.fail(_join(where, key), f"expected a TOML local time (06:00:00), got {value!r}")
        return value

    def names(self, table: dict, key: str, where: str, *, known: Sequence[str], what: str) -> tuple[str, ...]:
        value = self._get(table, key, where, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(_join(where, key), f"expected an array of strings, got {value!r}")
        for item in value:
            if item not in known:
                raise self.fail(_join(where, key), f"no {what} named {item!r} (known: {', '.join(known)})")
        return tuple(value)

    def _get(self, table: dict, key: str, where: str, default: Any) -> Any:
        value = table.get(key, default)
        if value is _MISSING:
            raise self.fail(_join(where, key), "missing")
        return value

    # --- sections ---

    def plant(self, document: dict) -> PlantProfile:
        self.table(document, "", _PLANT_KEYS)
        machine_types = tuple(
            self.machine_type(item, f"machine_types[{index}]")
            for index, item in enumerate(self.tables(document, "machine_types", ""))
        )
        _unique(self, [machine_type.name for machine_type in machine_types], "machine_types", "name")
        type_names = [machine_type.name for machine_type in machine_types]
        machines = [
            self.machine(item, f"machines[{index}]", type_names)
            for index, item in enumerate(self.tables(document, "machines", "", required=False))
        ]
        for index, item in enumerate(self.tables(document, "machine_groups", "", required=False)):
            machines.extend(self.machine_group(item, f"machine_groups[{index}]", type_names))
        if not machines:
            raise self.fail("machines", "the plant has no machines (give machines or machine_groups)")
        codes = [machine.code for machine in machines]
        for code in codes:
            if codes.count(code) > 1:
                raise self.fail("machines", f"the machine code {code!r} is given twice (machines and machine_groups)")
        fault_kinds = tuple(
            self.fault_kind(item, f"fault_kinds[{index}]", type_names)
            for index, item in enumerate(self.tables(document, "fault_kinds", ""))
        )
        _unique(self, [kind.failure_mode for kind in fault_kinds], "fault_kinds", "failure_mode")
        for machine_type in machine_types:
            if not any(kind.strikes(machine_type.name) for kind in fault_kinds):
                raise self.fail("fault_kinds", f"no fault kind strikes the machine type {machine_type.name!r}")
        if "crew" not in document:
            raise self.fail("crew", "missing")
        crew = self.crew(self.table(document["crew"], "crew", _CREW_KEYS))
        utc_offset = self.number(document, "utc_offset_hours", "", default=None)
        if utc_offset is not None and not -14 <= utc_offset <= 14:
            raise self.fail("utc_offset_hours", f"must lie between -14 and 14, got {utc_offset:g}")
        return PlantProfile(
            name=self.text(document, "name", ""),
            description=self.text(document, "description", "", default=""),
            utc_offset_hours=utc_offset,
            mtbf_hours=self.number(document, "mtbf_hours", "", positive=True),
            downtime_hours=self.span(document, "downtime_hours", "", positive=True),
            noise_scale=self.number(document, "noise", "", default=1.0, positive=True),
            machine_types=machine_types,
            machines=tuple(machines),
            fault_kinds=fault_kinds,
            crew=crew,
            path=self.path,
        )

    def machine_type(self, item: dict, where: str) -> MachineTypeProfile:
        self.table(item, where, _TYPE_KEYS)
        metrics = tuple(
            self.metric(metric, f"{where}.metrics[{index}]")
            for index, metric in enumerate(self.tables(item, "metrics", where))
        )
        _unique(self, [metric.name for metric in metrics], f"{where}.metrics", "name")
        roles = [metric.metric_range().behaves_as for metric in metrics]
        _unique(self, [role for role in roles if role is not None], f"{where}.metrics", "role")
        return MachineTypeProfile(
            name=self.text(item, "name", where),
            description=self.text(item, "description", where, default=""),
            metrics=metrics,
        )

    def metric(self, item: dict, where: str) -> MetricProfile:
        self.table(item, where, _METRIC_KEYS)
        limits = {key: self.number(item, key, where, default=None) for key in _LIMITS}
        normal_min, normal_max, alarm_min, alarm_max = (limits[key] for key in _LIMITS)
        for low_key, high_key in (
            ("normal_min", "normal_max"),
            ("alarm_min", "normal_min"),
            ("normal_max", "alarm_max"),
            ("alarm_min", "alarm_max"),
        ):
            low, high = limits[low_key], limits[high_key]
            if low is not None and high is not None and low > high:
                raise self.fail(f"{where}.{high_key}", f"{high:g} is below {low_key} {low:g}")
        role = item.get("role")
        if role is not None and role not in METRIC_ROLES:
            raise self.fail(f"{where}.role", f"{role!r} is not one of {', '.join(METRIC_ROLES)}")
        return MetricProfile(
            name=self.text(item, "name", where),
            unit=self.text(item, "unit", where, default=""),
            normal_min=normal_min,
            normal_max=normal_max,
            alarm_min=alarm_min,
            alarm_max=alarm_max,
            role=role,
            baseline_scale=self.number(item, "baseline_scale", where, default=1.0, positive=True),
            baseline_offset=self.number(item, "baseline_offset", where, default=0.0),
            **self._physical_range(item, where, limits),
        )

    def _physical_range(self, item: dict, where: str, limits: dict[str, float | None]) -> dict[str, float | None]:
        """physical_min and physical_max, which must hold every limit (as MetricSpec's constraints say)."""
        physical = {key: self.number(item, key, where, default=None) for key in ("physical_min", "physical_max")}
        low, high = physical["physical_min"], physical["physical_max"]
        for key, limit in limits.items():
            if limit is None:
                continue
            if low is not None and limit < low:
                raise self.fail(f"{where}.physical_min", f"{low:g} is above {key} {limit:g}")
            if high is not None and limit > high:
                raise self.fail(f"{where}.physical_max", f"{high:g} is below {key} {limit:g}")
        if low is not None and high is not None and low > high:
            raise self.fail(f"{where}.physical_max", f"{high:g} is below physical_min {low:g}")
        return physical

    def machine(self, item: dict, where: str, type_names: Sequence[str]) -> MachineEntry:
        self.table(item, where, _MACHINE_KEYS)
        return MachineEntry(
            code=self.text(item, "code", where),
            name=self.text(item, "name", where),
            machine_type=self._type_name(item, where, type_names),
            line=self.text(item, "line", where, default=""),
            location=self.text(item, "location", where, default=""),
            installed_at=self.date(item, "installed", where),
        )

    def machine_group(self, item: dict, where: str, type_names: Sequence[str]) -> list[MachineEntry]:
        self.table(item, where, _GROUP_KEYS)
        machine_type = self._type_name(item, where, type_names)
        prefix = self.text(item, "code_prefix", where)
        first = self.integer(item, "first", where, default=1)
        count = self.integer(item, "count", where, minimum=1)
        digits = self.integer(item, "digits", where, default=3, minimum=1)
        name = self.text(item, "name", where)
        if "{n}" not in name:
            raise self.fail(f"{where}.name", "must contain {n}, the machine's number in the group")
        line = self.text(item, "line", where, default="")
        location = self.text(item, "location", where, default="")
        installed = self.date(item, "installed", where)
        return [
            MachineEntry(
                code=f"{prefix}{number:0{digits}d}",
                name=name.replace("{n}", str(number - first + 1)),
                machine_type=machine_type,
                line=line,
                location=location,
                installed_at=installed,
            )
            for number in range(first, first + count)
        ]

    def _type_name(self, item: dict, where: str, type_names: Sequence[str]) -> str:
        name = self.text(item, "type", where)
        if name not in type_names:
            raise self.fail(f"{where}.type", f"no machine type named {name!r} (known: {', '.join(type_names)})")
        return name

    def fault_kind(self, item: dict, where: str, type_names: Sequence[str]) -> FaultKind:
        self.table(item, where, _FAULT_KEYS)
        mode = self.text(item, "failure_mode", where)
        if mode not in SIMULATED_FAILURE_MODES:
            raise self.fail(f"{where}.failure_mode", f"{mode!r} is not one of {', '.join(SIMULATED_FAILURE_MODES)}")
        return FaultKind(
            failure_mode=mode,
            development_hours=self.span(item, "development_hours", where, positive=True),
            weight=self.number(item, "weight", where, positive=True),
            machine_types=self.names(item, "machine_types", where, known=type_names, what="machine type"),
        )

    def crew(self, crew: dict) -> CrewProfile:
        shifts = tuple(
            self.shift(item, f"crew.shifts[{index}]") for index, item in enumerate(self.tables(crew, "shifts", "crew"))
        )
        _unique(self, [shift.name for shift in shifts], "crew.shifts", "name")
        shift_names = [shift.name for shift in shifts]
        technicians = tuple(
            self.technician(item, f"crew.technicians[{index}]", shift_names)
            for index, item in enumerate(self.tables(crew, "technicians", "crew"))
        )
        _unique(self, [technician.username for technician in technicians], "crew.technicians", "username")
        return CrewProfile(
            respond_minutes=self.span(crew, "respond_minutes", "crew"),
            pace=self.span(crew, "pace", "crew", positive=True),
            default_job_hours=self.number(crew, "default_job_hours", "crew", positive=True),
            shifts=shifts,
            technicians=technicians,
        )

    def shift(self, item: dict, where: str) -> ShiftProfile:
        self.table(item, where, _SHIFT_KEYS)
        return ShiftProfile(
            name=self.text(item, "name", where),
            starts_at=self.time(item, "starts", where),
            ends_at=self.time(item, "ends", where),
        )

    def technician(self, item: dict, where: str, shift_names: Sequence[str]) -> TechnicianProfile:
        self.table(item, where, _TECHNICIAN_KEYS)
        return TechnicianProfile(
            username=self.text(item, "username", where),
            first_name=self.text(item, "first_name", where, default=""),
            last_name=self.text(item, "last_name", where, default=""),
            shifts=self.names(item, "shifts", where, known=shift_names, what="shift"),
        )


_LIMITS = ("normal_min", "normal_max", "alarm_min", "alarm_max")


def _unique(reader: _Reader, values: Sequence[str], where: str, key: str) -> None:
    seen = set()
    for index, value in enumerate(values):
        if value in seen:
            raise reader.fail(f"{where}[{index}].{key}", f"{value!r} is given twice")
        seen.add(value)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    return "nothing" if value is _MISSING else f"{type(value).__name__} {value!r}"


def profile_argument(text: str) -> PlantProfile:
    """argparse's `type` for a --profile option: the loaded profile, or the loader's message as the error."""
    try:
        return plant_profile_load(text)
    except ProfileError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
