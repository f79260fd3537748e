"""The `plant` training source of `train_models` (settings.TRAINING_SOURCES): the stored readings,
labelled only by what the plant recorded (breakdowns and the outcomes of resolved tickets), as a plant
that runs no simulator has nothing else. It lives here because those records are this app's."""

import dataclasses
import datetime

import numpy as np

from core.clock import now_or
from predictor.ml.features import REPAIR_HOURS_CAP
from predictor.selectors import machine_windows
from predictor.training import TrainingData, TrainingRequest
from telemetry.models import Machine
from tickets.selectors import plant_records


def plant_history(request: TrainingRequest) -> TrainingData:
    return training_data_plant(days=request.days, end=request.end)


def training_data_plant(*, days: float, end: datetime.datetime | None = None) -> TrainingData:
    """`days` of every machine's stored roll-ups ending at `end` (now), labelled by tickets.selectors.plant_records.

    Failures are positive within the horizon before them, preventive fixes from their alert to the
    technician's work, false alarms hard negatives, the rest negative by the horizon rule
    (predictor.ml.features.training_samples, which also says what it leaves out and why). The
    description counts each kind of event (`label_events`) for train_models to print, refuse too few
    of, and keep in the model version's metadata.
    """
    end = now_or(end)
    start = end - datetime.timedelta(days=days)
    machines = Machine.objects.select_related("machine_type").order_by("id")
    # Repairs from before the history still set the first samples' hours since the last repair, up to its cap.
    records = plant_records(start=start, end=end, repairs_since=start - datetime.timedelta(hours=REPAIR_HOURS_CAP))
    windows = [
        dataclasses.replace(window, repair_times=np.array(records.repairs.get(window.machine_code, []), dtype=float))
        for window in machine_windows(end=end, hours=days * 24, machines=machines)
    ]
    description = {
        "source": "plant",
        "machines": len(windows),
        "machine_types": sorted({machine.machine_type.name for machine in machines}),
        "machine_codes": sorted(machine.code for machine in machines),
        "days": days,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "failures": sum(1 for fault in records.failures if fault["failed_at"] is not None),
        "label_events": {
            "failures": len(records.failures),
            "preventive_fixes": len(records.prevented),
            "false_alarms": len(records.normal_periods),
        },
    }
    return TrainingData(
        windows=windows,
        faults=records.failures,
        description=description,
        prevented=records.prevented,
        normal_periods=records.normal_periods,
        machine_types={machine.code: machine.machine_type.name for machine in machines},
    )
