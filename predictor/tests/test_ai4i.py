import math

import numpy as np
import pytest

from predictor.ml.ai4i import FEATURE_NAMES, FORBIDDEN_COLUMNS, ai4i_load, ai4i_markdown

HEADER = (
    "UDI,Product ID,Type,Air temperature [K],Process temperature [K],Rotational speed [rpm],Torque [Nm],"
    "Tool wear [min],Machine failure,TWF,HDF,PWF,OSF,RNF"
)
ROWS = (
    "1,M14860,M,298.1,308.6,1551,42.8,0,0,0,0,0,0,0",
    "2,L47181,L,298.2,308.7,1408,46.3,3,0,0,0,0,0,0",
    "78,L47257,L,298.8,308.9,1455,41.3,208,1,1,0,0,0,0",
    "3,H29424,H,298.1,308.5,1498,49.4,5,0,0,0,0,0,1",
)


@pytest.fixture
def shipped_csv(tmp_path):
    """A few rows in the shipped format: UTF-8 with a BOM, LF line endings, the UCI header."""
    path = tmp_path / "ai4i2020.csv"
    path.write_bytes(("\ufeff" + "\n".join((HEADER, *ROWS)) + "\n").encode("utf-8"))
    return path


def test_the_loader_parses_the_shipped_format_with_its_bom(shipped_csv):
    data = ai4i_load(shipped_csv)
    assert data.X.shape == (4, len(FEATURE_NAMES))
    assert data.y.tolist() == [False, False, True, False]  # RNF=1 without Machine failure stays negative
    row = dict(zip(data.feature_names, data.X[0], strict=True))
    assert (row["type_L"], row["type_M"], row["type_H"]) == (0.0, 1.0, 0.0)
    assert row["air_temperature_k"] == 298.1
    assert row["rotational_speed_rpm"] == 1551.0
    assert row["temperature_difference_k"] == pytest.approx(10.5)
    assert row["power_w"] == pytest.approx(42.8 * 1551 * 2 * math.pi / 60)
    failing = dict(zip(data.feature_names, data.X[2], strict=True))
    assert failing["tool_wear_torque"] == pytest.approx(208 * 41.3)


def test_the_features_never_include_identifiers_or_failure_type_flags(shipped_csv):
    data = ai4i_load(shipped_csv)
    lowered = [name.lower() for name in data.feature_names]
    for forbidden in FORBIDDEN_COLUMNS:
        key = forbidden.lower().replace(" ", "_")
        assert not any(key in name for name in lowered), forbidden
    # No column equals the UDI or a flag: the flags of row 3 (TWF=1) and row 4 (RNF=1) are nowhere.
    udi = np.array([1, 2, 78, 3], dtype=float)
    assert not any(np.array_equal(data.X[:, j], udi) for j in range(data.X.shape[1]))
    assert data.X.shape[1] == 3 + 5 + 3


def test_a_file_without_the_target_column_is_refused(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("UDI,Type\n1,L\n", encoding="utf-8-sig")
    with pytest.raises(ValueError, match="Machine failure"):
        ai4i_load(path)


def benchmark_result(f1_mean):
    figures = {"f1": f1_mean, "precision": 0.97, "recall": 0.9, "pr_auc": 0.93, "roc_auc": 0.98}
    return {
        "model": "FailureForest",
        "rows": 10000,
        "failures": 339,
        "features": list(FEATURE_NAMES),
        "cv_5fold": {name: {"mean": value, "std": 0.01} for name, value in figures.items()},
        "holdout_80_20": {**figures, "threshold": 0.4, "test_failures": 68},
        "target_f1": 0.93,
    }


def test_the_markdown_puts_the_published_figures_beside_ours_and_judges_the_target():
    passing = ai4i_markdown(benchmark_result(0.935))
    assert "| f1 | 0.935 ± 0.010 | 0.935 |" in passing
    assert "0.8952" in passing
    assert "0.966" in passing
    assert "0.949" in passing
    assert "0.824" in passing
    assert "**PASS**" in passing
    assert "**FAIL**" in ai4i_markdown(benchmark_result(0.90))
