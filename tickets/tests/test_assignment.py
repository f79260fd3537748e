"""Auto-assignment: the least busy technician on shift, ties to the least recently assigned."""

import datetime

import pytest
from django.db import transaction

from core.roles import Role
from core.tests.factories import UserFactory
from telemetry.tests.factories import MachineFactory
from tickets.assignment import least_busy_technician_on_shift, technicians_on_shift
from tickets.models import Shift, TicketEventKind, TicketStatus
from tickets.services import ticket_create
from tickets.tests.conftest import AT
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def technician(name: str, *shifts: Shift, active: bool = True):
    user = UserFactory(username=name, role=Role.TECHNICIAN, is_active=active)
    for shift in shifts:
        shift.technicians.add(user)
    return user


def give(user, count: int, *, status=TicketStatus.OPEN, assigned_at=AT - datetime.timedelta(hours=1)):
    for _ in range(count):
        TicketFactory(
            assignee=user,
            assigned_at=assigned_at,
            status=status,
            started_at=None if status == TicketStatus.OPEN else AT - datetime.timedelta(hours=1),
        )


def pick():
    with transaction.atomic():
        return least_busy_technician_on_shift(ticket=TicketFactory(), at=AT)


def test_the_technician_on_shift_with_the_fewest_open_and_in_progress_tickets_gets_it(day_shift):
    busy, lighter = technician("busy", day_shift), technician("lighter", day_shift)
    technician("idle-but-off-shift")
    give(busy, 2)
    give(busy, 1, status=TicketStatus.IN_PROGRESS)
    give(lighter, 1, status=TicketStatus.IN_PROGRESS)
    # Resolved work is done work: it does not count as load.
    now = AT - datetime.timedelta(minutes=5)
    TicketFactory.create_batch(
        3,
        assignee=lighter,
        status=TicketStatus.RESOLVED,
        started_at=now,
        resolved_at=now,
        outcome="false_alarm",
        resolution_notes="ok",
    )
    assert pick() == lighter  # not the idle technician who is off shift


def test_a_tie_goes_to_the_technician_assigned_least_recently(day_shift):
    recent, earlier = technician("recent", day_shift), technician("earlier", day_shift)
    give(recent, 1, assigned_at=AT - datetime.timedelta(minutes=10))
    give(earlier, 1, assigned_at=AT - datetime.timedelta(hours=3))
    assert pick() == earlier

    never = technician("never", day_shift)
    give(never, 1, status=TicketStatus.IN_PROGRESS, assigned_at=None)
    assert pick() == never  # never assigned counts as longest ago


def test_inactive_users_and_users_who_are_not_technicians_are_not_picked(day_shift):
    technician("gone", day_shift, active=False)
    day_shift.technicians.add(UserFactory(username="boss", role=Role.MANAGER))
    assert technicians_on_shift(at=AT) == []
    assert pick() is None


def test_a_night_shift_covers_the_hours_after_midnight():
    night = Shift.objects.create(name="Night", starts_at=datetime.time(22), ends_at=datetime.time(6))
    owl = technician("owl", night)
    two_am = AT.replace(hour=2)
    assert technicians_on_shift(at=two_am) == [owl.pk]
    assert technicians_on_shift(at=AT) == []


def test_shifts_are_plant_local_time(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    early = Shift.objects.create(name="Early", starts_at=datetime.time(6), ends_at=datetime.time(14))
    worker = technician("early", early)
    utc_0530 = datetime.datetime(2026, 7, 1, 5, 30, tzinfo=datetime.UTC)  # 07:30 in Berlin (summer time)
    assert technicians_on_shift(at=utc_0530) == [worker.pk]


def test_a_ticket_with_nobody_on_shift_stays_unassigned_and_every_supervisor_is_told(
    day_shift, django_capture_on_commit_callbacks
):
    UserFactory(username="super", role=Role.SUPERVISOR)
    UserFactory(username="super2", role=Role.SUPERVISOR)
    technician("night-owl")  # on no shift

    with django_capture_on_commit_callbacks() as callbacks:
        ticket = ticket_create(machine=MachineFactory(), title="Noise from the gearbox", at=AT)

    assert ticket.assignee is None
    event = ticket.events.get(kind=TicketEventKind.ASSIGNED)
    assert (event.assignee, event.note) == (None, "Nobody on shift: left unassigned; 2 supervisor(s) told")
    assert len(callbacks) == 2  # "opened" to the plant, "unassigned" to the supervisors (tests/test_push.py)


def test_assignment_is_recorded_with_who_and_when(day_shift):
    tech = technician("tech1", day_shift)
    ticket = ticket_create(machine=MachineFactory(), title="Check the seal", at=AT)
    assert (ticket.assignee, ticket.assigned_at) == (tech, AT)
    event = ticket.events.get(kind=TicketEventKind.ASSIGNED)
    assert (event.assignee, event.at) == (tech, AT)
