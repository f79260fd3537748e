"""The dashboards' websockets: they authenticate, join their groups and relay what is sent there."""

from collections.abc import Awaitable, Callable

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.roles import user_role
from realtime.groups import PLANT_GROUP, machine_group, user_group


async def _refuse_unless_role(consumer) -> bool:
    """Close the socket of anonymous users and users without a role; True when refused."""
    user = consumer.scope["user"]
    if await database_sync_to_async(user_role)(user) is not None:
        return False
    # 4401/4403 mirror HTTP so the client knows to send the user to the login page.
    await consumer.close(code=4401 if not user.is_authenticated else 4403)
    return True


class PlantConsumer(AsyncJsonWebsocketConsumer):
    """/ws/plant/: plant-wide events (machine status, alerts, tickets) and the user's own events.

    It only authenticates, joins groups and relays; senders put the frame under "payload".
    """

    async def connect(self):
        if await _refuse_unless_role(self):
            return
        self.joined_groups = [PLANT_GROUP, user_group(self.scope["user"].pk)]
        for group in self.joined_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "joined_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def plant_event(self, event):
        await self.send_json(event["payload"])


class MachineConsumer(AsyncJsonWebsocketConsumer):
    """/ws/machines/<code>/: the live readings of one machine.

    `machine_exists` (given by the routing, which knows the machines' app) refuses unknown codes.
    """

    def __init__(self, *args, machine_exists: Callable[[str], Awaitable[bool]], **kwargs):
        super().__init__(*args, **kwargs)
        self.machine_exists = machine_exists

    async def connect(self):
        if await _refuse_unless_role(self):
            return
        code = self.scope["url_route"]["kwargs"]["code"]
        if not await self.machine_exists(code):
            await self.close(code=4404)
            return
        self.group = machine_group(code)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def machine_reading(self, event):
        await self.send_json(event["payload"])
