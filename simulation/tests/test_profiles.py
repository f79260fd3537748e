"""Plant profiles: the files load, a bad file says where and what, the demo profile plays today's
plant exactly, and plant B is another plant in the ways a transfer benchmark needs."""

import datetime
import hashlib
import json
import random
from pathlib import Path

import pytest

from simulation.engine import (
    BEARING_WEAR,
    DOWNTIME_HOURS,
    ELECTRICAL_FAULT,
    FAULT_KINDS,
    IMBALANCE,
    LUBRICATION_LOSS,
    MachineProfile,
    PlantSimulation,
    history_instants,
    metric_models_calibrate,
)
from simulation.profiles import (
    DEMO_PROFILE_PATH,
    PROFILES_DIR,
    PlantProfile,
    ProfileError,
    plant_profile_load,
)

UTC = datetime.UTC
T0 = datetime.datetime(2026, 3, 2, tzinfo=UTC)
DAY = datetime.timedelta(days=1)
NEVER_FAILS = 1e9
PLANT_B_PATH = PROFILES_DIR / "plant_b.toml"
# Computed by the code before plant profiles existed (the demo plant's constants in demo.seed and
# simulation.engine), at commit a1ec8e3.
BEFORE = json.loads((Path(__file__).parent / "data" / "demo_plant_before_profiles.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def demo() -> PlantProfile:
    return plant_profile_load(DEMO_PROFILE_PATH)


@pytest.fixture(scope="module")
def plant_b() -> PlantProfile:
    return plant_profile_load(PLANT_B_PATH)


def test_the_shipped_profiles_load(demo, plant_b):
    assert (demo.name, len(demo.machine_types), len(demo.machines)) == ("Demo plant", 3, 24)
    assert plant_b.name == "Plant B"
    assert 20 <= len(plant_b.machines) <= 40
    assert {machine.code for machine in plant_b.machines} >= {"B-PMP-09", "B-PMP-01", "B-GBX-06", "B-FAN-04"}
    gearbox = next(machine for machine in plant_b.machines if machine.code == "B-GBX-02")
    assert (gearbox.name, gearbox.machine_type) == ("Belt conveyor gearbox 2", "Belt conveyor gearbox")


# --- the demo profile is today's plant ------------------------------------------------------------


def _digest(plant: PlantSimulation, *, days: float = 3, step: float = 900) -> dict:
    """What the snapshot recorded: a digest of every reading and event, and three machines' first readings."""
    digest = hashlib.sha256()
    samples = {}
    events = 0
    for ts in history_instants(start=T0, end=T0 + days * DAY, step_seconds=step):
        tick = plant.tick(ts)
        for reading in tick.readings:
            line = [reading.machine_code, reading.ts.isoformat(), reading.metrics, reading.error_code]
            digest.update(json.dumps(line, sort_keys=True).encode())
            if ts == T0 and reading.machine_code in ("M-001", "M-003", "M-007"):
                samples[reading.machine_code] = reading.metrics
        for event in tick.events:
            events += 1
            fault = event.fault
            line = [event.event, fault.machine_code, fault.failure_mode, fault.started_at.isoformat()]
            digest.update(json.dumps([*line, fault.planned_failure_at.isoformat()]).encode())
    return {"sha256": digest.hexdigest(), "events": events, "first_readings": samples}


@pytest.mark.parametrize(
    ("case", "seed", "utc_offset_hours", "force"),
    [
        ("seed_1", 1, 1.0, None),
        ("seed_7_utc_0", 7, 0.0, None),
        ("seed_3_forced_M-003", 3, 1.0, {"machine_code": "M-003", "failure_at": T0 + 2 * DAY}),
        (
            "seed_3_forced_M-020_lubrication",
            3,
            1.0,
            {"machine_code": "M-020", "failure_at": T0 + DAY, "failure_mode": LUBRICATION_LOSS},
        ),
    ],
)
def test_the_demo_profile_plays_the_same_readings_and_faults_as_before_profiles(
    demo, case, seed, utc_offset_hours, force
):
    plant = demo.simulation(seed=seed, mtbf_hours=30, utc_offset_hours=utc_offset_hours)
    expected = BEFORE["simulation"][case]
    if force:
        forced = plant.fault_force(**force)
        assert [forced.failure_mode, forced.started_at.isoformat(), forced.planned_failure_at.isoformat()] == (
            expected["forced"]
        )
    assert _digest(plant) == {key: expected[key] for key in ("sha256", "events", "first_readings")}


def test_a_plant_simulation_given_nothing_is_the_demo_profiles(demo):
    assert demo.fault_kinds == FAULT_KINDS
    assert demo.downtime_hours == DOWNTIME_HOURS
    assert (demo.mtbf_hours, demo.noise_scale, demo.utc_offset_hours) == (200.0, 1.0, None)
    profiles = [MachineProfile(machine.code, demo.metric_ranges(machine.machine_type)) for machine in demo.machines]
    assert _digest(PlantSimulation(machines=profiles, seed=1, mtbf_hours=30, utc_offset_hours=1.0)) == {
        key: BEFORE["simulation"]["seed_1"][key] for key in ("sha256", "events", "first_readings")
    }


# --- a bad profile says where and what ------------------------------------------------------------

MINIMAL = """
name = "Tiny"
mtbf_hours = 100.0
downtime_hours = [1.0, 2.0]
machines = [{ code = "T-1", name = "Fan 1", type = "Fan", installed = 2020-01-01 }]

[[machine_types]]
name = "Fan"
metrics = [
  { name = "vibration", unit = "mm/s RMS", normal_max = 4.0, alarm_max = 6.3 },
  { name = "blade_temperature", unit = "°C", normal_max = 60.0, alarm_max = 80.0, role = "temperature" },
]

[[fault_kinds]]
failure_mode = "bearing_wear"
development_hours = [10.0, 20.0]
weight = 1.0

[crew]
respond_minutes = [5.0, 10.0]
pace = [1.0, 1.2]
default_job_hours = 1.0
shifts = [{ name = "Day", starts = 06:00:00, ends = 18:00:00 }]
technicians = [{ username = "t1", first_name = "T", last_name = "One", shifts = ["Day"] }]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plant.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_profile_loads_with_the_defaults(tmp_path):
    profile = plant_profile_load(_write(tmp_path, MINIMAL))
    assert (profile.noise_scale, profile.utc_offset_hours, profile.description) == (1.0, None, "")
    assert profile.machine_type("Fan").metric("blade_temperature").role == "temperature"
    assert profile.crew.technicians[0].shifts == ("Day",)


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ("alarm_max = 6.3", "alarm_max = 3.0", "machine_types[0].metrics[0].alarm_max", "below normal_max"),
        ('role = "temperature"', 'role = "smell"', "machine_types[0].metrics[1].role", "'smell' is not one of"),
        ('role = "temperature"', 'role = "vibration"', "machine_types[0].metrics[1].role", "given twice"),
        ("alarm_max = 6.3", "alarm_mx = 6.3", "machine_types[0].metrics[0].alarm_mx", "unknown key"),
        (
            "alarm_max = 6.3",
            "alarm_max = 6.3, physical_max = 5.0",
            "machine_types[0].metrics[0].physical_max",
            "5 is below alarm_max 6.3",
        ),
        (
            "alarm_max = 6.3",
            "alarm_max = 6.3, physical_min = 5.0",
            "machine_types[0].metrics[0].physical_min",
            "is above",
        ),
        ('failure_mode = "bearing_wear"', 'failure_mode = "rust"', "fault_kinds[0].failure_mode", "'rust'"),
        (
            "development_hours = [10.0, 20.0]",
            "development_hours = [20.0, 10.0]",
            "fault_kinds[0].development_hours",
            "above",
        ),
        ("weight = 1.0", 'weight = "heavy"', "fault_kinds[0].weight", "expected a finite number"),
        ('type = "Fan"', 'type = "Pump"', "machines[0].type", "no machine type named 'Pump'"),
        ("installed = 2020-01-01", 'installed = "2020"', "machines[0].installed", "TOML date"),
        ("mtbf_hours = 100.0", "mtbf_hours = 0", "mtbf_hours", "must be positive"),
        ("mtbf_hours = 100.0", "", "mtbf_hours", "missing"),
        ("downtime_hours = [1.0, 2.0]", "downtime_hours = 3", "downtime_hours", "expected [low, high]"),
        ('name = "Tiny"', 'name = "Tiny"\nnoise = -1.5', "noise", "must be positive"),
        ('name = "Tiny"', 'name = "Tiny"\nutc_offset_hours = 20', "utc_offset_hours", "between -14 and 14"),
        ('shifts = ["Day"]', 'shifts = ["Night"]', "crew.technicians[0].shifts", "no shift named 'Night'"),
        ("starts = 06:00:00", 'starts = "6am"', "crew.shifts[0].starts", "TOML local time"),
        ("[crew]", "[crew_]", "crew_", "unknown key"),
    ],
)
def test_a_bad_profile_names_the_file_the_key_and_the_problem(tmp_path, old, new, key, problem):
    assert old in MINIMAL
    path = _write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(ProfileError) as raised:
        plant_profile_load(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: {key}: ")
    assert problem in message


def test_a_profile_that_is_not_toml_or_not_there_says_so(tmp_path):
    with pytest.raises(ProfileError, match="not valid TOML"):
        plant_profile_load(_write(tmp_path, "name = \n"))
    with pytest.raises(ProfileError, match="cannot read the profile"):
        plant_profile_load(tmp_path / "missing.toml")


def test_a_machine_type_no_fault_kind_strikes_is_refused(tmp_path):
    text = MINIMAL.replace("weight = 1.0", 'weight = 1.0\nmachine_types = ["Fan"]').replace(
        "[[fault_kinds]]", '[[machine_types]]\nname = "Pump"\nmetrics = [{ name = "flow" }]\n\n[[fault_kinds]]', 1
    )
    with pytest.raises(ProfileError, match="fault_kinds: no fault kind strikes the machine type 'Pump'"):
        plant_profile_load(_write(tmp_path, text))


# --- plant B is another plant ---------------------------------------------------------------------


def test_plant_b_has_a_machine_type_with_metrics_and_ranges_the_demo_plant_never_had(demo, plant_b):
    demo_types = {machine_type.name for machine_type in demo.machine_types}
    new_types = [machine_type for machine_type in plant_b.machine_types if machine_type.name not in demo_types]
    assert new_types
    demo_metrics = {metric.name for machine_type in demo.machine_types for metric in machine_type.metrics}
    demo_ranges = {
        (metric.name, metric.normal_min, metric.normal_max, metric.alarm_min, metric.alarm_max)
        for machine_type in demo.machine_types
        for metric in machine_type.metrics
    }
    for machine_type in new_types:
        assert {metric.name for metric in machine_type.metrics} - demo_metrics
        for metric in machine_type.metrics:
            assert (metric.name, metric.normal_min, metric.normal_max, metric.alarm_min, metric.alarm_max) not in (
                demo_ranges
            )


def test_plant_b_shifts_the_shared_types_baselines_and_has_half_as_much_noise_again(demo, plant_b):
    assert (demo.noise_scale, plant_b.noise_scale) == (1.0, 1.5)
    shifted = 0
    for machine_type in demo.machine_types:
        b_type = plant_b.machine_type(machine_type.name)
        if b_type is None:
            continue
        profile_a = MachineProfile("X-1", demo.metric_ranges(machine_type.name))
        profile_b = MachineProfile("X-1", plant_b.metric_ranges(machine_type.name))
        models_a = metric_models_calibrate(profile_a, random.Random("x"))
        models_b = metric_models_calibrate(profile_b, random.Random("x"), noise_scale=plant_b.noise_scale)
        for name, model_a in models_a.items():
            metric = b_type.metric(name)
            assert models_b[name].sigma == pytest.approx(1.5 * model_a.sigma)
            assert models_b[name].mean == pytest.approx(model_a.mean * metric.baseline_scale + metric.baseline_offset)
            shifted += models_b[name].mean != pytest.approx(model_a.mean)
    assert shifted >= 4


def test_plant_b_faults_develop_at_other_speeds_and_it_fails_at_another_rate(demo, plant_b):
    demo_hours = {kind.failure_mode: kind.development_hours for kind in demo.fault_kinds}
    b_hours = {kind.failure_mode: kind.development_hours for kind in plant_b.fault_kinds}
    assert all(b_hours[mode] != demo_hours[mode] for mode in b_hours)
    assert b_hours[BEARING_WEAR][1] < demo_hours[BEARING_WEAR][0] * 2  # faster
    assert b_hours[ELECTRICAL_FAULT][1] < demo_hours[ELECTRICAL_FAULT][1]
    assert b_hours[LUBRICATION_LOSS][1] > demo_hours[LUBRICATION_LOSS][1]  # slower
    assert plant_b.mtbf_hours != demo.mtbf_hours
    assert plant_b.downtime_hours != demo.downtime_hours


def _gearbox_limits(plant_b: PlantProfile) -> dict:
    return {metric.name: metric for metric in plant_b.machine_type("Belt conveyor gearbox").metrics}


@pytest.mark.parametrize("profile_name", ["demo", "plant_b"])
def test_every_simulated_value_is_one_the_metrics_sensor_can_read(profile_name, request):
    """The listener keeps values outside a metric's physical range aside as sensor faults: a simulated
    machine, failing or not, must never send one. Its values are clamped to [0, the model's ceiling]."""
    profile = request.getfixturevalue(profile_name)
    for machine_type in profile.machine_types:
        machine = MachineProfile(machine_type.name, tuple(metric.metric_range() for metric in machine_type.metrics))
        for seed in range(20):
            models = metric_models_calibrate(machine, random.Random(seed), noise_scale=profile.noise_scale)
            for metric in machine_type.metrics:
                assert metric.physical_min is not None, metric.name
                assert metric.physical_max is not None, metric.name
                assert metric.physical_min <= 0.0, (machine_type.name, metric.name)
                assert models[metric.name].ceiling <= metric.physical_max, (machine_type.name, metric.name)


def test_plant_b_healthy_for_days_reads_inside_every_alarm_limit_of_every_type(plant_b):
    limits = {
        (machine_type.name, metric.name): metric
        for machine_type in plant_b.machine_types
        for metric in machine_type.metrics
    }
    type_of = {machine.code: machine.machine_type for machine in plant_b.machines}
    plant = plant_b.simulation(seed=21, mtbf_hours=NEVER_FAILS)
    seen = set()
    for ts in history_instants(start=T0, end=T0 + 2 * DAY, step_seconds=600):
        tick = plant.tick(ts)
        assert not tick.events
        for reading in tick.readings:
            assert not reading.error_code
            for name, value in reading.metrics.items():
                metric = limits[(type_of[reading.machine_code], name)]
                seen.add(metric.name)
                assert metric.alarm_min is None or value >= metric.alarm_min, (reading.machine_code, name, value)
                assert metric.alarm_max is None or value <= metric.alarm_max, (reading.machine_code, name, value)
    assert {"oil_sump_temperature", "motor_current", "belt_speed", "airflow", "differential_pressure"} <= seen


@pytest.mark.parametrize(
    ("failure_mode", "crossing"),
    [
        (LUBRICATION_LOSS, ["temperature", "oil_sump_temperature"]),  # oil_sump_temperature plays oil_temperature
        (ELECTRICAL_FAULT, ["motor_current"]),  # motor_current plays current
        (BEARING_WEAR, ["vibration"]),
    ],
)
def test_a_fault_on_plant_bs_new_type_drives_its_own_metrics_past_their_alarm_limits(plant_b, failure_mode, crossing):
    limits = _gearbox_limits(plant_b)
    plant = plant_b.simulation(seed=4, mtbf_hours=NEVER_FAILS)
    fault = plant.fault_force(machine_code="B-GBX-01", failure_at=T0 + DAY, failure_mode=failure_mode)
    assert fault.started_at < T0 + DAY - datetime.timedelta(hours=2)
    failing = None
    for ts in history_instants(start=T0, end=T0 + DAY + datetime.timedelta(minutes=2), step_seconds=60):
        for reading in plant.tick(ts).readings:
            if reading.machine_code == "B-GBX-01" and reading.error_code:
                failing = reading
    assert failing is not None
    assert failing.error_code == plant.machines["B-GBX-01"].error_codes[failure_mode]
    for name in crossing:
        assert failing.metrics[name] > limits[name].alarm_max, (name, failing.metrics)
    # The metric no role names is left alone: the belt keeps its speed.
    assert limits["belt_speed"].normal_min <= failing.metrics["belt_speed"] <= limits["belt_speed"].normal_max


def test_a_fault_kind_for_some_types_never_strikes_the_others(plant_b):
    plant = plant_b.simulation(seed=2, mtbf_hours=5)
    gearbox = plant.machines["B-GBX-01"]
    assert IMBALANCE not in {kind.failure_mode for kind in gearbox.fault_kinds}
    assert IMBALANCE in {kind.failure_mode for kind in plant.machines["B-FAN-01"].fault_kinds}
    with pytest.raises(ValueError, match="no fault of kind 'imbalance' strikes"):
        plant.fault_force(machine_code="B-GBX-01", failure_at=T0 + DAY, failure_mode=IMBALANCE)
    modes = set()
    for ts in history_instants(start=T0, end=T0 + 20 * DAY, step_seconds=3600):
        modes |= {event.fault.failure_mode for event in plant.tick(ts).events if event.fault.machine_code == "B-GBX-01"}
    assert modes
    assert IMBALANCE not in modes
