"""Push of alert, ticket and machine-status changes to the dashboards, sent once the change commits.

Every service that changes an alert or a ticket calls `broadcast_on_commit` inside its transaction
(DESIGN.md: the action that changes a thing sends its event, never the view or a signal). Nothing
is sent when the transaction rolls back. The groups are those of telemetry/live.py, the one place
that names them: `plant` (everyone on /ws/plant/) and `user.<id>` (one person's sockets).

Frames are small: what changed, its id and status. The plant group reaches every role, so a frame
carries nothing a technician may not read; clients fetch the object by REST, where permissions
apply, and after a reconnect fetch what they missed with `?since=`.
"""

import asyncio
import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from telemetry.live import PLANT_GROUP, user_group

logger = logging.getLogger(__name__)

PLANT_EVENT = "plant.event"  # the handler PlantConsumer relays to the socket


def broadcast_on_commit(payload: dict, *, user_ids: Iterable[int | None] = (), plant: bool = True) -> None:
    """After commit, send `payload` to the plant group (unless plant=False) and to each user's group."""
    users = sorted({user_id for user_id in user_ids if user_id is not None})
    groups = ([PLANT_GROUP] if plant else []) + [user_group(user_id) for user_id in users]
    if groups:
        # robust: the change is committed; a channel layer that is down must not turn it into an error.
        transaction.on_commit(lambda: _send(groups, payload), robust=True)


def _send(groups: list[str], payload: dict) -> None:
    async_to_sync(_group_sends)(groups, {"type": PLANT_EVENT, "payload": payload})


async def _group_sends(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        logger.warning("no channel layer configured: %s not pushed", message["payload"].get("type"))
        return
    await asyncio.gather(*(layer.group_send(group, message) for group in groups))
