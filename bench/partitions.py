"""The readings' partitions, measured on PostgreSQL: migrating today's table to partitions by attaching
it (telemetry migration 0004) against copying it (INSERT ... SELECT into a partitioned table), and
retention by dropping one day's partition against deleting the same day's rows. Both sides of each
comparison run in the same run, on the same server, with the same number of readings.

A scratch database (dropped afterwards) is migrated to just before partitions, filled with `--readings`
readings of today's format (four metrics, 100 machines, over the last `--days` days), then:
  1. copy: a partitioned table with one partition a day, filled by INSERT ... SELECT (rolled back);
  2. attach: the real migration (telemetry 0004), applied by Django's migration executor;
  3. two days ahead, each with `--day-readings` readings in its own partition (created by
     `manage.py pgpartition --yes`): DELETE of one day (then the VACUUM that makes its space reusable)
     against DROP TABLE of the other's partition, as prune_readings drops it.

    .venv/bin/python bench/partitions.py                      (3,000,000 readings, days of 1,000,000)
    .venv/bin/python bench/partitions.py --readings 200000 --day-readings 100000
"""

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from benchdb import database_drop, database_recreate, pumps_create  # noqa: E402

DATABASE_NAME = "maintainx_bench_partitions"
MACHINES = 100
BEFORE_PARTITIONS = "0003_payload_sources"
# Four metrics as the listener stores them (one jsonb object per reading), values varying like a sensor's.
METRICS_SQL = (
    "jsonb_build_object('vibration', round((2 + mod(s, 97) / 50.0)::numeric, 3), "
    "'temperature', round((55 + mod(s, 61) / 10.0)::numeric, 2), "
    "'current', round((30 + mod(s, 37) / 10.0)::numeric, 2), 'speed', 1480 + mod(s, 11))"
)


def manage(url: str, *args: str) -> float:
    """Run a manage.py command against the scratch database; its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def readings_seed(conn: psycopg.Connection, *, readings: int, days: int) -> None:
    """`readings` readings over the last `days` days, spread evenly over the machines."""
    per_machine = readings // MACHINES
    spacing = days * 86_400 / per_machine
    conn.execute(
        "INSERT INTO telemetry_reading (machine_id, ts, metrics, error_code) "  # noqa: S608 - our SQL
        f"SELECT machine.id, now() - make_interval(secs => %s * s), {METRICS_SQL}, '' "
        "FROM telemetry_machine AS machine, generate_series(0, %s - 1) AS s",
        (spacing, per_machine),
    )
    conn.execute("VACUUM ANALYZE telemetry_reading")


def copy_measure(conn: psycopg.Connection, *, days: int) -> float:
    """INSERT ... SELECT of every reading into a partitioned table (a partition a day, the same key and
    index), the other way to migrate; rolled back, so the attach that follows starts from the same table."""
    with conn.transaction(force_rollback=True):
        started = time.perf_counter()
        conn.execute(
            "CREATE TABLE reading_copy (LIKE telemetry_reading INCLUDING DEFAULTS, PRIMARY KEY (machine_id, ts)) "
            "PARTITION BY RANGE (ts)"
        )
        conn.execute(
            "CREATE INDEX ON reading_copy (machine_id, ts) WHERE NOT error_code = ''",
        )
        today = datetime.datetime.now(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        for back in range(days + 1, -2, -1):
            start, end = today - datetime.timedelta(days=back), today - datetime.timedelta(days=back - 1)
            # Partition bounds take no parameters: literals of our own making.
            conn.execute(
                f"CREATE TABLE reading_copy_{back + 1} PARTITION OF reading_copy "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
        conn.execute("CREATE TABLE reading_copy_default PARTITION OF reading_copy DEFAULT")
        conn.execute("INSERT INTO reading_copy SELECT * FROM telemetry_reading")
        return time.perf_counter() - started


def attach_measure(url: str) -> float:
    """The migration to partitions itself (telemetry 0004, applied by Django's migration executor in
    this process): the time of its transaction, without a process's and Django's start-up."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maintainx.settings")
    sys.path.insert(0, str(PROJECT_ROOT))
    import django  # noqa: PLC0415 - set up for the scratch database only, here

    django.setup()
    from django.db import connection  # noqa: PLC0415
    from django.db.migrations.executor import MigrationExecutor  # noqa: PLC0415

    executor = MigrationExecutor(connection)
    started = time.perf_counter()
    executor.migrate(executor.loader.graph.leaf_nodes("telemetry"))
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def day_partitions_ahead(conn: psycopg.Connection) -> list[tuple[str, object, object]]:
    rows = conn.execute(
        "SELECT child.relname, pg_get_expr(child.relpartbound, child.oid) FROM pg_inherits "
        "JOIN pg_class AS child ON child.oid = inhrelid WHERE inhparent = 'telemetry_reading'::regclass "
        "AND child.relname ~ '^telemetry_reading_[0-9]{4}_' ORDER BY 1"
    ).fetchall()
    partitions = []
    for name, bound in rows:
        start, end = (part.split("'")[1] for part in bound.split(" TO "))
        partitions.append((name, start, end))
    return sorted(partitions, key=lambda p: p[1])


def migration_compare(url: str, *, readings: int, days: int) -> None:
    manage(url, "migrate", "-v0", "telemetry", BEFORE_PARTITIONS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        version = conn.execute("SHOW server_version").fetchone()[0]
        pumps_create(conn, machines=MACHINES)
        readings_seed(conn, readings=readings, days=days)
        stored = conn.execute("SELECT count(*) FROM telemetry_reading").fetchone()[0]
        size = conn.execute("SELECT pg_total_relation_size('telemetry_reading')").fetchone()[0]
        print(f"PostgreSQL {version}; {stored:,} readings of today's format ({size / 2**20:,.0f} MiB with indexes)")
        copy_s = copy_measure(conn, days=days)

    attach_s = attach_measure(url)

    with psycopg.connect(url, autocommit=True) as conn:
        kept = conn.execute("SELECT count(*) FROM telemetry_reading").fetchone()[0]
    if kept != stored:
        raise SystemExit(f"the migration kept {kept:,} of {stored:,} readings")
    print("\nmigrating today's table to partitions")
    print(f"  copy   INSERT ... SELECT into daily partitions  {copy_s:8.2f} s")
    print(f"  attach migration 0004 (the table as is)        {attach_s:8.2f} s")
    print(f"  copy / attach: {copy_s / attach_s:,.1f}x; every reading kept ({kept:,})")


def retention_compare(url: str, *, day_readings: int) -> None:
    manage(url, "pgpartition", "--yes")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        (deleted_day, start_a, end_a), (dropped_day, start_b, _) = day_partitions_ahead(conn)[:2]
        per_machine = day_readings // MACHINES
        for start in (start_a, start_b):
            conn.execute(
                "INSERT INTO telemetry_reading (machine_id, ts, metrics, error_code) "  # noqa: S608 - our SQL
                f"SELECT machine.id, %s::timestamptz + make_interval(secs => 86400.0 / %s * s), {METRICS_SQL}, '' "
                "FROM telemetry_machine AS machine, generate_series(0, %s - 1) AS s",
                (start, per_machine, per_machine),
            )
        conn.execute("VACUUM ANALYZE telemetry_reading")
        day_rows = conn.execute(
            "SELECT count(*) FROM telemetry_reading WHERE ts >= %s AND ts < %s", (start_a, end_a)
        ).fetchone()[0]

        started = time.perf_counter()
        conn.execute("DELETE FROM telemetry_reading WHERE ts >= %s AND ts < %s", (start_a, end_a))
        delete_s = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute(f"VACUUM {deleted_day}")
        vacuum_s = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute(f"DROP TABLE {dropped_day}")
        drop_s = max(time.perf_counter() - started, 1e-4)

    print(f"\nremoving one day of {day_rows:,} readings")
    print(f"  DELETE of the day's rows ({deleted_day})  {delete_s:8.3f} s, then VACUUM {vacuum_s:.3f} s")
    print(f"  DROP TABLE of its partition ({dropped_day})  {drop_s:8.3f} s")
    print(f"  DELETE / DROP: {delete_s / drop_s:,.0f}x; with the VACUUM: {(delete_s + vacuum_s) / drop_s:,.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=3_000_000, help="readings in the table migrated")
    parser.add_argument("--days", type=int, default=30, help="the days they span, up to now")
    parser.add_argument("--day-readings", type=int, default=1_000_000, help="readings in each day dropped or deleted")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="any database on the PostgreSQL server to use (a scratch database is created beside it)",
    )
    args = parser.parse_args()
    url = database_recreate(args.database_url, DATABASE_NAME)
    try:
        migration_compare(url, readings=args.readings, days=args.days)
        retention_compare(url, day_readings=args.day_readings)
    finally:
        database_drop(args.database_url, DATABASE_NAME)


if __name__ == "__main__":
    main()
