import math

import numpy as np
import pytest

from predictor.ml.evaluation import binary_report, nasa_score, rmse


def test_rmse_of_hand_computed_errors():
    # errors 3, -4, 0: sqrt((9 + 16 + 0) / 3)
    assert rmse([10, 20, 30], [13, 16, 30]) == pytest.approx(math.sqrt(25 / 3))


def test_nasa_score_penalises_a_late_prediction_more_than_an_equally_early_one():
    late = nasa_score([50], [60])  # d = +10: exp(10/10) - 1
    early = nasa_score([50], [40])  # d = -10: exp(10/13) - 1

    assert late == pytest.approx(math.e - 1)
    assert early == pytest.approx(math.exp(10 / 13) - 1)
    assert late > early


def test_nasa_score_sums_over_units_and_is_zero_for_perfect_predictions():
    assert nasa_score([1, 2, 3], [1, 2, 3]) == 0
    assert nasa_score([50, 50], [60, 37]) == pytest.approx((math.e - 1) + (math.e - 1))


def test_binary_report_thresholds_scores_for_precision_recall_f1():
    y_true = np.array([1, 1, 0, 0, 0, 1])
    scores = np.array([0.9, 0.4, 0.6, 0.1, 0.2, 0.8])

    report = binary_report(y_true, scores, threshold=0.5)

    # predicted positives: 0.9 (tp), 0.6 (fp), 0.8 (tp); missed: 0.4
    assert report["precision"] == pytest.approx(2 / 3)
    assert report["recall"] == pytest.approx(2 / 3)
    assert report["f1"] == pytest.approx(2 / 3)
    # ranking: positives at 0.9, 0.8, 0.4; negatives at 0.6, 0.2, 0.1 -> 8 of 9 pairs ordered
    assert report["roc_auc"] == pytest.approx(8 / 9)
    assert 0 < report["pr_auc"] <= 1


def test_binary_report_aucs_are_nan_when_only_one_class_is_present():
    report = binary_report(np.zeros(3), np.array([0.1, 0.7, 0.2]))

    assert report["precision"] == 0
    assert math.isnan(report["roc_auc"])
    assert math.isnan(report["pr_auc"])
