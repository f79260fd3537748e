"""The benchmarks' own PostgreSQL databases: created fresh beside the server's others, migrated, and
given a plant of identical pumps (vibration and temperature), so each benchmark measures its subject on
the same schema the product runs on."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def database_url(admin_url: str, name: str) -> str:
    """The URL of database `name` on the server `admin_url` points at."""
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def database_recreate(admin_url: str, name: str, *, migrate: bool = True) -> str:
    """Drop `name` if a previous run left it, create it empty (migrated unless told not to); returns its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(admin_url, name)
    if migrate:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "DATABASE_URL": url},
            check=True,
        )
    return url


def database_drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pumps_create(conn: psycopg.Connection, *, machines: int, code_format: str = "B-{:04d}") -> int:
    """A 'Bench pump' type reporting vibration and temperature (each with its sensor's physical range,
    which the listener checks), and `machines` running machines of it (codes from code_format);
    returns the type's id."""
    type_id = conn.execute(
        "INSERT INTO telemetry_machinetype (name, description) VALUES ('Bench pump', '') RETURNING id"
    ).fetchone()[0]
    for metric, unit, physical_min, physical_max in (("vibration", "mm/s RMS", 0, 50), ("temperature", "°C", -40, 200)):
        conn.execute(
            "INSERT INTO telemetry_metricspec (machine_type_id, name, unit, physical_min, physical_max) "
            "VALUES (%s, %s, %s, %s, %s)",
            (type_id, metric, unit, physical_min, physical_max),
        )
    with conn.cursor().copy(
        "COPY telemetry_machine (code, name, machine_type_id, line, location, status, status_changed_at) FROM STDIN"
    ) as copy:
        for n in range(machines):
            copy.write_row((code_format.format(n), f"Bench machine {n}", type_id, "", "", "running", "now"))
    return type_id
