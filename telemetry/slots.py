"""Client ids for the listeners of a shared group, held under PostgreSQL advisory locks.

`mqtt_listen --shared GROUP` on PostgreSQL connects as `maintainx-listener-<group>-<slot>`, where the
slot is the lowest one no other listener holds. The lock is held on a connection of the listener's
own, so it is freed when the process dies, however it dies.

Why slots rather than the host name: Mosquitto keeps a shared group's member in the group while it is
disconnected, and its persistent session queues its share (telemetry/tests/test_listener_scale.py).
- A listener that stops therefore stays in the group. The one that takes its slot next (the same
  container restarted, or a re-created one with a new host name) resumes its session and stores what
  was queued meanwhile. A listener that left the group on stop instead would leave a single-listener
  plant with an empty group during a deploy, and the broker drops what is published then.
- A slot nobody has held for `drain_after` seconds (scaled down, or killed and not back) is drained by
  a listener still running: it connects as that slot, stores what its session holds, and leaves the
  group in its name, so the others get its turns from then on.
"""

import datetime
import logging
import zlib

from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, connection, connections

from telemetry.selectors import listener_slots_to_drain
from telemetry.services import listener_slot_claimed, listener_slot_drained, listener_slot_released, listener_slot_seen

logger = logging.getLogger(__name__)

# More listeners than this in one group is not a plant's ingest (one listener takes ~10,000 readings/s).
MAX_SLOTS = 64


class SlotLostError(RuntimeError):
    """The slot's lock went with its connection and another listener holds it now."""


def slot_client_id(group: str, slot: int) -> str:
    return f"maintainx-listener-{group}-{slot}"[:64]


def _lock_space(group: str) -> int:
    """The first key of the group's advisory locks (the slot is the second), as a signed 32-bit int."""
    crc = zlib.crc32(f"maintainx-listener-slots/{group}".encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class ListenerSlotLease:
    """A slot of the group held by this process, and the slots of others it locked to drain them."""

    def __init__(self, *, group: str, slot: int, lock_connection):
        self.group = group
        self.slot = slot
        self.client_id = slot_client_id(group, slot)
        self._locks = lock_connection
        self._space = _lock_space(group)

    @classmethod
    def claim(cls, group: str, *, now: datetime.datetime) -> "ListenerSlotLease | None":
        """The lowest free slot of the group, locked and recorded; None where there are no advisory
        locks (SQLite: the demo's one listener keeps its host-name client id)."""
        if connection.vendor != "postgresql":
            return None
        locks = connections.create_connection(DEFAULT_DB_ALIAS)
        space = _lock_space(group)
        try:
            slot = next((slot for slot in range(MAX_SLOTS) if _try_lock(locks, space, slot)), None)
        except Exception:
            locks.close()
            raise
        if slot is None:
            locks.close()
            raise RuntimeError(f"all {MAX_SLOTS} client-id slots of the shared group {group!r} are held")
        lease = cls(group=group, slot=slot, lock_connection=locks)
        try:
            listener_slot_claimed(group=group, slot=slot, client_id=lease.client_id, at=now)
        except Exception:
            locks.close()
            raise
        return lease

    def keep(self, *, now: datetime.datetime) -> None:
        """Confirm the lock is still ours and say so in the slot's row. A lock connection that broke
        (the database restarted) is opened again and the slot taken back; SlotLostError if another listener
        took it meanwhile (it connects with the same client id, so this one must stop)."""
        try:
            with self._locks.cursor() as cursor:
                cursor.execute("SELECT 1")
        except (DatabaseError, InterfaceError):
            self._locks.close()
            try:
                taken_back = _try_lock(self._locks, self._space, self.slot)
            except (DatabaseError, InterfaceError) as exc:
                logger.warning("slot %s: the database is unavailable, lock not confirmed (%s)", self.client_id, exc)
                return
            if not taken_back:
                raise SlotLostError(f"{self.client_id} went to another listener when its lock was lost") from None
            logger.warning("slot %s: the lock's connection broke; taken back", self.client_id)
        try:
            listener_slot_seen(group=self.group, slot=self.slot, at=now)
        except DatabaseError as exc:
            logger.warning("slot %s: could not record a sign of life (%s)", self.client_id, exc)

    def orphans_lock(self, *, now: datetime.datetime, drain_after: float) -> list[int]:
        """The group's slots that no listener has held for `drain_after` seconds and that were not
        drained since last held, locked for this listener to drain (orphan_done when done)."""
        quiet_before = now - datetime.timedelta(seconds=drain_after)
        locked: list[int] = []
        try:
            for slot in listener_slots_to_drain(group=self.group, quiet_before=quiet_before):
                if slot != self.slot and _try_lock(self._locks, self._space, slot):
                    locked.append(slot)
        except (DatabaseError, InterfaceError):
            for slot in locked:
                self._unlock(slot)
            raise
        return locked

    def orphan_done(self, slot: int, *, drained: bool, now: datetime.datetime) -> None:
        """Unlock an orphan slot; recorded as drained only when its share was stored and it left the group."""
        if drained:
            listener_slot_drained(group=self.group, slot=slot, at=now)
        self._unlock(slot)

    def _unlock(self, slot: int) -> None:
        with self._locks.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [self._space, slot])

    def release(self, *, now: datetime.datetime) -> None:
        """On a clean stop: recorded, and the lock freed with its connection."""
        try:
            listener_slot_released(group=self.group, slot=self.slot, at=now)
        except DatabaseError as exc:
            logger.warning("slot %s: could not record the stop (%s)", self.client_id, exc)
        finally:
            self._locks.close()


def _try_lock(locks, space: int, slot: int) -> bool:
    with locks.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [space, slot])
        return cursor.fetchone()[0]
