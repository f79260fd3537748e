"""Whole-system suite (issue 7, section 4): the real processes under load, through faults, hostile
input and an API fuzzer, on throwaway PostgreSQL, Redis and Mosquitto servers on free ports.

The system runs as an operator runs it, one process each: `mqtt_listen`, `run_predictor` (Random
Forest trained here with `train_models`), the web server (uvicorn: API and websockets), DEBUG off.
Like compose's restart policies, a process that exits on its own is started again (after 1 s,
doubling); every such exit is reported. The suite's own processes: the plant (bench/system_traffic.py
publishes every machine once a second at QoS 1, `ts` = the instant it publishes), a manager's
dashboard (bench/system_client.py: session login, /ws/plant/, reconnect with backoff and `?since=`
catch-up, as the React app does), and the hostile sender.

Phases, one after the other, the base load running throughout:
  load    --load-machines (200) x 1 Hz for --load-minutes (10): publish → committed p50/p99, fault
          signal → alert pushed p50/p95 (a reading with an error code, published at a known instant,
          until the dashboard receives the alert frame), CPU and memory per process, the count check.
  step    --step-machines (1,000) x 1 Hz for --step-minutes (5): the same figures.
  faults  kill -9 the listener; restart the broker; stop PostgreSQL --postgres-outage (60) s; stop
          Redis --redis-outage (30) s. Error-code readings are published during each fault. After
          each: readings lost and duplicated, and whether every alert raised reached the dashboard.
  hostile --hostile-count (10,000) generated bad payloads mixed into the load: listener crashes,
          each one a RejectedMessage, every good reading stored.
  api     schemathesis against /api/schema/ with each role's token: server errors.
One markdown table at the end, also written to bench/results/system.md; logs in var/bench-system/.

Instrumentation: publish → committed is each row's commit time (PostgreSQL's commit timestamps,
track_commit_timestamp, switched on for the throwaway cluster only) minus its `ts`. No table of
the project is changed.

    make bench-system            (or: .venv/bin/python bench/system.py --load-minutes 2 --step-minutes 1)
"""

import argparse
import base64
import collections
import datetime
import hashlib
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(PROJECT_ROOT))

from system_traffic import connected_client, metric_values  # noqa: E402

from telemetry.mqtt import telemetry_topic  # noqa: E402
from testing.throwaway import MosquittoBroker, PostgresCluster, RedisServer, free_port  # noqa: E402

SCRATCH = PROJECT_ROOT / "var" / "bench-system"
RESULTS = BENCH_DIR / "results" / "system.md"
DATABASE_NAME = "maintainx_system"
PYTHON = sys.executable
UVICORN = str(Path(sys.executable).with_name("uvicorn"))
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
LOAD_PREFIX, SIGNAL_PREFIX = "L-", "S-"
ROLES = (("Manager", "manager"), ("Technician", "tech1"), ("Supervisor", "supervisor"))
ERROR_CODES = ("E-BRG-01", "E-TMP-01", "E-VIB-01", "E-LUB-01", "E-ELC-01")
# A row's verdict: a check that passed, one that failed, or a figure without a target.
PASS, FAIL, INFO = "pass", "FAIL", ""


# --- small helpers ------------------------------------------------------------------------------


def now() -> float:
    return time.time()


def utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def ms(seconds: float) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:,.0f} ms"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def wait_until(condition: Callable[[], bool], *, timeout: float, every: float = 0.5) -> float | None:
    """Seconds until condition() held, or None when it did not within `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(every)
    return None


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, every: float = 0.5) -> float:
    """As wait_until, for what the run cannot go on without: raises after `timeout`."""
    seconds = wait_until(condition, timeout=timeout, every=every)
    if seconds is None:
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
    return seconds


def log_tail(path: Path, lines: int = 5) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


# --- processes: started, watched, measured and stopped by pid -----------------------------------


def proc_cpu_seconds(pid: int, *, with_children: bool = False) -> float | None:
    """User + system CPU of a live process (and of its children it has waited for)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def proc_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def proc_children(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(stat[1]) == parent:
                children.append(int(entry.name))
    return children


@dataclass
class UnplannedExit:
    process: str
    at: float
    code: int | None
    log: str


class PublishedKeys:
    """The keys file of one plant publisher, read as it grows: (machine id, ts in µs) per reading
    the broker acknowledged."""

    RECORD = np.dtype([("index", "<u4"), ("ts_us", "<u8")])

    def __init__(self, path: Path, machine_ids: list[int]):
        self.path = path
        self.machine_ids = np.array(machine_ids, dtype=np.int64)
        self.offset = 0
        self.chunks: list[np.ndarray] = []

    def window(self, since: float, until: float) -> tuple[np.ndarray, np.ndarray]:
        if self.path.exists():
            with self.path.open("rb") as keys:
                keys.seek(self.offset)
                data = keys.read()
            usable = len(data) - len(data) % self.RECORD.itemsize
            if usable:
                self.chunks = [np.concatenate([*self.chunks, np.frombuffer(data[:usable], dtype=self.RECORD)])]
                self.offset += usable
        if not self.chunks:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        records = self.chunks[0]
        ts_us = records["ts_us"].astype(np.int64)
        chosen = (ts_us >= since * 1e6) & (ts_us < until * 1e6)
        return self.machine_ids[records["index"][chosen]], ts_us[chosen]


class ManagedProcess:
    """One of the system's processes, restarted when it exits on its own (compose's restart policy)."""

    def __init__(self, name: str, args: list[str], *, env: dict, log_path: Path, ready: Callable[[], bool]):
        self.name, self.args, self.env, self.log_path, self.ready = name, args, env, log_path, ready
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.planned_stop = False
        self.exits: list[UnplannedExit] = []
        self.cpu_of_ended = 0.0  # CPU seconds of incarnations that have ended, at their last sample
        self.last_cpu = 0.0
        self.restarts_in_a_row = 0
        self.restart_due: float | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, *, wait: bool = True, timeout: float = 120) -> "ManagedProcess":
        with self.log_path.open("ab") as log:
            log.write(f"\n===== {self.name} started at {utc(now()).isoformat()} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 - our own commands
                self.args, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.started_at, self.last_cpu, self.planned_stop = now(), 0.0, False
        if wait:
            self.ready_wait(timeout)
        return self

    def ready_wait(self, timeout: float = 120) -> float:
        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {log_tail(self.log_path)}")
            return self.ready()

        return wait_for(ready, timeout=timeout, what=f"{self.name} to be ready", every=0.1)

    def cpu_seconds(self) -> float:
        current = proc_cpu_seconds(self.pid) if self.process and self.process.poll() is None else None
        if current is not None:
            self.last_cpu = current
        return self.cpu_of_ended + self.last_cpu

    def rss_mib(self) -> float | None:
        return proc_rss_mib(self.pid) if self.process and self.process.poll() is None else None

    def _ended(self) -> None:
        self.cpu_of_ended += self.last_cpu
        self.last_cpu = 0.0

    def signal(self, signum: int) -> None:
        """A planned kill or stop: not restarted by the watcher, not counted as an exit."""
        self.planned_stop = True
        self.cpu_seconds()
        self.process.send_signal(signum)
        self.process.wait(timeout=60)
        self._ended()

    def stop(self, timeout: float = 60) -> int | None:
        if not self.process or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.planned_stop = True
        self.cpu_seconds()
        self.process.terminate()
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=30)
        self._ended()
        return code

    def watch(self) -> None:
        """Called every half second: restart after an exit nobody planned, with backoff."""
        if self.process is None or self.planned_stop:
            return
        if self.restart_due is not None:
            if now() >= self.restart_due:
                self.restart_due = None
                self.start(wait=False)
            return
        code = self.process.poll()
        if code is None:
            if now() - self.started_at > 30:
                self.restarts_in_a_row = 0
            return
        self._ended()
        self.exits.append(UnplannedExit(self.name, now(), code, log_tail(self.log_path, 3)))
        self.restart_due = now() + min(2**self.restarts_in_a_row, 30)
        self.restarts_in_a_row += 1


class ServiceCpu:
    """CPU of a throwaway server: its main process, its live children and the children it reaped."""

    def __init__(self, name: str, pid: Callable[[], int | None]):
        self.name, self._pid = name, pid
        self.cpu_of_ended = 0.0
        self.last = 0.0
        self.last_pid: int | None = None

    def cpu_seconds(self) -> float:
        pid = self._pid()
        if pid != self.last_pid:
            self.cpu_of_ended += self.last
            self.last, self.last_pid = 0.0, pid
        if pid is None:
            return self.cpu_of_ended
        total = proc_cpu_seconds(pid, with_children=True)
        if total is None:
            return self.cpu_of_ended + self.last
        for child in proc_children(pid):
            total += proc_cpu_seconds(child) or 0.0
        self.last = total
        return self.cpu_of_ended + self.last

    def rss_mib(self) -> float | None:
        pid = self._pid()
        if pid is None:
            return None
        return sum(proc_rss_mib(p) or 0.0 for p in [pid, *proc_children(pid)]) or None


class Watcher(threading.Thread):
    """Every half second: restart what exited unplanned. Every second: CPU and memory of the
    system's processes; every five: of the throwaway servers."""

    def __init__(self, processes: list[ManagedProcess], services: list[ServiceCpu]):
        super().__init__(daemon=True)
        self.processes, self.services = processes, services
        self.lock = threading.Lock()
        self.rss: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        self.stopping = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self.stopping.wait(0.5):
            with self.lock:
                for process in self.processes:
                    process.watch()
                tick += 1
                # CPU is read often enough that little is lost when a process dies between reads; the
                # servers' children are found by a walk over /proc, so they are read less often.
                measured_now = self.processes if tick % 2 == 0 else []
                if tick % 10 == 0:
                    measured_now = [*self.processes, *self.services]
                for measured in measured_now:
                    measured.cpu_seconds()
                    rss = measured.rss_mib()
                    if rss is not None:
                        self.rss[measured.name].append((now(), rss))

    def snapshot(self) -> dict[str, float]:
        with self.lock:
            return {measured.name: measured.cpu_seconds() for measured in [*self.processes, *self.services]}


# --- the run --------------------------------------------------------------------------------------


@dataclass
class Signal:
    machine: str
    error_code: str
    at: float
    phase: str


@dataclass
class Row:
    section: str
    figure: str
    measured: str
    target: str = ""
    verdict: str = INFO


@dataclass
class PhaseWindow:
    name: str
    started: float
    ended: float = 0.0
    cpu_before: dict = field(default_factory=dict)
    cpu_after: dict = field(default_factory=dict)
    predictor_log_from: int = 0
    predictor_log_to: int = 0
    listener_log_from: int = 0
    listener_log_to: int = 0


class SystemRun:
    def __init__(self, options: argparse.Namespace):
        self.options = options
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.signals: list[Signal] = []
        self.publishers: dict[str, tuple[subprocess.Popen, list[str], Path]] = {}
        self.published_keys: dict[str, PublishedKeys] = {}
        self.machine_ids: dict[str, int] = {}
        self.processes: dict[str, ManagedProcess] = {}
        self.load_average_start = load_average()
        self.started = now()
        self.client_events_path = SCRATCH / "dashboard-events.jsonl"
        self.client_events: list[dict] = []
        self._client_events_offset = 0
        self.dashboard: subprocess.Popen | None = None

    # --- services and database ---------------------------------------------------------------

    def services_start(self) -> None:
        self.postgres = PostgresCluster().init().start()
        self.sql_admin("ALTER SYSTEM SET track_commit_timestamp = on")
        self.postgres.stop()
        self.postgres.start()
        self.postgres.create_database(DATABASE_NAME)
        self.broker = MosquittoBroker().start()
        self.redis = RedisServer().start()
        self.web_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.postgres.url(DATABASE_NAME),
            "REDIS_URL": self.redis.url(),
            "MQTT_URL": self.broker.url,
            "DEBUG": "0",
            "SECRET_KEY": "bench-system-only-not-a-secret-" + "x" * 40,
            # No TLS proxy on loopback: plain HTTP, as behind the proxy that the README describes.
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "MODEL_ARTIFACT_DIR": str(SCRATCH / "models"),
            "LOG_FORMAT": "plain",
            "PYTHONUNBUFFERED": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }

    def services_destroy(self) -> None:
        for name in ("redis", "broker", "postgres"):
            service = getattr(self, name, None)
            if service is not None:
                try:
                    service.destroy()
                except Exception as exc:  # clean up the rest, whatever one of them raised
                    print(f"could not destroy the throwaway {name}: {exc}", file=sys.stderr)

    def sql_admin(self, statement: str) -> None:
        with psycopg.connect(self.postgres.url(), autocommit=True) as conn:
            conn.execute(statement)

    def db(self, timeout: float = 5) -> psycopg.Connection:
        return psycopg.connect(self.postgres.url(DATABASE_NAME), autocommit=True, connect_timeout=timeout)

    def query(self, sql: str, params=(), *, default=None):
        """Rows of a measurement query; `default` while the database is down (a fault)."""
        try:
            with self.db() as conn:
                return conn.execute(sql, params).fetchall()
        except psycopg.OperationalError:
            if default is None:
                raise
            return default

    def manage(self, *args: str, log: str) -> None:
        with (SCRATCH / log).open("ab") as out:
            subprocess.run(  # noqa: S603 - our own manage.py
                [PYTHON, "manage.py", *args],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
            )

    def plant_prepare(self) -> None:
        started = time.monotonic()
        self.manage("migrate", "--noinput", "-v0", log="setup.log")
        self.manage("seed_demo", log="setup.log")
        kinds = ["--kind", "random_forest"] if self.options.models == "random_forest" else ["--kind", "all"]
        epochs = ["--epochs", str(self.options.lstm_epochs)] if self.options.models == "all" else []
        self.manage("train_models", *kinds, *epochs, "--days", "8", "--activate", log="train.log")
        self.setup_seconds = time.monotonic() - started
        with self.db() as conn:
            self.metric_ranges = self._metric_ranges(conn)
            demo = [code for (code,) in conn.execute("SELECT code FROM telemetry_machine ORDER BY code")]
        load_codes = demo[: self.options.load_machines] + [
            f"{LOAD_PREFIX}{n:04d}" for n in range(len(demo) + 1, self.options.load_machines + 1)
        ]
        self.load_machines = load_codes
        self.step_machines = [
            f"{LOAD_PREFIX}{n:04d}" for n in range(self.options.load_machines + 1, self.options.step_machines + 1)
        ]
        self.signal_machines: list[str] = []
        self.machines_create([code for code in load_codes if code not in demo])
        self.signal_machines_ensure(3)

    def signal_machines_ensure(self, count: int) -> None:
        """At least `count` signal machines that have not signalled yet, created ahead of their use.

        Each signal needs a machine with no open alert. They are made a few at a time, since a
        silent machine costs the predictor a sensor warning every tick until it reports its
        failure; made at least a second ahead, so the listener's machine directory knows them
        (it reloads for an unknown code at most once a second). A fault that stops the database
        uses only machines made before it.
        """
        missing = count - (len(self.signal_machines) - len(self.signals))
        if missing > 0:
            first = len(self.signal_machines) + 1
            codes = [f"{SIGNAL_PREFIX}{n:04d}" for n in range(first, first + missing)]
            self.machines_create(codes)
            self.signal_machines += codes

    @staticmethod
    def _metric_ranges(conn) -> dict[int, dict[str, list[float]]]:
        ranges: dict[int, dict[str, list[float]]] = collections.defaultdict(dict)
        for type_id, name, normal_min, normal_max, alarm_max in conn.execute(
            "SELECT machine_type_id, name, normal_min, normal_max, alarm_max FROM telemetry_metricspec"
        ):
            # A healthy machine's readings: inside the normal range, an open end closed sensibly.
            high = normal_max if normal_max is not None else (alarm_max or (normal_min or 1.0) * 2)
            low = normal_min if normal_min is not None else high * 0.2
            ranges[type_id][name] = [low, high]
        return ranges

    def machines_create(self, codes: list[str]) -> None:
        with self.db() as conn:
            types = [row[0] for row in conn.execute("SELECT id FROM telemetry_machinetype ORDER BY name")]
            with conn.cursor().copy(
                "COPY telemetry_machine (code, name, machine_type_id, line, location, status, status_changed_at) "
                "FROM STDIN"
            ) as copy:
                for n, code in enumerate(codes):
                    copy.write_row(
                        (code, f"Bench machine {code}", types[n % len(types)], "Bench", "", "running", "now")
                    )
            self.machines_by_code = {
                code: (machine_id, type_id)
                for code, machine_id, type_id in conn.execute("SELECT code, id, machine_type_id FROM telemetry_machine")
            }
        self.machine_ids = {code: ids[0] for code, ids in self.machines_by_code.items()}

    def machines_file(self, name: str, codes: list[str]) -> Path:
        path = SCRATCH / f"machines-{name}.json"
        machines = [{"code": code, "metrics": self.metric_ranges[self.machines_by_code[code][1]]} for code in codes]
        path.write_text(json.dumps(machines))
        return path

    # --- the system's processes --------------------------------------------------------------

    def processes_start(self) -> None:
        def log(name: str) -> Path:
            return SCRATCH / f"{name}.log"

        def log_has(name: str, text: str) -> Callable[[], bool]:
            return lambda: text in log(name).read_text(errors="replace")

        self.processes["listener"] = ManagedProcess(
            "listener",
            [PYTHON, "manage.py", "mqtt_listen", "--client-id", "system-listener", "--stats-interval", "5"],
            env=self.env,
            log_path=log("listener"),
            ready=lambda: self.listener_subscriptions() > self._listener_subscriptions_before,
        )
        self.processes["predictor"] = ManagedProcess(
            "predictor",
            [PYTHON, "manage.py", "run_predictor", "--interval", "10"],
            env=self.env,
            log_path=log("predictor"),
            ready=log_has("predictor", "scored "),
        )
        self.processes["web"] = ManagedProcess(
            "web",
            [
                UVICORN,
                "maintainx.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.web_port),
                "--lifespan",
                "off",
            ],
            env=self.env,
            log_path=log("web"),
            ready=self.web_ready,
        )
        self._listener_subscriptions_before = 0
        for process in self.processes.values():
            process.start()
        self.watcher = Watcher(
            list(self.processes.values()),
            [
                ServiceCpu("PostgreSQL (all backends)", self.postgres_pid),
                ServiceCpu("Mosquitto", lambda: self.broker.process.pid if self.broker.process else None),
                ServiceCpu("Redis", lambda: self.redis.process.pid if self.redis.process else None),
            ],
        )
        self.watcher.start()

    def postgres_pid(self) -> int | None:
        try:
            return int((self.postgres.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def listener_subscriptions(self) -> int:
        path = SCRATCH / "listener.log"
        return path.read_text(errors="replace").count("subscribed to") if path.exists() else 0

    def web_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as response:  # noqa: S310
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def processes_stop(self) -> dict[str, int | None]:
        self.watcher.stopping.set()
        self.watcher.join(timeout=5)
        return {name: process.stop() for name, process in self.processes.items()}

    def listener_restart_after_kill(self) -> float:
        """kill -9, then start it again at once, as `restart: always` does; seconds until subscribed."""
        listener = self.processes["listener"]
        with self.watcher.lock:
            listener.signal(signal.SIGKILL)
            self._listener_subscriptions_before = self.listener_subscriptions()
            started = time.monotonic()
            listener.start(wait=False)
        listener.ready_wait()
        return time.monotonic() - started

    # --- the plant, the dashboard and the signaller -------------------------------------------

    def publisher_start(self, name: str, codes: list[str]) -> None:
        keys = SCRATCH / f"keys-{name}.bin"
        keys.unlink(missing_ok=True)
        Path(str(keys) + ".done").unlink(missing_ok=True)
        log = (SCRATCH / f"publisher-{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own script
            [
                PYTHON,
                str(BENCH_DIR / "system_traffic.py"),
                "publish",
                "--broker-url",
                self.broker.url,
                "--machines",
                str(self.machines_file(name, codes)),
                "--keys",
                str(keys),
                "--client-id",
                f"system-plant-{name}",
                "--seed",
                str(self.options.seed),
            ],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.publishers[name] = (process, codes, keys)
        self.published_keys[name] = PublishedKeys(keys, [self.machine_ids[code] for code in codes])

    def publisher_stop(self, name: str) -> dict:
        process, _, keys = self.publishers[name]
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=300)
        done = Path(str(keys) + ".done")
        return json.loads(done.read_text()) if done.exists() else {"error": f"exit {process.returncode}"}

    def published(self, *, since: float = 0.0, until: float = math.inf) -> set[tuple[int, int]]:
        """(machine id, ts in µs) of every reading the broker acknowledged, with ts in [since, until)."""
        keys = set()
        for reader in self.published_keys.values():
            machine_ids, ts_us = reader.window(since, until)
            keys.update(zip(machine_ids.tolist(), ts_us.tolist(), strict=True))
        return keys

    def published_count(self, *, since: float, until: float) -> int:
        return sum(len(reader.window(since, until)[0]) for reader in self.published_keys.values())

    def stored(self, *, since: float, until: float) -> tuple[set[tuple[int, int]], int]:
        """(keys of the load's rows with ts in [since, until), number of rows)."""
        load_ids = self.load_ids()
        rows = self.query(
            "SELECT machine_id, (extract(epoch FROM ts) * 1000000)::bigint FROM telemetry_reading "
            "WHERE machine_id = ANY(%s) AND ts >= %s AND ts < %s",
            (load_ids, utc(since), utc(until)),
        )
        return set(rows), len(rows)

    def load_ids(self) -> list[int]:
        """The machines the plant publishers publish for (the step's once they are created)."""
        return [self.machine_ids[code] for code in self.load_machines + self.step_machines if code in self.machine_ids]

    def stored_count(self, *, since: float, until: float) -> int:
        load_ids = self.load_ids()
        rows = self.query(
            "SELECT count(*) FROM telemetry_reading WHERE machine_id = ANY(%s) AND ts >= %s AND ts < %s",
            (load_ids, utc(since), utc(until)),
            default=[(-1,)],
        )
        return rows[0][0]

    def caught_up_wait(self, *, since: float, until: float, timeout: float) -> float | None:
        """Seconds until every reading published with ts in [since, until) is stored; None on timeout."""
        return wait_until(
            lambda: self.stored_count(since=since, until=until) >= self.published_count(since=since, until=until),
            timeout=timeout,
            every=1.0,
        )

    def dashboard_start(self) -> None:
        self.client_events_path.unlink(missing_ok=True)
        log = (SCRATCH / "dashboard.log").open("ab")
        self.dashboard = subprocess.Popen(  # noqa: S603 - our own script
            [
                PYTHON,
                str(BENCH_DIR / "system_client.py"),
                "--base-url",
                self.base_url,
                "--username",
                "manager",
                "--password",
                "manager-demo",
                "--events",
                str(self.client_events_path),
            ],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: any(e["event"] == "open" for e in self.events()), timeout=60, what="the dashboard's socket")

    def events(self) -> list[dict]:
        if self.client_events_path.exists():
            with self.client_events_path.open() as events:
                events.seek(self._client_events_offset)
                text = events.read()
            complete = text[: text.rfind("\n") + 1]
            self._client_events_offset += len(complete.encode())
            self.client_events.extend(json.loads(line) for line in complete.splitlines() if line)
        return self.client_events

    def alerts_seen(self) -> tuple[dict[int, float], dict[int, float], dict[str, float]]:
        """(alert id → first push, alert id → first catch-up, machine → first 'raised' push)."""
        pushed, caught_up, raised_by_machine = {}, {}, {}
        for event in self.events():
            if event["event"] == "push" and event["frame"].get("type") == "alert":
                frame = event["frame"]
                pushed.setdefault(frame["id"], event["at"])
                if frame.get("event") == "raised":
                    raised_by_machine.setdefault(frame["machine"], event["at"])
            elif event["event"] == "catch-up":
                for alert in event["alerts"]:
                    caught_up.setdefault(alert["id"], event["at"])
        return pushed, caught_up, raised_by_machine

    def alerts_caught_up_by_machine(self) -> dict[str, float]:
        """Machine code → when the dashboard first saw one of its alerts in a ?since= catch-up."""
        seen: dict[str, float] = {}
        for event in self.events():
            if event["event"] == "catch-up":
                for alert in event["alerts"]:
                    seen.setdefault(alert["machine"], event["at"])
        return seen

    def signaller_start(self) -> None:
        self.signaller = connected_client(self.broker.url, "system-signaller")

    def signal_send(self, phase: str) -> Signal:
        """A machine reports a failure: an error-code reading, published now."""
        code = self.signal_machines[len(self.signals)]
        error_code = ERROR_CODES[len(self.signals) % len(ERROR_CODES)]
        machine = {"metrics": self.metric_ranges[self.machines_by_code[code][1]]}
        at = now()
        body = {
            "ts": utc(at).isoformat(),
            "metrics": metric_values(machine, t=at, phase=0.0, rng=_NO_NOISE),
            "error_code": error_code,
        }
        self.signaller.publish(telemetry_topic(code), json.dumps(body), qos=1)
        sent = Signal(code, error_code, at, phase)
        self.signals.append(sent)
        return sent

    def max_alert_id(self) -> int:
        return self.query("SELECT coalesce(max(id), 0) FROM tickets_alert")[0][0]

    # --- measurements --------------------------------------------------------------------------

    def phase_begin(self, name: str) -> PhaseWindow:
        return PhaseWindow(
            name,
            started=now(),
            cpu_before=self.watcher.snapshot(),
            predictor_log_from=(SCRATCH / "predictor.log").stat().st_size,
            listener_log_from=(SCRATCH / "listener.log").stat().st_size,
        )

    def phase_end(self, window: PhaseWindow) -> PhaseWindow:
        window.ended = now()
        window.cpu_after = self.watcher.snapshot()
        window.predictor_log_to = (SCRATCH / "predictor.log").stat().st_size
        window.listener_log_to = (SCRATCH / "listener.log").stat().st_size
        return window

    def resource_rows(self, section: str, window: PhaseWindow) -> None:
        wall = window.ended - window.started
        parts = []
        for name in window.cpu_after:
            cpu = (window.cpu_after[name] - window.cpu_before.get(name, 0.0)) / wall * 100
            rss = [value for at, value in self.watcher.rss[name] if window.started <= at <= window.ended]
            memory = f"{statistics.mean(rss):,.0f} MiB (peak {max(rss):,.0f})" if rss else "-"
            parts.append((name, f"{cpu:.0f} % of a core, RSS {memory}"))
        for name, measured in parts:
            if name in ("listener", "predictor"):
                self.rows.append(Row(section, f"{name}: CPU, memory", measured))
        others = "; ".join(
            f"{name} {measured.split(',')[0]}" for name, measured in parts if name not in ("listener", "predictor")
        )
        self.rows.append(Row(section, "other processes: CPU", others))

    def live_rows(self, section: str, window: PhaseWindow, *, stored: int) -> None:
        """What the plant socket received against what was stored: after each commit the listener
        pushes every machine's newest reading, which at 1 Hz is every reading."""
        in_window = [e for e in self.events() if window.started <= e["at"] <= window.ended]
        drops = sum(1 for e in in_window if e["event"] == "dropped")
        frames = sum(e["frames"] for e in in_window if e["event"] == "telemetry")
        readings = sum(e["readings"] for e in in_window if e["event"] == "telemetry")
        with (SCRATCH / "listener.log").open("rb") as log:
            log.seek(window.listener_log_from)
            text = log.read(window.listener_log_to - window.listener_log_from).decode(errors="replace")
        refused = re.findall(r"could not send (\d+) live frames", text)
        causes = collections.Counter(re.findall(r"^(redis\.exceptions\.\w+: .*)$", text, flags=re.MULTILINE))
        self.rows.append(
            Row(
                section,
                "dashboard: live readings received / stored; socket",
                f"{readings:,} / {stored:,} ({readings / max(stored, 1):.0%}) in {frames:,} frames; "
                f"{'socket stayed open' if not drops else f'socket dropped {drops}x'}",
            )
        )
        if refused:
            self.rows.append(
                Row(
                    section,
                    "listener: live frames the channel layer refused",
                    f"{sum(map(int, refused)):,} frames in {len(refused):,} batches"
                    + (f" ({causes.most_common(1)[0][0][:90]})" if causes else ""),
                )
            )

    def redeliveries_absorbed(self, *, since: float, until: float) -> int:
        """Readings the listener received again and found stored (its 'duplicates' counter), in
        [since, until]. The counter is per process: each incarnation's log is read on its own."""
        text = (SCRATCH / "listener.log").read_text(errors="replace")
        absorbed = 0
        for incarnation in text.split("===== listener started")[1:]:
            before, during = 0, []
            for stamp, duplicates in re.findall(
                r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ INFO telemetry\.listener: .*?duplicates (\d+)",
                incarnation,
                flags=re.MULTILINE,
            ):
                # logging writes local time, which time.mktime reads back.
                at = time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S"))
                if at < since:
                    before = int(duplicates)
                    continue
                # A line sums up the seconds before it: the first one after `until` still counts.
                during.append(int(duplicates))
                if at > until:
                    break
            if during:
                absorbed += max(during) - before
        return absorbed

    def predictor_ticks(self, window: PhaseWindow) -> list[tuple[int, int, float]]:
        with (SCRATCH / "predictor.log").open("rb") as log:
            log.seek(window.predictor_log_from)
            text = log.read(window.predictor_log_to - window.predictor_log_from).decode(errors="replace")
        return [
            (int(scored), int(skipped), float(seconds))
            for scored, skipped, seconds in re.findall(
                r"scored (\d+) machines, skipped (\d+) with sensor warnings in ([\d.]+) s", text
            )
        ]

    def latency(self, *, since: float, until: float, machines: list[str]) -> tuple[int, float, float, float]:
        """(rows, p50, p99, max) of commit time minus ts, in seconds."""
        ids = [self.machine_ids[code] for code in machines]
        (row,) = self.query(
            """
            WITH delays AS (
                SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin) - ts)::float8 AS delay
                FROM telemetry_reading WHERE machine_id = ANY(%s) AND ts >= %s AND ts < %s
            )
            SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY delay),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY delay), max(delay)
            FROM delays
            """,
            (ids, utc(since), utc(until)),
        )
        return row[0], row[1] or math.nan, row[2] or math.nan, row[3] or math.nan

    def count_check(self, *, since: float, until: float) -> tuple[int, int, int, int, int]:
        """(published, stored of those, lost, rows not published, duplicated rows) for ts in [since, until).

        A publisher writes down what the broker acknowledged once a second: a row stored but not
        yet in its keys file is given up to 30 s to appear there."""
        deadline = time.monotonic() + 30
        while True:
            published = self.published(since=since, until=until)
            stored, rows = self.stored(since=since, until=until)
            if not stored - published or time.monotonic() > deadline:
                break
            time.sleep(1)
        return (
            len(published),
            len(published & stored),
            len(published - stored),
            len(stored - published),
            rows - len(stored),
        )

    # --- phases --------------------------------------------------------------------------------

    def loaded_phase(self, section: str, *, minutes: float, machines: list[str]) -> None:
        ramp = self.options.ramp_seconds
        window = self.phase_begin(section)
        measured_from = window.started + ramp
        first_signal = len(self.signals)
        deadline = window.started + minutes * 60
        next_signal = measured_from
        while now() < deadline:
            if now() >= next_signal:
                self.signal_send(section)
                self.signal_machines_ensure(3)
                next_signal += self.options.signal_every
            time.sleep(0.1)
        self.phase_end(window)
        signals = self.signals[first_signal:]
        # Those still without an alert after this are counted below.
        wait_until(
            lambda: (
                {s.machine for s in signals} <= set(self.alerts_seen()[2]) | set(self.alerts_caught_up_by_machine())
            ),
            timeout=30,
        )
        caught_up = self.caught_up_wait(since=window.started, until=window.ended, timeout=60)
        count, p50, p99, worst = self.latency(since=measured_from, until=window.ended, machines=machines)
        self.rows.append(
            Row(
                section,
                f"publish → committed p50 / p99 (max), {count:,} readings",
                f"{ms(p50)} / {ms(p99)} ({ms(worst)})",
            )
        )
        raised = self.alerts_seen()[2]
        caught_up = self.alerts_caught_up_by_machine()
        delays = [raised[s.machine] - s.at for s in signals if s.machine in raised]
        only_caught_up = sum(1 for s in signals if s.machine not in raised and s.machine in caught_up)
        missing = len(signals) - len(delays) - only_caught_up
        self.rows.append(
            Row(
                section,
                f"fault signal → alert pushed p50 / p95 (max), {len(signals)} signals",
                f"{ms(percentile(delays, 50))} / {ms(percentile(delays, 95))} ({ms(max(delays, default=math.nan))}); "
                f"{len(delays)} pushed, {only_caught_up} only by ?since= catch-up, {missing} never",
                "every alert reaches the dashboard",
                PASS if not missing else FAIL,
            )
        )
        self.resource_rows(section, window)
        ticks = self.predictor_ticks(window)
        if ticks:
            seconds = [t[2] for t in ticks]
            self.rows.append(
                Row(
                    section,
                    f"predictor tick median / max, {len(ticks)} ticks of {ticks[-1][0]:,} machines scored",
                    f"{statistics.median(seconds):.2f} s / {max(seconds):.2f} s",
                    "≤ 10 s (the interval)",
                    PASS if max(seconds) <= 10 else FAIL,
                )
            )
        published, stored, lost, extra, duplicated = self.count_check(since=window.started, until=window.ended)
        self.live_rows(section, window, stored=stored)
        self.rows.append(
            Row(
                section,
                "count check: rows stored = readings published (lost, duplicated)",
                f"{stored:,} = {published:,} ({lost} lost, {duplicated} duplicated, {extra} unpublished)",
                "equal, 0 lost, 0 duplicated",
                PASS if stored == published and not lost and not duplicated and not extra else FAIL,
            )
        )
        if caught_up is None:
            self.notes.append(f"{section}: the listener had not stored the phase's readings 60 s after it ended")

    def step_phase(self) -> None:
        self.machines_create(self.step_machines)
        self.publisher_start("step", self.step_machines)
        try:
            self.loaded_phase(
                f"Step: {self.options.step_machines:,} machines x 1 Hz, {self.options.step_minutes:g} min",
                minutes=self.options.step_minutes,
                machines=self.load_machines + self.step_machines,
            )
        finally:
            self.publisher_stop("step")

    def faults_phase(self) -> None:
        faults = [
            ("kill -9 the listener", self.fault_listener_kill),
            ("restart the broker", self.fault_broker_restart),
            (f"stop PostgreSQL {self.options.postgres_outage:g} s", self.fault_postgres_stop),
            (f"stop Redis {self.options.redis_outage:g} s", self.fault_redis_stop),
        ]
        for name, inject in faults:
            if self.options.faults and not any(word in name for word in self.options.faults):
                continue
            expected = (
                2 + max(self.options.postgres_outage, self.options.redis_outage) / self.options.fault_signal_every
            )
            self.signal_machines_ensure(math.ceil(expected) + 3)
            time.sleep(self.options.fault_settle)
            self.fault_run(f"Fault: {name}", inject)

    def signals_during(self, phase: str, seconds: float) -> None:
        """Error-code readings every --fault-signal-every seconds for `seconds`, the first at once."""
        ends = time.monotonic() + seconds
        while True:
            self.signal_send(phase)
            if time.monotonic() + self.options.fault_signal_every > ends:
                break
            time.sleep(self.options.fault_signal_every)
        time.sleep(max(0.0, ends - time.monotonic()))

    def fault_listener_kill(self, phase: str) -> str:
        self.signal_send(phase)
        seconds = self.listener_restart_after_kill()
        self.signal_send(phase)
        return f"listener back (subscribed) {seconds:.1f} s after the kill"

    def fault_broker_restart(self, phase: str) -> str:
        self.broker.stop()
        self.signal_send(phase)  # queued by the signaller's client until it reconnects
        started = time.monotonic()
        self.broker.start()
        self.signal_send(phase)
        return f"broker down {time.monotonic() - started:.1f} s"

    def fault_postgres_stop(self, phase: str) -> str:
        self.postgres.stop(mode="fast")
        self.signals_during(phase, self.options.postgres_outage)
        self.postgres.start()
        return "PostgreSQL stopped (fast shutdown) and started again"

    def fault_redis_stop(self, phase: str) -> str:
        self.redis.stop()
        self.signals_during(phase, self.options.redis_outage)
        self.redis.start()
        return "Redis stopped and started again, empty"

    def fault_run(self, section: str, inject: Callable[[str], str]) -> None:
        alerts_before = self.max_alert_id()
        exits_before = {name: len(p.exits) for name, p in self.processes.items()}
        first_signal = len(self.signals)
        events_before = len(self.events())
        window = self.phase_begin(section)
        how = inject(section)
        fault_ended = now()
        caught_up = self.caught_up_wait(
            since=window.started - 10, until=fault_ended, timeout=self.options.recovery_timeout
        )
        signals = self.signals[first_signal:]

        def alerts_arrived() -> bool:
            raised = {
                row[0] for row in self.query("SELECT id FROM tickets_alert WHERE id > %s", (alerts_before,), default=[])
            }
            pushed, caught, _ = self.alerts_seen()
            return len(raised) >= len(signals) and raised <= set(pushed) | set(caught)

        wait_until(alerts_arrived, timeout=self.options.recovery_timeout, every=1)
        self.phase_end(window)
        raised = self.query(
            "SELECT a.id, m.code FROM tickets_alert a JOIN telemetry_machine m ON m.id = a.machine_id WHERE a.id > %s",
            (alerts_before,),
        )
        pushed, caught, _ = self.alerts_seen()
        by_push = [alert_id for alert_id, _ in raised if alert_id in pushed]
        by_catch_up = [alert_id for alert_id, _ in raised if alert_id not in pushed and alert_id in caught]
        alert_codes = collections.Counter(code for _, code in raised)
        signalled = {s.machine for s in signals}
        without_alert = signalled - set(alert_codes)
        duplicated_alerts = sum(n - 1 for code, n in alert_codes.items() if code in signalled and n > 1)
        reached = len(by_push) + len(by_catch_up)
        self.rows.append(
            Row(
                section,
                "what happened",
                how + (f"; caught up {caught_up:.0f} s after" if caught_up is not None else "; NOT caught up"),
            )
        )
        published, stored, lost, extra, duplicated = self.count_check(since=window.started - 10, until=fault_ended)
        self.rows.append(
            Row(
                section,
                "readings lost / duplicated",
                f"{lost} / {duplicated} of {published:,} published ({stored:,} stored)",
                "0 / 0",
                PASS if not lost and not duplicated and not extra else FAIL,
            )
        )
        self.rows.append(
            Row(
                section,
                "alerts raised during the fault that reached the dashboard",
                f"{reached} of {len(raised)} ({len(by_push)} pushed, {len(by_catch_up)} by ?since= catch-up); "
                f"{len(signals)} signals, {len(without_alert)} without an alert, {duplicated_alerts} duplicate alerts",
                "all; one alert per signal",
                PASS if reached == len(raised) and not without_alert and not duplicated_alerts else FAIL,
            )
        )
        new_events = self.events()[events_before:]
        drops = [e for e in new_events if e["event"] == "dropped"]
        reopened = [e for e in new_events if e["event"] == "open"]
        errors = [e for e in new_events if e["event"] == "error"]
        socket = (
            "stayed open"
            if not drops
            else f"dropped {len(drops)}x, reopened {len(reopened)}x, {len(errors)} failed tries"
        )
        exits = {name: len(p.exits) - exits_before[name] for name, p in self.processes.items()}
        exited = ", ".join(f"{name} {n}x" for name, n in exits.items() if n) or "none"
        self.rows.append(Row(section, "dashboard socket; unplanned process exits", f"{socket}; exits: {exited}"))
        absorbed = self.redeliveries_absorbed(since=window.started, until=window.ended)
        self.rows.append(
            Row(section, "readings delivered again and absorbed as duplicates by the listener", f"{absorbed:,}")
        )

    def hostile_phase(self) -> None:
        section = f"Hostile input: {self.options.hostile_count:,} bad payloads in the load"
        rejected_before = self.query("SELECT coalesce(max(id), 0) FROM telemetry_rejectedmessage")[0][0]
        exits_before = len(self.processes["listener"].exits)
        listener_log_from = (SCRATCH / "listener.log").stat().st_size
        manifest_path = SCRATCH / "hostile-manifest.jsonl"
        window = self.phase_begin(section)
        args = [
            PYTHON,
            str(BENCH_DIR / "system_traffic.py"),
            "hostile",
            "--broker-url",
            self.broker.url,
            "--machines",
            str(self.machines_file("hostile", self.load_machines)),
            "--manifest",
            str(manifest_path),
            "--client-id",
            "system-hostile",
            "--count",
            str(self.options.hostile_count),
            "--rate",
            str(self.options.hostile_rate),
            "--seed",
            str(self.options.seed),
        ]
        for kind in self.options.hostile_exclude or []:
            args += ["--exclude", kind]
        with (SCRATCH / "hostile.log").open("ab") as log:
            subprocess.run(args, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, check=True)  # noqa: S603
        sent_until = now()
        manifest = [json.loads(line) for line in manifest_path.read_text().splitlines()]

        def rejected_count() -> int:
            return self.query(
                "SELECT count(*) FROM telemetry_rejectedmessage WHERE id > %s", (rejected_before,), default=[(0,)]
            )[0][0]

        wait_until(lambda: rejected_count() >= len(manifest), timeout=60, every=1)
        caught_up = self.caught_up_wait(since=window.started, until=sent_until, timeout=60)
        self.phase_end(window)
        rows = self.query(
            "SELECT topic, payload, payload_size, reason FROM telemetry_rejectedmessage WHERE id > %s",
            (rejected_before,),
        )
        by_kind, by_group, wrong_topics, unexpected = rejections_matched(manifest, rows)
        without_reason = sum(1 for *_, reason in rows if not reason.strip())
        matched = sum(rejected for _, rejected in by_kind.values())
        crashes = len(self.processes["listener"].exits) - exits_before
        with (SCRATCH / "listener.log").open("rb") as log:
            log.seek(listener_log_from)
            listener_log = log.read().decode(errors="replace")
        stalls = re.findall(r"database unavailable \((.{0,160})", listener_log)
        published, stored, lost, _, duplicated = self.count_check(since=window.started, until=sent_until)
        acknowledged = sum(1 for entry in manifest if entry["acknowledged"])
        self.rows.append(
            Row(section, "listener crashes (unplanned exits)", str(crashes), "0", PASS if not crashes else FAIL)
        )
        self.rows.append(
            Row(
                section,
                "bad payloads stored as a RejectedMessage with a reason",
                f"{matched:,} of {len(manifest):,} ({acknowledged:,} acknowledged by the broker; "
                f"{without_reason} without reason, {unexpected} other rejections)",
                "every one",
                PASS if matched == len(manifest) and not without_reason else FAIL,
            )
        )
        for group, (sent, rejected) in by_group.items():
            self.rows.append(Row(section, f"… of them {group} (sent in this order)", f"{rejected:,} of {sent:,}"))
        self.rows.append(
            Row(
                section,
                "good readings sent meanwhile, stored",
                f"{stored:,} of {published:,} ({lost:,} not stored, {duplicated} duplicated)"
                + ("" if caught_up is not None else "; the listener did not catch up within 60 s"),
                "every one",
                PASS if stored == published and not lost else FAIL,
            )
        )
        self.rows.append(
            Row(
                section,
                "rejections that kept the topic the message came on",
                f"{matched - sum(wrong_topics.values()):,} of {matched:,}"
                + (
                    " (wrong: " + ", ".join(f"{kind} {n}" for kind, n in sorted(wrong_topics.items())) + ")"
                    if wrong_topics
                    else ""
                ),
                "every one",
                PASS if not wrong_topics else FAIL,
            )
        )
        if stalls:
            self.rows.append(
                Row(
                    section,
                    "listener retried a batch the database refused",
                    f"{len(stalls)} retries; first: {stalls[0].strip()[:120]}",
                    "0",
                    FAIL,
                )
            )
        missed = {kind: n - r for kind, (n, r) in by_kind.items() if r < n}
        if missed:
            self.notes.append(
                "Hostile kinds not stored as rejections: "
                + ", ".join(f"{kind} {count} of {by_kind[kind][0]}" for kind, count in sorted(missed.items()))
            )
        self.hostile_kinds = by_kind

    def api_phase(self) -> None:
        for role, username in ROLES:
            token = self.token_for(username)
            report = SCRATCH / f"schemathesis-{role.lower()}.ndjson"
            report.unlink(missing_ok=True)
            started = time.monotonic()
            finished = True
            with (SCRATCH / f"schemathesis-{role.lower()}.log").open("wb") as log:
                command = [
                    SCHEMATHESIS,
                    "run",
                    f"{self.base_url}/api/schema/",
                    "--header",
                    f"Authorization: Token {token}",
                    "--checks",
                    "not_a_server_error",
                    "--max-examples",
                    str(self.options.api_max_examples),
                    "--seed",
                    str(self.options.seed),
                    "--workers",
                    "1",
                    "--request-timeout",
                    "30",
                    "--report",
                    "ndjson",
                    "--report-ndjson-path",
                    str(report),
                    "--no-color",
                ]
                try:
                    # Its exit status only repeats what the report says; the report is read below.
                    subprocess.run(  # noqa: S603 - the pinned tool
                        command,
                        cwd=SCRATCH,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        timeout=self.options.api_timeout,
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    finished = False  # what it reported so far is counted; the row says it was cut short
            seconds = time.monotonic() - started
            cases, statuses, failures = schemathesis_results(report)
            server_errors = sum(n for status, n in statuses.items() if status >= 500)
            self.rows.append(
                Row(
                    "API: schemathesis against /api/schema/",
                    f"{role}: server errors",
                    f"{server_errors} in {cases:,} test cases ("
                    + ", ".join(
                        f"{hundred}xx {sum(n for code, n in statuses.items() if code // 100 == hundred):,}"
                        for hundred in sorted({code // 100 for code in statuses})
                    )
                    + f"; {seconds:.0f} s{'' if finished else ', cut short by --api-timeout'})",
                    "0",
                    PASS if server_errors == 0 and cases > 0 and finished else FAIL,
                )
            )
            for failure in failures[:10]:
                self.notes.append(f"API as {role}: {failure}")

    def token_for(self, username: str) -> str:
        request = urllib.request.Request(  # noqa: S310 - our own server
            f"{self.base_url}/api/auth/token/",
            data=json.dumps({"username": username, "password": f"{username}-demo"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())["token"]

    # --- the whole run -------------------------------------------------------------------------

    def run(self) -> int:
        options = self.options
        self.services_start()
        self.plant_prepare()
        self.processes_start()
        self.publisher_start("base", self.load_machines)
        self.signaller_start()
        self.dashboard_start()
        time.sleep(options.warmup_seconds)
        self.loaded_phase(
            f"Load: {options.load_machines:,} machines x 1 Hz, {options.load_minutes:g} min",
            minutes=options.load_minutes,
            machines=self.load_machines,
        )
        if "step" not in options.skip:
            self.step_phase()
        if "faults" not in options.skip:
            self.faults_phase()
        if "hostile" not in options.skip:
            self.hostile_phase()
        if "api" not in options.skip:
            self.api_phase()
        return self.finish()

    def finish(self) -> int:
        summary = self.publisher_stop("base")
        ended = now()
        self.caught_up_wait(since=self.started, until=ended, timeout=60)
        published, stored, lost, extra, duplicated = self.count_check(since=self.started, until=ended)
        self.rows.append(
            Row(
                "Whole run",
                "count check: rows stored = readings published (lost, duplicated)",
                f"{stored:,} = {published:,} ({lost:,} lost, {duplicated} duplicated, {extra} unpublished; "
                f"{summary.get('unacknowledged', '?')} never acknowledged by the broker)",
                "equal, 0 lost, 0 duplicated",
                PASS if stored == published and not lost and not duplicated and not extra else FAIL,
            )
        )
        if self.dashboard and self.dashboard.poll() is None:
            self.dashboard.terminate()
            self.dashboard.wait(timeout=30)
        self.signaller.disconnect()
        self.signaller.loop_stop()
        exit_codes = self.processes_stop()
        exits = [exit_ for process in self.processes.values() for exit_ in process.exits]
        self.rows.append(
            Row(
                "Whole run",
                "unplanned process exits (restarted as compose would)",
                ", ".join(f"{e.process} exit {e.code} at +{e.at - self.started:.0f} s" for e in exits) or "none",
                "none",
                PASS if not exits else FAIL,
            )
        )
        for (process, code, log), times in collections.Counter((e.process, e.code, e.log) for e in exits).items():
            self.notes.append(f"{process} exited with {code} ({times}x): {log}")
        consumer_timeouts = (SCRATCH / "web.log").read_text(errors="replace").count("redis.exceptions.TimeoutError")
        self.rows.append(
            Row(
                "Whole run",
                "websocket consumers closed by a Redis read timeout (web log)",
                f"{consumer_timeouts:,}",
            )
        )
        self.notes.append(f"exit codes on SIGTERM at the end: {exit_codes}")
        return self.report()

    def report(self) -> int:
        options = self.options
        lines = [
            f"# Whole-system suite, {utc(self.started):%Y-%m-%d %H:%M} UTC",
            "",
            f"{os.cpu_count()} cores; load average {self.load_average_start} at the start, {load_average()} at the "
            f"end (other work shares the machine). Throwaway PostgreSQL 15, Redis and Mosquitto on free ports; "
            f"setup (migrate, seed, train {options.models}) {self.setup_seconds:.0f} s; the run "
            f"{(now() - self.started) / 60:.0f} min. CPU is per process, in % of one core over the phase.",
            "publish → committed: PostgreSQL's commit timestamp of each row (track_commit_timestamp, bench "
            "instrumentation on the throwaway cluster) minus the reading's ts, which is the instant it was published.",
            "",
            "| section | figure | measured | target | |",
            "| --- | --- | --- | --- | --- |",
        ]
        section = None
        for row in self.rows:
            shown = row.section if row.section != section else ""
            section = row.section
            lines.append(f"| {shown} | {row.figure} | {row.measured} | {row.target} | {row.verdict} |")
        failed = [row for row in self.rows if row.verdict == FAIL]
        lines += [
            "",
            f"{len(failed)} of {sum(1 for r in self.rows if r.verdict)} checks failed."
            if failed
            else "Every check passed.",
        ]
        if getattr(self, "hostile_kinds", None):
            lines += [
                "",
                "Hostile kinds (generated / stored as rejections): "
                + "; ".join(f"{kind} {n}/{r}" for kind, (n, r) in sorted(self.hostile_kinds.items())),
            ]
        if self.notes:
            lines += ["", "Notes:", *[f"- {note}" for note in self.notes]]
        text = "\n".join(lines) + "\n"
        print(text)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
        print(f"(written to {RESULTS.relative_to(PROJECT_ROOT)}; logs in {SCRATCH.relative_to(PROJECT_ROOT)}/)")
        return 1 if failed else 0

    def cleanup(self) -> None:
        if self.dashboard and self.dashboard.poll() is None:
            self.dashboard.kill()
        for process, _, _ in self.publishers.values():
            if process.poll() is None:
                process.kill()
        watcher = getattr(self, "watcher", None)
        if watcher is not None:
            watcher.stopping.set()
        for process in self.processes.values():
            process.stop(timeout=20)
        self.services_destroy()


class _NoNoise:
    """A random source whose noise is zero: a signal's metrics sit at the middle of their range."""

    @staticmethod
    def gauss(mu: float, sigma: float) -> float:
        return mu


_NO_NOISE = _NoNoise()


def rejections_matched(manifest: list[dict], rows: list[tuple]) -> tuple[dict, dict, collections.Counter, int]:
    """The hostile sender's payloads found among the stored rejections: per kind and per group
    [sent, stored], wrong topics per kind, and rejections that match no payload sent.

    A payload is matched by its content and size; whether the rejection kept the topic it came on
    is counted apart, so that a wrong topic shows as such and not as a lost message."""
    stored_rejections: dict[tuple[str, int], list[str]] = collections.defaultdict(list)
    for topic, payload, size, _ in rows:
        stored_rejections[(hashlib.sha256(bytes(payload)).hexdigest(), size)].append(topic)
    by_kind: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    by_group: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    wrong_topics: collections.Counter = collections.Counter()
    for entry in manifest:
        topics = stored_rejections.get((entry["sha256_stored"], entry["size"]))
        by_kind[entry["kind"]][0] += 1
        by_group[entry["group"]][0] += 1
        if topics:
            by_kind[entry["kind"]][1] += 1
            by_group[entry["group"]][1] += 1
            if entry["topic"][:255] in topics:
                topics.remove(entry["topic"][:255])
            else:
                topics.pop()
                wrong_topics[entry["kind"]] += 1
    unexpected = sum(len(topics) for topics in stored_rejections.values())
    return by_kind, by_group, wrong_topics, unexpected


def schemathesis_results(report: Path) -> tuple[int, collections.Counter, list[str]]:
    """(test cases run, responses by status code, each distinct server error with a request that
    caused it), from schemathesis's ndjson report: every finished scenario records its cases'
    requests and responses."""
    statuses: collections.Counter = collections.Counter()
    failures: dict[tuple[str, str, int], str] = {}
    cases = 0
    if not report.exists():
        return 0, statuses, ["schemathesis wrote no report"]
    for line in report.read_text().splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario.get("recorder", {})
        for interaction in recorder.get("interactions", {}).values():
            response = interaction.get("response") or {}
            status = response.get("status_code")
            if status is None:
                continue
            cases += 1
            statuses[status] += 1
            request = interaction["request"]
            key = (recorder.get("label", ""), request["method"], status)
            if status >= 500 and key not in failures:
                body = request.get("body") or {}
                if "$base64" in body:
                    body = base64.b64decode(body["$base64"]).decode(errors="replace")
                failures[key] = f"{status} for {request['method']} {request['uri']}" + (
                    f" body {body!s:.200}" if body else ""
                )
    return cases, statuses, list(failures.values())


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load-machines", type=int, default=200, help="machines of the base load (200)")
    parser.add_argument("--load-minutes", type=float, default=10.0, help="length of the load phase (10)")
    parser.add_argument("--step-machines", type=int, default=1000, help="machines during the step (1000)")
    parser.add_argument("--step-minutes", type=float, default=5.0, help="length of the step (5)")
    parser.add_argument("--warmup-seconds", type=float, default=30.0, help="load before the first phase (30)")
    parser.add_argument(
        "--ramp-seconds", type=float, default=15.0, help="start of a phase left out of its latency (15)"
    )
    parser.add_argument(
        "--signal-every", type=float, default=10.0, help="seconds between fault signals under load (10)"
    )
    parser.add_argument("--postgres-outage", type=float, default=60.0, help="seconds PostgreSQL stays stopped (60)")
    parser.add_argument("--redis-outage", type=float, default=30.0, help="seconds Redis stays stopped (30)")
    parser.add_argument("--fault-signal-every", type=float, default=5.0, help="seconds between signals in a fault (5)")
    parser.add_argument("--fault-settle", type=float, default=20.0, help="normal load before each fault, seconds (20)")
    parser.add_argument(
        "--recovery-timeout", type=float, default=180.0, help="longest wait for a fault's backlog (180)"
    )
    parser.add_argument("--faults", action="append", help="run only the faults whose name has this word (repeat)")
    parser.add_argument("--hostile-count", type=int, default=10_000, help="bad payloads (10000)")
    parser.add_argument("--hostile-rate", type=float, default=200.0, help="bad payloads a second (200)")
    parser.add_argument("--hostile-exclude", action="append", metavar="KIND", help="leave a kind out (repeat)")
    parser.add_argument("--api-max-examples", type=int, default=30, help="schemathesis cases per operation (30)")
    parser.add_argument("--api-timeout", type=float, default=900.0, help="longest schemathesis run per role (900 s)")
    parser.add_argument("--models", choices=("random_forest", "all"), default="random_forest", help="what to train")
    parser.add_argument("--lstm-epochs", type=int, default=3, help="with --models all (3)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--skip", action="append", default=[], choices=("step", "faults", "hostile", "api"), help="leave a phase out"
    )
    options = parser.parse_args()
    if options.step_machines < options.load_machines:
        parser.error("--step-machines must be at least --load-machines")
    for name in ("load_minutes", "step_minutes", "signal_every", "fault_signal_every", "hostile_rate"):
        if getattr(options, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return options


def main() -> int:
    options = arguments()
    for binary in ("mosquitto", "redis-server"):
        if shutil.which(binary) is None:
            raise SystemExit(f"{binary} is not installed: the suite runs the real servers")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    run = SystemRun(options)
    # SIGTERM (make interrupted, a CI timeout) unwinds like Ctrl-C: the finally below stops every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run.run()
    finally:
        run.cleanup()


if __name__ == "__main__":
    sys.exit(main())
