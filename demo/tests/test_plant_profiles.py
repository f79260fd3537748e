"""The seed and the demo's crew read the plant profile: the demo profile is today's demo plant, and
`seed_demo --profile` / `simulate_plant --profile` seed and play another plant."""

import dataclasses
import datetime
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from demo.history import CrewHabits
from demo.seed import DEMO_PROFILE, MACHINE_TYPES, MACHINES, USERS, plant_users
from simulation.profiles import PROFILES_DIR, plant_profile_load
from simulation.runner import plant_load
from telemetry.models import Machine, MachineType, Reading
from tickets.models import Shift

BEFORE = json.loads(
    (
        Path(__file__).resolve().parents[2] / "simulation" / "tests" / "data" / "demo_plant_before_profiles.json"
    ).read_text("utf-8")
)
PLANT_B = PROFILES_DIR / "plant_b.toml"
LIMITS = ("name", "unit", "normal_min", "normal_max", "alarm_min", "alarm_max")


def _plain(value) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(value), default=str))


def test_the_demo_profile_seeds_the_same_types_machines_shifts_and_users_as_before_profiles():
    assert [
        {
            "name": t.name,
            "description": t.description,
            "metrics": [{key: getattr(m, key) for key in LIMITS} for m in t.metrics],
        }
        for t in MACHINE_TYPES
    ] == BEFORE["machine_types"]
    assert [_plain(machine) for machine in MACHINES] == BEFORE["machines"]
    assert [_plain(shift) for shift in DEMO_PROFILE.crew.shifts] == BEFORE["shifts"]
    assert [_plain(user) for user in USERS] == BEFORE["users"]


def test_the_demo_profiles_crew_works_as_the_crew_did_before_profiles():
    habits = CrewHabits.of_crew(DEMO_PROFILE.crew)
    assert habits == CrewHabits()
    assert {"respond_minutes": list(habits.respond_minutes), "pace": list(habits.pace)} == BEFORE["crew"]["habits"]
    assert habits.default_job == datetime.timedelta(minutes=BEFORE["crew"]["default_job_minutes"])


@pytest.mark.django_db
def test_seed_demo_with_a_profile_seeds_that_plant_and_the_simulator_plays_it():
    out = StringIO()
    call_command("seed_demo", "--profile", str(PLANT_B), stdout=out)
    plant_b = plant_profile_load(PLANT_B)
    assert "Plant B seeded." in out.getvalue()
    assert set(MachineType.objects.values_list("name", flat=True)) == {t.name for t in plant_b.machine_types}
    assert Machine.objects.count() == len(plant_b.machines)
    gearbox = Machine.objects.get(code="B-GBX-03")
    assert (gearbox.name, gearbox.machine_type.name) == ("Belt conveyor gearbox 3", "Belt conveyor gearbox")
    assert set(gearbox.machine_type.metrics.values_list("name", flat=True)) >= {"oil_sump_temperature", "belt_speed"}
    assert set(Shift.objects.values_list("name", flat=True)) == {"Day (12 h)", "Night (12 h)"}
    assert [user.username for user in plant_users(plant_b)][2:] == ["btech1", "btech2", "btech3"]

    plant = plant_load(machine_count=None, seed=3, profile=plant_b)
    simulation = plant.simulation
    assert simulation.machines["B-GBX-03"].metric_by_role["current"] == "motor_current"
    assert simulation.machines["B-GBX-03"].mtbf_hours == plant_b.mtbf_hours
    reading = simulation.tick(datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC)).readings[0]
    assert reading.machine_code.startswith("B-")


@pytest.mark.django_db
def test_simulate_plant_with_a_profile_writes_that_plants_history(tmp_path):
    call_command("seed_demo", "--profile", str(PLANT_B), stdout=StringIO())
    out = StringIO()
    call_command(
        "simulate_plant",
        "--profile",
        str(PLANT_B),
        machines=3,
        history_days=0.05,
        no_live=True,
        now=datetime.datetime(2026, 3, 2, 12, tzinfo=datetime.UTC),
        truth_file=tmp_path / "truth.jsonl",
        stdout=out,
    )
    assert "of Plant B" in out.getvalue()
    assert "MTBF 140 h" in out.getvalue()
    assert Reading.objects.filter(machine__code="B-FAN-01").exists()


def test_a_bad_profile_stops_the_commands_with_the_loaders_message(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(PLANT_B.read_text("utf-8").replace("noise = 1.5", "noise = 0"), encoding="utf-8")
    for command in ("seed_demo", "simulate_plant"):
        with pytest.raises(CommandError, match=r"bad.toml: noise: must be positive"):
            call_command(command, "--profile", str(path), stdout=StringIO())
