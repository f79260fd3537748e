"""Training glue: readings and ground truth → models → artifacts.

The models and features are in predictor.ml (no Django); the history and its labels come from a
training source that the composition root names (settings.TRAINING_SOURCES: the simulator, the
database), since what labels a plant has is known above this app; this module evaluates on a
split by machine and by time, writes each artifact with its metadata and plots, and leaves
registering it to predictor.services.
"""

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone

from predictor.ml.alerts import alert_report
from predictor.ml.artifacts import metadata_write
from predictor.ml.drift import drift_references
from predictor.ml.evaluation import binary_report
from predictor.ml.features import (
    FEATURE_METRICS,
    MachineWindow,
    TrainingSamples,
    split_by_machine_and_time,
    training_samples,
)
from predictor.ml.forest import FailureForest
from predictor.models import ModelKind

HORIZON_HOURS = 24.0
RUL_CAP_HOURS = 120.0
SAMPLE_EVERY_SECONDS = 1800.0
SEQUENCE_STEPS = 48
SEQUENCE_STEP_SECONDS = 900.0
LSTM_VALIDATION_MACHINE_FRACTION = 0.25
# On simulated plants the validation loss bottoms out within the first ten epochs and then climbs (the network
# learns the training machines); ten epochs without a better one end the run, the best epoch's weights are kept.
LSTM_EARLY_STOPPING_PATIENCE = 10
ALERT_THRESHOLD = 0.8
# An alert clears only once the probability falls below this (hysteresis, as the tickets' alerts).
ALERT_CLEAR_THRESHOLD = 0.5

Progress = Callable[[str], None]


@dataclass
class TrainingData:
    """History and its labels. `faults` are FaultTruth dicts; a plant's records add what they say
    beside failures: `prevented` (PreventedFault dicts: faults fixed before they broke anything) and
    `normal_periods` (NormalPeriod dicts: false alarms, the hard negatives). See training_samples.
    `machine_types`: each machine's type (code → type name), which the drift references are kept by."""

    windows: list[MachineWindow]
    faults: list[dict]
    description: dict
    prevented: list[dict] = field(default_factory=list)
    normal_periods: list[dict] = field(default_factory=list)
    machine_types: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingRequest:
    """What `train_models` asks a training source (settings.TRAINING_SOURCES) for: `days` of history
    ending at `end` (now); a simulated source also takes the plant's size, seed and fault rate."""

    days: float
    end: datetime.datetime | None = None
    machine_count: int | None = None
    seed: int = 1
    mtbf_hours: float = 200.0


@dataclass
class TrainedArtifact:
    kind: str
    version: str
    directory: Path
    metrics: dict
    description: str
    extra: dict = field(default_factory=dict)


def samples_build(data: TrainingData, *, with_sequences: bool) -> TrainingSamples:
    return training_samples(
        data.windows,
        data.faults,
        horizon_hours=HORIZON_HOURS,
        sample_every_seconds=SAMPLE_EVERY_SECONDS,
        rul_cap_hours=RUL_CAP_HOURS,
        with_sequences=with_sequences,
        sequence_steps=SEQUENCE_STEPS,
        sequence_step_seconds=SEQUENCE_STEP_SECONDS,
        prevented=data.prevented,
        normal_periods=data.normal_periods,
    )


def label_events_line(events: dict) -> str:
    """A plant source's label events in words: "failures 12, preventive fixes 3, false alarms 5 (hard negatives)"."""
    return (
        f"failures {events['failures']}, preventive fixes {events['preventive_fixes']}, "
        f"false alarms {events['false_alarms']} (hard negatives)"
    )


def too_few_failure_events(events: dict, *, minimum: int) -> str | None:
    """Why a history with these label events is too thin to train on, or None when it is not.

    Failure events are failures plus preventive fixes: both are a fault the forest learns to see
    coming (the hours before either are positive), and a plant whose maintenance works has more of
    the second kind than of the first. False alarms are negatives and do not count.
    """
    found = events["failures"] + events["preventive_fixes"]
    if found >= minimum:
        return None
    return (
        f"too few failure events to train on: {found} (failures {events['failures']} + preventive fixes "
        f"{events['preventive_fixes']}; false alarms {events['false_alarms']}, which do not count); "
        f"TRAINING_MIN_FAILURE_EVENTS is {minimum}: use more --days, or lower the setting"
    )


def artifact_directory(kind: str, version: str) -> Path:
    return Path(settings.MODEL_ARTIFACT_DIR) / kind / version


def version_name(seed: int) -> str:
    return f"{timezone.now():%Y%m%d-%H%M%S}-s{seed}"


def failures_in_samples(samples: TrainingSamples, mask: np.ndarray, faults: list[dict]) -> list[tuple[str, float]]:
    """(machine, failure time) of the failures the masked samples can see coming: at least one
    sample of that machine in the horizon before the failure."""
    times, codes = samples.times[mask], samples.machine_codes[mask]
    seen = []
    for fault in faults:
        failed_at = fault["failed_at"]
        if failed_at is None:
            continue
        failed_s = failed_at.timestamp() if hasattr(failed_at, "timestamp") else float(failed_at)
        before = (codes == fault["machine_code"]) & (times < failed_s) & (times >= failed_s - HORIZON_HOURS * 3600)
        if before.any():
            seen.append((fault["machine_code"], failed_s))
    return seen


def alert_metrics(samples: TrainingSamples, mask: np.ndarray, scores: np.ndarray, faults: list[dict]) -> dict:
    """Alerts at ALERT_THRESHOLD, as a manager would count them (see predictor.ml.alerts)."""
    report = alert_report(
        machine_codes=samples.machine_codes[mask],
        times=samples.times[mask],
        scores=scores,
        failures=failures_in_samples(samples, mask, faults),
        threshold=ALERT_THRESHOLD,
        clear_threshold=ALERT_CLEAR_THRESHOLD,
        horizon_seconds=HORIZON_HOURS * 3600,
        max_gap_seconds=2 * SAMPLE_EVERY_SECONDS,
    )
    return {
        "alert_threshold": ALERT_THRESHOLD,
        "alerts": report.alerts,
        "alert_precision": report.precision,
        "alert_recall": report.recall,
        "failures_in_test": report.failures,
        "failures_caught": report.failures_caught,
        "lead_time_median_hours": report.median_lead_hours,
    }


@dataclass
class ForestEvaluation:
    forest: FailureForest
    feature_names: list[str]
    metrics: dict
    test_labels: np.ndarray
    test_scores: np.ndarray
    drift_references: dict = field(default_factory=dict)


def forest_fit_evaluate(data: TrainingData, *, seed: int, progress: Progress) -> ForestEvaluation:
    """Fit on the training machines' early period, evaluate on held-out machines and the late period."""
    samples = samples_build(data, with_sequences=False)
    split = split_by_machine_and_time(samples.machine_codes, samples.times, gap_seconds=HORIZON_HOURS * 3600, seed=seed)
    progress(
        f"samples: {split.train.sum()} train, {split.test.sum()} test "
        f"(held-out machines {', '.join(split.test_machines)}; everyone after {_iso(split.test_from)})"
    )
    forest = FailureForest(random_state=seed).fit(
        samples.X[split.train],
        samples.y_failure[split.train],
        feature_names=samples.feature_names,
        y_mode=samples.y_mode[split.train],
        progress=progress,
    )
    scores = forest.predict_failure_probability(samples.X[split.test])
    metrics = binary_report(samples.y_failure[split.test], scores, threshold=forest.threshold)
    metrics.update(
        threshold=forest.threshold,
        test_samples=int(split.test.sum()),
        train_samples=int(split.train.sum()),
        **alert_metrics(samples, split.test, scores, data.faults),
    )
    # From every sample of the history, held-out machines and period included: the same plant and
    # time, and so every type the forest serves has a reference to measure its live rows against.
    references = drift_references(
        samples.X, [data.machine_types.get(code) for code in samples.machine_codes], samples.feature_names
    )
    return ForestEvaluation(
        forest, samples.feature_names, metrics, samples.y_failure[split.test], scores, drift_references=references
    )


def forest_train(data: TrainingData, *, seed: int, progress: Progress, version: str | None = None) -> TrainedArtifact:
    started = time.monotonic()
    evaluation = forest_fit_evaluate(data, seed=seed, progress=progress)
    version = version or version_name(seed)
    directory = artifact_directory(ModelKind.RANDOM_FOREST, version)
    evaluation.forest.save(directory)
    _plot_precision_recall(
        directory / "evaluation.png", evaluation.test_labels, evaluation.test_scores, evaluation.metrics
    )
    metadata_write(
        directory,
        kind=ModelKind.RANDOM_FOREST,
        data_description=data.description,
        feature_names=evaluation.feature_names,
        metrics=evaluation.metrics,
        training_seconds=time.monotonic() - started,
        extra={
            "horizon_hours": HORIZON_HOURS,
            "threshold": evaluation.forest.threshold,
            # It raises alerts only for these: another type's readings are not what it learned.
            "machine_types": data.description.get("machine_types"),
            # Machines it did not learn are judged against their own health models too.
            "machine_codes": data.description.get("machine_codes"),
            # Per machine type, what its feature rows looked like: serving measures the live ones' drift by it.
            "drift_references": evaluation.drift_references,
        },
    )
    return TrainedArtifact(ModelKind.RANDOM_FOREST, version, directory, evaluation.metrics, _describe(data.description))


def lstm_train(data: TrainingData, *, seed: int, epochs: int, progress: Progress) -> TrainedArtifact:
    from predictor.ml.rul import RulLstm, failure_probability_within  # noqa: PLC0415 - TensorFlow only when asked

    started = time.monotonic()
    samples = samples_build(data, with_sequences=True)
    split = split_by_machine_and_time(samples.machine_codes, samples.times, gap_seconds=HORIZON_HOURS * 3600, seed=seed)
    sequences = samples.sequences.astype(np.float32)
    model = RulLstm(window_length=SEQUENCE_STEPS, feature_names=tuple(FEATURE_METRICS), rul_cap=RUL_CAP_HOURS)
    # Validation machines, held out of the training machines: they choose the epoch and calibrate the range, so
    # there must be enough of them for the range to learn how wrong the network is on a machine it has not seen.
    train_idx = np.flatnonzero(split.train)
    train_machines = np.unique(samples.machine_codes[train_idx])
    validation_count = max(1, round(LSTM_VALIDATION_MACHINE_FRACTION * len(train_machines)))
    validation_machines = np.random.default_rng(seed).choice(train_machines, size=validation_count, replace=False)
    is_validation = np.isin(samples.machine_codes[train_idx], validation_machines)
    val_idx, fit_idx = train_idx[is_validation], train_idx[~is_validation]
    model.fit(
        sequences[fit_idx],
        samples.y_rul_hours[fit_idx],
        x_val=sequences[val_idx],
        y_val=samples.y_rul_hours[val_idx],
        epochs=epochs,
        seed=seed,
        early_stopping_patience=LSTM_EARLY_STOPPING_PATIENCE,
        progress=lambda epoch, logs: progress(
            f"epoch {epoch + 1}: loss {logs.get('loss', float('nan')):.4f}, "
            f"validation {logs.get('val_loss', float('nan')):.4f}"
        ),
    )
    true = samples.y_rul_hours[split.test]
    _, raw_low, raw_high = model.predict(sequences[split.test])
    # As trained, the range is too narrow on machines the network has not seen; the validation machines set
    # how much wider it must be (saved with the model, applied by every predict).
    model.calibrate(sequences[val_idx], samples.y_rul_hours[val_idx])
    median, low, high = model.predict(sequences[split.test])
    probability = failure_probability_within(HORIZON_HOURS, median, low, high)
    metrics = binary_report(samples.y_failure[split.test], probability, threshold=ALERT_THRESHOLD)
    metrics.update(
        **alert_metrics(samples, split.test, probability, data.faults),
        rul_mae_hours=float(np.mean(np.abs(median - true))),
        rul_interval_coverage=float(np.mean((true >= low) & (true <= high))),
        rul_interval_coverage_uncalibrated=float(np.mean((true >= raw_low) & (true <= raw_high))),
        rul_low_gap_scale=model.config.low_gap_scale,
        rul_high_gap_scale=model.config.high_gap_scale,
        test_samples=int(split.test.sum()),
    )
    version = version_name(seed)
    directory = artifact_directory(ModelKind.LSTM, version)
    model.save(directory)
    _plot_rul(directory / "evaluation.png", true=true, median=median, low=low, high=high, metrics=metrics)
    metadata_write(
        directory,
        kind=ModelKind.LSTM,
        data_description=data.description,
        feature_names=list(FEATURE_METRICS),
        metrics=metrics,
        training_seconds=time.monotonic() - started,
        extra={"horizon_hours": HORIZON_HOURS, "sequence_steps": SEQUENCE_STEPS, "step_seconds": SEQUENCE_STEP_SECONDS},
    )
    return TrainedArtifact(ModelKind.LSTM, version, directory, metrics, _describe(data.description))


def _iso(epoch_s: float) -> str:
    return datetime.datetime.fromtimestamp(epoch_s, tz=datetime.UTC).isoformat(timespec="minutes")


def _describe(description: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in description.items())


def _plot_precision_recall(path: Path, y_true: np.ndarray, scores: np.ndarray, metrics: dict) -> None:
    import matplotlib  # noqa: PLC0415 - only training draws

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415
    from sklearn.metrics import precision_recall_curve  # noqa: PLC0415

    precision, recall, _ = precision_recall_curve(y_true.astype(int), scores)
    figure, axes = pyplot.subplots(figsize=(5, 4))
    axes.plot(recall, precision)
    axes.set(
        xlabel="recall",
        ylabel="precision",
        title=f"Failure within {HORIZON_HOURS:.0f} h: PR-AUC {metrics['pr_auc']:.3f}",
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def _plot_rul(
    path: Path, *, true: np.ndarray, median: np.ndarray, low: np.ndarray, high: np.ndarray, metrics: dict
) -> None:
    import matplotlib  # noqa: PLC0415 - only training draws

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    order = np.argsort(true)
    figure, axes = pyplot.subplots(figsize=(5, 4))
    axes.fill_between(np.arange(len(order)), low[order], high[order], alpha=0.3, label="10-90 % range")
    axes.plot(median[order], label="predicted")
    axes.plot(true[order], label="true")
    axes.set(
        xlabel="test samples (by true RUL)", ylabel="RUL (hours)", title=f"RUL MAE {metrics['rul_mae_hours']:.1f} h"
    )
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
