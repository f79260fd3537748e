"""The one sender to the dashboards' channel groups, and the push of changes once they commit.

Every service that changes an alert, a ticket, a machine's status or the predictions calls
`broadcast_on_commit` inside its transaction (DESIGN.md: the action that changes a thing sends its
event, never the view or a signal). Nothing is sent when the transaction rolls back. The groups are
those of realtime.groups: `plant` (everyone on /ws/plant/) and `user.<id>` (one person's sockets).
The live readings (telemetry.live) go through `group_sends` too.

Frames are small: what changed, its id and status. The plant group reaches every role, so a frame
carries nothing a technician may not read; clients fetch the object by REST, where permissions
apply, and after a reconnect fetch what they missed with `?since=`.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from realtime.groups import PLANT_EVENT, PLANT_GROUP, user_group

logger = logging.getLogger(__name__)

# Group sends in flight at once, well inside the channel layer's connection pool.
LAYER_CONCURRENCY = 16


Frames = list[tuple[list[str], dict]]  # (groups, payload)

# The frames of the batch() block running in this thread, if any.
_batch = threading.local()


def broadcast_on_commit(payload: dict, *, user_ids: Iterable[int | None] = (), plant: bool = True) -> None:
    """After commit, send `payload` to the plant group (unless plant=False) and to each user's group."""
    users = sorted({user_id for user_id in user_ids if user_id is not None})
    groups = ([PLANT_GROUP] if plant else []) + [user_group(user_id) for user_id in users]
    if not groups:
        return
    frames = getattr(_batch, "frames", None)
    if frames is not None:
        frames.append((groups, payload))
    else:
        _send_on_commit([(groups, payload)])


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Frames broadcast inside the block are sent together, in order, once the transaction commits:
    one trip to the channel layer instead of one per frame (a predictor tick refreshes every open
    alert). Nothing is sent if the block raises."""
    if getattr(_batch, "frames", None) is not None:
        yield  # already inside a batch: the outer one sends
        return
    _batch.frames = frames = []
    try:
        yield
    finally:
        _batch.frames = None
    if frames:
        _send_on_commit(frames)


def _send_on_commit(frames: Frames) -> None:
    # robust: the change is committed; a channel layer that is down must not turn it into an error.
    transaction.on_commit(lambda: async_to_sync(_group_sends)(frames), robust=True)


async def _group_sends(frames: Frames) -> None:
    # In order: a client must see "raised" before "refreshed" of the same alert.
    for groups, payload in frames:
        message = {"type": PLANT_EVENT, "payload": payload}
        await group_sends([(group, message) for group in groups])


async def group_sends(sends: list[tuple[str, dict]]) -> None:
    """Send each (group, message) at once, at most LAYER_CONCURRENCY in flight.

    channels-redis borrows a pooled connection for each group_send, and its pool refuses a borrower
    past 100 at once: a batch holding a whole plant's machines must queue for the connections, not
    take them all.
    """
    layer = get_channel_layer()
    if layer is None:
        logger.warning("no channel layer configured: %d messages not pushed", len(sends))
        return
    connections = asyncio.Semaphore(LAYER_CONCURRENCY)

    async def send(group: str, message: dict) -> None:
        async with connections:
            await layer.group_send(group, message)

    await asyncio.gather(*(send(group, message) for group, message in sends))
