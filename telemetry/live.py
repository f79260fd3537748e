"""Live frames for the dashboard: the newest reading of each machine, pushed after commit.

One small service, called by the ingest batch once it has committed (DESIGN.md: the action that
changes a thing sends its event). It throttles per machine so a sensor at 100 Hz costs the
websockets a few frames a second, and it never lets a channel-layer problem reach the ingest.
"""

import logging
import time
from collections.abc import Callable, Sequence

from asgiref.sync import async_to_sync

from realtime.broadcast import group_sends
from realtime.groups import MACHINE_READING, PLANT_EVENT, PLANT_GROUP, machine_group
from telemetry.ingest import ReadingRow

logger = logging.getLogger(__name__)


def reading_frame(row: ReadingRow) -> dict:
    frame = {"machine": row.machine_code, "ts": row.ts.isoformat(), "metrics": row.metrics}
    if row.error_code:
        frame["error_code"] = row.error_code
    return frame


class LiveFrames:
    def __init__(self, *, max_per_second: float = 4.0, clock: Callable[[], float] = time.monotonic):
        self.min_interval = 1.0 / max_per_second
        self._clock = clock
        self._last_sent: dict[str, float] = {}

    def publish(self, rows: Sequence[ReadingRow]) -> int:
        """Send the newest row per machine that is due; returns how many machines got a frame."""
        newest: dict[str, ReadingRow] = {}
        for row in rows:
            current = newest.get(row.machine_code)
            if current is None or row.ts > current.ts:
                newest[row.machine_code] = row
        now = self._clock()
        due = [
            row
            for code, row in newest.items()
            # A reading with an error code always goes out: a failure must not wait for the throttle.
            if row.error_code or now - self._last_sent.get(code, float("-inf")) >= self.min_interval
        ]
        if not due:
            return 0
        frames = [reading_frame(row) for row in due]
        try:
            async_to_sync(_frames_send)(frames)
        except Exception:
            # The readings are committed; a dashboard that misses a frame catches up from the API.
            logger.exception("could not send %d live frames to the channel layer", len(frames))
            return 0
        for row in due:
            self._last_sent[row.machine_code] = now
        return len(due)


async def _frames_send(frames: list[dict]) -> None:
    sends = [(machine_group(frame["machine"]), {"type": MACHINE_READING, "payload": frame}) for frame in frames]
    sends.append((PLANT_GROUP, {"type": PLANT_EVENT, "payload": {"type": "telemetry", "readings": frames}}))
    await group_sends(sends)
