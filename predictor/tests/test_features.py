import numpy as np
import pytest

from predictor.ml.features import (
    FEATURE_METRICS,
    HOUR_S,
    MachineWindow,
    feature_names,
    sequence_window,
    split_by_machine_and_time,
    training_samples,
    window_features,
    windows_features,
    windows_sequences,
)

T0 = 1_772_409_600.0  # 2026-03-02 00:00 UTC, a multiple of 30 minutes
MOTOR_RANGES = {
    "vibration": (None, 2.8),
    "temperature": (10.0, 80.0),
    "current": (8.0, 29.0),
    "speed": (1450.0, 1500.0),
}


def noisy_motor_window(*, days: float = 3.0, step_s: float = 60.0, code: str = "M-01", seed: int = 0) -> MachineWindow:
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(0.0, days * 24 * HOUR_S, step_s)
    values = {
        "vibration": 1.5 + 0.05 * rng.standard_normal(len(ts)),
        "temperature": 55.0 + 0.02 * (ts - T0) / HOUR_S + 0.4 * rng.standard_normal(len(ts)),
        "current": 18.0 + 0.3 * rng.standard_normal(len(ts)),
        "speed": 1480.0 + 2.0 * rng.standard_normal(len(ts)),
    }
    values["current"][rng.random(len(ts)) < 0.05] = np.nan  # some readings lack a metric
    return MachineWindow(
        machine_code=code,
        ts=ts,
        values=values,
        normal_ranges=MOTOR_RANGES,
        error_code_times=np.array([T0 + 30 * HOUR_S]),
        last_repair_ts=T0 - 5 * HOUR_S,
    )


def column(name: str) -> int:
    return feature_names().index(name)


def test_serving_a_recent_window_gives_the_features_training_computed_from_the_whole_history():
    history = noisy_motor_window()
    instants = T0 + np.array([20.0, 41.5, 70.0]) * HOUR_S
    trained = window_features(history, instants)
    for row, instant in enumerate(instants):
        # What serving loads: the last 13 hours of readings up to now, nothing older.
        recent = (history.ts > instant - 13 * HOUR_S) & (history.ts <= instant)
        serving_window = MachineWindow(
            machine_code=history.machine_code,
            ts=history.ts[recent],
            values={name: series[recent] for name, series in history.values.items()},
            normal_ranges=history.normal_ranges,
            error_code_times=history.error_code_times,
            last_repair_ts=history.last_repair_ts,
        )
        served = window_features(serving_window, np.array([instant]))[0]
        assert np.array_equal(served, trained[row], equal_nan=True)
    assert np.isfinite(trained[:, column("temperature_slope_12h")]).all()


def test_training_samples_rows_are_the_serving_features_at_the_same_instant():
    history = noisy_motor_window(days=2.0)
    history.last_repair_ts = None
    samples = training_samples([history], [], horizon_hours=6.0, sample_every_seconds=3600.0)
    instant = samples.times[10]
    served = window_features(history, np.array([instant]))[0]
    assert np.array_equal(samples.X[10], served, equal_nan=True)


def a_mixed_plant() -> tuple[list[MachineWindow], list[np.ndarray]]:
    """Motors and pumps (other metrics, other ranges), a motor without current, a silent machine."""
    motors = [noisy_motor_window(days=1.0, code=f"M-{n:02d}", seed=n) for n in range(3)]
    del motors[2].values["current"]
    pumps = []
    for n in range(2):
        window = noisy_motor_window(days=1.0, step_s=90.0, code=f"P-{n:02d}", seed=10 + n)
        window.values = {
            "vibration": window.values["vibration"] * 1.5,
            "discharge_pressure": 4.0 + window.values["current"] / 100,
            "flow": 80.0 + window.values["temperature"] - 55.0,
        }
        window.normal_ranges = {"vibration": (None, 4.5), "discharge_pressure": (2.5, 6.0), "flow": (40.0, 110.0)}
        pumps.append(window)
    silent = MachineWindow("M-99", np.empty(0), {}, MOTOR_RANGES)
    windows = [motors[0], pumps[0], silent, motors[1], pumps[1], motors[2]]
    at = [np.array([window.ts[-1] if len(window.ts) else T0]) for window in windows]
    at[3] = T0 + np.array([6.0, 12.5, 23.9]) * HOUR_S  # training asks for several instants of one window
    return windows, at


def test_a_batch_of_machines_gets_each_machines_own_features_bit_for_bit():
    windows, at = a_mixed_plant()
    batch = windows_features(windows, at)
    alone = np.vstack([window_features(window, instants) for window, instants in zip(windows, at, strict=True)])
    assert batch.shape == (8, len(feature_names()))
    assert np.array_equal(batch, alone, equal_nan=True)
    pump_row, silent_row = 1, 2
    assert np.isfinite(batch[pump_row, column("flow_level")])
    assert np.isnan(batch[pump_row, column("current_mean_1h")])
    assert np.isnan(batch[silent_row, column("vibration_mean_12h")])
    assert np.isnan(batch[-1, column("current_mean_1h")])  # the motor without current
    assert np.isfinite(batch[-1, column("speed_mean_1h")])


def test_a_batch_of_machines_gets_each_machines_own_sequences_bit_for_bit():
    windows, at = a_mixed_plant()
    batch = windows_sequences(windows, at, steps=12, step_seconds=600.0)
    alone = np.concatenate(
        [
            sequence_window(window, instants, steps=12, step_seconds=600.0)
            for window, instants in zip(windows, at, strict=True)
        ]
    )
    assert batch.shape == (8, 12, len(FEATURE_METRICS))
    assert np.array_equal(batch, alone)
    assert batch[1, :, FEATURE_METRICS.index("flow")].any()
    assert not batch[2].any()  # the silent machine: all "normal"


def test_a_batch_needs_one_set_of_instants_per_window():
    windows, at = a_mixed_plant()
    with pytest.raises(ValueError, match="6 windows but 5 sets of instants"):
        windows_features(windows, at[:-1])


def test_mean_std_slope_max_and_last_of_a_hand_made_window():
    ts = T0 + np.arange(0.0, 13 * HOUR_S, 600.0)  # every 10 minutes
    hours = (ts - ts[-1]) / HOUR_S
    vibration = 2.0 + 0.5 * hours  # rising 0.5 mm/s per hour
    vibration[-2] = np.nan  # a reading without vibration
    window = MachineWindow("M-01", ts, {"vibration": vibration}, {"vibration": (None, 4.0)})
    features = window_features(window, np.array([ts[-1]]), metrics=("vibration",))[0]
    named = dict(zip(feature_names(("vibration",)), features, strict=True))
    # The 1-hour window (t - 1 h, t] holds the readings at -50, -40, -30, -20, (-10 missing), 0 minutes.
    short_hours = np.array([-50, -40, -30, -20, 0]) / 60.0
    assert named["vibration_mean_1h"] == pytest.approx(np.mean(2.0 + 0.5 * short_hours))
    assert named["vibration_std_1h"] == pytest.approx(np.std(2.0 + 0.5 * short_hours))
    assert named["vibration_slope_1h"] == pytest.approx(0.5)
    assert named["vibration_slope_12h"] == pytest.approx(0.5)
    assert named["vibration_max_1h"] == pytest.approx(2.0)
    assert named["vibration_last"] == pytest.approx(2.0)
    long_hours = hours[(hours > -12.0)]
    long_values = 2.0 + 0.5 * np.delete(long_hours, -2)
    assert named["vibration_mean_12h"] == pytest.approx(long_values.mean())
    assert named["vibration_max_12h"] == pytest.approx(2.0)
    assert named["vibration_ratio_1h_12h"] == pytest.approx(named["vibration_mean_1h"] / long_values.mean())
    # Normal range (0, 4]: middle 2, half width 2; a mean of 1.85 sits just below the middle.
    assert named["vibration_level"] == pytest.approx((named["vibration_mean_1h"] - 2.0) / 2.0)
    assert named["hours_since_repair"] == pytest.approx(30 * 24.0)  # never repaired: the cap
    assert named["error_codes_24h"] == 0


def test_metrics_a_machine_lacks_are_nan_and_error_codes_count_over_a_day():
    window = noisy_motor_window(days=2.0)
    at = np.array([T0 + 40 * HOUR_S, T0 + 60 * HOUR_S])
    features = window_features(window, at)
    assert features.shape == (2, len(feature_names()))
    assert np.isnan(features[:, column("flow_mean_1h")]).all()
    assert features[:, column("error_codes_24h")].tolist() == [1, 0]  # the code at 30 h is 10 h, then 30 h old
    assert features[:, column("hours_since_repair")].tolist() == [45.0, 65.0]


def test_levels_on_the_normal_range_make_a_pump_and_a_motor_comparable():
    ts = T0 + np.arange(0.0, 2 * HOUR_S, 60.0)
    pump = MachineWindow("P-01", ts, {"vibration": np.full(len(ts), 4.5)}, {"vibration": (None, 4.5)})
    motor = MachineWindow("M-01", ts, {"vibration": np.full(len(ts), 2.8)}, {"vibration": (None, 2.8)})
    at = np.array([ts[-1]])
    level = column("vibration_level")
    assert window_features(pump, at)[0, level] == pytest.approx(1.0)
    assert window_features(motor, at)[0, level] == pytest.approx(1.0)


def test_sequence_window_resamples_step_means_on_the_normal_range_with_zeros_for_gaps():
    ts = T0 + np.arange(0.0, 4 * HOUR_S, 60.0)
    temperature = np.full(len(ts), 80.0)  # the top of the range: +1
    temperature[ts > ts[-1] - 900.0] = 45.0  # the last 15 minutes at the middle: 0
    window = MachineWindow("M-01", ts, {"temperature": temperature}, {"temperature": (10.0, 80.0)})
    sequences = sequence_window(window, np.array([ts[-1]]), steps=8, step_seconds=900.0)
    assert sequences.shape == (1, 8, len(FEATURE_METRICS))
    assert sequences.dtype == np.float32
    temperature_column = FEATURE_METRICS.index("temperature")
    assert sequences[0, :7, temperature_column] == pytest.approx(np.ones(7))
    assert sequences[0, 7, temperature_column] == pytest.approx(0.0)
    assert not sequences[0, :, FEATURE_METRICS.index("vibration")].any()  # absent metric: zeros


def window_with_failure(*, failed_hours: float, repaired_hours: float) -> MachineWindow:
    ts = T0 + np.arange(0.0, 96 * HOUR_S, 300.0)
    down = (ts >= T0 + failed_hours * HOUR_S) & (ts < T0 + repaired_hours * HOUR_S)
    ts = ts[~down]  # a machine that is down publishes nothing
    return MachineWindow("M-07", ts, {"vibration": np.full(len(ts), 1.5)}, {"vibration": (None, 2.8)})


def test_labels_come_from_the_next_failure_within_the_horizon_and_never_from_down_time():
    failed, repaired = 48.0, 52.0
    window = window_with_failure(failed_hours=failed, repaired_hours=repaired)
    fault = {
        "machine_code": "M-07",
        "failure_mode": "bearing_wear",
        "started_at": T0 + 10 * HOUR_S,
        "failed_at": T0 + failed * HOUR_S,
        "repaired_at": T0 + repaired * HOUR_S,
    }
    samples = training_samples([window], [fault], horizon_hours=24.0, sample_every_seconds=1800.0, rul_cap_hours=100.0)
    hours = (samples.times - T0) / HOUR_S
    ten_before = np.flatnonzero(hours == failed - 10)[0]
    assert samples.y_failure[ten_before]
    assert samples.y_mode[ten_before] == "bearing_wear"
    assert samples.y_rul_hours[ten_before] == pytest.approx(10.0)
    thirty_before = np.flatnonzero(hours == failed - 30)[0]
    assert not samples.y_failure[thirty_before]
    assert samples.y_mode[thirty_before] == ""
    assert samples.y_rul_hours[thirty_before] == pytest.approx(30.0)
    assert not ((hours >= failed) & (hours < repaired)).any()
    after_repair = hours >= repaired
    assert after_repair.any()
    assert not samples.y_failure[after_repair].any()
    # After the repair no failure follows within the data: the RUL label is the cap, marked censored.
    assert samples.rul_censored[after_repair].all()
    # The last horizon of the data cannot be labelled "no failure": it is left out.
    assert hours.max() <= 96 - 24
    repaired_since = samples.X[after_repair, feature_names().index("hours_since_repair")]
    assert repaired_since.min() == pytest.approx(0.0)


def test_a_prevented_failure_is_not_a_failure():
    window = window_with_failure(failed_hours=100.0, repaired_hours=101.0)  # nothing is down in the data
    fault = {"machine_code": "M-07", "failure_mode": "imbalance", "started_at": T0, "repaired_at": T0 + 30 * HOUR_S}
    samples = training_samples([window], [fault])
    assert len(samples.times) > 0
    assert not samples.y_failure.any()


def hourly_samples(window, *, faults=(), prevented=(), normal_periods=()):
    """training_samples an hour apart with a 24 h horizon, and the hours since T0 of each sample."""
    samples = training_samples(
        [window],
        list(faults),
        horizon_hours=24.0,
        sample_every_seconds=HOUR_S,
        rul_cap_hours=100.0,
        prevented=prevented,
        normal_periods=normal_periods,
    )
    return samples, (samples.times - T0) / HOUR_S


def test_a_prevented_fault_is_positive_from_its_alert_until_the_work_on_it_began():
    window = window_with_failure(failed_hours=100.0, repaired_hours=101.0)  # nothing is down in the data
    fix = {"machine_code": "M-07", "failure_mode": "misalignment", "noticed_at": T0 + 40 * HOUR_S}
    fix |= {"worked_from": T0 + 46 * HOUR_S, "fixed_at": T0 + 50 * HOUR_S}
    samples, hours = hourly_samples(window, prevented=[fix])

    # By hand: positive from the alert (40 h) to the work (46 h); the horizon before the alert (16 h to
    # 40 h: was the fault there yet?) and the work (46 h to 50 h) are left out; the rest negative, up to
    # the data's last horizon (the last reading at 95.9 h less 24 h).
    assert hours.tolist() == [float(h) for h in [*range(16), *range(40, 46), *range(50, 72)]]
    positive = (hours >= 40) & (hours < 46)
    assert (samples.y_failure == positive).all()
    assert set(samples.y_mode[positive]) == {"misalignment"}
    assert set(samples.y_mode[~positive]) == {""}
    # The machine had not failed by the fix: at least that long was left, so the RUL is the hours to the fix, censored.
    five_before_work = np.flatnonzero(hours == 45)[0]
    assert samples.y_rul_hours[five_before_work] == pytest.approx(5.0)
    assert samples.rul_censored[five_before_work]
    assert not samples.hard_negative.any()
    # The fix is a repair, as a failure's is.
    at_fix = np.flatnonzero(hours == 50)[0]
    assert samples.X[at_fix, feature_names().index("hours_since_repair")] == pytest.approx(0.0)


def test_a_prevented_fault_without_the_work_s_start_is_positive_until_its_fix():
    window = window_with_failure(failed_hours=100.0, repaired_hours=101.0)
    fix = {"machine_code": "M-07", "failure_mode": "misalignment", "noticed_at": T0 + 40 * HOUR_S}
    fix["fixed_at"] = T0 + 50 * HOUR_S
    samples, hours = hourly_samples(window, prevented=[fix])

    assert hours.tolist() == [float(h) for h in [*range(16), *range(40, 72)]]
    assert (samples.y_failure == ((hours >= 40) & (hours < 50))).all()


def test_a_false_alarm_window_is_hard_negative_and_kept_even_where_the_data_end_too_soon():
    window = window_with_failure(failed_hours=100.0, repaired_hours=101.0)
    checked = {"machine_code": "M-07", "start": T0 + 80 * HOUR_S, "end": T0 + 90 * HOUR_S}
    samples, hours = hourly_samples(window, normal_periods=[checked])

    in_window = (hours >= 80) & (hours <= 90)
    assert in_window.sum() == 11
    assert samples.hard_negative[in_window].all()
    assert not samples.hard_negative[~in_window].any()
    assert not samples.y_failure.any()
    # Elsewhere the last horizon of the data is still left out: nobody said those hours were normal.
    assert not ((hours > 72) & ~in_window).any()


def test_a_failure_or_a_fault_found_after_a_false_alarm_outweighs_it():
    window = window_with_failure(failed_hours=40.0, repaired_hours=44.0)
    early = {"machine_code": "M-07", "start": T0 + 10 * HOUR_S, "end": T0 + 20 * HOUR_S}
    late = {"machine_code": "M-07", "start": T0 + 50 * HOUR_S, "end": T0 + 60 * HOUR_S}
    failure = {
        "machine_code": "M-07",
        "failure_mode": "bearing_wear",
        "started_at": T0,
        "failed_at": T0 + 40 * HOUR_S,
        "repaired_at": T0 + 44 * HOUR_S,
    }
    fix = {"machine_code": "M-07", "failure_mode": "overheating", "noticed_at": T0 + 80 * HOUR_S}
    fix |= {"worked_from": T0 + 84 * HOUR_S, "fixed_at": T0 + 86 * HOUR_S}
    samples, hours = hourly_samples(window, faults=[failure], prevented=[fix], normal_periods=[early, late])

    assert (samples.hard_negative == (((hours >= 10) & (hours < 16)) | ((hours >= 50) & (hours < 56)))).all()
    within_failure_horizon = (hours >= 16) & (hours < 40)
    assert samples.y_failure[within_failure_horizon].all()
    assert set(samples.y_mode[within_failure_horizon]) == {"bearing_wear"}
    # The fix's horizon before its alert (56 h to 80 h) overlaps the late false alarm: the fix found later
    # outweighs that "normal", and the plant cannot tell whether the fault was there yet, so it is left out.
    assert not ((hours >= 56) & (hours < 80)).any()
    from_alert_to_work = (hours >= 80) & (hours < 84)
    assert from_alert_to_work.sum() == 4
    assert samples.y_failure[from_alert_to_work].all()
    assert set(samples.y_mode[from_alert_to_work]) == {"overheating"}
    assert not ((hours >= 84) & (hours < 86)).any()


def test_split_keeps_held_out_machines_and_the_late_period_out_of_training_with_a_gap():
    codes = np.repeat([f"M-{i:02d}" for i in range(8)], 100)
    times = np.tile(T0 + np.arange(100) * HOUR_S, 8)
    split = split_by_machine_and_time(codes, times, test_machine_fraction=0.25, test_time_fraction=0.25, seed=1)
    assert not (split.train & split.test).any()
    assert len(split.test_machines) == 2
    assert not np.isin(codes[split.train], split.test_machines).any()
    assert split.test[np.isin(codes, split.test_machines)].all()
    assert times[split.train].max() < times[split.test & ~np.isin(codes, split.test_machines)].min() - 24 * HOUR_S
    train_pairs = set(zip(codes[split.train], times[split.train], strict=True))
    test_pairs = set(zip(codes[split.test], times[split.test], strict=True))
    assert not train_pairs & test_pairs
    assert split.train.sum() > 0
