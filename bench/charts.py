"""Chart history benchmark: a 7-day chart of one machine over a table of >= 10 million readings, and a
1-year chart over a year of per-hour roll-ups.

On a PostgreSQL database of its own it writes a week of readings for K machines (default 20 machines,
one reading every 1.2 s: 10,080,000 readings) and their per-minute roll-ups, computed by the same
aggregation the ingest batch runs; the week's hours rolled up from those minutes by the roll-up's own
SQL, and the 358 days before it as per-hour roll-ups written by COPY, shaped as the roll-up writes
them, in monthly partitions. The watermark stands an hour before the newest data, so the last hour of
a chart is read from the minutes, as in service. Then, for random machines and windows ending at the
newest data, it times the history selector (telemetry.selectors.reading_history, 600 points) on:
  (a) the raw readings table, the query a 7-day chart would run without roll-ups;
  (b) the per-minute roll-ups, what the API reads for 7 days;
  (c) the whole HTTP request GET /api/machines/<code>/readings/?from=…&to=… for 7 days;
  (d) the per-hour roll-ups (and the minutes after the watermark), what the API reads for a year;
  (e) the whole HTTP request for a year.
Prints p50 and p95 of each beside its limit (50 ms for 7 days, 100 ms for a year), checks that (a) and
(b) give the same buckets, and that the hour and minute tiers do on 6-day windows of hour buckets
that both cover.

    make bench-charts           (or: .venv/bin/python bench/charts.py --machines 20 --interval 1.2 --keep)
"""

import argparse
import datetime
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from benchdb import database_drop, database_recreate, database_url, pumps_create  # noqa: E402

DATABASE_NAME = "maintainx_bench_charts"
LIMIT_MS = 50.0
YEAR_LIMIT_MS = 100.0
DAYS = 7
YEAR_DAYS = 365
# The roll-up's watermark: this long before the newest data (the hours after it come from the minutes).
NOT_ROLLED_UP = datetime.timedelta(hours=1)


def database_build(admin_url: str, *, machines: int, interval_s: float, end: datetime.datetime, keep: bool) -> str:
    """The benchmark's database with its readings and roll-ups; a kept one with the same shape is reused."""
    url = database_url(admin_url, DATABASE_NAME)
    expected = machines * round(DAYS * 86400 / interval_s)
    if keep and _readings_count(url) == expected:
        print(f"reusing {DATABASE_NAME}: {expected:,} readings")
        return url
    database_recreate(admin_url, DATABASE_NAME)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        pumps_create(conn, machines=machines, code_format="B-{:03d}")
        start = end - datetime.timedelta(days=DAYS)
        step = datetime.timedelta(seconds=interval_s)
        # Generated in the database, one machine at a time: a daily cycle plus noise, like the simulator.
        for machine_id, code in conn.execute("SELECT id, code FROM telemetry_machine ORDER BY code").fetchall():
            conn.execute(
                """
                INSERT INTO telemetry_reading (machine_id, ts, metrics, error_code)
                SELECT %(machine)s, ts, jsonb_build_object(
                    'vibration', round((2 + sin(extract(epoch from ts) / 13751) + random())::numeric, 3),
                    'temperature', round((55 + 8 * sin(extract(epoch from ts) / 13751) + 2 * random())::numeric, 2)
                ), ''
                FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz - %(step)s, %(step)s) AS ts
                """,
                {"machine": machine_id, "start": start, "end": end, "step": step},
            )
            # The ingest batch's roll-up (telemetry.services._readings_copy), over the machine's readings.
            conn.execute(
                """
                INSERT INTO telemetry_readingminute (machine_id, metric, minute, count, total, minimum, maximum)
                SELECT machine_id, m.key, date_trunc('minute', ts), count(*),
                       sum(m.value::float8), min(m.value::float8), max(m.value::float8)
                FROM telemetry_reading, jsonb_each_text(metrics) AS m(key, value)
                WHERE machine_id = %(machine)s
                GROUP BY 1, 2, 3
                """,
                {"machine": machine_id},
            )
            print(f"  {code}: a week of readings and roll-ups written ({time.perf_counter() - started:.0f} s)")
        _hours_write(conn, end=end, interval_s=interval_s)
        print(f"  a year of hourly roll-ups written ({time.perf_counter() - started:.0f} s)")
        conn.execute("VACUUM ANALYZE")
    return url


def _hours_write(conn: psycopg.Connection, *, end: datetime.datetime, interval_s: float) -> None:
    """A year of per-hour roll-ups for every machine, in monthly partitions (as the listener's upkeep
    creates them): the week's rolled up from its minutes by the roll-up's SQL, the year before by COPY."""
    year_start = end - datetime.timedelta(days=YEAR_DAYS)
    week_start = end - datetime.timedelta(days=DAYS)
    watermark = end - NOT_ROLLED_UP
    month = year_start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while month < end:
        following = (month + datetime.timedelta(days=32)).replace(day=1)
        # DDL takes no parameters: the bounds are our own datetimes.
        conn.execute(
            f"CREATE TABLE telemetry_readinghour_{month:%Y_%b} PARTITION OF telemetry_readinghour ".lower()
            + f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
        )
        month = following
    per_hour = round(3600 / interval_s)
    rng = random.Random(2)  # noqa: S311 - data, not secrets
    machine_ids = [row[0] for row in conn.execute("SELECT id FROM telemetry_machine ORDER BY code")]
    with conn.cursor().copy(
        "COPY telemetry_readinghour (machine_id, metric, hour, count, total, minimum, maximum) FROM STDIN"
    ) as copy:
        for machine_id in machine_ids:
            hour = year_start
            while hour < week_start:
                cycle = math.sin(hour.timestamp() / 13751)
                for metric, mean, spread in (("vibration", 2.5 + cycle, 1.0), ("temperature", 56 + 8 * cycle, 2.0)):
                    low = mean - spread / 2 - rng.random() * 0.01
                    high = mean + spread / 2 + rng.random() * 0.01
                    copy.write_row((machine_id, metric, hour, per_hour, per_hour * mean, low, high))
                hour += datetime.timedelta(hours=1)
    # The roll-up's own statement (telemetry.services._hours_from_minutes_sql) over the week's minutes.
    conn.execute(
        """
        INSERT INTO telemetry_readinghour (machine_id, metric, hour, count, total, minimum, maximum)
        SELECT machine_id, metric, date_trunc('hour', minute), sum(count), sum(total), min(minimum), max(maximum)
        FROM telemetry_readingminute WHERE minute >= %(start)s AND minute < %(stop)s
        GROUP BY machine_id, metric, date_trunc('hour', minute)
        """,
        {"start": week_start, "stop": watermark},
    )
    conn.execute("INSERT INTO telemetry_rollupwatermark (tier, rolled_up_to) VALUES ('hours', %s)", (watermark,))


def _readings_count(url: str) -> int | None:
    """The kept database's readings, None when it has none or no hour roll-ups (one kept before them)."""
    try:
        with psycopg.connect(url) as conn:
            if not conn.execute("SELECT EXISTS (SELECT 1 FROM telemetry_rollupwatermark)").fetchone()[0]:
                return None
            return conn.execute("SELECT count(*) FROM telemetry_reading").fetchone()[0]
    except psycopg.Error:
        return None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--machines", type=int, default=20, help="K machines (default 20)")
    parser.add_argument("--interval", type=float, default=1.2, help="seconds between readings (default 1.2)")
    parser.add_argument("--queries", type=int, default=60, help="timed queries per variant (default 60)")
    parser.add_argument("--points", type=int, default=600, help="buckets per chart (default 600)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help=f"a PostgreSQL server; the benchmark creates its own database {DATABASE_NAME} there",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database for the next run (and reuse a kept one)")
    args = parser.parse_args()

    # A fixed end (midnight today) so that a kept database is reused by the next run.
    end = datetime.datetime.now(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    url = database_build(args.database_url, machines=args.machines, interval_s=args.interval, end=end, keep=args.keep)
    # DEBUG off, as served: Django would otherwise keep every query in memory. The key signs nothing here.
    secret_key = "bench-charts-only"  # noqa: S105
    os.environ.update(
        DATABASE_URL=url, DEBUG="0", SECRET_KEY=secret_key, ALLOWED_HOSTS="127.0.0.1", LOG_LEVEL="WARNING"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maintainx.settings")
    try:
        measure(args, end=end)
    finally:
        if not args.keep:
            from django.db import connections  # noqa: PLC0415 - Django is set up by measure()

            connections.close_all()
            database_drop(args.database_url, DATABASE_NAME)


def measure(args, *, end: datetime.datetime) -> None:
    import django  # noqa: PLC0415 - after DATABASE_URL points at the benchmark's database

    django.setup()
    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from rest_framework.test import APIClient  # noqa: PLC0415

    from telemetry.models import Machine, Reading, ReadingHour  # noqa: PLC0415
    from telemetry.selectors import HistorySource, reading_history  # noqa: PLC0415

    total = Reading.objects.count()
    hour_rows = ReadingHour.objects.count()
    machines = list(Machine.objects.order_by("code"))
    user, _ = get_user_model().objects.get_or_create(username="bench-charts", defaults={"is_superuser": True})
    client = APIClient(HTTP_HOST="127.0.0.1")
    client.force_authenticate(user)
    rng = random.Random(1)  # noqa: S311 - picks windows, not secrets
    metrics = ["vibration", "temperature"]

    def window(days: int = DAYS) -> tuple[Machine, datetime.datetime, datetime.datetime]:
        # The newest `days`, shifted by up to an hour so that no two queries are the same.
        window_end = end - datetime.timedelta(seconds=rng.uniform(0, 3600))
        return rng.choice(machines), window_end - datetime.timedelta(days=days), window_end

    def timed(run) -> float:
        started = time.perf_counter()
        run()
        return (time.perf_counter() - started) * 1000

    def api(machine, start, stop, expected_source):
        response = client.get(
            f"/api/machines/{machine.code}/readings/",
            {"from": start.isoformat(), "to": stop.isoformat(), "points": args.points},
            secure=True,  # as behind the HTTPS proxy a deployment has (DEBUG off redirects plain HTTP)
        )
        if response.status_code != 200 or response.json()["source"] != expected_source:
            raise RuntimeError(f"unexpected answer {response.status_code}: {response.content[:300]!r}")

    timings: dict[str, list[float]] = {"raw": [], "rollup": [], "api": [], "hours": [], "api_year": []}
    mismatches = tier_mismatches = 0
    # Interleaved, one of each per round, so that all see the same cache and machine load.
    for round_number in range(args.queries + 3):
        machine, start, stop = window()
        results = {}

        def history(source, machine=machine, start=start, stop=stop, results=results):
            results[source] = reading_history(
                machine=machine, metrics=metrics, start=start, end=stop, points=args.points, source=source
            )

        year_machine, year_start, year_stop = window(YEAR_DAYS)
        year_results = {}

        def year_history(machine=year_machine, start=year_start, stop=year_stop, results=year_results):
            results["year"] = reading_history(
                machine=machine, metrics=metrics, start=start, end=stop, points=args.points, source=HistorySource.HOURS
            )

        rollup_ms = timed(lambda history=history: history(HistorySource.MINUTES))
        raw_ms = timed(lambda history=history: history(HistorySource.READINGS))
        api_ms = timed(lambda m=machine, a=start, b=stop: api(m, a, b, HistorySource.MINUTES))
        hours_ms = timed(year_history)
        api_year_ms = timed(lambda m=year_machine, a=year_start, b=year_stop: api(m, a, b, HistorySource.HOURS))
        tier_mismatches += _tiers_differ(reading_history, machine, metrics, watermark=end - NOT_ROLLED_UP, rng=rng)
        if round_number < 3:
            continue  # warm-up: connections, caches, the first plan
        timings["rollup"].append(rollup_ms)
        timings["raw"].append(raw_ms)
        timings["api"].append(api_ms)
        timings["hours"].append(hours_ms)
        timings["api_year"].append(api_year_ms)
        for raw_series, rollup_series in zip(
            results[HistorySource.READINGS].series, results[HistorySource.MINUTES].series, strict=True
        ):
            mismatches += not _same_buckets(raw_series, rollup_series)
    _report(
        timings,
        header=f"chart benchmark: {total:,} readings of {len(machines)} machines in telemetry_reading, "
        f"{hour_rows:,} per-hour roll-ups; one machine, {len(metrics)} metrics, {args.points} points, "
        f"{args.queries} queries each, {os.cpu_count()} cores",
        buckets=len(results[HistorySource.MINUTES].series[0].ts),
        year_buckets=len(year_results["year"].series[0].ts),
        mismatches=(mismatches, args.queries * len(metrics)),
        tier_mismatches=(tier_mismatches, (args.queries + 3) * len(metrics)),
    )


def _report(timings, *, header, buckets, year_buckets, mismatches, tier_mismatches) -> None:
    print(header)
    print(f"  {'':52} {'p50':>9} {'p95':>9}   p95 / limit")
    for key, label, limit in (
        ("raw", f"(a) 7 days ({buckets} buckets), raw readings table", LIMIT_MS),
        ("rollup", "(b) 7 days, per-minute roll-ups", LIMIT_MS),
        ("api", "(c) 7 days, GET /api/machines/<code>/readings/", LIMIT_MS),
        ("hours", f"(d) 1 year ({year_buckets} buckets), per-hour roll-ups", YEAR_LIMIT_MS),
        ("api_year", "(e) 1 year, GET /api/machines/<code>/readings/", YEAR_LIMIT_MS),
    ):
        values = timings[key]
        p95 = percentile(values, 0.95)
        print(
            f"  {label:52} {statistics.median(values):>7.1f}ms {p95:>7.1f}ms   {p95 / limit:>5.2f} of {limit:.0f} ms"
            f"{'   within the limit' if p95 <= limit else '   over the limit'}"
        )
    speedup = percentile(timings["raw"], 0.95) / percentile(timings["rollup"], 0.95)
    print(f"  roll-ups answer {speedup:.0f}x faster than the raw table at p95")
    differ, compared = mismatches
    print(f"  raw and roll-up buckets identical in {compared - differ} of {compared} series")
    differ, compared = tier_mismatches
    print(
        f"  hour and minute tiers identical in {compared - differ} of {compared} series "
        "(6-day windows of hour buckets before the watermark)"
    )


def _same_buckets(one, other) -> bool:
    return (
        one.ts == other.ts
        and one.count == other.count
        and one.min == other.min
        and one.max == other.max
        and all(abs(a - b) <= 1e-9 * max(1.0, abs(a)) for a, b in zip(one.avg, other.avg, strict=True))
    )


def _tiers_differ(reading_history, machine, metrics, *, watermark: datetime.datetime, rng: random.Random) -> int:
    """How many series differ between the hour and the minute tiers over a 6-day window of hour
    buckets that both cover (the week of minutes, before the watermark)."""
    from telemetry.selectors import HistorySource  # noqa: PLC0415 - Django is set up by measure()

    stop = watermark - datetime.timedelta(hours=rng.randrange(0, 12))
    start = stop - datetime.timedelta(days=6)
    # 150 points over 6 days: hour buckets on both tiers (an hour is the narrowest step above 6 days / 149).
    tiers = [
        reading_history(machine=machine, metrics=metrics, start=start, end=stop, points=150, source=source)
        for source in (HistorySource.HOURS, HistorySource.MINUTES)
    ]
    if tiers[0].grid != tiers[1].grid or tiers[0].grid.bucket_s != 3600:
        raise RuntimeError(f"the tiers' grids differ: {tiers[0].grid} and {tiers[1].grid}")
    return sum(
        not (series.ts and _same_buckets(series, other))
        for series, other in zip(tiers[0].series, tiers[1].series, strict=True)
    )


if __name__ == "__main__":
    main()
