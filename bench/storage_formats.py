"""Bytes on disk per reading for the raw formats and roll-up shapes the storage issue weighs, measured
on PostgreSQL with the same simulated readings in each: today's jsonb row, typed float4 columns, a
float4 array per row, and per-machine hour blocks (arrays, and delta-encoded bytea with lz4); today's
per-metric minute roll-up rows beside one row per machine and minute (and hour) with arrays.

Each format is a table of its own in a fresh database (dropped afterwards), loaded with COPY, vacuumed,
and measured with pg_total_relation_size (heap, TOAST and every index), divided by the readings it
holds. Readings: `--machines` machines at 1 Hz for `--seconds`, four metrics each (vibration,
temperature, current, speed), values as a sensor gives them (a baseline, a daily swing, noise).

    .venv/bin/python bench/storage_formats.py                       (200 machines x 1 h: 720,000 readings)
    .venv/bin/python bench/storage_formats.py --machines 50 --seconds 600
"""

import argparse
import datetime
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from benchdb import database_drop, database_recreate  # noqa: E402

DATABASE_NAME = "maintainx_bench_storage_formats"
METRICS = ("vibration", "temperature", "current", "speed")
START = datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC)
HOUR = 3600


@dataclass(frozen=True)
class Plant:
    """Readings of `machines` machines, one a second for `seconds`: values[machine, second, metric]."""

    machines: int
    seconds: int
    values: np.ndarray  # float32

    @classmethod
    def simulate(cls, *, machines: int, seconds: int, seed: int = 7) -> "Plant":
        rng = np.random.default_rng(seed)
        baseline = np.array([2.5, 55.0, 30.0, 1480.0], dtype=np.float64)
        noise = np.array([0.15, 0.4, 0.8, 3.0])
        t = np.arange(seconds)[None, :, None]
        swing = np.sin(2 * np.pi * t / 86_400) * baseline * 0.05
        per_machine = baseline * rng.uniform(0.8, 1.2, size=(machines, 1, len(METRICS)))
        values = per_machine + swing + rng.normal(0, 1, size=(machines, seconds, len(METRICS))) * noise
        return cls(machines, seconds, values.astype(np.float32))

    @property
    def readings(self) -> int:
        return self.machines * self.seconds

    def ts(self, second: int) -> datetime.datetime:
        return START + datetime.timedelta(seconds=second)


@dataclass(frozen=True)
class Format:
    name: str
    what: str
    ddl: str
    rows: Callable[[Plant], Iterator[tuple]]
    columns: str


def jsonb_rows(plant: Plant) -> Iterator[tuple]:
    for machine in range(plant.machines):
        for second in range(plant.seconds):
            values = plant.values[machine, second]
            metrics = ", ".join(f'"{name}": {float(value)!r}' for name, value in zip(METRICS, values, strict=True))
            yield machine + 1, plant.ts(second), "{" + metrics + "}", ""


def typed_rows(plant: Plant) -> Iterator[tuple]:
    for machine in range(plant.machines):
        for second in range(plant.seconds):
            yield (machine + 1, plant.ts(second), *map(float, plant.values[machine, second]))


def array_rows(plant: Plant) -> Iterator[tuple]:
    for machine in range(plant.machines):
        for second in range(plant.seconds):
            yield machine + 1, plant.ts(second), [float(v) for v in plant.values[machine, second]]


def hour_blocks(plant: Plant) -> Iterator[tuple]:
    """One row per machine and hour: millisecond offsets and the values, metric after metric."""
    for machine in range(plant.machines):
        for hour_start in range(0, plant.seconds, HOUR):
            seconds = range(hour_start, min(hour_start + HOUR, plant.seconds))
            offsets = [(second - hour_start) * 1000 for second in seconds]
            block = plant.values[machine, seconds.start : seconds.stop].T.ravel()
            yield machine + 1, plant.ts(hour_start), offsets, [float(v) for v in block]


def hour_blocks_packed(plant: Plant) -> Iterator[tuple]:
    """Hour blocks as bytes: offsets delta-encoded (a regular 1 Hz stream is one repeated delta, which
    lz4 folds away), values as float32 metric after metric, each column XORed with its previous value
    (slowly moving values share their sign, exponent and high mantissa bits, which become zeros)."""
    for machine in range(plant.machines):
        for hour_start in range(0, plant.seconds, HOUR):
            stop = min(hour_start + HOUR, plant.seconds)
            offsets = np.arange(0, stop - hour_start, dtype=np.int32) * 1000
            deltas = np.diff(offsets, prepend=0).astype(np.int32)
            bits = plant.values[machine, hour_start:stop].T.copy().view(np.uint32)
            xored = bits.copy()
            xored[:, 1:] ^= bits[:, :-1]
            yield machine + 1, plant.ts(hour_start), deltas.tobytes(), xored.tobytes()


def minute_rollups(plant: Plant, *, seconds_per_bucket: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    buckets = plant.seconds // seconds_per_bucket
    shaped = plant.values[:, : buckets * seconds_per_bucket].reshape(
        plant.machines, buckets, seconds_per_bucket, len(METRICS)
    )
    return shaped.sum(axis=2), shaped.min(axis=2), shaped.max(axis=2), buckets


def rollup_rows_per_metric(plant: Plant, seconds_per_bucket: int) -> Iterator[tuple]:
    """Today's ReadingMinute: one row per machine, metric and bucket."""
    total, low, high, buckets = minute_rollups(plant, seconds_per_bucket=seconds_per_bucket)
    for machine in range(plant.machines):
        for bucket in range(buckets):
            for index, metric in enumerate(METRICS):
                yield (
                    machine + 1,
                    metric,
                    plant.ts(bucket * seconds_per_bucket),
                    seconds_per_bucket,
                    float(total[machine, bucket, index]),
                    float(low[machine, bucket, index]),
                    float(high[machine, bucket, index]),
                )


def rollup_rows_per_machine(plant: Plant, seconds_per_bucket: int) -> Iterator[tuple]:
    """One row per machine and bucket, every metric's count, sum, min and max in arrays."""
    total, low, high, buckets = minute_rollups(plant, seconds_per_bucket=seconds_per_bucket)
    for machine in range(plant.machines):
        for bucket in range(buckets):
            yield (
                machine + 1,
                plant.ts(bucket * seconds_per_bucket),
                [seconds_per_bucket] * len(METRICS),
                [float(v) for v in total[machine, bucket]],
                [float(v) for v in low[machine, bucket]],
                [float(v) for v in high[machine, bucket]],
            )


RAW_FORMATS = [
    Format(
        "jsonb_rows",
        "today: a jsonb row per reading, PK (machine, ts)",
        "CREATE TABLE jsonb_rows (machine_id bigint, ts timestamptz, metrics jsonb NOT NULL,"
        " error_code varchar(32) NOT NULL, PRIMARY KEY (machine_id, ts))",
        jsonb_rows,
        "machine_id, ts, metrics, error_code",
    ),
    Format(
        "typed_rows",
        "a row per reading, a float4 column per metric, PK (machine, ts)",
        "CREATE TABLE typed_rows (machine_id int, ts timestamptz, m1 real, m2 real, m3 real, m4 real,"
        " PRIMARY KEY (machine_id, ts))",
        typed_rows,
        "machine_id, ts, m1, m2, m3, m4",
    ),
    Format(
        "array_rows",
        "a row per reading, float4[] in the type's metric order, PK (machine, ts)",
        "CREATE TABLE array_rows (machine_id int, ts timestamptz, metric_values real[] NOT NULL,"
        " PRIMARY KEY (machine_id, ts))",
        array_rows,
        "machine_id, ts, metric_values",
    ),
    Format(
        "hour_blocks",
        "a row per machine-hour: int4[] ms offsets, float4[] values (pglz TOAST)",
        "CREATE TABLE hour_blocks (machine_id int, hour timestamptz, offsets_ms int[] NOT NULL,"
        " metric_values real[] NOT NULL, PRIMARY KEY (machine_id, hour))",
        hour_blocks,
        "machine_id, hour, offsets_ms, metric_values",
    ),
    Format(
        "hour_blocks_packed",
        "a row per machine-hour: delta offsets and XORed float32 as bytea, lz4",
        "CREATE TABLE hour_blocks_packed (machine_id int, hour timestamptz,"
        " offset_deltas bytea COMPRESSION lz4 NOT NULL, metric_bits bytea COMPRESSION lz4 NOT NULL,"
        " PRIMARY KEY (machine_id, hour))",
        hour_blocks_packed,
        "machine_id, hour, offset_deltas, metric_bits",
    ),
]

ROLLUP_FORMATS = [
    Format(
        "minute_per_metric",
        "today's minute roll-up: a row per machine, metric and minute, two indexes",
        "CREATE TABLE minute_per_metric (machine_id bigint, metric varchar(40), minute timestamptz,"
        " count int NOT NULL, total float8 NOT NULL, minimum float8 NOT NULL, maximum float8 NOT NULL,"
        " PRIMARY KEY (machine_id, metric, minute));"
        " CREATE INDEX ON minute_per_metric (machine_id, minute)",
        lambda plant: rollup_rows_per_metric(plant, 60),
        "machine_id, metric, minute, count, total, minimum, maximum",
    ),
    Format(
        "minute_per_machine",
        "a row per machine and minute, float4[] of each aggregate in metric order",
        "CREATE TABLE minute_per_machine (machine_id int, minute timestamptz, counts smallint[] NOT NULL,"
        " totals real[] NOT NULL, minimums real[] NOT NULL, maximums real[] NOT NULL,"
        " PRIMARY KEY (machine_id, minute))",
        lambda plant: rollup_rows_per_machine(plant, 60),
        "machine_id, minute, counts, totals, minimums, maximums",
    ),
    Format(
        "hour_per_machine",
        "a row per machine and hour, the same arrays",
        "CREATE TABLE hour_per_machine (machine_id int, hour timestamptz, counts smallint[] NOT NULL,"
        " totals real[] NOT NULL, minimums real[] NOT NULL, maximums real[] NOT NULL,"
        " PRIMARY KEY (machine_id, hour))",
        lambda plant: rollup_rows_per_machine(plant, HOUR),
        "machine_id, hour, counts, totals, minimums, maximums",
    ),
]


def measure(conn: psycopg.Connection, fmt: Format, plant: Plant) -> tuple[float, float]:
    """Bytes on disk per reading, and seconds to load them."""
    conn.execute(fmt.ddl)
    started = time.perf_counter()
    with conn.cursor().copy(f"COPY {fmt.name} ({fmt.columns}) FROM STDIN") as copy:
        for row in fmt.rows(plant):
            copy.write_row(row)
    elapsed = time.perf_counter() - started
    conn.execute(f"VACUUM ANALYZE {fmt.name}")
    size = conn.execute("SELECT pg_total_relation_size(%s)", (fmt.name,)).fetchone()[0]
    return size / plant.readings, elapsed


def round_trip_check(conn: psycopg.Connection, plant: Plant) -> None:
    """The packed blocks decode to exactly the float32 values written (one machine-hour)."""
    deltas, bits = conn.execute(
        "SELECT offset_deltas, metric_bits FROM hour_blocks_packed WHERE machine_id = 1 ORDER BY hour LIMIT 1"
    ).fetchone()
    offsets = np.cumsum(np.frombuffer(deltas, dtype=np.int32))
    xored = np.frombuffer(bits, dtype=np.uint32).reshape(len(METRICS), -1)
    decoded = np.bitwise_xor.accumulate(xored, axis=1).view(np.float32)
    seconds = decoded.shape[1]
    if not np.array_equal(offsets, np.arange(seconds) * 1000):
        raise SystemExit("hour_blocks_packed: the millisecond offsets do not round-trip")
    if not np.array_equal(decoded.T, plant.values[0, :seconds]):
        raise SystemExit("hour_blocks_packed: the float32 values do not round-trip")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=HOUR, help="readings per machine, one a second (default 3600)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="any database on the PostgreSQL server to use (a scratch database is created beside it)",
    )
    args = parser.parse_args()
    plant = Plant.simulate(machines=args.machines, seconds=args.seconds)
    url = database_recreate(args.database_url, DATABASE_NAME, migrate=False)
    print(f"{plant.readings:,} readings ({args.machines} machines x {args.seconds} s, 4 metrics), PostgreSQL")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            print(f"server {version}\n")
            print(f"{'format':<20} {'B/reading':>10} {'load s':>8}  what")
            for fmt in RAW_FORMATS + ROLLUP_FORMATS:
                per_reading, elapsed = measure(conn, fmt, plant)
                print(f"{fmt.name:<20} {per_reading:>10.1f} {elapsed:>8.1f}  {fmt.what}")
            round_trip_check(conn, plant)
            print("\nhour_blocks_packed decodes to the exact float32 values and millisecond offsets written")
    finally:
        database_drop(args.database_url, DATABASE_NAME)


if __name__ == "__main__":
    main()
