"""Metrics shared by the benchmarks, model training and the weekly alert-precision report.

Regression metrics follow the C-MAPSS literature (PUBLISHED_RESULTS.md); binary metrics are
sklearn's, gathered in one dict so every report names them the same way.
"""

import numpy as np
from sklearn import metrics

# NASA PHM08 scoring constants: a late prediction (over-estimated RUL) is penalised more steeply,
# because it lets an engine run past its failure.
EARLY_PREDICTION_SCALE = 13.0
LATE_PREDICTION_SCALE = 10.0


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    error = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    return float(np.sqrt(np.mean(error**2)))


def nasa_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Σ exp(-d/13) - 1 for d < 0 plus Σ exp(d/10) - 1 for d >= 0, with d = predicted - true."""
    error = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    penalties = np.where(
        error < 0, np.exp(-error / EARLY_PREDICTION_SCALE) - 1.0, np.exp(error / LATE_PREDICTION_SCALE) - 1.0
    )
    return float(penalties.sum())


def binary_report(y_true: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Precision, recall and F1 of `scores >= threshold` for the positive class, plus threshold-free PR-AUC and ROC-AUC.

    PR-AUC is sklearn's average precision, the usual summary for rare positives. Either AUC is NaN when
    y_true holds a single class, since it is undefined there.
    """
    y_true = np.asarray(y_true).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = (scores >= threshold).astype(int)
    has_both_classes = len(np.unique(y_true)) == 2
    return {
        "precision": float(metrics.precision_score(y_true, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(y_true, predicted, zero_division=0)),
        "f1": float(metrics.f1_score(y_true, predicted, zero_division=0)),
        "pr_auc": float(metrics.average_precision_score(y_true, scores)) if has_both_classes else float("nan"),
        "roc_auc": float(metrics.roc_auc_score(y_true, scores)) if has_both_classes else float("nan"),
    }
