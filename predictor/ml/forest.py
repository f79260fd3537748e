"""The failure forest: will this machine fail within the horizon, how, and which signals say so.

Two random forests: one for "fails within the horizon" (all samples), one for the failure mode
(trained only on samples that do fail within the horizon, so it answers "if it fails, how").
Explanations are the forest's own arithmetic, not a surrogate: along each tree's decision path,
every split moves the predicted probability from the parent's value to the child's, and that
move is credited to the split's feature (the tree-interpreter decomposition). Summed over the
path and averaged over the trees: bias (the root's value) + Σ contributions = predicted probability.

No Django here. Persistence is joblib (pickle): `load` must only ever be given a directory whose
sha256 the caller has checked against the model registry (`artifacts.artifact_verify`), because
unpickling runs code from the file.
"""

# X is the feature matrix and y the labels, as scikit-learn names them: the maths reads better so.
# ruff: noqa: N803, N806

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn.ensemble import RandomForestClassifier
from sklearn.isotonic import IsotonicRegression

from predictor.ml.features import LONG_LABEL, MACHINE_FEATURES, SHORT_LABEL, feature_metric_stat

MODEL_FILE = "forest.joblib"
DEFAULT_THRESHOLD = 0.5

TIMES = "\N{MULTIPLICATION SIGN}"
METRIC_UNITS: Mapping[str, str] = {
    "vibration": "mm/s",
    "temperature": "°C",
    "current": "A",
    "speed": "rpm",
    "discharge_pressure": "bar",
    "flow": "m³/h",
    "oil_temperature": "°C",
}
METRIC_LABELS: Mapping[str, str] = {
    "discharge_pressure": "discharge pressure",
    "oil_temperature": "oil temperature",
}


class FailureForest:
    def __init__(
        self,
        *,
        n_estimators: int = 300,
        min_samples_leaf: int = 2,
        max_features: str | float | int = "sqrt",
        n_jobs: int = 2,
        random_state: int = 42,
        choose_threshold: bool = True,
    ):
        self.params = {
            "n_estimators": n_estimators,
            "min_samples_leaf": min_samples_leaf,
            "max_features": max_features,
            "n_jobs": n_jobs,
            "random_state": random_state,
        }
        self.choose_threshold = choose_threshold
        self.failure_model: RandomForestClassifier | None = None
        self.mode_model: RandomForestClassifier | None = None
        self.single_mode: str | None = None  # when every failure seen in training had the same mode
        self.feature_names: list[str] = []
        self.threshold = DEFAULT_THRESHOLD
        self.oob_f1: float | None = None
        self.calibration: IsotonicRegression | None = None
        self._explain_matrix: sparse.csr_matrix | None = None

    # --- training -----------------------------------------------------------------------------

    def fit(
        self,
        X: np.ndarray,
        y_failure: np.ndarray,
        *,
        feature_names: Sequence[str],
        y_mode: np.ndarray | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> "FailureForest":
        """Fit both forests; the decision threshold is the one with the best F1 on out-of-bag predictions.

        Out-of-bag predictions come from trees that never saw the sample, so the threshold is chosen
        on the training data without an optimistic bias and without touching any test data.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y_failure).astype(bool)
        if X.shape[1] != len(feature_names):
            raise ValueError(f"X has {X.shape[1]} columns but {len(feature_names)} feature names")
        if y.all() or not y.any():
            raise ValueError("training needs samples with and without a failure within the horizon")
        report = progress or (lambda _message: None)
        self.feature_names = list(feature_names)
        report(f"failure forest: {len(y)} samples, {int(y.sum())} positive, {X.shape[1]} features")
        # Balanced per bootstrap sample: failures are rare, and without weights the trees would
        # rarely split on them; the threshold below then restores precision.
        self.failure_model = RandomForestClassifier(
            class_weight="balanced_subsample", oob_score=self.choose_threshold, **self.params
        ).fit(X, y)
        self.calibration = None
        if self.choose_threshold:
            oob = self.failure_model.oob_decision_function_[:, 1]
            seen = np.isfinite(oob)  # a sample every tree drew has no out-of-bag score
            # Class weights make the raw score a good ranking but not a probability, and the plant's
            # alert threshold (PREDICTION_THRESHOLD) is a probability: calibrate on the out-of-bag
            # scores, which no tree saw, so "0.8" means about 8 in 10 such machines do fail.
            self.calibration = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(oob[seen], y[seen])
            calibrated = self.calibration.predict(oob[seen])
            self.threshold, self.oob_f1 = _best_f1_threshold(calibrated, y[seen])
            report(f"threshold {self.threshold:.3f} (out-of-bag F1 {self.oob_f1:.3f}, calibrated)")
        self._explain_matrix = None
        self.mode_model, self.single_mode = None, None
        if y_mode is not None:
            modes = np.asarray(y_mode).astype(str)[y]
            distinct = np.unique(modes)
            if len(distinct) == 1:
                self.single_mode = str(distinct[0])
            elif len(distinct) > 1:
                report(f"mode forest: {len(modes)} failing samples, modes {', '.join(distinct)}")
                self.mode_model = RandomForestClassifier(class_weight="balanced", **self.params).fit(X[y], modes)
        return self

    # --- prediction ---------------------------------------------------------------------------

    def raw_failure_score(self, X: np.ndarray) -> np.ndarray:
        """The forest's own vote share, before calibration: what `contributions` decompose."""
        return self._fitted().predict_proba(np.asarray(X, dtype=np.float64))[:, 1]

    def predict_failure_probability(self, X: np.ndarray) -> np.ndarray:
        raw = self.raw_failure_score(X)
        return self.calibration.predict(raw) if self.calibration is not None else raw

    def predict_failure(self, X: np.ndarray) -> np.ndarray:
        return self.predict_failure_probability(X) >= self.threshold

    def predict_mode(self, X: np.ndarray) -> list[str | None]:
        """The most likely failure mode if the machine fails; None when no mode was learnt."""
        X = np.asarray(X, dtype=np.float64)
        if self.mode_model is not None:
            return [str(mode) for mode in self.mode_model.predict(X)]
        return [self.single_mode] * len(X)

    # --- explanation --------------------------------------------------------------------------

    def contributions(self, X: np.ndarray) -> tuple[float, np.ndarray]:
        """(bias, contributions (n_samples, n_features)): bias + row sum = predicted probability."""
        model = self._fitted()
        X = np.asarray(X, dtype=np.float64)
        if self._explain_matrix is None:
            self._explain_matrix, self._bias, self._tree_offsets = _leaf_path_matrix(model, len(self.feature_names))
        # Each sample's leaf in each tree, numbered across the forest: the rows of its paths' sums.
        leaves = (model.apply(X) + self._tree_offsets).ravel()
        trees = len(model.estimators_)
        reached = sparse.csr_matrix(
            (np.ones(len(leaves)), leaves, np.arange(0, len(leaves) + 1, trees)),
            shape=(len(X), self._explain_matrix.shape[0]),
        )
        contributions = (reached @ self._explain_matrix).toarray() / trees
        return self._bias, contributions

    def explain(self, X: np.ndarray, top: int = 3) -> list[list[tuple[str, float]]]:
        """Per sample, the `top` features that raise the failure probability most, with how much."""
        _, contributions = self.contributions(X)
        order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
        return [
            [(self.feature_names[j], float(row[j])) for j in ranking if row[j] > 0]
            for row, ranking in zip(contributions, order, strict=True)
        ]

    def describe_samples(self, X: np.ndarray, top: int = 3) -> list[list[str]]:
        """`explain` in sentences built from each sample's own feature values."""
        X = np.asarray(X, dtype=np.float64)
        return [
            describe(explanation, dict(zip(self.feature_names, row, strict=True)))
            for explanation, row in zip(self.explain(X, top=top), X, strict=True)
        ]

    # --- persistence --------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / MODEL_FILE
        state = {
            "params": self.params,
            "failure_model": self.failure_model,
            "mode_model": self.mode_model,
            "single_mode": self.single_mode,
            "feature_names": self.feature_names,
            "threshold": self.threshold,
            "oob_f1": self.oob_f1,
            "calibration": self.calibration,
        }
        joblib.dump(state, path, compress=3)
        return path

    @classmethod
    def load(cls, directory: str | Path, *, n_jobs: int = 1) -> "FailureForest":
        """Load a saved forest. Only from a directory already checked with `artifact_verify`: it unpickles.

        n_jobs: threads for predictions. One by default: on a predictor tick's thousand rows, threads
        cost more than they give (joblib's coordination; 0.20 s against 0.13 s on 2 busy cores).
        """
        state = joblib.load(Path(directory) / MODEL_FILE)
        forest = cls(**state["params"])
        forest.failure_model = state["failure_model"]
        forest.mode_model = state["mode_model"]
        for model in (forest.failure_model, forest.mode_model):
            if model is not None:
                model.n_jobs = n_jobs
        forest.single_mode = state["single_mode"]
        forest.feature_names = state["feature_names"]
        forest.threshold = state["threshold"]
        forest.oob_f1 = state["oob_f1"]
        forest.calibration = state["calibration"]
        return forest

    def _fitted(self) -> RandomForestClassifier:
        if self.failure_model is None:
            raise RuntimeError("the forest is not fitted")
        return self.failure_model


def _best_f1_threshold(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The threshold on `scores` with the best F1, halfway to the next score so it is not razor-thin."""
    known = ~np.isnan(scores)  # a sample in every bootstrap has no out-of-bag score
    scores, y = scores[known], y[known]
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_y = scores[order], y[order]
    true_positives = np.cumsum(sorted_y)
    predicted = np.arange(1, len(sorted_y) + 1)
    f1 = 2 * true_positives / (predicted + sorted_y.sum())
    # Only cut between distinct scores: a threshold cannot split equal scores.
    distinct = np.r_[sorted_scores[1:] < sorted_scores[:-1], True]
    f1 = np.where(distinct, f1, -1.0)
    best = int(np.argmax(f1))
    below = sorted_scores[best + 1] if best + 1 < len(sorted_scores) else 0.0
    return float((sorted_scores[best] + below) / 2.0), float(f1[best])


def _leaf_path_matrix(model: RandomForestClassifier, n_features: int) -> tuple[sparse.csr_matrix, float, np.ndarray]:
    """A sparse (all trees' nodes, features) matrix whose leaf rows hold the moves along the leaf's path.

    Along the path from the root, each split moves p (the positive class share that the tree
    predicts at a node) from the parent's value to the child's; the move is credited to the split's
    feature, so a leaf's row sums to p(leaf) - p(root). Other rows are empty. With it, explaining a
    sample takes its leaves (one `apply`) and one sparse product, not its whole decision paths.
    Also returned: the mean p(root) (the bias) and each tree's first row.
    """
    rows, columns, deltas, biases, offsets = [], [], [], [], []
    node_offset = 0
    positive = list(model.classes_).index(True)
    for estimator in model.estimators_:
        tree = estimator.tree_
        value = tree.value[:, 0, :]
        probability = value[:, positive] / value.sum(axis=1)
        parent = np.full(tree.node_count, -1)
        internal = np.flatnonzero(tree.children_left >= 0)
        parent[tree.children_left[internal]] = internal
        parent[tree.children_right[internal]] = internal
        leaf = node = np.flatnonzero(tree.children_left < 0)
        while len(node):  # one level up the paths of every leaf at a time
            above = parent[node]
            moved = above >= 0
            leaf, node, above = leaf[moved], node[moved], above[moved]
            rows.append(leaf + node_offset)
            columns.append(tree.feature[above])
            deltas.append(probability[node] - probability[above])
            node = above
        biases.append(probability[0])
        offsets.append(node_offset)
        node_offset += tree.node_count
    # Entries for the same leaf and feature (a feature split twice on a path) are summed.
    matrix = sparse.csr_matrix(
        (np.concatenate(deltas), (np.concatenate(rows), np.concatenate(columns))), shape=(node_offset, n_features)
    )
    return matrix, float(np.mean(biases)), np.array(offsets)


# --- sentences ------------------------------------------------------------------------------------


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def describe(contributions: Sequence[tuple[str, float]], feature_values: Mapping[str, float]) -> list[str]:
    """Short sentences for a manager, one per signal among the top contributions.

    Built from the sample's own values of the signal (its level against the 12-hour mean, its trend,
    its place in the normal range, its steadiness), so they say what the sensors show, e.g.
    "vibration 3.1x its 12-hour level, rising 0.4 mm/s per hour" (with a multiplication sign).
    """
    sentences: list[str] = []
    described: set[str] = set()
    for name, _contribution in contributions:
        if name in MACHINE_FEATURES:
            sentence = _machine_sentence(name, feature_values.get(name))
        else:
            parts = feature_metric_stat(name)
            if parts is None:
                continue
            metric, stat = parts
            if metric in described:
                continue
            described.add(metric)
            sentence = _metric_sentence(metric, stat, feature_values)
        if sentence:
            sentences.append(sentence)
    return sentences


def _machine_sentence(name: str, value: float | None) -> str:
    if not _finite(value):
        return ""
    if name == "error_codes_24h":
        return f"{int(value)} error code{'s' if value != 1 else ''} reported in the last 24 hours"
    return f"{value:.0f} hours since the last repair"


def _metric_sentence(metric: str, stat: str, values: Mapping[str, float]) -> str:
    label = METRIC_LABELS.get(metric, metric.replace("_", " "))
    unit = METRIC_UNITS.get(metric, "")

    def value(suffix: str) -> float | None:
        found = values.get(f"{metric}_{suffix}")
        return float(found) if _finite(found) else None

    ratio = value(f"ratio_{SHORT_LABEL}_{LONG_LABEL}")
    std_ratio = value(f"std_ratio_{SHORT_LABEL}_{LONG_LABEL}")
    mean = value(f"mean_{SHORT_LABEL}")
    level = value("level")
    peak_level = value("peak_level")
    # The trend over the window the contributing statistic describes, else over the other one.
    long_window_stats = {f"{name}_{LONG_LABEL}" for name in ("mean", "std", "slope", "max")}
    preferred, other = (LONG_LABEL, SHORT_LABEL) if stat in long_window_stats else (SHORT_LABEL, LONG_LABEL)
    slope = value(f"slope_{preferred}")
    if slope is None:
        slope = value(f"slope_{other}")
    parts: list[str] = []
    if stat.startswith("std") and std_ratio is not None:
        parts.append(f"{label} fluctuating {std_ratio:.1f}{TIMES} as much as over 12 hours")
    elif stat in ("level", "peak_level") and (level is not None or peak_level is not None):
        shown = level if stat == "level" or peak_level is None else peak_level
        parts.append(f"{label} {_range_phrase(shown)}")
    elif ratio is not None and abs(ratio - 1.0) >= 0.05:
        parts.append(f"{label} {ratio:.1f}{TIMES} its 12-hour level")
    elif mean is not None:
        parts.append(f"{label} at {mean:.3g} {unit}".rstrip())
    else:
        parts.append(label)
    if slope is not None and mean is not None and abs(slope) * 12 >= 0.02 * max(abs(mean), 1e-9):
        direction = "rising" if slope > 0 else "falling"
        parts.append(f"{direction} {abs(slope):.2g} {unit} per hour".replace("  ", " "))
    if stat not in ("level", "peak_level") and level is not None and level > 1.0:
        parts.append("above its normal range")
    return ", ".join(parts)


def _range_phrase(level: float) -> str:
    """Where a level (0 at the middle of the normal range, 1 at its top) lies, in words."""
    if level > 1.0:
        return f"above its normal range, at {(level + 1) / 2:.0%} of it"
    if level < -1.0:
        return "below its normal range"
    return f"at {(level + 1) / 2:.0%} of its normal range"
