"""Throwaway Mosquitto brokers, PostgreSQL clusters and Redis servers on free ports, for tests and
benchmarks: test support, which no product module imports (an import-linter contract).

Outage tests stop and restart these, never the shared services on the standard ports.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from core.net import free_port

POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


def port_wait(port: int, *, open_: bool = True, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if open_:
                    return
        except OSError:
            if not open_:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not {'open' if open_ else 'close'} within {timeout} s")


def wait_until(condition, *, timeout: float = 60.0, what: str = "the condition") -> None:
    """Poll `condition` until it holds; an AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class MosquittoBroker:
    """A broker with persistence and queues sized for a backlog of readings (a plant outage).

    Started as root, Mosquitto drops to the mosquitto user, so its directory is a fresh one under
    the system temp folder that this user owns (it cannot enter root's private temp folders).

    With `config_file`, it runs a deployment's configuration instead (deploy/mosquitto): the same
    file with its listener moved to 127.0.0.1:<port> and the files it names (password file, ACL,
    persistence) moved into the broker's directory. An ACL file found beside `config_file` is
    copied there; the password file, `password_file`, is the caller's to write before `start()`.
    """

    def __init__(self, *, port: int | None = None, extra_config: str = "", config_file: Path | None = None):
        self.directory = Path(tempfile.mkdtemp(prefix="maintainx-mqtt-"))
        if os.geteuid() == 0:
            shutil.chown(self.directory, "mosquitto", "mosquitto")
        self.port = port or free_port()
        self.config_path = self.directory / "mosquitto.conf"
        self.password_file: Path | None = None
        if config_file is not None:
            self.config_path.write_text(self._relocated_config(config_file) + extra_config)
        else:
            self.config_path.write_text(
                f"listener {self.port} 127.0.0.1\n"
                "allow_anonymous true\n"
                "persistence true\n"
                f"persistence_location {self.directory}/\n"
                # A persistent session keeps queued QoS 1 messages while its client is away.
                "max_queued_messages 0\n"
                "max_queued_bytes 0\n"
                "max_inflight_messages 0\n"
                "log_dest stderr\n"
                "log_type error\n"
                "log_type warning\n" + extra_config
            )
        self.process: subprocess.Popen | None = None

    def _relocated_config(self, config_file: Path) -> str:
        lines = []
        listeners = 0
        for original in config_file.read_text().splitlines():
            option, _, value = original.strip().partition(" ")
            line = original
            if option == "listener":
                listeners += 1
                line = f"listener {self.port} 127.0.0.1"
            elif option in ("password_file", "acl_file"):
                name = Path(value.strip()).name
                beside = config_file.parent / name
                if beside.is_file():
                    shutil.copyfile(beside, self.directory / name)
                if option == "password_file":
                    self.password_file = self.directory / name
                line = f"{option} {self.directory / name}"
            elif option == "persistence_location":
                line = f"persistence_location {self.directory}/"
            elif option == "log_dest":
                line = "log_dest stderr"  # start() keeps stderr in mosquitto.log
            lines.append(line)
        if listeners != 1:
            raise ValueError(f"{config_file}: expected one listener, found {listeners}")
        return "\n".join(lines) + "\n"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> "MosquittoBroker":
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, our own config file
            ["mosquitto", "-c", str(self.config_path)],  # noqa: S607 - found on PATH like the shared one
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "mosquitto.log", "ab"),  # noqa: SIM115 - the process owns it
        )
        self._started_wait()
        return self

    def _started_wait(self, timeout: float = 20.0) -> None:
        """Until the port opens; a broker that exits instead (a bad config) fails at once with its log."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                port_wait(self.port, timeout=0.2)
            except TimeoutError:
                continue
            return
        log = (self.directory / "mosquitto.log").read_text(errors="replace").strip()
        if self.process.poll() is None:
            raise TimeoutError(f"mosquitto did not open port {self.port} within {timeout} s: {log}")
        raise RuntimeError(f"mosquitto exited with status {self.process.returncode}: {log}")

    def stop(self) -> None:
        """Stop as a service manager would (SIGTERM): it saves its persistent state first."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        port_wait(self.port, open_=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresCluster:
    """A private PostgreSQL cluster (initdb) on a free port, trust auth, run as the postgres user.

    Its directory is a fresh one under the system temp folder: PostgreSQL refuses to run as root,
    and the postgres user cannot enter root's private temp folders (pytest's tmp_path).
    """

    def __init__(self, *, port: int | None = None):
        self.directory = Path(tempfile.mkdtemp(prefix="maintainx-pg-"))
        self.data = self.directory / "data"
        self.port = port or free_port()
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        result = subprocess.run(  # noqa: S603 - PostgreSQL's own binaries with our arguments
            [*self._as_postgres, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {result.stderr.strip() or result.stdout.strip()}")

    def init(self) -> "PostgresCluster":
        if self._as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self

    def start(self) -> "PostgresCluster":
        self._run(
            str(POSTGRES_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.directory / "postgres.log"),
            "-o",
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w",
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> None:
        self._run(str(POSTGRES_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop(mode="immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


class RedisServer:
    """A Redis server on a free port that keeps nothing (no RDB snapshots, no append-only file), as
    the channel layer's Redis is deployed: a restart starts it empty.

    Its working directory is a fresh one under the system temp folder; it writes nothing there but
    its log.
    """

    def __init__(self, *, port: int | None = None):
        self.directory = Path(tempfile.mkdtemp(prefix="maintainx-redis-"))
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, our own arguments
            [  # noqa: S607 - found on PATH like the shared one
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=open(self.directory / "redis.log", "ab"),  # noqa: SIM115 - the process owns it
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                port_wait(self.port, timeout=0.2)
            except TimeoutError:
                continue
            return self
        log = (self.directory / "redis.log").read_text(errors="replace").strip()
        self.stop()
        raise RuntimeError(f"redis-server did not open port {self.port} (status {self.process.returncode}): {log}")

    def stop(self) -> None:
        """SIGTERM: with persistence off it exits at once and everything it held is gone."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        port_wait(self.port, open_=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
