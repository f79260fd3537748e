"""Push: changes reach the plant group and the people concerned once they commit, never on rollback.

Runs on the configured channel layer: in-memory by default, Redis in CI (REDIS_URL). Other test
runs may share that Redis, so each test's machine has a code of its own and frames are matched on it.
"""

import asyncio
import datetime
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from core.roles import Role
from core.tests.factories import UserFactory
from realtime.groups import PLANT_EVENT, PLANT_GROUP, user_group
from telemetry.tests.factories import MachineFactory
from tickets.models import Ticket
from tickets.services import alerts_from_predictions, ticket_create, ticket_start, ticket_take
from tickets.tests.conftest import AT

# Transactional: on_commit runs only when a real transaction commits.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("role_groups")]


class Listener:
    """A channel in some groups, as a dashboard's socket is."""

    def __init__(self, *groups: str):
        self.layer = get_channel_layer()
        self.groups = groups
        self.channel = async_to_sync(self.layer.new_channel)()
        for group in groups:
            async_to_sync(self.layer.group_add)(group, self.channel)

    def frames(self, machine_code: str, *, wait: float = 0.5) -> list[dict]:
        """Every frame about this machine that arrives within `wait` seconds of the last one.

        Once per listener: channels-redis binds a channel's receive buffer to the event loop of
        the first receive, and each async_to_sync call may run another loop.
        """
        return [message["payload"] for message in async_to_sync(self._drain)(wait) if _about(message, machine_code)]

    async def _drain(self, wait: float) -> list[dict]:
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(self.layer.receive(self.channel), wait))
            except TimeoutError:
                return messages

    def close(self):
        for group in self.groups:
            async_to_sync(self.layer.group_discard)(group, self.channel)


def _about(message: dict, machine_code: str) -> bool:
    return message.get("type") == PLANT_EVENT and message["payload"].get("machine") == machine_code


@pytest.fixture
def machine():
    return MachineFactory(code=f"P-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def listen():
    listeners = []

    def make(*groups):
        listeners.append(Listener(*groups))
        return listeners[-1]

    yield make
    for listener in listeners:
        listener.close()


def test_a_raised_alert_and_its_ticket_reach_the_plant_and_the_assignee_after_commit(
    machine, bearing_code, predict, technician_on_shift, listen
):
    before_commit = listen(PLANT_GROUP)
    plant, assignee = listen(PLANT_GROUP), listen(user_group(technician_on_shift.pk))

    with transaction.atomic():
        [alert] = alerts_from_predictions(predictions=[predict(machine, 0.9, bearing_code)], at=AT)
        assert before_commit.frames(machine.code, wait=0.2) == []
    ticket = Ticket.objects.get()

    frames = plant.frames(machine.code)
    assert [(f["type"], f["event"], f.get("id")) for f in frames] == [
        ("alert", "raised", alert.pk),
        ("machine", "status", None),
        ("ticket", "opened", ticket.pk),
        ("ticket", "assigned", ticket.pk),
    ]
    assert frames[0] == {
        "type": "alert",
        "event": "raised",
        "id": alert.pk,
        "machine": machine.code,
        "error_code": "E-BRG-01",
        "status": "active",
        "probability": 0.9,
        "source": "prediction",
    }
    assert frames[1]["status"] == "degraded"
    assert frames[3]["assignee"] == technician_on_shift.pk
    assert [f["event"] for f in assignee.frames(machine.code)] == ["assigned"]


def test_a_falling_probability_on_an_open_alert_is_pushed_so_banners_do_not_go_stale(
    machine, bearing_code, predict, technician_on_shift, listen
):
    [alert] = alerts_from_predictions(predictions=[predict(machine, 0.9, bearing_code)], at=AT)
    plant = listen(PLANT_GROUP)

    alerts_from_predictions(predictions=[predict(machine, 0.3, bearing_code)], at=AT + datetime.timedelta(seconds=10))

    frames = plant.frames(machine.code)
    assert [(f["type"], f["event"], f["id"], f["probability"]) for f in frames] == [
        ("alert", "refreshed", alert.pk, 0.3)
    ]


def test_nothing_is_pushed_when_the_change_rolls_back(machine, technician_on_shift, listen):
    ticket = ticket_create(machine=machine, title="Check the coupling", at=AT)
    plant, assignee = listen(PLANT_GROUP), listen(user_group(technician_on_shift.pk))

    def start_then_fail():
        with transaction.atomic():
            ticket_start(ticket=ticket, actor=technician_on_shift)
            raise RuntimeError("the request failed after the change")

    with pytest.raises(RuntimeError):
        start_then_fail()

    assert plant.frames(machine.code) == []
    assert assignee.frames(machine.code) == []
    assert Ticket.objects.get().status == "open"


def test_supervisors_are_told_of_a_ticket_nobody_is_on_shift_for(machine, listen):
    supervisor = UserFactory(username="super", role=Role.SUPERVISOR)
    plant, personal = listen(PLANT_GROUP), listen(user_group(supervisor.pk))

    ticket = ticket_create(machine=machine, title="Check the coupling", at=AT)

    assert [f["event"] for f in personal.frames(machine.code)] == ["unassigned"]
    # The plant hears of the new ticket, not of the staffing problem.
    assert [(f["event"], f["id"]) for f in plant.frames(machine.code)] == [("opened", ticket.pk)]


def test_a_taken_ticket_reaches_the_plant_and_the_technician_who_took_it(machine, listen):
    ticket = ticket_create(machine=machine, title="Check the coupling", at=AT)
    taker = UserFactory(username="tech2", role=Role.TECHNICIAN)
    plant, personal = listen(PLANT_GROUP), listen(user_group(taker.pk))

    ticket_take(ticket=ticket, actor=taker)

    expected = [("ticket", "assigned", ticket.pk, taker.pk)]
    # The plant: other technicians' "unassigned" lists drop it.
    assert [(f["type"], f["event"], f["id"], f["assignee"]) for f in plant.frames(machine.code)] == expected
    assert [(f["type"], f["event"], f["id"], f["assignee"]) for f in personal.frames(machine.code)] == expected
