"""run_predictor as operators run it (a process) through a PostgreSQL outage, on a throwaway cluster: the
ticks the database refuses are lost, the process is not."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.throwaway import PostgresCluster, wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster():
    cluster = PostgresCluster().init().start()
    cluster.create_database("maintainx")
    env = {**os.environ, "DATABASE_URL": cluster.url("maintainx")}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT_ROOT, env=env, check=True, timeout=120)
    yield cluster
    cluster.destroy()


def test_the_predictor_rides_out_a_database_outage_and_ticks_again(cluster, tmp_path):
    log_path = tmp_path / "predictor.log"
    env = {**os.environ, "DATABASE_URL": cluster.url("maintainx"), "PYTHONUNBUFFERED": "1"}
    env.pop("REDIS_URL", None)
    with log_path.open("wb") as log:
        predictor = subprocess.Popen(
            [sys.executable, "manage.py", "run_predictor", "--interval", "0.5"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def ticks() -> int:
        return log_path.read_text().count("scored 0 machines")

    try:
        wait_until(lambda: ticks() >= 1, what="a first tick")
        cluster.stop()
        wait_until(lambda: "database unavailable" in log_path.read_text(), what="the outage to be noticed")
        time.sleep(2)  # several refused ticks, each retried later than the one before
        assert predictor.poll() is None, log_path.read_text()
        ticks_before = ticks()
        cluster.start()
        wait_until(lambda: ticks() > ticks_before, what="a tick after the database came back")
    finally:
        predictor.send_signal(signal.SIGTERM)
        exit_code = predictor.wait(timeout=30)
    assert exit_code == 0, log_path.read_text()
    assert "Traceback" not in log_path.read_text()
