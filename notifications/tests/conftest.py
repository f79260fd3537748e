import datetime

import pytest
import time_machine

from notifications.vapid import vapid_keys_generate

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
