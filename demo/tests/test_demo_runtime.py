"""`manage.py run_demo` on the embedded defaults, as `make demo` runs it: SQLite, the in-memory
channel layer and the embedded broker, all in one process, stopped by Ctrl-C."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from demo.tests import small_forest
from testing.throwaway import free_port, port_wait

SCENARIO_MACHINE = "M-007"


def manage(*args: str, env: dict, timeout: float = 300) -> str:
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def wait_for_row(
    database: Path, query: str, parameters: tuple = (), *, timeout: float, process: subprocess.Popen
) -> tuple:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the demo stopped on its own"
        with sqlite3.connect(database, timeout=10) as conn:
            row = conn.execute(query, parameters).fetchone()
        if row and all(value is not None for value in row):
            return row
        time.sleep(0.5)
    raise AssertionError(f"nothing for {query!r} within {timeout} s")


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own server on loopback
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def demo_environment(tmp_path):
    """A fresh embedded-defaults install: SQLite file, no Redis, no MQTT_URL; seeded, one small model."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "MQTT_URL")}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "MODEL_ARTIFACT_DIR": str(tmp_path / "models"),
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    manage("migrate", "--noinput", "-v0", env=env)
    manage("seed_demo", env=env)
    # A small but real Random Forest, the same on every date: 16 simulated days ending at a fixed
    # instant (test_any_date runs it on the demo's scenario at many dates).
    manage(*small_forest.TRAIN_MODELS_ARGS, env=env)
    return env, tmp_path / "demo.sqlite3"


def test_demo_runs_every_part_in_one_process_until_ctrl_c(demo_environment, tmp_path):
    env, database = demo_environment
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own manage.py
        [
            sys.executable,
            "manage.py",
            "run_demo",
            "--port",
            str(port),
            "--fail-soon",
            SCENARIO_MACHINE,
            "--fail-soon-minutes",
            "0.5",
            "--predict-interval",
            "2",
            "--history-days",
            "0.6",
            "--truth-file",
            str(tmp_path / "truth.jsonl"),
            "--vapid-file",
            str(tmp_path / "demo-vapid.json"),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        port_wait(port, timeout=120)
        # Pages and static files as a browser asks for them; none may log a warning (below).
        for path, status in (
            ("/healthz", 200),
            ("/admin/login/", 200),
            ("/static/admin/css/base.css", 200),
            ("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", 200),
        ):
            assert http_status(f"http://127.0.0.1:{port}{path}") == status, path
        assert http_status(f"http://127.0.0.1:{port}/static/no-such-file.js") == 404
        # Readings travel simulator → embedded broker → listener → database.
        live_readings = wait_for_row(
            database,
            "SELECT count(*) FROM telemetry_reading WHERE ts > datetime('now', '-1 minute') HAVING count(*) > 50",
            timeout=60,
            process=process,
        )
        # The scenario machine is predicted to fail, and that becomes one alert and one assigned ticket.
        probability = wait_for_row(
            database,
            "SELECT max(p.failure_probability) FROM predictor_prediction p JOIN telemetry_machine m "
            "ON m.id = p.machine_id WHERE m.code = ? HAVING max(p.failure_probability) >= 0.8",
            (SCENARIO_MACHINE,),
            timeout=60,
            process=process,
        )
        ticket = wait_for_row(
            database,
            "SELECT t.id, u.username, t.sop_id FROM tickets_ticket t JOIN telemetry_machine m ON m.id = t.machine_id "
            "JOIN auth_user u ON u.id = t.assignee_id WHERE m.code = ?",
            (SCENARIO_MACHINE,),
            timeout=60,
            process=process,
        )
        # Its technician has it unread on their bell (paged or not: the scenario's ticket may open in
        # the replayed past, which is recorded, not paged, and unread again once the replay is over).
        notification = wait_for_row(
            database,
            "SELECT n.title FROM notifications_notification n JOIN tickets_ticket t ON t.id = n.ticket_id "
            "WHERE t.id = ? AND n.recipient_id = t.assignee_id AND n.kind = 'assigned' AND n.read_at IS NULL",
            (ticket[0],),
            timeout=30,
            process=process,
        )
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert live_readings[0] > 50
    assert probability[0] >= 0.8
    assert ticket[1].startswith("tech")
    assert notification[0] == f"Ticket #{ticket[0]} on {SCENARIO_MACHINE} is yours"
    assert "Web Push with the demo's own VAPID keys" in output
    assert "Embedded MQTT broker on mqtt://127.0.0.1:" in output
    assert "manager / manager-demo" in output
    assert "Stopped." in output
    assert "Traceback" not in output, output
    assert "Warning" not in output, output
    with sqlite3.connect(database) as conn:
        open_alerts = conn.execute(
            "SELECT count(*) FROM tickets_alert a JOIN telemetry_machine m ON m.id = a.machine_id "
            "WHERE m.code = ? AND a.status != 'cleared'",
            (SCENARIO_MACHINE,),
        ).fetchone()[0]
    assert open_alerts >= 1
