"""Reads for the predictor: the recent window of every machine, from the per-minute roll-ups."""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery

from core.wiring import wired
from predictor.ml.artifacts import artifact_verify, metadata_read_if_any
from predictor.ml.features import ERROR_CODE_WINDOW_S, MachineWindow
from predictor.ml.predict import DEFAULT_HORIZON_HOURS, LoadedArtifact
from predictor.models import MachineHealth, ModelKind, ModelVersion, Prediction, SensorWarning, ShadowPrediction
from predictor.partitions import WHOLE_PLANT, Partition
from telemetry.models import Machine, MachineStatus, MetricSpec, ReadingMinute
from telemetry.selectors import reading_error_code_times

# A minute's mean stands at the middle of its minute.
MINUTE_MIDDLE_S = 30.0
ERROR_CODE_WINDOW = datetime.timedelta(seconds=ERROR_CODE_WINDOW_S)

# Machines and the start of the period to read for them.
Spans = Sequence[tuple[Sequence[int], datetime.datetime]]


@dataclass(frozen=True)
class MachineRef:
    id: int
    code: str
    machine_type_id: int
    machine_type: str = ""  # its name


@dataclass(frozen=True)
class MinuteMeans:
    """Per-minute means of many machines, one entry per machine, metric and minute, in no set order."""

    machine_ids: np.ndarray  # int64
    metric_names: tuple[str, ...]  # sorted
    metrics: np.ndarray  # index into metric_names
    minutes: np.ndarray  # int64 epoch seconds at the start of the minute
    means: np.ndarray  # float64


@dataclass(frozen=True)
class MachineMinutes:
    """One machine's minutes (int64 epoch seconds, ascending) and their means, a column per metric
    name of the MinuteMeans they came from (NaN where a minute lacks the metric)."""

    minutes: np.ndarray
    means: np.ndarray  # (minutes, metric names)


def machines_to_score(
    machines: Iterable[Machine] | None = None, *, partition: Partition = WHOLE_PLANT
) -> list[MachineRef]:
    """The given machines, or every running (or degraded) one of `partition`, ordered by id."""
    if machines is not None:
        return sorted(
            (MachineRef(m.id, m.code, m.machine_type_id, m.machine_type.name) for m in machines), key=lambda ref: ref.id
        )
    running = Machine.objects.filter(status__in=[MachineStatus.RUNNING, MachineStatus.DEGRADED]).order_by("id")
    # Filtered here rather than in SQL: CRC-32 is no function SQLite and PostgreSQL share, and the
    # list of codes is small beside the readings read for them.
    return [
        MachineRef(*row)
        for row in running.values_list("id", "code", "machine_type_id", "machine_type__name")
        if partition.holds(row[1])
    ]


def metric_units(*, machine_type_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Per machine type, each metric's unit."""
    units: dict[int, dict[str, str]] = {}
    for type_id, name, unit in MetricSpec.objects.filter(machine_type_id__in=set(machine_type_ids)).values_list(
        "machine_type_id", "name", "unit"
    ):
        units.setdefault(type_id, {})[name] = unit
    return units


def metric_ranges(*, machine_type_ids: Iterable[int]) -> dict[int, dict[str, tuple[float | None, float | None]]]:
    """Per machine type, each metric's normal range."""
    ranges: dict[int, dict[str, tuple[float | None, float | None]]] = {}
    for type_id, name, low, high in MetricSpec.objects.filter(machine_type_id__in=set(machine_type_ids)).values_list(
        "machine_type_id", "name", "normal_min", "normal_max"
    ):
        ranges.setdefault(type_id, {})[name] = (low, high)
    return ranges


def minute_means(*, spans: Spans, end: datetime.datetime) -> MinuteMeans:
    """In one query, the per-minute means of each span's machines from its start to `end`, both included.

    On PostgreSQL the database packs each metric's entries into binary arrays, so that a million
    minutes cross as a few rows instead of a million Python tuples.
    """
    spans = [(list(ids), start) for ids, start in spans if len(ids)]
    if not spans:
        return _minute_means_from([], [], [], [], [])
    if connection.vendor == "postgresql":
        return _minute_means_postgresql(spans, end)
    condition = Q()
    for ids, start in spans:
        condition |= Q(machine_id__in=ids, minute__gte=start)
    rows = (
        ReadingMinute.objects.filter(condition, minute__lte=end)
        .order_by()
        .values_list("machine_id", "metric", "minute", "count", "total")
    )
    machine_ids, metrics, minutes, means = [], [], [], []
    for machine_id, metric, minute, count, total in rows:
        machine_ids.append(machine_id)
        metrics.append(metric)
        minutes.append(round(minute.timestamp()))
        means.append(total / count)
    return _minute_means_from(metrics, [1] * len(metrics), machine_ids, minutes, means)


def _minute_means_postgresql(spans: Spans, end: datetime.datetime) -> MinuteMeans:
    table = ReadingMinute._meta.db_table
    conditions = " OR ".join("(machine_id = ANY(%s::bigint[]) AND minute >= %s)" for _ in spans)
    params: list = [end]
    for ids, start in spans:
        # As an array literal: psycopg would adapt a list of a thousand ids one by one, in Python.
        params += ["{" + ",".join(str(int(machine_id)) for machine_id in ids) + "}", start]
    # One row per metric: grouping by machine as well made ten times the rows and twice the database
    # time. date_part (a float, exact for whole seconds) is cheaper than extract (a numeric).
    sql = f"""
        SELECT metric,
               array_send(array_agg(machine_id::bigint)),
               array_send(array_agg(date_part('epoch', minute)::bigint)),
               array_send(array_agg(total / "count"))
        FROM {table}
        WHERE minute <= %s AND ({conditions})
        GROUP BY metric
    """  # noqa: S608 - the table name is ours, every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        groups = cursor.fetchall()
    # The aggregates of a group see its rows in the same order, so the three arrays stay aligned.
    machine_ids = [_binary_array(bytes(packed), ">i8") for _, packed, _, _ in groups]
    return _minute_means_from(
        [metric for metric, *_ in groups],
        [len(ids) for ids in machine_ids],
        np.concatenate(machine_ids) if groups else [],
        np.concatenate([_binary_array(bytes(packed), ">i8") for _, _, packed, _ in groups]) if groups else [],
        np.concatenate([_binary_array(bytes(packed), ">f8") for *_, packed in groups]) if groups else [],
    )


def _binary_array(packed: bytes, element: str) -> np.ndarray:
    """The values of a one-dimensional PostgreSQL array without NULLs in its binary form (array_send):
    a header (dimensions, NULL flag, element type, length, lower bound), then length-prefixed values."""
    dimensions, has_nulls, _element_type, length, _lower_bound = np.frombuffer(packed, ">i4", count=5)
    if dimensions != 1 or has_nulls:
        raise ValueError("expected a one-dimensional array without NULLs")
    values = np.frombuffer(packed, [("size", ">i4"), ("value", element)], count=length, offset=20)["value"]
    return values.astype(element.replace(">", "="))


def _minute_means_from(group_metrics: Sequence[str], group_sizes: Sequence[int], machine_ids, minutes, means):
    """MinuteMeans from groups of consecutive entries that share a metric."""
    names = tuple(sorted(set(group_metrics)))
    column = {name: index for index, name in enumerate(names)}
    return MinuteMeans(
        machine_ids=np.asarray(machine_ids, dtype=np.int64),
        metric_names=names,
        metrics=np.repeat(np.array([column[name] for name in group_metrics], dtype=np.intp), group_sizes),
        minutes=np.asarray(minutes, dtype=np.int64),
        means=np.asarray(means, dtype=np.float64),
    )


def minutes_by_machine(means: MinuteMeans, columns: Sequence[str] | None = None) -> dict[int, MachineMinutes]:
    """The flat means turned into each machine's minutes, a row per minute and a column per metric.

    The columns are `means.metric_names`, or `columns` (which must hold them all) so that means read
    at different times line up.
    """
    columns = means.metric_names if columns is None else tuple(columns)
    if not len(means.machine_ids):
        return {}
    column_of = np.array([columns.index(name) for name in means.metric_names], dtype=np.intp)
    # One sort key, machine then minute; a stable sort is fast on the runs the database returns.
    minute_numbers = means.minutes // 60
    key = (means.machine_ids << 32) | (minute_numbers - minute_numbers.min())
    order = np.argsort(key, kind="stable")
    machine_ids, minutes, key = means.machine_ids[order], means.minutes[order], key[order]
    new_row = np.r_[True, key[1:] != key[:-1]]
    row = np.cumsum(new_row) - 1
    grid = np.full((row[-1] + 1, len(columns)), np.nan)
    grid[row, column_of[means.metrics[order]]] = means.means[order]
    row_machines, row_minutes = machine_ids[new_row], minutes[new_row]
    starts = np.flatnonzero(np.r_[True, row_machines[1:] != row_machines[:-1]])
    ends = np.r_[starts[1:], len(row_machines)]
    return {
        int(row_machines[start]): MachineMinutes(row_minutes[start:end], grid[start:end])
        for start, end in zip(starts, ends, strict=True)
    }


def error_code_times(*, spans: Spans, end: datetime.datetime) -> dict[int, np.ndarray]:
    """Per machine, the epoch seconds (ascending) of its readings that carried an error code, from each
    span's start to `end`."""
    times: dict[int, list[float]] = {}
    for machine_id, ts in reading_error_code_times(spans=spans, end=end):
        times.setdefault(machine_id, []).append(ts.timestamp())
    return {machine_id: np.array(stamps, dtype=np.float64) for machine_id, stamps in times.items()}


def last_repairs(*, machine_ids: Sequence[int], end: datetime.datetime) -> dict[int, float]:
    """Per machine, when it was last repaired up to `end` (epoch seconds), from the app that records
    repairs (settings.LAST_REPAIRS_SELECTOR: the tickets app, which is above this one)."""
    return wired("LAST_REPAIRS_SELECTOR")(machine_ids=machine_ids, end=end)


def machine_window(
    machine: MachineRef,
    minutes: MachineMinutes | None,
    metric_names: Sequence[str],
    *,
    normal_ranges: dict[str, tuple[float | None, float | None]],
    error_times: np.ndarray | None,
    last_repair_ts: float | None,
) -> MachineWindow:
    """A MachineWindow of one machine's minutes; a metric is in it when one of its minutes has it."""
    if minutes is None or not len(minutes.minutes):
        ts, values = np.empty(0, dtype=np.float64), {}
    else:
        ts = minutes.minutes.astype(np.float64) + MINUTE_MIDDLE_S
        reported = ~np.isnan(minutes.means).all(axis=0)
        values = {name: minutes.means[:, column] for column, name in enumerate(metric_names) if reported[column]}
    return MachineWindow(
        machine_code=machine.code,
        ts=ts,
        values=values,
        normal_ranges=normal_ranges,
        error_code_times=error_times if error_times is not None else np.empty(0, dtype=np.float64),
        last_repair_ts=last_repair_ts,
    )


def machine_windows(
    *, end: datetime.datetime, hours: float, machines: Iterable[Machine] | None = None
) -> list[MachineWindow]:
    """Each machine's last `hours` of per-minute means, ending at `end`, in five queries whatever their number.

    Running machines by default, in id order. Metric ranges come from the machine's type, error
    codes from the readings that carried one (over the last day at least, as the error-code
    feature counts a day), and the last repair from the machine's latest resolved ticket.
    """
    refs = machines_to_score(machines)
    ids = [machine.id for machine in refs]
    start = end - datetime.timedelta(hours=hours)
    means = minute_means(spans=[(ids, start)], end=end)
    by_machine = minutes_by_machine(means)
    ranges = metric_ranges(machine_type_ids={machine.machine_type_id for machine in refs})
    errors = error_code_times(spans=[(ids, min(start, end - ERROR_CODE_WINDOW))], end=end)
    repairs = last_repairs(machine_ids=ids, end=end)
    return [
        machine_window(
            machine,
            by_machine.get(machine.id),
            means.metric_names,
            normal_ranges=ranges.get(machine.machine_type_id, {}),
            error_times=errors.get(machine.id),
            last_repair_ts=repairs.get(machine.id),
        )
        for machine in refs
    ]


def active_model_versions() -> dict[str, ModelVersion]:
    return {version.kind: version for version in ModelVersion.objects.filter(is_active=True)}


def model_version_artifact_load(model_version: ModelVersion) -> LoadedArtifact:
    """The one way to load a model, with the metadata its training recorded (for predictor.ml.predict):
    its directory must hash to the sha256 recorded when it was registered (ArtifactTampered otherwise),
    and TensorFlow is imported only for an LSTM."""
    artifact_verify(model_version.artifact_path, model_version.sha256)
    if model_version.kind == ModelKind.RANDOM_FOREST:
        from predictor.ml.forest import FailureForest  # noqa: PLC0415 - scikit-learn only when serving

        model = FailureForest.load(model_version.artifact_path)
    else:
        from predictor.ml.rul import RulLstm  # noqa: PLC0415 - TensorFlow only when an LSTM is used

        model = RulLstm.load(model_version.artifact_path)
    return LoadedArtifact(model, metadata_read_if_any(model_version.artifact_path))


def model_version_load(model_version: ModelVersion):
    """The model alone, loaded as `model_version_artifact_load` loads it."""
    return model_version_artifact_load(model_version).model


def model_version_list(*, kind: str) -> list[ModelVersion]:
    """The kind's versions, newest first."""
    return list(ModelVersion.objects.filter(kind=kind).order_by("-trained_at"))


def serving_model_versions(*, challenger_key: str) -> dict[str, ModelVersion]:
    """The active version of each kind, and the forest's challenger under `challenger_key`, in one query."""
    serving = {}
    for version in ModelVersion.objects.filter(Q(is_active=True) | Q(is_challenger=True, kind=ModelKind.RANDOM_FOREST)):
        serving[version.kind if version.is_active else challenger_key] = version
    return serving


def challenger_version(*, kind: str = ModelKind.RANDOM_FOREST) -> ModelVersion | None:
    """The version of this kind scoring in shadow, if any."""
    return ModelVersion.objects.filter(kind=kind, is_challenger=True).first()


def newest_model_version(*, kind: str = ModelKind.RANDOM_FOREST) -> ModelVersion | None:
    """The version of this kind trained last, whatever its role."""
    return ModelVersion.objects.filter(kind=kind).order_by("-trained_at", "-id").first()


def model_version_horizon_hours(model_version: ModelVersion) -> float:
    """The horizon its probability speaks of, as its training recorded it."""
    return float(metadata_read_if_any(model_version.artifact_path).get("horizon_hours", DEFAULT_HORIZON_HOURS))


@dataclass(frozen=True)
class ScoreSeries:
    """One version's failure probabilities over a period, one entry per machine and tick, in no set order."""

    machine_codes: np.ndarray  # str
    times: np.ndarray  # epoch seconds
    scores: np.ndarray
    # Whether each score could have opened an alert (a shadow prediction's may_open); None: every one.
    may_open: np.ndarray | None = None


def score_series(model_version: ModelVersion, *, start: datetime.datetime, end: datetime.datetime) -> ScoreSeries:
    """What a version said between `start` and `end`: its shadow predictions while it was a challenger,
    its predictions while it was active."""
    shadow = model_version.is_challenger
    source = ShadowPrediction.objects if shadow else Prediction.objects
    fields = ("machine__code", "ts", "failure_probability", *(("may_open",) if shadow else ()))
    rows = source.filter(model_version=model_version, ts__gte=start, ts__lte=end).values_list(*fields)
    codes, times, scores, may_open = [], [], [], []
    for code, ts, probability, *believed in rows.iterator(chunk_size=10_000):
        codes.append(code)
        times.append(ts.timestamp())
        scores.append(probability)
        may_open.extend(believed)
    return ScoreSeries(
        np.asarray(codes, dtype=str),
        np.asarray(times, dtype=np.float64),
        np.asarray(scores),
        np.asarray(may_open, dtype=bool) if shadow else None,
    )


def model_version_machine_count(
    model_version: ModelVersion, *, start: datetime.datetime, end: datetime.datetime
) -> int:
    """How many machines the version scored between `start` and `end` (as score_series reads them)."""
    source = ShadowPrediction.objects if model_version.is_challenger else Prediction.objects
    return source.filter(model_version=model_version, ts__gte=start, ts__lte=end).values("machine").distinct().count()


def model_version_previous(*, kind: str) -> ModelVersion | None:
    """The version that was active before the current one: the latest activated of the inactive ones."""
    return (
        ModelVersion.objects.filter(kind=kind, is_active=False, activated_at__isnull=False)
        .order_by("-activated_at")
        .first()
    )


# --- for the API: the dashboard's machine cards and pages ---------------------------------------


def prediction_list(
    *,
    machine_code: str | None = None,
    since: datetime.datetime | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
) -> QuerySet[Prediction]:
    """Predictions, newest first; `since` compares the time they were recorded (for catching up)."""
    predictions = Prediction.objects.select_related("machine", "error_code", "model_version", "rul_model_version")
    if machine_code is not None:
        predictions = predictions.filter(machine__code=machine_code)
    if since is not None:
        predictions = predictions.filter(created_at__gt=since)
    if start is not None:
        predictions = predictions.filter(ts__gte=start)
    if end is not None:
        predictions = predictions.filter(ts__lt=end)
    return predictions.order_by("-ts", "-pk")


def predictions_latest() -> dict[str, tuple[Prediction | None, SensorWarning | None]]:
    """Each machine's newest prediction, and its newest sensor warning when that came later (the
    predictor skipped the machine since): three queries whatever the plant's size, each latest row
    found through the (machine, -ts) index instead of scanning the history.
    """
    machines = Machine.objects.annotate(
        prediction_id=Subquery(
            Prediction.objects.filter(machine=OuterRef("pk")).order_by("-ts", "-pk").values("pk")[:1]
        ),
        warning_id=Subquery(
            SensorWarning.objects.filter(machine=OuterRef("pk")).order_by("-detected_at", "-pk").values("pk")[:1]
        ),
    ).values_list("code", "prediction_id", "warning_id")
    machines = list(machines)
    predictions = Prediction.objects.select_related(
        "machine", "error_code", "model_version", "rul_model_version"
    ).in_bulk([prediction_id for _, prediction_id, _ in machines if prediction_id is not None])
    warnings = SensorWarning.objects.in_bulk([warning_id for _, _, warning_id in machines if warning_id is not None])
    latest = {}
    for code, prediction_id, warning_id in machines:
        prediction, warning = predictions.get(prediction_id), warnings.get(warning_id)
        if warning is not None and prediction is not None and warning.detected_at <= prediction.created_at:
            warning = None
        latest[code] = (prediction, warning)
    return latest


def machine_health_by_code() -> dict[str, MachineHealth]:
    """Each machine's health model state and latest score, by machine code (machines the learning
    pass has not looked at yet are absent)."""
    return {health.machine.code: health for health in MachineHealth.objects.select_related("machine")}
