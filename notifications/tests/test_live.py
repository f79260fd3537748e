"""The live message: once the ticket's transaction commits, the dashboard's socket of the person told
gets {"type": "notification.created", "notification": <the API's item>}, and nobody else's does."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from core.roles import Role
from core.tests.factories import UserFactory
from maintainx.asgi import application
from notifications.services import channel_choice_set
from notifications.services.notify import LIVE_MESSAGE_TYPE
from telemetry.tests.factories import MachineFactory
from telemetry.tests.test_consumers import session_headers
from tickets.services import ticket_create

# Transactional: the message leaves on commit, and the consumer reads the session from another thread.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("role_groups")]


async def _connected(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/plant/", headers=await session_headers(user))
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _next_notification(communicator: WebsocketCommunicator) -> dict:
    """The next notification message, past the plant's frames (tickets opened, machines' states)."""
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame.get("type") == LIVE_MESSAGE_TYPE:
            return frame


def _api_items(user) -> list[dict]:
    client = APIClient()
    client.force_authenticate(user)
    return client.get("/api/notifications/").json()["results"]


async def test_the_person_told_gets_the_item_on_their_socket_and_the_next_person_only_their_own():
    # In no shift, so on duty whatever the hour the test runs at.
    first, second = [
        await database_sync_to_async(UserFactory)(username=name, role=Role.TECHNICIAN) for name in ("ana", "ben")
    ]
    supervisor = await database_sync_to_async(UserFactory)(username="sue", role=Role.SUPERVISOR)
    machine = await database_sync_to_async(MachineFactory)(code="M-101")
    first_socket, second_socket = await _connected(first), await _connected(second)

    ticket_for_first = await database_sync_to_async(ticket_create)(
        machine=machine, title="Inspect the gearbox", assignee=first, actor=supervisor
    )
    ticket_for_second = await database_sync_to_async(ticket_create)(
        machine=machine, title="Check the coupling", assignee=second, actor=supervisor
    )

    told_first = await _next_notification(first_socket)
    # Frames reach a socket in the order they were sent: had the first notification reached the
    # second person's socket, it would come before their own.
    told_second = await _next_notification(second_socket)
    [first_item] = await database_sync_to_async(_api_items)(first)
    assert told_first == {"type": LIVE_MESSAGE_TYPE, "notification": first_item}
    assert first_item["ticket"] == ticket_for_first.pk
    assert first_item["url"] == f"/tickets/{ticket_for_first.pk}"
    assert told_second["notification"]["ticket"] == ticket_for_second.pk
    await first_socket.disconnect()
    await second_socket.disconnect()


async def test_no_live_message_while_the_in_app_channel_is_off():
    technician = await database_sync_to_async(UserFactory)(username="ana", role=Role.TECHNICIAN)
    supervisor = await database_sync_to_async(UserFactory)(username="sue", role=Role.SUPERVISOR)
    machine = await database_sync_to_async(MachineFactory)(code="M-102")
    socket = await _connected(technician)

    await database_sync_to_async(channel_choice_set)(user=technician, push=True, email=True, in_app=False)
    await database_sync_to_async(ticket_create)(
        machine=machine, title="Told in the list only", assignee=technician, actor=supervisor
    )
    await database_sync_to_async(channel_choice_set)(user=technician, push=True, email=True, in_app=True)
    live = await database_sync_to_async(ticket_create)(
        machine=machine, title="Told live too", assignee=technician, actor=supervisor
    )

    # In order: had the first been sent, it would come first.
    told = await _next_notification(socket)
    assert told["notification"]["ticket"] == live.pk
    assert len(await database_sync_to_async(_api_items)(technician)) == 2
    await socket.disconnect()
