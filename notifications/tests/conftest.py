import datetime

import pytest
import time_machine

from core.roles import Role
from core.tests.factories import UserFactory
from notifications.vapid import vapid_keys_generate
from telemetry.tests.factories import MachineFactory
from tickets.models import Shift

# A fixed instant for the tests whose outcome depends on the time: 10:00 UTC, inside the day shift.
NOW = datetime.datetime(2026, 3, 10, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    """The clock pinned at NOW; `clock.shift(seconds)` moves it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def vapid(settings):
    """Web Push configured with a key pair of this test's own."""
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = vapid_keys_generate()
    settings.VAPID_SUBJECT = "mailto:maintenance@plant.example"
    return settings


@pytest.fixture
def machine(db):
    return MachineFactory(code="M-007", name="Coolant pump 7")


@pytest.fixture
def day_shift(db):
    """06:00-18:00 UTC: covers NOW."""
    return Shift.objects.create(name="Day", starts_at=datetime.time(6), ends_at=datetime.time(18))


@pytest.fixture
def night_shift(db):
    """22:00-06:00 UTC: does not cover NOW."""
    return Shift.objects.create(name="Night", starts_at=datetime.time(22), ends_at=datetime.time(6))


@pytest.fixture
def tech_on_shift(day_shift):
    user = UserFactory(username="dana", first_name="Dana", last_name="Day", role=Role.TECHNICIAN)
    day_shift.technicians.add(user)
    return user


@pytest.fixture
def tech_off_shift(night_shift):
    user = UserFactory(username="nico", first_name="Nico", last_name="Night", role=Role.TECHNICIAN)
    night_shift.technicians.add(user)
    return user
