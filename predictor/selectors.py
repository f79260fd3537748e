"""Reads for the predictor: the recent window of every machine, from the per-minute roll-ups."""

import datetime
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from predictor.ml.artifacts import artifact_verify
from predictor.ml.features import MachineWindow
from predictor.models import ModelKind, ModelVersion
from telemetry.models import Machine, MachineStatus, MetricSpec, Reading, ReadingMinute
from tickets.models import Ticket, TicketStatus


def machine_windows(
    *, end: datetime.datetime, hours: float, machines: Iterable[Machine] | None = None
) -> list[MachineWindow]:
    """Each machine's last `hours` of per-minute means, ending at `end`, in five queries whatever their number.

    Running machines by default. A minute's mean stands at the middle of its minute; metric
    ranges come from the machine's type, error codes from the readings that carried one, and the
    last repair from the machine's latest resolved ticket.
    """
    if machines is None:
        machines = Machine.objects.filter(status__in=[MachineStatus.RUNNING, MachineStatus.DEGRADED])
    machines = list(machines)
    start = end - datetime.timedelta(hours=hours)
    ids = [machine.id for machine in machines]

    minutes: dict[int, dict[datetime.datetime, dict[str, float]]] = defaultdict(dict)
    for machine_id, metric, minute, count, total in (
        ReadingMinute.objects.filter(machine_id__in=ids, minute__gte=start, minute__lte=end)
        .order_by()
        .values_list("machine_id", "metric", "minute", "count", "total")
    ):
        minutes[machine_id].setdefault(minute, {})[metric] = total / count

    ranges: dict[int, dict[str, tuple[float | None, float | None]]] = defaultdict(dict)
    type_of = {machine.id: machine.machine_type_id for machine in machines}
    for type_id, name, low, high in MetricSpec.objects.filter(machine_type_id__in=set(type_of.values())).values_list(
        "machine_type_id", "name", "normal_min", "normal_max"
    ):
        ranges[type_id][name] = (low, high)

    error_times: dict[int, list[float]] = defaultdict(list)
    for machine_id, ts in (
        Reading.objects.filter(machine_id__in=ids, ts__gte=start, ts__lte=end)
        .exclude(error_code="")
        .values_list("machine_id", "ts")
    ):
        error_times[machine_id].append(ts.timestamp())

    last_repair: dict[int, float] = {}
    for machine_id, resolved_at in (
        Ticket.objects.filter(machine_id__in=ids, status=TicketStatus.RESOLVED, resolved_at__lte=end)
        .order_by("machine_id", "resolved_at")
        .values_list("machine_id", "resolved_at")
    ):
        last_repair[machine_id] = resolved_at.timestamp()  # ordered, so the latest wins

    windows = []
    for machine in machines:
        by_minute = minutes.get(machine.id, {})
        stamps = sorted(by_minute)
        metric_names = sorted({name for values in by_minute.values() for name in values})
        windows.append(
            MachineWindow(
                machine_code=machine.code,
                ts=np.array([stamp.timestamp() + 30.0 for stamp in stamps], dtype=np.float64),
                values={
                    name: np.array([by_minute[stamp].get(name, np.nan) for stamp in stamps], dtype=np.float64)
                    for name in metric_names
                },
                normal_ranges=ranges.get(machine.machine_type_id, {}),
                error_code_times=np.array(sorted(error_times.get(machine.id, [])), dtype=np.float64),
                last_repair_ts=last_repair.get(machine.id),
            )
        )
    return windows


def active_model_versions() -> dict[str, ModelVersion]:
    return {version.kind: version for version in ModelVersion.objects.filter(is_active=True)}


def model_version_load(model_version: ModelVersion):
    """The one way to load a model: its directory must hash to the sha256 recorded when it was
    registered (ArtifactTampered otherwise), and TensorFlow is imported only for an LSTM."""
    artifact_verify(model_version.artifact_path, model_version.sha256)
    if model_version.kind == ModelKind.RANDOM_FOREST:
        from predictor.ml.forest import FailureForest  # noqa: PLC0415 - scikit-learn only when serving

        return FailureForest.load(model_version.artifact_path)
    from predictor.ml.rul import RulLstm  # noqa: PLC0415 - TensorFlow only when an LSTM is used

    return RulLstm.load(model_version.artifact_path)


def model_version_list(*, kind: str) -> list[ModelVersion]:
    """The kind's versions, newest first."""
    return list(ModelVersion.objects.filter(kind=kind).order_by("-trained_at"))


def model_version_previous(*, kind: str) -> ModelVersion | None:
    """The version that was active before the current one: the latest activated of the inactive ones."""
    return (
        ModelVersion.objects.filter(kind=kind, is_active=False, activated_at__isnull=False)
        .order_by("-activated_at")
        .first()
    )
