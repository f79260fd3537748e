"""The C-MAPSS loader and protocol, on tiny hand-written files in the shipped format (never the real data)."""

import gzip

import numpy as np
import pytest

from predictor.ml import cmapss

SENSOR_2_COLUMN = cmapss.COLUMN_NAMES.index("sensor_2")


def shipped_line(unit: int, cycle: int, sensor_value: float) -> str:
    """One row as NASA ships it: 26 space-separated values and a trailing space."""
    values = [str(unit), str(cycle), "-0.0007", "-0.0004", "100.0"]
    sensors = [f"{sensor_value + n:.4f}" for n in range(21)]
    return " ".join(values + sensors) + " "


def write_table(path, lines, *, compress):
    text = "\n".join(lines) + "\n"
    if compress:
        with gzip.open(path.with_name(path.name + ".gz"), "wt", encoding="ascii") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="ascii")


@pytest.fixture(params=[True, False], ids=["gzip", "plain"])
def tiny_subset_directory(tmp_path, request):
    """FD001-named files: train units of 8, 6, 7 and 5 cycles; test units of 4 and 6 cycles; sensor_2 = cycle."""
    compress = request.param
    train_lengths = {1: 8, 2: 6, 3: 7, 4: 5}
    test_lengths = {1: 4, 2: 6}
    train = [
        shipped_line(unit, cycle, cycle) for unit, length in train_lengths.items() for cycle in range(1, length + 1)
    ]
    test = [shipped_line(unit, cycle, cycle) for unit, length in test_lengths.items() for cycle in range(1, length + 1)]
    write_table(tmp_path / "train_FD001.txt", train, compress=compress)
    write_table(tmp_path / "test_FD001.txt", test, compress=compress)
    write_table(tmp_path / "RUL_FD001.txt", ["3 ", "10 "], compress=compress)
    return tmp_path


def test_loader_reads_26_columns_with_trailing_spaces_plain_or_gzip(tiny_subset_directory):
    subset = cmapss.load_subset("FD001", tiny_subset_directory)

    assert subset.train.shape == (26, 26)
    assert subset.test.shape == (10, 26)
    assert np.unique(subset.train[:, 0]).tolist() == [1, 2, 3, 4]
    assert subset.train[:8, 1].tolist() == list(range(1, 9))
    assert subset.train[0, SENSOR_2_COLUMN] == pytest.approx(1 + 1)  # sensor_n = cycle + n - 1
    assert subset.test_true_rul.tolist() == [3, 10]


def test_loader_rejects_a_rul_file_that_does_not_match_the_test_units(tiny_subset_directory):
    for stale in tiny_subset_directory.glob("RUL_FD001*"):
        stale.unlink()
    (tiny_subset_directory / "RUL_FD001.txt").write_text("3\n", encoding="ascii")

    with pytest.raises(ValueError, match="2 test units but 1"):
        cmapss.load_subset("FD001", tiny_subset_directory)


def test_piecewise_linear_rul_counts_down_to_zero_and_is_capped():
    units = np.array([1, 1, 1, 1, 2, 2])
    cycles = np.array([1, 2, 3, 4, 1, 2])

    assert cmapss.piecewise_linear_rul(units, cycles, cap=2).tolist() == [2, 2, 1, 0, 1, 0]
    assert cmapss.piecewise_linear_rul(units, cycles, cap=125).tolist() == [3, 2, 1, 0, 1, 0]


def test_sliding_windows_stay_inside_one_unit_and_carry_the_rul_of_their_last_step():
    units = np.array([1, 1, 1, 1, 2, 2, 2])
    features = np.arange(7, dtype=np.float32).reshape(-1, 1)
    targets = np.array([3, 2, 1, 0, 2, 1, 0], dtype=np.float32)

    windows, labels = cmapss.sliding_windows(features, units, targets, window_length=3)

    assert windows.shape == (3, 3, 1)
    assert windows[:, :, 0].tolist() == [[0, 1, 2], [1, 2, 3], [4, 5, 6]]
    assert labels.tolist() == [1, 0, 0]
    assert cmapss.window_units(units, window_length=3).tolist() == [1, 1, 2]
    assert cmapss.window_units(np.array([1, 1, 2, 2, 2]), window_length=3).tolist() == [2]  # unit 1 is too short


def test_last_windows_give_one_per_unit_and_pad_a_short_unit_with_its_first_row():
    units = np.array([1, 1, 1, 1, 2, 2])
    features = np.arange(6, dtype=np.float32).reshape(-1, 1)

    windows = cmapss.last_windows(features, units, window_length=3)

    assert windows[:, :, 0].tolist() == [[1, 2, 3], [4, 4, 5]]


def test_protocol_scales_on_training_rows_splits_by_unit_and_keeps_the_last_test_window(tiny_subset_directory):
    protocol = cmapss.prepare_protocol(
        "FD001", tiny_subset_directory, window_length=3, rul_cap=4, validation_fraction=0.25, split_seed=0
    )

    assert len(protocol.validation_units) == 1
    assert set(protocol.train_units) | set(protocol.validation_units) == {1, 2, 3, 4}
    assert not set(protocol.train_units) & set(protocol.validation_units)
    lengths = {1: 8, 2: 6, 3: 7, 4: 5}
    assert len(protocol.x_train) == sum(lengths[unit] - 2 for unit in protocol.train_units)
    assert len(protocol.x_val) == sum(lengths[unit] - 2 for unit in protocol.validation_units)
    assert protocol.x_train.shape[1:] == (3, 14)
    assert protocol.x_train.dtype == np.float32
    assert protocol.y_train.max() == 4  # capped
    assert protocol.y_train.min() == 0
    assert sorted(set(protocol.train_window_units)) == sorted(protocol.train_units)
    assert len(protocol.train_window_units) == len(protocol.x_train)

    # sensor_2 runs over cycles 1..8 in training: min-max maps cycle c to (c - 1) / 7.
    assert protocol.x_test.shape == (2, 3, 14)
    assert protocol.x_test[0, :, 0] == pytest.approx([1 / 7, 2 / 7, 3 / 7])  # test unit 1: cycles 2-4
    assert protocol.x_test[1, :, 0] == pytest.approx([3 / 7, 4 / 7, 5 / 7])  # test unit 2: cycles 4-6
    assert protocol.y_test.tolist() == [3, 10]  # shipped truth, unclipped


def test_protocol_metrics_report_the_true_rul_both_clipped_at_the_cap_and_unclipped():
    metrics = cmapss.protocol_metrics(np.array([125.0, 50.0]), np.array([135.0, 50.0]), rul_cap=125)

    assert metrics["rmse_clipped"] == 0
    assert metrics["score_clipped"] == 0
    assert metrics["rmse_unclipped"] == pytest.approx(np.sqrt(50))
    assert metrics["score_unclipped"] == pytest.approx(np.exp(10 / 13) - 1)
