import datetime
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from catalogue.models import SOP, ErrorCode, FailureMode, SOPStep
from catalogue.selectors import sop_for_error_code
from core.roles import Role, user_role, user_set_role
from demo.seed import MACHINES, USERS, demo_plant_seed
from telemetry.models import Machine, MachineStatus, MachineType, MetricSpec
from tickets.models import Shift

pytestmark = pytest.mark.django_db

User = get_user_model()
SEEDED_MODELS = (
    MachineType,
    MetricSpec,
    Machine,
    ErrorCode,
    SOP,
    SOP.error_codes.through,
    SOPStep,
    Shift,
    Shift.technicians.through,
    User,
    User.groups.through,
)


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in SEEDED_MODELS}


def login_of(report, username: str):
    return next(login for login in report.logins if login.username == username)


def test_seeding_twice_creates_and_changes_nothing_the_second_time():
    first = demo_plant_seed()
    counts_after_first = row_counts()
    sop_timestamps = dict(SOP.objects.values_list("pk", "updated_at"))
    step_ids = set(SOPStep.objects.values_list("pk", flat=True))

    second = demo_plant_seed()

    assert first.created_total > 0
    assert row_counts() == counts_after_first
    assert second.created_total == 0
    assert {kind: counts.existing for kind, counts in second.counts.items()} == {
        kind: counts.created for kind, counts in first.counts.items()
    }
    assert dict(SOP.objects.values_list("pk", "updated_at")) == sop_timestamps
    assert set(SOPStep.objects.values_list("pk", flat=True)) == step_ids


def test_second_run_keeps_a_password_changed_by_hand():
    demo_plant_seed()
    tech = User.objects.get(username="tech1")
    tech.set_password("my-own-secret-1")
    tech.save()

    report = demo_plant_seed()

    assert authenticate(username="tech1", password="my-own-secret-1") is not None
    assert authenticate(username="tech1", password="tech1-demo") is None
    assert login_of(report, "tech1").password is None


def test_reset_passwords_restores_the_demo_passwords_of_existing_users():
    demo_plant_seed()
    tech = User.objects.get(username="tech1")
    tech.set_password("my-own-secret-1")
    tech.save()

    report = demo_plant_seed(reset_passwords=True)

    assert authenticate(username="tech1", password="tech1-demo") is not None
    assert login_of(report, "tech1").password == "tech1-demo"
    assert all(login.password == f"{login.username}-demo" for login in report.logins)
    assert report.created_total == 0


def test_reseeding_keeps_what_a_supervisor_edited_in_the_admin():
    demo_plant_seed()
    Machine.objects.filter(code="M-001").update(name="Renamed", status=MachineStatus.DOWN)
    MetricSpec.objects.filter(machine_type__name="Centrifugal pump", name="vibration").update(alarm_max=9.5)
    sop = SOP.objects.get(error_codes__code="E-BRG-01")
    sop.steps.filter(order=3).delete()
    manager = User.objects.get(username="manager")
    user_set_role(user=manager, role=Role.SUPERVISOR)

    report = demo_plant_seed()

    machine = Machine.objects.get(code="M-001")
    assert (machine.name, machine.status) == ("Renamed", MachineStatus.DOWN)
    assert MetricSpec.objects.get(machine_type__name="Centrifugal pump", name="vibration").alarm_max == 9.5
    assert 3 not in sop.steps.values_list("order", flat=True)
    # The logins table tells the truth about the account as it is now.
    assert login_of(report, "manager").role == Role.SUPERVISOR


def test_a_failing_seed_leaves_nothing_behind():
    # The role groups come from a data migration; without one, seeding users fails after the plant
    # rows were written, and the one transaction must take those back too.
    Group.objects.filter(name=Role.TECHNICIAN).delete()

    with pytest.raises(Group.DoesNotExist):
        demo_plant_seed()

    assert MachineType.objects.count() == 0
    assert Machine.objects.count() == 0
    assert User.objects.count() == 0


def test_plant_has_at_least_20_machines_spread_over_three_lines():
    demo_plant_seed()

    machines = Machine.objects.all()
    assert machines.count() >= 20
    assert set(machines.values_list("line", flat=True)) == {"Line 1", "Line 2", "Line 3"}
    assert not machines.exclude(status=MachineStatus.RUNNING).exists()
    assert all(machine.installed_at < datetime.date.today() for machine in machines)
    assert [machine.code for machine in machines] == [f"M-{number:03d}" for number in range(1, len(MACHINES) + 1)]


def test_every_failure_mode_has_an_error_code_with_a_published_sop_that_starts_with_lockout():
    demo_plant_seed()

    failure_modes = [mode for mode in FailureMode if mode != FailureMode.OTHER]
    for mode in failure_modes:
        error_code = ErrorCode.objects.get(failure_mode=mode)
        sop = sop_for_error_code(code=error_code.code)
        assert sop is not None, error_code.code
        assert sop.is_published
        assert sop.summary
        steps = list(sop.steps.all())
        assert 6 <= len(steps) <= 10, sop.title
        assert [step.order for step in steps] == list(range(1, len(steps) + 1))
        assert "lockout/tagout" in steps[0].instruction.lower(), sop.title
        assert steps[0].warning
        assert any("lockout/tagout" in step.instruction.lower() for step in steps[1:]), f"{sop.title}: no release"


def test_every_sop_step_has_an_instruction_and_an_estimate():
    demo_plant_seed()

    steps = SOPStep.objects.all()
    assert steps.exists()
    for step in steps:
        assert step.instruction.strip()
        assert step.estimated_minutes


def test_every_machine_type_reports_vibration_and_temperature_in_the_contract_units():
    demo_plant_seed()

    for machine_type in MachineType.objects.all():
        units = dict(machine_type.metrics.values_list("name", "unit"))
        assert units["vibration"] == "mm/s RMS", machine_type.name
        assert units["temperature"] == "°C", machine_type.name
        assert len(units) >= 3, machine_type.name


def test_every_seeded_row_passes_model_validation():
    # The database enforces the range ordering; name and code formats are only checked by validators.
    demo_plant_seed()

    for model in (MachineType, MetricSpec, Machine, ErrorCode, SOP, SOPStep, Shift):
        for row in model.objects.all():
            row.full_clean()


def test_every_shift_has_a_technician_and_the_shifts_cover_the_whole_day():
    demo_plant_seed()

    shifts = list(Shift.objects.all())
    assert {shift.name for shift in shifts} == {"Early", "Late", "Night"}
    for shift in shifts:
        technicians = list(shift.technicians.all())
        assert technicians, shift.name
        assert all(user_role(technician) == Role.TECHNICIAN for technician in technicians)
    for hour in range(24):
        assert any(shift.covers(datetime.time(hour, 30)) for shift in shifts), hour


def test_demo_users_have_their_roles_and_the_supervisor_can_log_in_with_the_printed_password():
    report = demo_plant_seed()

    for user_seed in USERS:
        assert user_role(User.objects.get(username=user_seed.username)) == user_seed.role
    supervisor_login = login_of(report, "supervisor")
    supervisor = authenticate(username="supervisor", password=supervisor_login.password)
    assert supervisor is not None
    assert supervisor.is_staff
    assert not User.objects.get(username="tech1").is_staff


def test_seed_demo_command_prints_the_logins_table():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)

    first, second = out.getvalue().split("Demo plant seeded.")[1:]
    assert "username" in first
    assert "password" in first
    for user_seed in USERS:
        assert user_seed.username in first
        assert user_seed.demo_password in first
        assert user_seed.demo_password not in second
    assert "Technician" in first
    assert "Supervisor" in first
    assert "(unchanged)" in second
    assert "demos only" in first
