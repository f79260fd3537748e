"""Storage benchmark: the disk a year of 1,000 machines at 1 Hz takes in each tier, measured.

On its own PostgreSQL database (a name per process, migrated with the project's migrations):
  1. a sample of today's format: `--sample-minutes` of the machines' readings (4 metrics a reading)
     through the product's ingest service (readings_ingest: COPY, jsonb rows, per-minute roll-ups
     in the same statement), in batches of 10 s of the plant, into a closed day's partition;
  2. that sample compacted into hour blocks by the product's readings_compact (time, readings/s);
  3. a whole day (`--day-hours`, 24 by default: 86.4 M readings for 1,000 machines) written straight
     in the final format, hour blocks by binary COPY (the arrays built with numpy);
  4. the time to DROP a day of blocks and the sample's partition of raw rows;
  5. the listener's ingest rate against the raw paho subscriber (bench/ingest.py's plain round);
  6. bytes per reading of each tier, key and indexes included (pg_total_relation_size of the
     partitions), and a year's projection for 1,000 machines at 1 Hz beside today's format.

    make bench-storage                                  (the full day: several minutes, 2 GB of COPY)
    .venv/bin/python bench/storage.py --day-hours 2     (a shorter run)
"""

import argparse
import datetime
import os
import statistics
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

import ingest as ingest_bench  # noqa: E402 - bench/ingest.py, beside this file
from benchdb import database_drop, database_recreate, pumps_create  # noqa: E402

METRICS = ("current", "pressure", "temperature", "vibration")  # sorted, as the compaction stores them
SECONDS_A_DAY = 86_400
DAYS_A_YEAR = 365
GB = 1e9
TARGET_YEAR_GB = 200
# The per-minute partitions not rewritten yet at any time: today's and yesterday's (minute_partition_rewrite).
UNREWRITTEN_MINUTE_DAYS = 2
TARGET_RAW_BYTES = 40
# Each metric's level and the step of its random walk; values rounded to 3 decimals as sensors send.
METRIC_WALKS = {
    "current": (14.0, 0.02),
    "pressure": (6.0, 0.005),
    "temperature": (60.0, 0.01),
    "vibration": (2.0, 0.01),
}
FLOAT4_OID, INT8_OID, VARCHAR_OID = 700, 20, 1043
DATABASE_NAME = f"maintainx_storage_{os.getpid()}"


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maintainx.settings")
    import django  # noqa: PLC0415 - set up for the bench's database only, here

    django.setup()


def day_start(moment: datetime.datetime) -> datetime.datetime:
    return datetime.datetime.combine(moment.astimezone(datetime.UTC).date(), datetime.time(), tzinfo=datetime.UTC)


def day_partition_create(model, day: datetime.datetime) -> str:
    """The model's partition of that UTC day (the manager creates today's and ahead only)."""
    from django.db import connection  # noqa: PLC0415
    from psqlextra.partitioning import PostgresTimePartition, PostgresTimePartitionSize  # noqa: PLC0415

    partition = PostgresTimePartition(size=PostgresTimePartitionSize(days=1), start_datetime=day)
    with connection.schema_editor() as schema_editor:
        partition.create(model, schema_editor)
    return f"{model._meta.db_table}_{partition.name()}"


def random_walks(rng: np.random.Generator, count: int, machines: int) -> np.ndarray:
    """[metric][machine][second] values, each metric a random walk around its level, 3 decimals."""
    walks = np.empty((len(METRICS), machines, count))
    for index, metric in enumerate(METRICS):
        level, step = METRIC_WALKS[metric]
        noise = rng.normal(0.0, step, size=(machines, count))
        walks[index] = np.round(level + np.cumsum(noise, axis=1) * 0.1 + noise, 3)
    return walks


def size_of(conn: psycopg.Connection, *tables: str) -> int:
    return sum(conn.execute("SELECT pg_total_relation_size(%s::regclass)", [table]).fetchone()[0] for table in tables)


def vacuum(conn: psycopg.Connection, *tables: str) -> None:
    for table in tables:
        conn.execute(f'VACUUM ANALYZE "{table}"')


@dataclass(frozen=True)
class Sample:
    readings: int
    ingest_s: float
    raw_bytes: int
    minute_bytes: int
    minute_rewritten_bytes: int
    minute_rewrite_s: float
    compact_s: float
    block_bytes: int
    raw_drop_s: float
    raw_partition: str


def sample_through_the_product(url: str, machines: dict[str, int], day: datetime.datetime, minutes: int) -> Sample:
    """Today's format through readings_ingest, then readings_compact, on `minutes` of `day`."""
    from telemetry.ingest import ReadingRow  # noqa: PLC0415
    from telemetry.models import Reading, ReadingBlock, ReadingMinute  # noqa: PLC0415
    from telemetry.services import minute_partition_rewrite, readings_compact, readings_ingest  # noqa: PLC0415

    raw_partition = day_partition_create(Reading, day)
    minute_partition = day_partition_create(ReadingMinute, day)
    rng = np.random.default_rng(7)
    seconds = minutes * 60
    codes = list(machines)
    walks = random_walks(rng, seconds, len(codes))
    jitter_us = rng.integers(0, 50_000, size=(len(codes), seconds))
    batch_seconds = 10  # 10,000 readings a batch for 1,000 machines, what the listener commits at this rate
    started = time.perf_counter()
    for first in range(0, seconds, batch_seconds):
        rows = []
        for second in range(first, min(first + batch_seconds, seconds)):
            at = day + datetime.timedelta(seconds=second)
            for index, code in enumerate(codes):
                ts = at + datetime.timedelta(microseconds=int(jitter_us[index, second]))
                values = walks[:, index, second].tolist()
                rows.append(ReadingRow(machines[code], code, ts, dict(zip(METRICS, values, strict=True))))
        readings_ingest(rows=rows)
    ingest_s = time.perf_counter() - started
    readings = seconds * len(codes)
    with psycopg.connect(url, autocommit=True) as conn:
        vacuum(conn, raw_partition, minute_partition)
        raw_bytes = size_of(conn, raw_partition)
        minute_bytes = size_of(conn, minute_partition)
        raw_copy = raw_copy_create(conn, raw_partition)
        raw_drop_s = drop_time(conn, raw_copy)
    # The roll-ups are upserted by every batch: the dead versions' space stays in the partition until
    # the product rewrites it, the day after the next one is compacted (minute_partition_rewrite).
    started = time.perf_counter()
    if not minute_partition_rewrite(day_end=day + datetime.timedelta(days=1)):
        raise SystemExit(f"no per-minute partition {minute_partition} to rewrite")
    minute_rewrite_s = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        minute_rewritten_bytes = size_of(conn, minute_partition)

    started = time.perf_counter()
    result = readings_compact(now=day + datetime.timedelta(days=1, hours=4))
    compact_s = time.perf_counter() - started
    if result.readings != readings:
        raise SystemExit(f"the compaction moved {result.readings:,} readings of {readings:,}")
    block_partition = f"{ReadingBlock._meta.db_table}_{day:%Y_%b_%d}".lower()
    with psycopg.connect(url, autocommit=True) as conn:
        vacuum(conn, block_partition)
        block_bytes = size_of(conn, block_partition)
    return Sample(
        readings,
        ingest_s,
        raw_bytes,
        minute_bytes,
        minute_rewritten_bytes,
        minute_rewrite_s,
        compact_s,
        block_bytes,
        raw_drop_s,
        raw_partition,
    )


def raw_copy_create(conn: psycopg.Connection, partition: str) -> str:
    """A copy of the sample's partition of raw rows, key included: the compaction drops the partition
    itself, so its DROP is timed on the copy."""
    copy = "bench_raw_sample"
    conn.execute(f'CREATE TABLE {copy} (LIKE "{partition}" INCLUDING ALL)')
    conn.execute(f'INSERT INTO {copy} SELECT * FROM "{partition}"')  # noqa: S608 - our names
    conn.execute("CHECKPOINT")
    return copy


def drop_time(conn: psycopg.Connection, table: str) -> float:
    started = time.perf_counter()
    conn.execute(f'DROP TABLE "{table}"')
    return time.perf_counter() - started


def pg_array(oid: int, cells: np.ndarray, dims: tuple[int, ...]) -> bytes:
    """PostgreSQL's binary array: ndim, no NULLs, element type, (size, lower bound) per dimension,
    then each element as its length and its big-endian value."""
    header = struct.pack(f">iiI{2 * len(dims)}i", len(dims), 0, oid, *(n for size in dims for n in (size, 1)))
    packed = np.empty(cells.size, dtype=[("length", ">i4"), ("value", cells.dtype.newbyteorder(">"))])
    packed["length"] = cells.dtype.itemsize
    packed["value"] = cells.ravel()
    return header + packed.tobytes()


def pg_varchar_array(texts: tuple[str, ...]) -> bytes:
    header = struct.pack(">iiIii", 1, 0, VARCHAR_OID, len(texts), 1)
    return header + b"".join(struct.pack(">i", len(text.encode())) + text.encode() for text in texts)


@dataclass(frozen=True)
class BlocksDay:
    readings: int
    copy_s: float
    bytes: int
    drop_s: float


def blocks_day_copy(url: str, machine_ids: list[int], day: datetime.datetime, hours: int) -> BlocksDay:
    """`hours` of every machine at 1 Hz straight into hour blocks by binary COPY (the final format)."""
    from telemetry.models import ReadingBlock  # noqa: PLC0415

    partition = day_partition_create(ReadingBlock, day)
    rng = np.random.default_rng(11)
    names = pg_varchar_array(METRICS)
    block_s = 3600
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            f'COPY "{partition}" (machine_id, start, metrics, offsets_us, metric_values, error_codes) '
            "FROM STDIN (FORMAT BINARY)"
        ) as copy:
            # The arrays go as PostgreSQL's binary form made here; psycopg passes bytea through as is.
            copy.set_types(["int8", "timestamptz", "bytea", "bytea", "bytea", "bytea"])
            for machine_id in machine_ids:
                walks = random_walks(rng, hours * block_s, 1)[:, 0, :].astype(np.float32)
                offsets = np.arange(block_s, dtype=np.int64) * 1_000_000
                for hour in range(hours):
                    jittered = offsets + rng.integers(0, 50_000, size=block_s)
                    values = np.ascontiguousarray(walks[:, hour * block_s : (hour + 1) * block_s])
                    copy.write_row(
                        (
                            machine_id,
                            day + datetime.timedelta(hours=hour),
                            names,
                            pg_array(INT8_OID, jittered, (block_s,)),
                            pg_array(FLOAT4_OID, values, values.shape),
                            None,
                        )
                    )
        conn.commit()
    copy_s = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        vacuum(conn, partition)
        size = size_of(conn, partition)
        conn.execute("CHECKPOINT")
        drop_s = drop_time(conn, partition)
    return BlocksDay(len(machine_ids) * hours * block_s, copy_s, size, drop_s)


def hour_tier_bytes(url: str, minute_partition_day: datetime.datetime, readings: int) -> float:
    """Bytes per reading of the per-hour roll-ups of the sample, rolled up from its per-minute ones
    into ReadingHour's monthly partition as the roll-up writes them (one row per machine, metric and
    hour), measured alone in that partition."""
    from telemetry.models import ReadingHour, ReadingMinute  # noqa: PLC0415
    from telemetry.partitions import hour_partitions_create  # noqa: PLC0415
    from telemetry.selectors import time_partitions  # noqa: PLC0415

    day_end = minute_partition_day + datetime.timedelta(days=1)
    hour_partitions_create(start=minute_partition_day, end=day_end)
    [month] = [
        p.table
        for p in time_partitions(ReadingHour)
        if not p.is_default and p.start <= minute_partition_day and p.end >= day_end
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"""
            INSERT INTO {month} (machine_id, metric, hour, count, total, minimum, maximum)
            SELECT machine_id, metric, date_trunc('hour', minute), sum(count), sum(total), min(minimum), max(maximum)
            FROM {ReadingMinute._meta.db_table} WHERE minute >= %s AND minute < %s GROUP BY 1, 2, 3
            """,  # noqa: S608 - our names
            [minute_partition_day, day_end],
        )
        conn.execute(f"VACUUM ANALYZE {month}")
        return size_of(conn, month) / readings


@dataclass(frozen=True)
class IngestRatio:
    rounds: int
    listener: float  # readings/s, median of the rounds
    subscriber: float
    ratio: float  # median of the rounds' listener / subscriber
    cpu_ratio: float  # subscriber's CPU µs a reading / listener's: steadier on shared cores


def ingest_ratio(admin_url: str, readings: int, rounds: int) -> IngestRatio:
    """bench/ingest.py's plain round (the contract's shape), `rounds` times: the listener's rate
    against the raw paho subscriber's, on their own database."""
    name = f"{DATABASE_NAME}_ingest"
    machines = 100
    (PROJECT_ROOT / "var").mkdir(exist_ok=True)  # the listener's log, as bench/ingest.py keeps it
    url = ingest_bench.database_prepare(admin_url, name, machines)
    try:
        shape = ingest_bench.SHAPES["plain"]
        bench_readings = ingest_bench.bench_readings(readings, machines)
        messages = shape.encode(bench_readings)
        results = [ingest_bench.benchmark_round(shape, messages, bench_readings, url, "5") for _ in range(rounds)]
    finally:
        database_drop(admin_url, name)
    return IngestRatio(
        rounds=rounds,
        listener=statistics.median(r["listener"]["rate"] for r in results),
        subscriber=statistics.median(r["subscriber"] for r in results),
        ratio=statistics.median(r["listener"]["rate"] / r["subscriber"] for r in results),
        cpu_ratio=statistics.median(r["subscriber_cpu_us"] / r["listener"]["cpu_us"] for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--machines", type=int, default=1000, help="machines at 1 Hz (default 1000)")
    parser.add_argument("--day-hours", type=int, default=24, help="hours of blocks written by COPY (default 24)")
    parser.add_argument("--sample-minutes", type=int, default=60, help="minutes through the ingest (default 60)")
    parser.add_argument("--raw-days", type=int, default=30, help="N: days of raw readings kept (default 30)")
    parser.add_argument("--minute-days", type=int, default=90, help="M: days of per-minute roll-ups (default 90)")
    parser.add_argument("--hot-days", type=int, default=2, help="raw days not compacted yet (default 2)")
    parser.add_argument("--ingest-readings", type=int, default=100_000, help="readings of each ingest round")
    parser.add_argument("--ingest-rounds", type=int, default=3, help="ingest rounds, medians reported (default 3)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="the server (its own database is created beside the others)",
    )
    args = parser.parse_args()

    url = database_recreate(args.database_url, DATABASE_NAME)
    with psycopg.connect(url, autocommit=True) as conn:
        pumps_create(conn, machines=args.machines)
        machines = dict(conn.execute("SELECT code, id FROM telemetry_machine ORDER BY code").fetchall())
    django_setup(url)
    today = day_start(datetime.datetime.now(datetime.UTC))
    sample_day, blocks_day = today - datetime.timedelta(days=3), today - datetime.timedelta(days=2)
    try:
        print(
            f"sample: {args.sample_minutes} min of {args.machines:,} machines through readings_ingest ...", flush=True
        )
        sample = sample_through_the_product(url, machines, sample_day, args.sample_minutes)
        hour_bytes = hour_tier_bytes(url, sample_day, sample.readings)
        print(f"blocks: {args.day_hours} h of {args.machines:,} machines by binary COPY ...", flush=True)
        day = blocks_day_copy(url, list(machines.values()), blocks_day, args.day_hours)
    finally:
        from django.db import connection  # noqa: PLC0415

        connection.close()
        database_drop(args.database_url, DATABASE_NAME)
    print(f"ingest: bench/ingest.py's plain round x {args.ingest_rounds}, {args.ingest_readings:,} readings ...")
    ingest = ingest_ratio(args.database_url, args.ingest_readings, args.ingest_rounds)
    report(args, sample, day, hour_bytes=hour_bytes, ingest=ingest)


def report(args, sample: Sample, day: BlocksDay, *, hour_bytes: float, ingest: IngestRatio) -> None:
    raw = sample.raw_bytes / sample.readings
    minute = sample.minute_bytes / sample.readings
    minute_rewritten = sample.minute_rewritten_bytes / sample.readings
    compacted = sample.block_bytes / sample.readings
    block = day.bytes / day.readings
    print()
    print(f"storage benchmark: {args.machines:,} machines at 1 Hz, 4 metrics a reading, {os.cpu_count()} cores")
    print(f"  sample through readings_ingest: {sample.readings:,} readings in {sample.ingest_s:.1f} s")
    print(f"    = {sample.readings / sample.ingest_s:,.0f} readings/s (COPY, jsonb rows, per-minute roll-ups)")
    print(
        f"  compaction of the sample: {sample.compact_s:.1f} s = {sample.readings / sample.compact_s:,.0f} readings/s"
    )
    print(f"  day of blocks by COPY: {day.readings:,} readings in {day.copy_s:.1f} s")
    print("  bytes per reading, key and indexes included (pg_total_relation_size of the partitions):")
    print(f"    raw jsonb rows (today's format, the hot days)   {raw:8.1f}")
    print(f"    hour blocks, the sample compacted              {compacted:8.1f}")
    print(f"    hour blocks, the day written by COPY           {block:8.1f}")
    print(f"    per-minute roll-ups, as the ingest wrote them  {minute:8.2f}")
    print(
        f"    per-minute roll-ups, the partition rewritten   {minute_rewritten:8.2f}   "
        f"(minute_partition_rewrite: {sample.minute_rewrite_s:.1f} s for the sample's, "
        f"{sample.minute_rewrite_s * SECONDS_A_DAY / (sample.readings / args.machines):.0f} s a day projected)"
    )
    print(f"    per-hour roll-ups                              {hour_bytes:8.3f}")
    verdict = "met" if max(block, compacted) <= TARGET_RAW_BYTES else "NOT met"
    print(f"  compact raw format <= {TARGET_RAW_BYTES} B/reading: target {verdict} ({max(block, compacted):.1f})")
    print(f"    {raw / block:.1f}x smaller than the jsonb rows")
    print(f"  DROP of a day of blocks ({day.bytes / 1e9:.2f} GB): {day.drop_s * 1000:.0f} ms")
    print(f"  DROP of the sample's raw partition ({sample.raw_bytes / 1e9:.2f} GB): {sample.raw_drop_s * 1000:.0f} ms")
    print(
        f"  ingest, median of {ingest.rounds} rounds: listener {ingest.listener:,.0f} readings/s, "
        f"raw paho subscriber {ingest.subscriber:,.0f}"
    )
    print(f"    ratio {ingest.ratio:.2f}: target >= 1.0 {'met' if ingest.ratio >= 1.0 else 'NOT met'}")
    print(f"    by CPU time per reading, subscriber / listener = {ingest.cpu_ratio:.2f} (steadier on shared cores)")

    per_day = args.machines * SECONDS_A_DAY
    hot = min(args.hot_days, args.raw_days)
    tiers = {
        f"raw jsonb, {hot} hot days": hot * raw,
        f"hour blocks, {args.raw_days - hot} days": (args.raw_days - hot) * block,
        # Today's and yesterday's as the ingest wrote them; the older ones rewritten once the day after
        # them is compacted (telemetry.services.minute_partition_rewrite).
        f"per-minute roll-ups, {UNREWRITTEN_MINUTE_DAYS} days as written": UNREWRITTEN_MINUTE_DAYS * minute,
        f"per-minute roll-ups, {args.minute_days - UNREWRITTEN_MINUTE_DAYS} days rewritten": (
            args.minute_days - UNREWRITTEN_MINUTE_DAYS
        )
        * minute_rewritten,
        f"per-hour roll-ups, {DAYS_A_YEAR} days": DAYS_A_YEAR * hour_bytes,
    }
    today_tiers = {
        f"raw jsonb, {args.raw_days} days": args.raw_days * raw,
        f"per-minute roll-ups, {DAYS_A_YEAR} days": DAYS_A_YEAR * minute,
    }
    print(
        f"  a year's disk for {args.machines:,} machines at 1 Hz ({per_day / 1e6:.1f} M readings a day), GB = 10^9 B:"
    )
    for title, layout in (("with blocks and tiers", tiers), ("today's format", today_tiers)):
        total = sum(layout.values()) * per_day / GB
        print(f"    {title}: {total:,.1f} GB")
        for name, bytes_a_reading_day in layout.items():
            print(f"      {name:<34} {bytes_a_reading_day * per_day / GB:10,.1f} GB")
    total = sum(tiers.values()) * per_day / GB
    today_total = sum(today_tiers.values()) * per_day / GB
    print(f"    {today_total / total:.1f}x less disk than today's format")
    verdict = "met" if total <= TARGET_YEAR_GB else "NOT met"
    print(f"  all tiers <= {TARGET_YEAR_GB} GB: target {verdict} ({total:,.1f} GB)")


if __name__ == "__main__":
    main()
