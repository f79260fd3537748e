"""The payloads real gateways send, through a real mqtt_listen: what each one stored and what it kept aside.

A fresh SQLite database seeded with the demo plant, a throwaway Mosquitto, `manage.py mqtt_listen`
with Sparkplug B group `tour`, then, one at a time: a reading stamped in epoch milliseconds, an array
of three readings (one of them bad), Telegraf's JSON output (a shipped payload source), a reading
with a metric the machine's type does not report, two values no sensor can give (-5 and 1e300 mm/s),
and a Sparkplug B edge node (pysparkplug, in .venv-sparkplug) with its births, a DDATA and a DDEATH.
After each step it prints the readings stored and the rejections kept, with their reasons, and the
machine's link state where it changed; at the end, the sensor-health warnings those raised.

    make tour-payloads          (or: .venv/bin/python bench/payload_tour.py)
"""

import datetime
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

# The tour's own database and Sparkplug B group, set before Django reads its settings.
SCRATCH = Path(tempfile.mkdtemp(prefix="maintainx-tour-"))
SPARKPLUG_GROUP = "tour"
os.environ.update(DATABASE_URL=f"sqlite:///{SCRATCH / 'tour.sqlite3'}", SPARKPLUG_GROUPS=SPARKPLUG_GROUP)
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maintainx.settings")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from telemetry.models import Machine, Reading, RejectedMessage  # noqa: E402
from telemetry.selectors import machines_sensor_faults  # noqa: E402
from testing.throwaway import MosquittoBroker, wait_until  # noqa: E402

EDGE_PYTHON = PROJECT_ROOT / ".venv-sparkplug" / "bin" / "python"
EDGE_SCRIPT = PROJECT_ROOT / "testing" / "sparkplug_edge.py"
# Whole seconds, an hour ago: recent enough for any check on a reading's age, and a fixed offset
# from the moment the tour runs, so the output differs between runs only in its times.
T0 = int(time.time()) - 3600


def mqtt_steps() -> list[tuple[str, str, str]]:
    """(what it shows, topic, payload) for each plain MQTT message of the tour."""
    return [
        (
            "epoch milliseconds",
            "plant/M-001/telemetry",
            json.dumps({"ts": T0 * 1000 + 250, "metrics": {"vibration": 2.4, "temperature": 51.0}}),
        ),
        (
            "an array of three readings, the second one without a time",
            "plant/M-002/telemetry",
            json.dumps(
                [
                    {"ts": T0 + 1, "metrics": {"vibration": 2.5, "temperature": 50.0}},
                    {"metrics": {"vibration": 2.6}},
                    {"ts": T0 + 3, "metrics": {"vibration": 2.7, "temperature": 50.4}},
                ]
            ),
        ),
        (
            "Telegraf's JSON output (payload source 'Telegraf JSON')",
            "telegraf/gateway-1/modbus",
            json.dumps(
                {
                    "fields": {"vibration": 3.1, "temperature": 58.2},
                    "name": "modbus",
                    "tags": {"host": "M-003"},
                    "timestamp": T0 + 4,
                }
            ),
        ),
        (
            "a metric the machine's type does not report",
            "plant/M-004/telemetry",
            json.dumps({"ts": T0 + 5, "metrics": {"vibration": 3.5, "rpm": 1480}}),
        ),
        ("a negative RMS", "plant/M-005/telemetry", json.dumps({"ts": T0 + 6, "metrics": {"vibration": -5}})),
        ("an astronomic value", "plant/M-006/telemetry", f'{{"ts": {T0 + 7}, "metrics": {{"vibration": 1e300}}}}'),
    ]


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our manage.py, fixed arguments
        [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, check=True, capture_output=True
    )


class Snapshot:
    """The rows a step added: readings, rejections and link changes since the last look."""

    def __init__(self):
        self.readings_seen: set[tuple[int, object]] = set()
        self.rejections_seen = 0
        self.links: dict[str, tuple[bool, str]] = {}

    def counts(self) -> tuple[int, int]:
        return Reading.objects.count(), RejectedMessage.objects.count()

    def settle(self) -> None:
        """Until the listener has written everything it received: the counts still for a second."""
        previous, still_since = None, time.monotonic()
        while time.monotonic() - still_since < 1.0:
            current = self.counts()
            if current != previous:
                previous, still_since = current, time.monotonic()
            time.sleep(0.1)

    def report(self) -> None:
        self.settle()
        for reading in Reading.objects.select_related("machine").order_by("ts", "machine__code"):
            key = (reading.machine_id, reading.ts)
            if key not in self.readings_seen:
                self.readings_seen.add(key)
                print(f"    stored   {reading.machine.code} {reading.ts:%Y-%m-%d %H:%M:%S.%f}"[:-3], reading.metrics)
        for rejection in RejectedMessage.objects.order_by("id")[self.rejections_seen :]:
            self.rejections_seen += 1
            print(f"    kept aside ({rejection.kind}) {rejection.machine_code or rejection.topic}: {rejection.reason}")
        for machine in Machine.objects.order_by("code"):
            link = (machine.offline_since is None, machine.offline_reason)
            if self.links.setdefault(machine.code, (True, "")) != link:
                self.links[machine.code] = link
                state = "online" if link[0] else f"offline since {machine.offline_since:%H:%M:%S}: {link[1]}"
                print(f"    link     {machine.code} {state}")


class EdgeNode:
    """testing/sparkplug_edge.py: pysparkplug's EdgeNode with one device, commanded over stdin."""

    def __init__(self, broker: MosquittoBroker, device: str):
        arguments = [str(EDGE_PYTHON), str(EDGE_SCRIPT), "--port", str(broker.port), "--group", SPARKPLUG_GROUP]
        arguments += ["--edge-node", "line-1-gateway", "--device", device]
        arguments += ["--device-metrics", json.dumps({"Motor/Vibration": 2.2, "Motor/Temperature": 47.5})]
        self.process = subprocess.Popen(  # noqa: S603 - our script, fixed arguments
            arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
        )
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: {"event": "ready"} in self.events, what="the edge node ready")

    def _read(self) -> None:
        for line in self.process.stdout:
            self.events.append(json.loads(line))

    def do(self, action: str, **arguments) -> None:
        before = len(self.events)
        self.process.stdin.write(json.dumps({"do": action, **arguments}) + "\n")
        self.process.stdin.flush()
        wait_until(lambda: {"done": action} in self.events[before:], what=f"the edge node's {action}")


def sensor_warnings_print() -> None:
    """The sensor-health warnings the predictor shows on the machines' cards after the tour."""
    print("\nsensor-health warnings the predictor now shows (the last 5 minutes):")
    for code, fault in sorted(machines_sensor_faults(now=timezone.now(), within=datetime.timedelta(minutes=5)).items()):
        print(f"    {code}: {fault.detail}")


def main() -> None:
    if not EDGE_PYTHON.exists():
        raise SystemExit(".venv-sparkplug is missing: run make .venv-sparkplug/.installed")
    print(f"database {os.environ['DATABASE_URL']}: migrating and seeding the demo plant")
    manage("migrate", "--noinput", "-v0")
    manage("seed_demo")
    broker = MosquittoBroker().start()
    listener_log = open(SCRATCH / "mqtt_listen.log", "w")  # noqa: SIM115 - the listener's for its life
    listener = subprocess.Popen(  # noqa: S603 - our manage.py
        [sys.executable, "manage.py", "mqtt_listen", "--mqtt-url", broker.url],
        cwd=PROJECT_ROOT,
        stdout=listener_log,
        stderr=subprocess.STDOUT,
    )
    edge = None
    try:
        log_path = SCRATCH / "mqtt_listen.log"
        wait_until(lambda: "subscribed to" in log_path.read_text(), what="the listener subscribed")
        print(next(line for line in log_path.read_text().splitlines() if "subscribed to" in line).split("INFO")[-1])
        snapshot = Snapshot()
        for title, topic, payload in mqtt_steps():
            print(f"\n{title}\n  mosquitto_pub -q 1 -t '{topic}' -m '{payload}'")
            subprocess.run(  # noqa: S603 - fixed binary and our payloads
                ["mosquitto_pub", "-p", str(broker.port), "-q", "1", "-t", topic, "-m", payload],  # noqa: S607
                check=True,
            )
            snapshot.report()

        print(f"\nSparkplug B: edge node {SPARKPLUG_GROUP}/line-1-gateway, device M-007 (pysparkplug)")
        edge = EdgeNode(broker, "M-007")
        print("  connect: NBIRTH and DBIRTH (metrics Motor/Vibration, Motor/Temperature with aliases)")
        edge.do("connect")
        snapshot.report()
        print("  DDATA by alias, as Ignition and Tahu send it")
        edge.do("data", device="M-007", metrics={"Motor/Vibration": 2.9, "Motor/Temperature": 48.1}, by_alias=True)
        snapshot.report()
        print("  DDEATH of M-007")
        edge.do("device_death", device="M-007")
        snapshot.report()
        print("  disconnect: NDEATH")
        edge.do("disconnect")
        snapshot.report()
        sensor_warnings_print()
    finally:
        if edge is not None and edge.process.poll() is None:
            edge.process.kill()
        listener.terminate()
        listener.wait(timeout=30)
        broker.stop()
    print(f"\nthe listener's log: {SCRATCH / 'mqtt_listen.log'}")


if __name__ == "__main__":
    main()
