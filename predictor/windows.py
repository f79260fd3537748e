"""Every running machine's recent window, kept between predictor ticks.

Reading 12 hours of per-minute roll-ups of 1,000 machines whole is some 3 million rows: seconds of
database work, more than a whole tick may take. Between two ticks only the newest minutes change,
so after the first tick each tick reads, in the same five queries as `machine_windows`:
- for every machine, the minutes from `late_readings` before the previous tick on: the current
  minute's roll-up grows while its readings arrive, and readings may come a little late;
- for a few machines in turn, the whole window (error codes included), so that each window is
  read whole again at least every `full_refresh`: a reading later than `late_readings` (a gateway
  that buffered through an outage) is in the windows within that time;
- whole, a machine not seen at the previous tick, and every machine when the tick is not later
  than the previous one or a whole window later.
Otherwise the windows are the same, bit for bit, as `machine_windows` reads them (the tests check).
"""

import datetime
import math
from dataclasses import dataclass

import numpy as np

from predictor.ml.features import MachineWindow
from predictor.partitions import WHOLE_PLANT, Partition
from predictor.selectors import (
    ERROR_CODE_WINDOW,
    MachineMinutes,
    MachineRef,
    error_code_times,
    last_repairs,
    machine_window,
    machines_to_score,
    metric_ranges,
    minute_means,
    minutes_by_machine,
)

LATE_READINGS = datetime.timedelta(minutes=5)
# Each tick reads about tick interval / FULL_REFRESH of the machines whole: 6 of 1,000 at 10 s.
FULL_REFRESH = datetime.timedelta(minutes=30)


@dataclass
class _Kept:
    minutes: MachineMinutes
    error_times: np.ndarray


class RecentWindows:
    """The windows of the last `hours`, kept from one call of `windows` to the next (see above)."""

    def __init__(
        self,
        *,
        hours: float,
        late_readings: datetime.timedelta = LATE_READINGS,
        full_refresh: datetime.timedelta = FULL_REFRESH,
        partition: Partition = WHOLE_PLANT,
    ):
        if hours <= 0 or late_readings <= datetime.timedelta(0) or full_refresh <= datetime.timedelta(0):
            raise ValueError("hours, late_readings and full_refresh must be positive")
        self.span = datetime.timedelta(hours=hours)
        self.late_readings = late_readings
        self.full_refresh = full_refresh
        self.partition = partition
        self._kept: dict[int, _Kept] = {}
        self._columns: tuple[str, ...] = ()  # metric names, the columns of every kept MachineMinutes
        self._end: datetime.datetime | None = None
        self._refresh_next_id = 0  # the rotation goes through the machines in id order

    def windows(self, *, end: datetime.datetime) -> list[MachineWindow]:
        """Every running machine's window of the last `hours` up to `end`, in id order: those of its
        partition only."""
        machines = machines_to_score(partition=self.partition)
        start = end - self.span
        whole, recent, since = self._plan(machines, end=end, start=start)
        means = minute_means(spans=[(recent, since), (whole, start)], end=end)
        errors = error_code_times(spans=[(recent, since), (whole, min(start, end - ERROR_CODE_WINDOW))], end=end)
        ranges = metric_ranges(machine_type_ids={machine.machine_type_id for machine in machines})
        repairs = last_repairs(machine_ids=[machine.id for machine in machines], end=end)

        if not set(means.metric_names) <= set(self._columns):
            self._columns_extend(means.metric_names)
        fresh = minutes_by_machine(means, self._columns)
        kept: dict[int, _Kept] = {}
        for machine_id in whole:
            kept[machine_id] = _Kept(
                fresh.get(machine_id) or _no_minutes(len(self._columns)),
                errors.get(machine_id, np.empty(0)),
            )
        if recent:
            from_s, since_s = start.timestamp(), since.timestamp()
            errors_from_s = min(start, end - ERROR_CODE_WINDOW).timestamp()
            for machine_id in recent:
                kept[machine_id] = _kept_and_fresh(
                    self._kept[machine_id],
                    fresh.get(machine_id),
                    errors.get(machine_id),
                    from_s=from_s,
                    since_s=since_s,
                    errors_from_s=errors_from_s,
                )
        self._kept, self._end = kept, end
        return [
            machine_window(
                machine,
                kept[machine.id].minutes,
                self._columns,
                normal_ranges=ranges.get(machine.machine_type_id, {}),
                error_times=kept[machine.id].error_times,
                last_repair_ts=repairs.get(machine.id),
            )
            for machine in machines
        ]

    def _plan(
        self, machines: list[MachineRef], *, end: datetime.datetime, start: datetime.datetime
    ) -> tuple[list[int], list[int], datetime.datetime]:
        """(machines to read whole, machines to read from `since` on, since)."""
        ids = [machine.id for machine in machines]
        if self._end is None or end < self._end or end - self._end >= self.span:
            return ids, [], start
        known = [machine_id for machine_id in ids if machine_id in self._kept]
        share = (end - self._end) / self.full_refresh
        rotation = self._rotation(known, math.ceil(len(known) * min(share, 1.0)))
        whole = [machine_id for machine_id in ids if machine_id not in self._kept or machine_id in rotation]
        recent = [machine_id for machine_id in known if machine_id not in rotation]
        return whole, recent, max(start, self._end - self.late_readings)

    def _rotation(self, known: list[int], count: int) -> set[int]:
        """The next `count` machines, in id order from where the last tick's rotation stopped."""
        if not count:
            return set()
        first = int(np.searchsorted(known, self._refresh_next_id))
        chosen = [known[(first + offset) % len(known)] for offset in range(count)]
        self._refresh_next_id = chosen[-1] + 1
        return set(chosen)

    def _columns_extend(self, names: tuple[str, ...]) -> None:
        """A metric never seen before: widen every kept machine's minutes to the new columns."""
        columns = tuple(sorted(set(self._columns) | set(names)))
        positions = [columns.index(name) for name in self._columns]
        for kept in self._kept.values():
            widened = np.full((len(kept.minutes.minutes), len(columns)), np.nan)
            widened[:, positions] = kept.minutes.means
            kept.minutes = MachineMinutes(kept.minutes.minutes, widened)
        self._columns = columns


def _no_minutes(columns: int) -> MachineMinutes:
    return MachineMinutes(np.empty(0, dtype=np.int64), np.empty((0, columns)))


def _kept_and_fresh(
    kept: _Kept,
    fresh: MachineMinutes | None,
    fresh_errors: np.ndarray | None,
    *,
    from_s: float,
    since_s: float,
    errors_from_s: float,
) -> _Kept:
    """A machine's kept minutes from `from_s` up to `since_s`, then the minutes just read (from `since_s` on)."""
    first, last = np.searchsorted(kept.minutes.minutes, [from_s, since_s], side="left")
    minutes, means = kept.minutes.minutes[first:last], kept.minutes.means[first:last]
    if fresh is not None:
        minutes, means = np.concatenate([minutes, fresh.minutes]), np.concatenate([means, fresh.means])
    error_times = kept.error_times[(kept.error_times >= errors_from_s) & (kept.error_times < since_s)]
    if fresh_errors is not None:
        error_times = np.concatenate([error_times, fresh_errors])
    return _Kept(MachineMinutes(minutes, means), error_times)
