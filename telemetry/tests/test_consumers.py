import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from maintainx.asgi import application
from realtime.groups import PLANT_GROUP, machine_group, user_group
from telemetry.ingest import ReadingRow
from telemetry.live import LiveFrames
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory

# Transactional: the consumer reads the database from another thread; role_groups brings back the
# role groups (created by a data migration) that the flush after each test removes.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("role_groups")]


def session_headers_sync(user=None, origin="http://127.0.0.1:8000"):
    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        headers.append((b"cookie", cookie.encode()))
    return headers


session_headers = database_sync_to_async(session_headers_sync)


async def test_anonymous_websocket_is_refused_with_4401():
    communicator = WebsocketCommunicator(application, "/ws/plant/", headers=await session_headers())
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)


async def test_user_without_role_is_refused_with_4403(user_without_role):
    communicator = WebsocketCommunicator(application, "/ws/plant/", headers=await session_headers(user_without_role))
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4403)


async def test_foreign_origin_is_refused(manager):
    headers = await session_headers(manager, origin="http://evil.example")
    communicator = WebsocketCommunicator(application, "/ws/plant/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected is False


async def test_signed_in_manager_receives_plant_events(manager):
    communicator = WebsocketCommunicator(application, "/ws/plant/", headers=await session_headers(manager))
    connected, _ = await communicator.connect()
    assert connected
    event = {"type": "machine.status", "machine": "M-001", "status": "down"}
    await get_channel_layer().group_send(PLANT_GROUP, {"type": "plant.event", "payload": event})
    assert await communicator.receive_json_from(timeout=3) == event
    await communicator.disconnect()


async def test_machine_socket_relays_live_readings_committed_by_the_listener(manager):
    machine = await database_sync_to_async(MachineFactory)(code="M-042")
    communicator = WebsocketCommunicator(application, "/ws/machines/M-042/", headers=await session_headers(manager))
    connected, _ = await communicator.connect()
    assert connected
    now = timezone.now().replace(microsecond=0)
    row = ReadingRow(machine.id, "M-042", now, {"vibration": 3.3})
    await database_sync_to_async(readings_ingest)(rows=[row], on_commit=LiveFrames().publish)

    frame = await communicator.receive_json_from(timeout=3)
    assert frame == {"machine": "M-042", "ts": now.isoformat(), "metrics": {"vibration": 3.3}}
    await communicator.disconnect()


async def test_socket_for_an_unknown_machine_is_refused_with_4404(manager):
    communicator = WebsocketCommunicator(application, "/ws/machines/M-404/", headers=await session_headers(manager))
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4404)


async def test_anonymous_machine_socket_is_refused(db):
    communicator = WebsocketCommunicator(application, "/ws/machines/M-001/", headers=await session_headers())
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)


async def test_socket_without_an_origin_header_is_refused(manager):
    headers = [header for header in await session_headers(manager) if header[0] != b"origin"]
    communicator = WebsocketCommunicator(application, "/ws/plant/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected is False


async def test_machine_socket_refuses_a_foreign_origin(manager):
    await database_sync_to_async(MachineFactory)(code="M-042")
    headers = await session_headers(manager, origin="http://evil.example")
    communicator = WebsocketCommunicator(application, "/ws/machines/M-042/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected is False


async def test_user_group_reaches_only_that_users_sockets(manager, technician):
    tech_socket = WebsocketCommunicator(application, "/ws/plant/", headers=await session_headers(technician))
    manager_socket = WebsocketCommunicator(application, "/ws/plant/", headers=await session_headers(manager))
    assert (await tech_socket.connect())[0]
    assert (await manager_socket.connect())[0]

    event = {"type": "ticket", "event": "assigned", "id": 7, "assignee": technician.pk}
    await get_channel_layer().group_send(user_group(technician.pk), {"type": "plant.event", "payload": event})

    assert await tech_socket.receive_json_from(timeout=3) == event
    assert await manager_socket.receive_nothing(timeout=0.3)
    await tech_socket.disconnect()
    await manager_socket.disconnect()


async def test_every_role_receives_plant_events(technician, supervisor):
    sockets = [
        WebsocketCommunicator(application, "/ws/plant/", headers=await session_headers(user))
        for user in (technician, supervisor)
    ]
    for socket in sockets:
        assert (await socket.connect())[0]

    event = {"type": "alert", "event": "raised", "id": 3, "machine": "M-007", "probability": 0.93}
    await get_channel_layer().group_send(PLANT_GROUP, {"type": "plant.event", "payload": event})

    for socket in sockets:
        assert await socket.receive_json_from(timeout=3) == event
        await socket.disconnect()


async def test_machine_socket_receives_only_its_own_machine(manager):
    pump, fan = await database_sync_to_async(lambda: (MachineFactory(code="M-001"), MachineFactory(code="M-002")))()
    communicator = WebsocketCommunicator(application, "/ws/machines/M-001/", headers=await session_headers(manager))
    assert (await communicator.connect())[0]
    now = timezone.now().replace(microsecond=0)
    rows = [ReadingRow(fan.id, "M-002", now, {"vibration": 9.9}), ReadingRow(pump.id, "M-001", now, {"vibration": 1.1})]
    await database_sync_to_async(readings_ingest)(rows=rows, on_commit=LiveFrames().publish)

    assert (await communicator.receive_json_from(timeout=3))["machine"] == "M-001"
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_plant_socket_receives_the_compact_telemetry_frame_of_a_batch(manager):
    pump, fan = await database_sync_to_async(lambda: (MachineFactory(code="M-001"), MachineFactory(code="M-002")))()
    communicator = WebsocketCommunicator(application, "/ws/plant/", headers=await session_headers(manager))
    assert (await communicator.connect())[0]
    now = timezone.now().replace(microsecond=0)
    rows = [ReadingRow(pump.id, "M-001", now, {"vibration": 1.1}), ReadingRow(fan.id, "M-002", now, {"vibration": 2.2})]
    await database_sync_to_async(readings_ingest)(rows=rows, on_commit=LiveFrames().publish)

    frame = await communicator.receive_json_from(timeout=3)
    assert frame["type"] == "telemetry"
    assert {reading["machine"]: reading["metrics"] for reading in frame["readings"]} == {
        "M-001": {"vibration": 1.1},
        "M-002": {"vibration": 2.2},
    }
    await communicator.disconnect()


async def test_a_whole_plant_batch_reaches_every_machine_group():
    # More machines in one batch than channels-redis's connection pool holds (100): the frames must not
    # all borrow a connection at once.
    now = timezone.now()
    rows = [ReadingRow(index, f"M-{index:03d}", now, {"vibration": 1.0 + index / 1000}) for index in range(300)]
    layer = get_channel_layer()
    watcher = await layer.new_channel()
    await layer.group_add(machine_group("M-299"), watcher)

    assert await sync_to_async(LiveFrames().publish)(rows) == 300

    message = await asyncio.wait_for(layer.receive(watcher), timeout=3)
    assert message["payload"]["metrics"] == {"vibration": 1.299}
    await layer.group_discard(machine_group("M-299"), watcher)
