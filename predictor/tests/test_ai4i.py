import math

import numpy as np
import pytest

from predictor.ml.ai4i import (
    FAILURE_MODES,
    FEATURE_NAMES,
    FORBIDDEN_COLUMNS,
    FOREST_SETTINGS,
    AI4IData,
    ai4i_boundary_cell,
    ai4i_ceiling,
    ai4i_errors_by_mode,
    ai4i_features,
    ai4i_forest_fit,
    ai4i_load,
    ai4i_markdown,
)
from predictor.ml.forest import FailureForest

HEADER = (
    "UDI,Product ID,Type,Air temperature [K],Process temperature [K],Rotational speed [rpm],Torque [Nm],"
    "Tool wear [min],Machine failure,TWF,HDF,PWF,OSF,RNF"
)
# Rows as the shipped file has them (UDI 3 has RNF=1 without Machine failure, a known quirk).
ROWS = (
    "1,M14860,M,298.1,308.6,1551,42.8,0,0,0,0,0,0,0",
    "2,L47181,L,298.2,308.7,1408,46.3,3,0,0,0,0,0,0",
    "78,L47257,L,298.8,308.9,1455,41.3,208,1,1,0,0,0,0",
    "3,H29424,H,298.1,308.5,1498,49.4,5,0,0,0,0,0,1",
    "4,H29425,H,298.2,308.6,1433,39.5,7,0,0,0,0,0,0",
)


def write_csv(path, rows, header=HEADER):
    """The shipped format: UTF-8 with a BOM, LF line endings, the UCI header."""
    path.write_bytes(("\ufeff" + "\n".join((header, *rows)) + "\n").encode("utf-8"))
    return path


@pytest.fixture
def shipped_csv(tmp_path):
    return write_csv(tmp_path / "ai4i2020.csv", ROWS)


def test_the_loader_parses_the_shipped_format_with_its_bom(shipped_csv):
    data = ai4i_load(shipped_csv)
    assert data.X.shape == (5, len(FEATURE_NAMES))
    assert data.y.tolist() == [False, False, True, False, False]  # RNF=1 without Machine failure stays negative
    row = dict(zip(data.feature_names, data.X[0], strict=True))
    assert (row["type_L"], row["type_M"], row["type_H"]) == (0.0, 1.0, 0.0)
    assert row["air_temperature_k"] == 298.1
    assert row["rotational_speed_rpm"] == 1551.0
    assert row["tool_wear_min"] == 0.0
    assert row["temperature_difference_k"] == pytest.approx(10.5)
    assert row["power_w"] == pytest.approx(42.8 * 1551 * 2 * math.pi / 60)
    failing = dict(zip(data.feature_names, data.X[2], strict=True))
    assert failing["overstrain_ratio"] == pytest.approx(208 * 41.3 / 11_000)
    assert data.failure_modes["TWF"].tolist() == [False, False, True, False, False]
    assert data.failure_modes["RNF"].tolist() == [False, False, False, True, False]


def test_the_overstrain_ratio_puts_each_variants_documented_limit_at_one():
    # [L, M, H one-hot, air, process, rpm, torque, wear]: 200 min of wear at 55, 60 and 65 Nm.
    base = np.array(
        [
            [1, 0, 0, 300.0, 310.0, 1500, 55.0, 200],
            [0, 1, 0, 300.0, 310.0, 1500, 60.0, 200],
            [0, 0, 1, 300.0, 310.0, 1500, 65.0, 200],
            [0, 0, 1, 300.0, 310.0, 1500, 55.0, 200],
        ],
        dtype=float,
    )
    ratio = ai4i_features(base)[:, FEATURE_NAMES.index("overstrain_ratio")]
    assert ratio.tolist() == pytest.approx([1.0, 1.0, 1.0, 11_000 / 13_000])


def test_the_features_never_include_identifiers_or_failure_type_flags(shipped_csv, tmp_path):
    data = ai4i_load(shipped_csv)
    lowered = [name.lower() for name in data.feature_names]
    for forbidden in FORBIDDEN_COLUMNS:
        key = forbidden.lower().replace(" ", "_")
        assert not any(key in name for name in lowered), forbidden
    # The same rows with other identifiers and every flag flipped give exactly the same features.
    scrambled = []
    for line in ROWS:
        fields = line.split(",")
        fields[0] = str(9000 - int(fields[0]))
        fields[1] = "X" + fields[1][::-1]
        fields[9:14] = ["1" if flag == "0" else "0" for flag in fields[9:14]]
        scrambled.append(",".join(fields))
    other = ai4i_load(write_csv(tmp_path / "scrambled.csv", scrambled))
    np.testing.assert_array_equal(other.X, data.X)
    assert not np.array_equal(other.failure_modes["TWF"], data.failure_modes["TWF"])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1,M1,X,298.1,308.6,1551,42.8,0,0,0,0,0,0,0", "unknown Type 'X'"),
        ("1,M1,M,298.1,308.6,fast,42.8,0,0,0,0,0,0,0", "Rotational speed \\[rpm\\]: not a number"),
        ("1,M1,M,298.1,308.6,1551,nan,0,0,0,0,0,0,0", "Torque \\[Nm\\]: not a finite number"),
        ("1,M1,M,298.1,308.6,1551,42.8,0,yes,0,0,0,0,0", "Machine failure: expected 0 or 1"),
        ("1,M1,M,298.1,308.6,1551,42.8,0,0,0,2,0,0,0", "HDF: expected 0 or 1"),
    ],
)
def test_a_bad_value_is_refused_with_its_line_and_column(tmp_path, row, message):
    path = write_csv(tmp_path / "bad.csv", (ROWS[0], row))
    with pytest.raises(ValueError, match=rf"bad\.csv:3: .*{message}"):
        ai4i_load(path)


def test_a_file_without_the_target_column_is_refused(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("UDI,Type\n1,L\n", encoding="utf-8-sig")
    with pytest.raises(ValueError, match="Machine failure"):
        ai4i_load(path)


def synthetic_data(rows=600, seed=3):
    """Rows drawn like the data set's, labelled by its documented heat, power and overstrain rules."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(3, size=rows, p=(0.6, 0.3, 0.1))
    air = np.round(rng.normal(300.0, 2.0, rows), 1)
    process = np.round(air + 10.0 + rng.normal(0.0, 1.0, rows), 1)
    speed = np.round(rng.normal(1500.0, 150.0, rows))
    torque = np.round(np.clip(rng.normal(40.0, 10.0, rows), 3.0, None), 1)
    wear = rng.integers(0, 250, rows).astype(float)
    base = np.column_stack([np.eye(3)[kinds], air, process, speed, torque, wear])
    X = ai4i_features(base)  # noqa: N806 (scikit-learn's name)
    column = {name: X[:, j] for j, name in enumerate(FEATURE_NAMES)}
    modes = {mode: np.zeros(rows, dtype=bool) for mode in FAILURE_MODES}
    modes["HDF"] = (column["temperature_difference_k"] < 8.6) & (speed < 1380)
    modes["PWF"] = (column["power_w"] < 3500) | (column["power_w"] > 9000)
    modes["OSF"] = column["overstrain_ratio"] > 1.0
    modes["TWF"] = (wear > 200) & (rng.random(rows) < 0.1)
    y = modes["HDF"] | modes["PWF"] | modes["OSF"] | modes["TWF"]
    return AI4IData(X=X, y=y, feature_names=FEATURE_NAMES, failure_modes=modes)


def test_the_forest_kept_is_the_setting_with_the_best_out_of_bag_f1():
    data = synthetic_data()
    chosen = ai4i_forest_fit(data.X, data.y, feature_names=data.feature_names, seed=5, n_estimators=25)
    out_of_bag = {}
    for settings in FOREST_SETTINGS:
        forest = FailureForest(random_state=5, n_estimators=25, **settings)
        out_of_bag[(settings["min_samples_leaf"], settings["max_features"])] = forest.fit(
            data.X, data.y, feature_names=data.feature_names
        ).oob_f1
    assert len(set(out_of_bag.values())) > 1  # the settings do differ on this data
    assert chosen.oob_f1 == max(out_of_bag.values())
    assert out_of_bag[(chosen.params["min_samples_leaf"], chosen.params["max_features"])] == chosen.oob_f1


def test_the_ceiling_oracle_is_perfect_where_every_failure_has_a_cause_in_the_columns():
    data = synthetic_data()
    without_tool_wear = AI4IData(
        X=data.X,
        y=data.y & ~(data.failure_modes["TWF"] & ~data.failure_modes["OSF"]),
        feature_names=data.feature_names,
        failure_modes={**data.failure_modes, "TWF": np.zeros(len(data.y), dtype=bool)},
    )
    perfect = ai4i_ceiling(without_tool_wear)["oracle"]
    assert perfect["cv_5fold"]["f1"] == {"mean": 1.0, "std": 0.0}
    assert perfect["holdout_80_20"]["recall"] == 1.0
    with_tool_wear = ai4i_ceiling(data)["oracle"]
    unexplained = data.y & ~(data.failure_modes["HDF"] | data.failure_modes["PWF"] | data.failure_modes["OSF"])
    assert unexplained.any()
    assert with_tool_wear["cv_5fold"]["precision"]["mean"] == 1.0
    assert with_tool_wear["cv_5fold"]["recall"]["mean"] == pytest.approx(1 - unexplained.sum() / data.y.sum(), abs=0.02)


def test_the_boundary_cell_is_the_highest_heat_dissipation_difference_at_0_1_k():
    # Air, process: 8.5999... and 8.6000...2 are both 8.6 K at the data's resolution.
    air = np.array([300.8, 302.4, 300.0, 302.4, 300.0])
    process = np.array([309.4, 311.0, 308.0, 311.0, 310.0])
    speed = np.array([1342.0, 1329.0, 1300.0, 1500.0, 1300.0])
    base = np.column_stack([np.tile([1.0, 0.0, 0.0], (5, 1)), air, process, speed, np.full(5, 40.0), np.zeros(5)])
    heat = np.array([True, False, True, False, False])
    modes = {mode: np.zeros(5, dtype=bool) for mode in FAILURE_MODES} | {"HDF": heat}
    data = AI4IData(X=ai4i_features(base), y=heat.copy(), feature_names=FEATURE_NAMES, failure_modes=modes)
    # Rows 0 and 1: 8.6 K at or below the fastest HDF speed; row 3 is too fast, rows 2 and 4 are other differences.
    assert ai4i_boundary_cell(data).tolist() == [True, True, False, False, False]


def test_the_errors_are_counted_per_failure_flag_and_in_the_boundary_cell():
    data = synthetic_data()
    predicted = data.failure_modes["HDF"] | data.failure_modes["PWF"]  # misses every OSF- and TWF-only failure
    false_alarm = int(np.flatnonzero(~data.y)[0])
    predicted[false_alarm] = True
    errors = ai4i_errors_by_mode(data, predicted)
    overstrain_only = data.failure_modes["OSF"] & ~predicted
    assert errors["missed"]["OSF"] == {
        "failures": int(data.failure_modes["OSF"].sum()),
        "missed": int(overstrain_only.sum()),
    }
    assert errors["missed"]["HDF"]["missed"] == 0
    assert errors["missed"]["no flag"] == {"failures": 0, "missed": 0}
    assert errors["missed_total"] == int((data.y & ~predicted).sum())
    assert errors["false_alarms"] == 1


def benchmark_result(f1_mean):
    figures = {"f1": f1_mean, "precision": 0.97, "recall": 0.9, "pr_auc": 0.93, "roc_auc": 0.98}
    oracle = {
        "cv_5fold": {
            "f1": {"mean": 0.917, "std": 0.016},
            "precision": {"mean": 1.0, "std": 0.0},
            "recall": {"mean": 0.847, "std": 0.027},
        },
        "holdout_80_20": {"f1": 0.912, "precision": 1.0, "recall": 0.838},
    }
    return {
        "model": "FailureForest",
        "settings": "leaf 1",
        "rows": 10000,
        "failures": 339,
        "features": list(FEATURE_NAMES),
        "cv_5fold": {name: {"mean": value, "std": 0.01} for name, value in figures.items()},
        "cv_folds": [{"min_samples_leaf": 1, "max_features": 0.5}] * 5,
        "holdout_80_20": {**figures, "threshold": 0.4, "test_failures": 68, "min_samples_leaf": 1, "max_features": 0.5},
        "ceiling": {"oracle": oracle, "oracle_at_0_1_k": oracle},
        "errors": {
            "missed": {"TWF": {"failures": 46, "missed": 43}},
            "missed_total": 55,
            "missed_in_boundary_cell": 2,
            "false_alarms": 10,
            "false_alarms_in_boundary_cell": 9,
            "boundary_cell": {"rows": 27, "failures": 14},
        },
        "target_f1": 0.93,
    }


def test_the_markdown_puts_the_published_figures_and_the_ceiling_beside_ours_and_judges_the_target():
    passing = ai4i_markdown(benchmark_result(0.935))
    assert "| f1 | 0.935 ± 0.010 | 0.935 | 0.917 ± 0.016 / 0.912 |" in passing
    assert "0.8952" in passing
    assert "0.966" in passing
    assert "0.949" in passing
    assert "0.824" in passing
    assert "| TWF | 46 | 43 |" in passing
    assert "**PASS**" in passing
    failing = ai4i_markdown(benchmark_result(0.90))
    assert "**FAIL**; the target lies above the ceiling (oracle F1 0.917)" in failing
