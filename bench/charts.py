"""Chart history benchmark: a 7-day chart of one machine over a table of >= 10 million readings.

On a PostgreSQL database of its own it writes a week of readings for K machines (default 20 machines,
one reading every 1.2 s: 10,080,000 readings) and their per-minute roll-ups, computed by the same
aggregation the ingest batch runs. Then, for random machines and windows ending at the newest data,
it times the history selector (telemetry.selectors.reading_history, 600 points) on:
  (a) the raw readings table, the query a chart would run without roll-ups;
  (b) the per-minute roll-ups, what the API reads for ranges of whole-minute buckets;
  (c) the whole HTTP request GET /api/machines/<code>/readings/?from=…&to=… as the dashboard sends it.
Prints p50 and p95 of each beside the 50 ms limit, and checks that (a) and (b) give the same buckets.

    make bench-charts           (or: .venv/bin/python bench/charts.py --machines 20 --interval 1.2 --keep)
"""

import argparse
import datetime
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
DAYS = 7


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
        conn.execute("VACUUM ANALYZE")
    return url


def _readings_count(url: str) -> int | None:
    try:
        with psycopg.connect(url) as conn:
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

    from telemetry.models import Machine, Reading  # noqa: PLC0415
    from telemetry.selectors import HistorySource, reading_history  # noqa: PLC0415

    total = Reading.objects.count()
    machines = list(Machine.objects.order_by("code"))
    user, _ = get_user_model().objects.get_or_create(username="bench-charts", defaults={"is_superuser": True})
    client = APIClient(HTTP_HOST="127.0.0.1")
    client.force_authenticate(user)
    rng = random.Random(1)  # noqa: S311 - picks windows, not secrets
    metrics = ["vibration", "temperature"]

    def window() -> tuple[Machine, datetime.datetime, datetime.datetime]:
        # The newest week, shifted by up to an hour so that no two queries are the same.
        window_end = end - datetime.timedelta(seconds=rng.uniform(0, 3600))
        return rng.choice(machines), window_end - datetime.timedelta(days=DAYS), window_end

    def timed(run) -> float:
        started = time.perf_counter()
        run()
        return (time.perf_counter() - started) * 1000

    timings: dict[str, list[float]] = {"raw": [], "rollup": [], "api": []}
    mismatches = 0
    # Interleaved, one of each per round, so that all three see the same cache and machine load.
    for round_number in range(args.queries + 3):
        machine, start, stop = window()
        results = {}

        def history(source, machine=machine, start=start, stop=stop, results=results):
            results[source] = reading_history(
                machine=machine, metrics=metrics, start=start, end=stop, points=args.points, source=source
            )

        def api(machine=machine, start=start, stop=stop):
            response = client.get(
                f"/api/machines/{machine.code}/readings/",
                {"from": start.isoformat(), "to": stop.isoformat(), "points": args.points},
                secure=True,  # as behind the HTTPS proxy a deployment has (DEBUG off redirects plain HTTP)
            )
            if response.status_code != 200 or response.json()["source"] != HistorySource.MINUTES:
                raise RuntimeError(f"unexpected answer {response.status_code}: {response.content[:300]!r}")

        rollup_ms = timed(lambda history=history: history(HistorySource.MINUTES))
        raw_ms = timed(lambda history=history: history(HistorySource.READINGS))
        api_ms = timed(api)
        if round_number < 3:
            continue  # warm-up: connections, caches, the first plan
        timings["rollup"].append(rollup_ms)
        timings["raw"].append(raw_ms)
        timings["api"].append(api_ms)
        for raw_series, rollup_series in zip(
            results[HistorySource.READINGS].series, results[HistorySource.MINUTES].series, strict=True
        ):
            same = (
                raw_series.ts == rollup_series.ts
                and raw_series.count == rollup_series.count
                and raw_series.min == rollup_series.min
                and raw_series.max == rollup_series.max
                and all(
                    abs(a - b) <= 1e-9 * max(1.0, abs(a))
                    for a, b in zip(raw_series.avg, rollup_series.avg, strict=True)
                )
            )
            mismatches += not same
    buckets = len(results[HistorySource.MINUTES].series[0].ts)

    print(
        f"chart benchmark: {total:,} readings of {len(machines)} machines in telemetry_reading, "
        f"7-day window of one machine, {len(metrics)} metrics, {args.points} points ({buckets} buckets), "
        f"{args.queries} queries each, {os.cpu_count()} cores"
    )
    print(f"  {'':44} {'p50':>9} {'p95':>9}   p95 / limit ({LIMIT_MS:.0f} ms)")
    for key, label in (
        ("raw", "(a) raw readings table"),
        ("rollup", "(b) per-minute roll-ups"),
        ("api", "(c) GET /api/machines/<code>/readings/"),
    ):
        values = timings[key]
        p95 = percentile(values, 0.95)
        print(
            f"  {label:44} {statistics.median(values):>7.1f}ms {p95:>7.1f}ms   {p95 / LIMIT_MS:>5.2f}"
            f"{'   within the limit' if p95 <= LIMIT_MS else '   over the limit'}"
        )
    speedup = percentile(timings["raw"], 0.95) / percentile(timings["rollup"], 0.95)
    print(f"  roll-ups answer {speedup:.0f}x faster than the raw table at p95")
    compared = args.queries * len(metrics)
    print(f"  raw and roll-up buckets identical in {compared - mismatches} of {compared} series")


if __name__ == "__main__":
    main()
