"""The training sources of `train_models` (settings.TRAINING_SOURCES): simulated history with the
simulator's ground truth, or the stored readings labelled by that ground truth and by the tickets
resolved as failure_confirmed."""

import datetime
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from core.clock import now_or
from predictor.ml.features import MachineWindow
from predictor.selectors import machine_windows
from predictor.training import TrainingData, TrainingRequest
from simulation.engine import PlantSimulation, history_instants
from simulation.models import SimulatedFault
from simulation.runner import plant_load
from telemetry.models import Machine
from telemetry.selectors import machine_list
from tickets.models import Ticket, TicketOutcome, TicketStatus


def simulated_history(request: TrainingRequest) -> TrainingData:
    return training_data_simulate(
        days=request.days,
        machine_count=request.machine_count,
        seed=request.seed,
        mtbf_hours=request.mtbf_hours,
        end=request.end,
    )


def stored_history(request: TrainingRequest) -> TrainingData:
    return training_data_database(days=request.days, end=request.end)


def training_data_simulate(
    *, days: float, machine_count: int | None, seed: int, mtbf_hours: float, end: datetime.datetime | None = None
) -> TrainingData:
    """`days` of simulated history ending at `end` (now), in memory, one reading a minute per machine.

    The same `end` and seed give the same history, and so the same model, on any date."""
    plant = plant_load(machine_count=machine_count, seed=seed, mtbf_hours=mtbf_hours)
    end = now_or(end)
    start = end - datetime.timedelta(days=days)
    windows, faults = simulation_record(
        plant.simulation,
        codes=list(plant.machine_ids),
        start=start,
        end=end,
        normal_ranges=_normal_ranges(plant.machine_ids),
    )
    description = {
        "source": "simulate",
        "machines": len(windows),
        "machine_types": _machine_types(plant.machine_ids.values()),
        "machine_codes": sorted(plant.machine_ids),
        "days": days,
        "seed": seed,
        "mtbf_hours": mtbf_hours,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "failures": sum(1 for fault in faults if fault["failed_at"] is not None),
    }
    return TrainingData(
        windows=windows, faults=faults, description=description, machine_types=_type_of_machine(plant.machine_ids)
    )


def simulation_record(
    simulation: PlantSimulation,
    *,
    codes: Sequence[str],
    start: datetime.datetime,
    end: datetime.datetime,
    normal_ranges: Mapping[str, dict[str, tuple[float | None, float | None]]],
) -> tuple[list[MachineWindow], list[dict]]:
    """Run the simulation from `start` to `end`, a reading a minute, in memory: each machine's
    window (of `codes`, in that order) and the ground truth of every fault that happened."""
    stamps: dict[str, list[float]] = defaultdict(list)
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    error_times: dict[str, list[float]] = defaultdict(list)
    faults: dict[tuple[str, datetime.datetime], dict] = {}
    for ts in history_instants(start=start, end=end, step_seconds=60):
        tick = simulation.tick(ts)
        for reading in tick.readings:
            code = reading.machine_code
            stamps[code].append(reading.ts.timestamp())
            for name, value in reading.metrics.items():
                # Pad metrics that appear late so every list stays aligned with the timestamps.
                column = values[code][name]
                column.extend([np.nan] * (len(stamps[code]) - 1 - len(column)))
                column.append(value)
            if reading.error_code:
                error_times[code].append(reading.ts.timestamp())
        for event in tick.events:
            record = event.fault
            faults[(record.machine_code, record.started_at)] = {
                "machine_code": record.machine_code,
                "failure_mode": record.failure_mode,
                "started_at": record.started_at,
                "failed_at": record.failed_at,
                "repaired_at": record.repaired_at,
            }
    windows = []
    for code in codes:
        count = len(stamps[code])
        windows.append(
            MachineWindow(
                machine_code=code,
                ts=np.array(stamps[code], dtype=np.float64),
                values={
                    name: np.array(column + [np.nan] * (count - len(column)), dtype=np.float64)
                    for name, column in values[code].items()
                },
                normal_ranges=normal_ranges.get(code, {}),
                error_code_times=np.array(error_times[code], dtype=np.float64),
            )
        )
    return windows, list(faults.values())


def training_data_database(*, days: float, end: datetime.datetime | None = None) -> TrainingData:
    """Stored roll-ups of every machine, labelled by the simulator's ground truth and by tickets
    resolved as failure_confirmed (their downtime start, or their start, is the failure)."""
    end = now_or(end)
    start = end - datetime.timedelta(days=days)
    windows = machine_windows(end=end, hours=days * 24, machines=Machine.objects.all())
    faults = [
        {
            "machine_code": fault.machine.code,
            "failure_mode": fault.failure_mode,
            "started_at": fault.started_at,
            "failed_at": fault.failed_at,
            "repaired_at": fault.repaired_at,
        }
        for fault in SimulatedFault.objects.filter(started_at__lte=end, planned_failure_at__gte=start).select_related(
            "machine"
        )
    ]
    for ticket in Ticket.objects.filter(
        status=TicketStatus.RESOLVED, outcome=TicketOutcome.FAILURE_CONFIRMED, resolved_at__gte=start
    ).select_related("machine", "error_code"):
        failed_at = ticket.downtime_start or ticket.started_at
        faults.append(
            {
                "machine_code": ticket.machine.code,
                "failure_mode": ticket.error_code.failure_mode if ticket.error_code else "other",
                "started_at": ticket.opened_at,
                "failed_at": failed_at,
                "repaired_at": ticket.resolved_at,
            }
        )
    description = {
        "source": "db",
        "machines": len(windows),
        "machine_types": _machine_types(Machine.objects.values_list("id", flat=True)),
        "machine_codes": sorted(Machine.objects.values_list("code", flat=True)),
        "days": days,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "failures": sum(1 for fault in faults if fault["failed_at"] is not None),
    }
    return TrainingData(
        windows=windows,
        faults=faults,
        description=description,
        machine_types=_type_of_machine(window.machine_code for window in windows),
    )


def _type_of_machine(codes) -> dict[str, str]:
    """Each machine's type name, by code."""
    return dict(Machine.objects.filter(code__in=list(codes)).values_list("code", "machine_type__name"))


def _machine_types(machine_ids) -> list[str]:
    """The names of the machine types the history covers: a model serves only these."""
    return sorted(set(Machine.objects.filter(id__in=list(machine_ids)).values_list("machine_type__name", flat=True)))


def _normal_ranges(machine_ids: dict[str, int]) -> dict[str, dict[str, tuple]]:
    ranges = {}
    for machine in machine_list().filter(id__in=machine_ids.values()):
        ranges[machine.code] = {
            spec.name: (spec.normal_min, spec.normal_max) for spec in machine.machine_type.metrics.all()
        }
    return ranges
