"""The listener as operators run it (a process), through crashes and outages, on a throwaway broker
and a throwaway PostgreSQL cluster: every reading published is stored exactly once."""

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from telemetry.mqtt import BrokerAddress, client_create, telemetry_topic
from testing.throwaway import MosquittoBroker, PostgresCluster, wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster():
    cluster = PostgresCluster().init().start()
    cluster.create_database("maintainx")
    env = {**os.environ, "DATABASE_URL": cluster.url("maintainx")}
    env.pop("REDIS_URL", None)
    script = (
        "from telemetry.models import Machine, MachineType, MetricSpec;"
        "pump = MachineType.objects.create(name='Centrifugal pump');"
        "MetricSpec.objects.create(machine_type=pump, name='vibration', unit='mm/s RMS');"
        "Machine.objects.create(code='M-001', name='Coolant pump 1', machine_type=pump)"
    )
    for command in (["migrate", "-v0"], ["shell", "--no-imports", "-c", script]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=PROJECT_ROOT, env=env, check=True, timeout=120)  # noqa: S603
    yield cluster
    cluster.destroy()


@pytest.fixture
def database(cluster):
    with psycopg.connect(cluster.url("maintainx"), autocommit=True) as conn:
        conn.execute("TRUNCATE telemetry_reading, telemetry_rejectedmessage, telemetry_listenerslot")
    return cluster


@pytest.fixture
def broker():
    broker = MosquittoBroker().start()
    yield broker
    broker.destroy()


def stored_counts(cluster: PostgresCluster) -> tuple[int, int]:
    with psycopg.connect(cluster.url("maintainx")) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT ts) FROM telemetry_reading").fetchone()


class ListenerProcess:
    """mqtt_listen as a process of its own: under a client id of its own, or (`slot`) the one it takes
    in its shared group (telemetry.slots)."""

    def __init__(
        self, *, broker: MosquittoBroker, cluster: PostgresCluster, log_path: Path, extra=(), slot: bool = False
    ):
        client_id = [] if slot else ["--client-id", f"outage-listener-{uuid.uuid4().hex[:6]}"]
        self.args = [
            sys.executable,
            "manage.py",
            "mqtt_listen",
            "--mqtt-url",
            broker.url,
            *client_id,
            "--batch-age-ms",
            "50",
            "--stats-interval",
            "1",
            *extra,
        ]
        self.env = {**os.environ, "DATABASE_URL": cluster.url("maintainx"), "PYTHONUNBUFFERED": "1"}
        self.env.pop("REDIS_URL", None)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> "ListenerProcess":
        subscriptions_before = self.log().count("subscribed to")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own manage.py
                self.args, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(lambda: self.log().count("subscribed to") > subscriptions_before, what="the listener to subscribe")
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


class Publisher(threading.Thread):
    """Publishes `count` readings of M-001 at QoS 1, each with its own ts, at about `rate` messages per
    second; `per_message` > 1 sends them as JSON arrays of that many readings (a gateway's batches)."""

    def __init__(
        self, broker: MosquittoBroker, *, count: int, rate: float | None = None, first: int = 0, per_message: int = 1
    ):
        super().__init__(daemon=True)
        self.broker, self.count, self.rate, self.first = broker, count, rate, first
        self.per_message = per_message
        self.base = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)

    def reading(self, n: int) -> dict:
        ts = self.base + datetime.timedelta(milliseconds=n)
        return {"ts": ts.isoformat(), "metrics": {"vibration": 2.0 + n % 7 / 10}}

    def run(self):
        address = BrokerAddress.from_url(self.broker.url)
        client = client_create(address, client_id=f"outage-publisher-{uuid.uuid4().hex[:6]}")
        client.max_inflight_messages_set(500)
        client.max_queued_messages_set(0)
        client.connect(address.host, address.port)
        client.loop_start()
        started = time.monotonic()
        infos = []
        for sent, n in enumerate(range(self.first, self.first + self.count, self.per_message)):
            if self.per_message == 1:
                body = json.dumps(self.reading(n))
            else:
                last = min(n + self.per_message, self.first + self.count)
                body = json.dumps([self.reading(m) for m in range(n, last)])
            infos.append(client.publish(telemetry_topic("M-001"), body, qos=1))
            if self.rate:
                time.sleep(max(0.0, started + (sent + 1) / self.rate - time.monotonic()))
        for info in infos:
            info.wait_for_publish(timeout=60)
        client.disconnect()
        client.loop_stop()


def test_listener_killed_mid_stream_loses_nothing_and_stores_nothing_twice(database, broker, tmp_path):
    listener = ListenerProcess(broker=broker, cluster=database, log_path=tmp_path / "listener.log").start()
    publisher = Publisher(broker, count=20_000)
    publisher.start()
    wait_until(lambda: stored_counts(database)[0] >= 3_000, what="the first readings")

    listener.kill()  # kill -9: no flush, no ack for what was in flight
    publisher.join(timeout=120)
    listener.start()

    wait_until(lambda: stored_counts(database)[0] >= 20_000, what="every reading")
    time.sleep(1)  # anything redelivered late would show up now as an extra row
    assert stored_counts(database) == (20_000, 20_000)
    assert listener.terminate() == 0


def test_listener_killed_in_the_middle_of_arrays_of_readings_loses_nothing_and_stores_nothing_twice(
    database, broker, tmp_path
):
    """A message of 10 readings is acked once its whole batch commits: killed before, it comes again
    whole, and the readings already stored from it are duplicates that change nothing."""
    listener = ListenerProcess(broker=broker, cluster=database, log_path=tmp_path / "listener.log").start()
    publisher = Publisher(broker, count=20_000, per_message=10)
    publisher.start()
    wait_until(lambda: stored_counts(database)[0] >= 3_000, what="the first readings")

    listener.kill()
    publisher.join(timeout=120)
    listener.start()

    wait_until(lambda: stored_counts(database)[0] >= 20_000, what="every reading")
    time.sleep(1)
    assert stored_counts(database) == (20_000, 20_000)
    with psycopg.connect(database.url("maintainx")) as conn:
        assert conn.execute("SELECT count(*) FROM telemetry_rejectedmessage").fetchone() == (0,)
    assert listener.terminate() == 0


def test_database_down_for_10_seconds_loses_nothing(database, broker, tmp_path):
    listener = ListenerProcess(
        broker=broker,
        cluster=database,
        log_path=tmp_path / "listener.log",
        # A small window: while the database is down, most of the backlog must wait at the broker.
        extra=["--receive-maximum", "1000", "--batch-size", "400"],
    ).start()
    publisher = Publisher(broker, count=6_000, rate=400)
    publisher.start()
    wait_until(lambda: stored_counts(database)[0] >= 500, what="the first readings")

    database.stop()
    time.sleep(10)
    database.start()

    publisher.join(timeout=60)
    wait_until(lambda: stored_counts(database)[0] >= 6_000, what="every reading")
    time.sleep(1)
    assert stored_counts(database) == (6_000, 6_000)
    assert listener.process.poll() is None, "the listener must ride out the outage"
    assert "database unavailable" in listener.log()
    assert listener.terminate() == 0


def test_backlog_published_while_listener_and_broker_restart_is_delivered(database, broker, tmp_path):
    listener = ListenerProcess(broker=broker, cluster=database, log_path=tmp_path / "listener.log").start()
    assert listener.terminate() == 0  # the broker keeps its persistent session

    Publisher(broker, count=5_000).run()
    broker.restart()  # the queued backlog must survive the broker's restart too
    listener.start()
    wait_until(lambda: stored_counts(database)[0] >= 5_000, what="the backlog")

    broker.restart()  # lost while connected: the listener reconnects by itself
    wait_until(lambda: listener.log().count("connected to") >= 3, what="the listener to reconnect")
    Publisher(broker, count=1_000, first=5_000).run()
    wait_until(lambda: stored_counts(database)[0] >= 6_000, what="readings after the reconnect")
    assert stored_counts(database) == (6_000, 6_000)
    assert listener.terminate() == 0
