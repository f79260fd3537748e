from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from maintainx.roles import user_role

PLANT_GROUP = "plant"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


class PlantConsumer(AsyncJsonWebsocketConsumer):
    """/ws/plant/: plant-wide events (machine status, alerts, tickets) and the user's own events.

    It only authenticates, joins groups and relays; senders put the frame under "payload".
    """

    async def connect(self):
        user = self.scope["user"]
        if await database_sync_to_async(user_role)(user) is None:
            # 4401/4403 mirror HTTP so the client knows to send the user to the login page.
            await self.close(code=4401 if not user.is_authenticated else 4403)
            return
        self.joined_groups = [PLANT_GROUP, user_group(user.pk)]
        for group in self.joined_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "joined_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def plant_event(self, event):
        await self.send_json(event["payload"])
