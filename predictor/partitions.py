"""Which machines a predictor worker scores: `run_predictor --partition i/K` runs K workers over one plant.

A machine belongs to partition crc32(code) mod K. CRC-32 rather than Python's `hash()`, which is
salted per process (PYTHONHASHSEED): every worker, on any host and after any restart, must put a
machine in the same partition, or two would score it and another none. The code, not the id: it is
what operators see and what the broker's topics carry, and it survives a dump and restore.
"""

import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    index: int
    count: int

    def __post_init__(self):
        if self.count < 1:
            raise ValueError(f"partition count must be at least 1, not {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"partition index must be from 0 to {self.count - 1}, not {self.index}")

    @classmethod
    def parse(cls, text: str) -> "Partition":
        """'i/K', e.g. '0/4' for the first of four workers."""
        index, slash, count = text.strip().partition("/")
        if not slash or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"partition must be i/K with whole numbers, e.g. 0/4, not {text!r}")
        return cls(int(index), int(count))

    def holds(self, machine_code: str) -> bool:
        return zlib.crc32(machine_code.encode("utf-8")) % self.count == self.index

    @property
    def runs_plant_upkeep(self) -> bool:
        """The jobs done once for the whole plant (escalating overdue tickets, learning health models,
        the champion/challenger schedule, drift samples) run on partition 0 only, so K workers do
        them once, not K times."""
        return self.index == 0

    def __str__(self):
        return f"{self.index}/{self.count}"


WHOLE_PLANT = Partition(0, 1)
