"""The migration to partitions keeps every reading and roll-up of a database in today's format, in
place: the old table becomes the first partition, the same file on disk, not a copy."""

import datetime
import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="partitions are PostgreSQL's (SQLite keeps one plain table); CI runs this on PostgreSQL",
)

BEFORE_PARTITIONS = "0003_payload_sources"

SEED = """
INSERT INTO telemetry_machinetype (name, description) VALUES ('Pump', '');
INSERT INTO telemetry_machine (code, name, machine_type_id, line, location, status, status_changed_at)
SELECT 'M-' || n, 'Pump ' || n, (SELECT id FROM telemetry_machinetype), '', '', 'running', now()
FROM generate_series(1, 4) AS n;
-- Ten days of readings, one every 30 s per machine, up to now, a few with an error code.
INSERT INTO telemetry_reading (machine_id, ts, metrics, error_code)
SELECT machine.id, now() - make_interval(secs => 30 * step),
       jsonb_build_object('vibration', (step % 97) / 10.0, 'temperature', 40 + step % 13),
       CASE WHEN step % 1000 = 0 THEN 'E-BEARING' ELSE '' END
FROM telemetry_machine AS machine, generate_series(0, 28800) AS step;
-- And one from a gateway whose clock runs two days ahead.
INSERT INTO telemetry_reading (machine_id, ts, metrics, error_code)
SELECT min(id), now() + interval '2 days', '{"vibration": 1.5}', '' FROM telemetry_machine;
-- Their per-minute roll-ups, as the ingest keeps them.
INSERT INTO telemetry_readingminute (machine_id, metric, minute, count, total, minimum, maximum)
SELECT machine_id, m.key, date_trunc('minute', ts), count(*), sum(m.value::float8), min(m.value::float8),
       max(m.value::float8)
FROM telemetry_reading, jsonb_each_text(metrics) AS m(key, value) GROUP BY 1, 2, 3;
"""

ROLLUP_CENSUS = """
SELECT count(*), md5(string_agg(concat_ws('|', machine_id, metric, minute, count, total, minimum, maximum), ','
                                ORDER BY machine_id, metric, minute))
FROM telemetry_readingminute
"""

CENSUS = """
SELECT count(*), md5(string_agg(machine_id || '|' || ts::text || '|' || metrics::text || '|' || error_code, ','
                                ORDER BY machine_id, ts)),
       max(ts), count(*) FILTER (WHERE error_code <> '')
FROM telemetry_reading
"""


def _migrate(database_url: str, *target: str) -> None:
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "migrate", "-v0", *target],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture
def database_url():
    server = connection.settings_dict
    address = f"postgres://{server['USER']}@{server['HOST'] or '127.0.0.1'}:{server['PORT'] or 5432}"
    name = f"maintainx_partitions_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{address}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{address}/{name}"
    finally:
        with psycopg.connect(f"{address}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_migration_keeps_every_existing_reading_in_place_and_new_ones_still_go_in(database_url):
    # Everything, then the readings back to before partitions: a partial migrate straight to it would
    # run the role grants' post-migrate sync without the auth app.
    _migrate(database_url)
    _migrate(database_url, "telemetry", BEFORE_PARTITIONS)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")  # the census shows times as text: the same zone before and after
        conn.execute(SEED)
        before = conn.execute(CENSUS).fetchone()
        rollups_before = conn.execute(ROLLUP_CENSUS).fetchone()
        old_file = conn.execute("SELECT relfilenode FROM pg_class WHERE relname = 'telemetry_reading'").fetchone()[0]

    _migrate(database_url)

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        after = conn.execute(CENSUS).fetchone()
        rollups_after = conn.execute(ROLLUP_CENSUS).fetchone()
        kinds = dict(
            conn.execute(
                "SELECT relname, relkind FROM pg_class "
                "WHERE relname IN ('telemetry_reading', 'telemetry_readingminute')"
            ).fetchall()
        )
        partitions = dict(
            conn.execute(
                "SELECT child.relname, child.relfilenode FROM pg_inherits JOIN pg_class AS child "
                "ON child.oid = inhrelid WHERE inhparent = 'telemetry_reading'::regclass"
            ).fetchall()
        )
        [(attached, bound)] = conn.execute(
            "SELECT child.relname, pg_get_expr(child.relpartbound, child.oid) FROM pg_inherits JOIN pg_class AS child "
            "ON child.oid = inhrelid WHERE inhparent = 'telemetry_reading'::regclass AND child.relname LIKE '%before%'"
        ).fetchall()
        newest = before[2]
        day_after_newest = newest.astimezone(datetime.UTC).date() + datetime.timedelta(days=1)
        # A reading after the attached range: into the default partition, the key still unique across both.
        conn.execute(
            "INSERT INTO telemetry_reading (machine_id, ts, metrics, error_code) "
            "SELECT min(id), %s::timestamptz + interval '1 day', '{}', '' FROM telemetry_machine",
            [newest],
        )
        duplicate = conn.execute(
            "INSERT INTO telemetry_reading (machine_id, ts, metrics, error_code) "
            "SELECT min(id), %s, '{\"vibration\": 9}', '' FROM telemetry_machine ON CONFLICT DO NOTHING",
            [newest],
        ).rowcount

    assert before[0] == 4 * 28801 + 1
    assert after == before  # every reading, byte for byte, the error codes' too
    assert rollups_after == rollups_before
    assert rollups_before[0] > 4 * 28801 // 2  # two readings a minute, two metrics each
    assert kinds == {"telemetry_reading": "p", "telemetry_readingminute": "p"}
    assert partitions[attached] == old_file  # the old table itself, not a copy of it
    assert set(partitions) == {attached, "telemetry_reading_default"}
    # Its range ends at the first UTC midnight after the newest reading (two days ahead here).
    assert bound.startswith("FOR VALUES FROM (MINVALUE) TO ('")
    assert bound.endswith(" 00:00:00+00')")
    assert datetime.date.fromisoformat(bound.split("'")[1][:10]) == day_after_newest
    assert duplicate == 0
