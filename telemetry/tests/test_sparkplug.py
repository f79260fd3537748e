"""Sparkplug B: births, data and deaths of edge nodes become readings and machine links.

The decoder's logic on payloads encoded by pysparkplug itself; then the listener against the real
broker (MQTT_URL) and a real edge node, pysparkplug's EdgeNode in its own virtualenv
(testing/sparkplug_edge.py). Each test has a group of its own, so tests sharing the broker never
see each other's messages.
"""

import datetime
import json
import math
import subprocess
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from pysparkplug import DataType, DBirth, DData, DDeath, Metric, NBirth, NCmd, NData, NDeath
from pysparkplug import _protobuf as sparkplug_protobuf

from telemetry.ingest import DecodedReading, LinkChange, MachineDirectory, Rejection
from telemetry.listener import ListenerConfig, TelemetryListener
from telemetry.models import Machine, Reading, RejectedMessage, RejectionKind
from telemetry.mqtt import BrokerAddress, client_create
from telemetry.sparkplug import SparkplugDecoder, reading_metric_name, sparkplug_decoder_from_settings
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory
from telemetry.tests.test_listener import ListenerThread
from testing.throwaway import wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EDGE_PYTHON = PROJECT_ROOT / ".venv-sparkplug" / "bin" / "python"
EDGE_SCRIPT = PROJECT_ROOT / "testing" / "sparkplug_edge.py"
# Never skipped without it: `make test` builds it first.
EDGE_VENV_TARGET = "make .venv-sparkplug/.installed"

NOW = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def at_ms(ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


def number(name: str | None, value: float, *, alias: int | None = None, ts: int | None = None) -> Metric:
    return Metric(timestamp=ts, name=name, datatype=DataType.DOUBLE, value=value, alias=alias)


def node_birth(*metrics: Metric, bd_seq: int = 0, seq: int = 0, ts: int = NOW_MS) -> bytes:
    bd_seq_metric = Metric(timestamp=ts, name="bdSeq", datatype=DataType.INT64, value=bd_seq)
    rebirth = Metric(timestamp=None, name="Node Control/Rebirth", datatype=DataType.BOOLEAN, value=False)
    return NBirth(timestamp=ts, seq=seq, metrics=(rebirth, *metrics, bd_seq_metric)).encode()


def device_birth(*metrics: Metric, seq: int = 1, ts: int = NOW_MS) -> bytes:
    status = Metric(timestamp=None, name="Status", datatype=DataType.STRING, value="running", alias=9)
    return DBirth(timestamp=ts, seq=seq, metrics=(*metrics, status)).encode()


def device_data(*metrics: Metric, seq: int, ts: int = NOW_MS) -> bytes:
    # Without datatypes, as edge nodes that send aliases do: the birth has them.
    return DData(timestamp=ts, seq=seq, metrics=metrics).encode(include_dtypes=False)


def node_death(bd_seq: int) -> bytes:
    return NDeath(
        timestamp=NOW_MS, bd_seq_metric=Metric(timestamp=NOW_MS, name="bdSeq", datatype=DataType.INT64, value=bd_seq)
    ).encode()


class Published:
    """What the decoder published (its rebirth requests), and the clock it reads."""

    def __init__(self):
        self.messages: list[tuple[str, bytes]] = []
        self.now = 1000.0

    def __call__(self, topic: str, payload: bytes) -> None:
        self.messages.append((topic, payload))

    def clock(self) -> float:
        return self.now


@pytest.fixture
def published():
    return Published()


@pytest.fixture
def decoder(published):
    return SparkplugDecoder(["plant"], publish=published, clock=published.clock)


def born(decoder: SparkplugDecoder) -> None:
    """Edge node plant/GW-1 and its device M-001 born: node alias 1 = Cabinet Temp, device aliases
    1 = Motor/Vibration, 2 = Motor/Bearing Temp."""
    decoder.decode("spBv1.0/plant/NBIRTH/GW-1", node_birth(number("Cabinet Temp", 31.0, alias=1)), now=NOW)
    decoder.decode(
        "spBv1.0/plant/DBIRTH/GW-1/M-001",
        device_birth(number("Motor/Vibration", 2.0, alias=1), number("Motor/Bearing Temp", 40.0, alias=2)),
        now=NOW,
    )


def readings(items) -> list[tuple[str, datetime.datetime, dict]]:
    return [(item.machine_code, item.ts, item.metrics) for item in items if type(item) is DecodedReading]


def rejections(items) -> list[Rejection]:
    return [item for item in items if type(item) is Rejection]


def links(items) -> list[tuple[str, bool, str]]:
    return [(item.machine_code, item.online, item.detail) for item in items if type(item) is LinkChange]


# --- the decoder's logic --------------------------------------------------------------------------


def test_topic_filters_take_each_group_or_one_edge_node_of_it():
    decoder = SparkplugDecoder(["plant1", "plant2/gateway-3", "plant1"])
    assert decoder.topic_filters() == ["spBv1.0/plant1/+/+/#", "spBv1.0/plant2/+/gateway-3/#"]
    assert decoder.shareable is False
    with pytest.raises(ValueError, match="not a Sparkplug B group id"):
        SparkplugDecoder(["plant/+"])


def test_metric_names_map_to_the_lower_snake_case_of_their_last_segment():
    assert reading_metric_name("Motor/Bearing Temp") == "bearing_temp"
    assert reading_metric_name("Vibration") == "vibration"
    assert reading_metric_name("Line 1/Pump 3/Flow-Rate") == "flow_rate"
    assert reading_metric_name("Drive/Temp°C") == "temp_c"


def test_births_are_readings_and_bring_the_machines_online(decoder):
    node = decoder.decode(
        "spBv1.0/plant/NBIRTH/GW-1",
        node_birth(number("Cabinet Temp", 31.0, alias=1), Metric(None, "Firmware", DataType.STRING, value="1.2")),
        now=NOW,
    )
    device = decoder.decode(
        "spBv1.0/plant/DBIRTH/GW-1/M-001",
        device_birth(number("Motor/Vibration", 2.0, alias=1), number("Motor/Bearing Temp", 40.0, alias=2)),
        now=NOW,
    )

    # bdSeq and Node Control/Rebirth (numbers and booleans) and strings are no measurements.
    assert readings(node) == [("GW-1", NOW, {"cabinet_temp": 31.0})]
    assert readings(device) == [("M-001", NOW, {"vibration": 2.0, "bearing_temp": 40.0})]
    assert links(node) == [("GW-1", True, "edge node plant/GW-1 sent NBIRTH")]
    assert links(device) == [("M-001", True, "device plant/GW-1/M-001 sent DBIRTH")]
    assert rejections(node + device) == []


def test_data_by_alias_is_read_through_the_latest_birth_one_reading_per_timestamp(decoder, published):
    born(decoder)
    earlier = NOW_MS - 1500
    items = decoder.decode(
        "spBv1.0/plant/DDATA/GW-1/M-001",
        device_data(
            number(None, 2.5, alias=1), number(None, 44.0, alias=2), number(None, 2.4, alias=1, ts=earlier), seq=2
        ),
        now=NOW,
    )
    node_items = decoder.decode(
        "spBv1.0/plant/NDATA/GW-1",
        NData(timestamp=NOW_MS, seq=3, metrics=(number(None, 33.0, alias=1),)).encode(),
        now=NOW,
    )

    assert readings(items) == [
        ("M-001", NOW, {"vibration": 2.5, "bearing_temp": 44.0}),
        ("M-001", at_ms(earlier), {"vibration": 2.4}),
    ]
    assert readings(node_items) == [("GW-1", NOW, {"cabinet_temp": 33.0})]
    assert rejections(items + node_items) == []
    assert published.messages == []


def test_data_without_its_birth_is_kept_aside_and_asks_for_a_rebirth_at_most_every_10_seconds(decoder, published):
    data = device_data(number(None, 2.5, alias=1), seq=7)
    [first] = decoder.decode("spBv1.0/plant/DDATA/GW-1/M-001", data, now=NOW)
    [second] = decoder.decode("spBv1.0/plant/DDATA/GW-1/M-001", data, now=NOW)
    published.now += 10
    [third] = decoder.decode("spBv1.0/plant/NDATA/GW-1", data, now=NOW)

    assert first.reason == "no DBIRTH seen for device plant/GW-1/M-001: rebirth requested"
    assert (first.machine_code, first.kind, first.payload) == ("M-001", RejectionKind.PAYLOAD, data)
    assert second.reason == "no DBIRTH seen for device plant/GW-1/M-001: rebirth already requested"
    assert third.reason == "no NBIRTH seen for edge node plant/GW-1: rebirth requested"
    assert [topic for topic, _ in published.messages] == ["spBv1.0/plant/NCMD/GW-1"] * 2
    command = NCmd.decode(published.messages[0][1])
    assert [(m.name, m.datatype, m.value) for m in command.metrics] == [
        ("Node Control/Rebirth", DataType.BOOLEAN, True)
    ]


def test_a_sequence_gap_is_a_sequence_rejection_and_a_rebirth_and_the_message_is_still_read(decoder, published):
    born(decoder)  # seq 0 and 1
    items = decoder.decode("spBv1.0/plant/DDATA/GW-1/M-001", device_data(number(None, 2.5, alias=1), seq=5), now=NOW)
    following = decoder.decode(
        "spBv1.0/plant/DDATA/GW-1/M-001", device_data(number(None, 2.6, alias=1), seq=6, ts=NOW_MS + 1), now=NOW
    )

    [gap] = rejections(items)
    assert gap.kind == RejectionKind.SEQUENCE
    assert gap.reason == (
        "edge node plant/GW-1: expected seq 2, received 5 (DDATA of device M-001): 3 messages lost; rebirth requested"
    )
    assert readings(items) == [("M-001", NOW, {"vibration": 2.5})]
    assert rejections(following) == []
    assert len(published.messages) == 1


def test_seq_wraps_from_255_to_0_and_a_new_nbirth_starts_it_again(decoder):
    born(decoder)
    items = []
    for n in range(2, 300):
        ts = NOW_MS - 10_000 + n
        items += decoder.decode(
            "spBv1.0/plant/DDATA/GW-1/M-001", device_data(number(None, 1.0, alias=1), seq=n % 256, ts=ts), now=NOW
        )
    items += decoder.decode("spBv1.0/plant/NBIRTH/GW-1", node_birth(bd_seq=1), now=NOW)
    items += decoder.decode(
        "spBv1.0/plant/DBIRTH/GW-1/M-001", device_birth(number("Motor/Vibration", 2.0, alias=1)), now=NOW
    )
    assert rejections(items) == []
    assert len(readings(items)) == 298 + 1


def test_ndeath_takes_the_edge_node_and_its_devices_offline_unless_it_is_an_older_sessions(decoder):
    born(decoder)  # bdSeq 0
    assert decoder.decode("spBv1.0/plant/NDEATH/GW-1", node_death(bd_seq=7), now=NOW) == []  # stale
    death = decoder.decode("spBv1.0/plant/NDEATH/GW-1", node_death(bd_seq=0), now=NOW)
    assert links(death) == [
        ("GW-1", False, "edge node plant/GW-1 sent NDEATH"),
        ("M-001", False, "edge node plant/GW-1 sent NDEATH (device M-001)"),
    ]
    # Data after the death has no birth to read it by.
    after = decoder.decode("spBv1.0/plant/DDATA/GW-1/M-001", device_data(number(None, 2.5, alias=1), seq=2), now=NOW)
    assert rejections(after)[0].reason.startswith("no DBIRTH seen for device plant/GW-1/M-001")


def test_ndeath_with_the_next_bdseq_as_pysparkplug_sends_on_a_clean_disconnect_is_this_sessions(decoder):
    decoder.decode("spBv1.0/plant/NBIRTH/GW-1", node_birth(bd_seq=255), now=NOW)
    assert links(decoder.decode("spBv1.0/plant/NDEATH/GW-1", node_death(bd_seq=0), now=NOW)) == [
        ("GW-1", False, "edge node plant/GW-1 sent NDEATH")
    ]


def test_ddeath_is_the_link_down_of_its_device_alone(decoder):
    born(decoder)
    items = decoder.decode("spBv1.0/plant/DDEATH/GW-1/M-001", DDeath(timestamp=NOW_MS, seq=2).encode(), now=NOW)
    assert links(items) == [("M-001", False, "device plant/GW-1/M-001 sent DDEATH")]
    assert rejections(items) == []


def test_what_cannot_be_read_is_a_rejection_and_commands_and_state_are_nothing(decoder):
    cases = {
        "spBv1.0/plant/DDATA/GW-1/M-001": b"\xff\x00 not protobuf",
        "spBv1.0/plant/NBIRTH/GW-1": b"\x12\x02\x08",
        "spBv1.0/plant/DRUM/GW-1/M-001": b"",
        "spBv1.0/plant/DDATA/GW-1": b"",
        "spBv1.0/plant/NDATA/GW-1/M-001/extra": b"",
    }
    reasons = {
        topic: [r.reason for r in rejections(decoder.decode(topic, payload, now=NOW))]
        for topic, payload in cases.items()
    }
    assert reasons["spBv1.0/plant/DDATA/GW-1/M-001"] == [
        "no DBIRTH seen for device plant/GW-1/M-001: rebirth requested"
    ]
    assert reasons["spBv1.0/plant/NBIRTH/GW-1"][0].startswith("NBIRTH of plant/GW-1 is not a Sparkplug B payload: ")
    assert reasons["spBv1.0/plant/DRUM/GW-1/M-001"] == [
        "unknown Sparkplug B message type 'DRUM' in 'spBv1.0/plant/DRUM/GW-1/M-001'"
    ]
    assert reasons["spBv1.0/plant/DDATA/GW-1"] == ["a DDATA topic needs a device id: 'spBv1.0/plant/DDATA/GW-1'"]
    assert reasons["spBv1.0/plant/NDATA/GW-1/M-001/extra"][0].startswith("topic 'spBv1.0/plant/NDATA/GW-1/M-001/extra'")

    born(decoder)
    corrupt = decoder.decode("spBv1.0/plant/DDATA/GW-1/M-001", b"\xff\x00 not protobuf", now=NOW)
    assert rejections(corrupt)[0].reason.startswith("DDATA of plant/GW-1/M-001 is not a Sparkplug B payload: ")
    unknown_alias = decoder.decode(
        "spBv1.0/plant/DDATA/GW-1/M-001", device_data(number(None, 1.0, alias=42), seq=2), now=NOW
    )
    assert [r.reason for r in rejections(unknown_alias)] == [
        "DDATA of plant/GW-1/M-001: metric alias 42 is not in the DBIRTH: rebirth already requested"
    ]

    assert decoder.decode("spBv1.0/plant/NCMD/GW-1", NCmd(timestamp=NOW_MS, metrics=()).encode(), now=NOW) == []
    assert decoder.decode("spBv1.0/plant/DCMD/GW-1/M-001", b"", now=NOW) == []
    assert decoder.decode("spBv1.0/STATE/scada-1", b'{"online": true}', now=NOW) == []


def test_values_and_times_a_reading_cannot_take_are_rejections_beside_the_good_ones(decoder):
    born(decoder)
    items = decoder.decode(
        "spBv1.0/plant/DDATA/GW-1/M-001",
        DData(
            timestamp=NOW_MS,
            seq=2,
            metrics=(
                number("Motor/Vibration", math.nan, ts=NOW_MS - 1),
                number("Motor/Bearing Temp", 41.0, ts=5_000),
                number("Motor/Vibration", 2.2),
                number("Pump/Vibration", 2.3),
            ),
        ).encode(include_dtypes=True),
        now=NOW,
    )
    assert readings(items) == [("M-001", NOW, {"vibration": 2.2})]
    reasons = sorted(r.reason for r in rejections(items))
    assert reasons == [
        "metric 'vibration' must be a finite number, got nan",
        "metrics 'Motor/Vibration' and 'Pump/Vibration' are both stored as 'vibration': the first kept",
        "timestamp 5000 ms: 'ts' 1970-01-01T00:00:05+00:00 is before the year 2000",
    ]


def test_datasets_and_templates_that_pysparkplug_cannot_decode_are_left_out(decoder):
    # pysparkplug encodes no datasets: built with its own protobuf classes.
    payload = sparkplug_protobuf.Payload.FromString(
        device_birth(number("Motor/Vibration", 2.0, alias=1), number("Motor/Bearing Temp", 40.0, alias=2))
    )
    table = payload.metrics.add(name="Recipe", alias=3, datatype=DataType.DATASET)
    table.dataset_value.num_of_columns = 1
    table.dataset_value.columns.append("step")
    decoder.decode("spBv1.0/plant/NBIRTH/GW-1", node_birth(), now=NOW)
    items = decoder.decode("spBv1.0/plant/DBIRTH/GW-1/M-001", payload.SerializeToString(), now=NOW)
    assert readings(items) == [("M-001", NOW, {"vibration": 2.0, "bearing_temp": 40.0})]
    assert rejections(items) == []


def test_edge_nodes_past_the_limit_followed_are_rejected_not_remembered(decoder, monkeypatch):
    monkeypatch.setattr("telemetry.sparkplug.MAX_EDGE_NODES", 1)
    assert rejections(decoder.decode("spBv1.0/plant/NBIRTH/GW-1", node_birth(), now=NOW)) == []
    [rejection] = decoder.decode("spBv1.0/plant/NBIRTH/GW-2", node_birth(), now=NOW)
    assert rejection.reason == "edge node plant/GW-2 is past the 1 followed at once"
    assert rejections(decoder.decode("spBv1.0/plant/NBIRTH/GW-1", node_birth(bd_seq=1), now=NOW)) == []


def test_a_decoder_that_breaks_keeps_the_message_as_a_rejection(decoder, monkeypatch):
    def broken(*args):
        raise RuntimeError("bug")

    monkeypatch.setitem(SparkplugDecoder._handlers, "NBIRTH", broken)
    [rejection] = decoder.decode("spBv1.0/plant/NBIRTH/GW-1", node_birth(), now=NOW)
    assert rejection.reason == "could not decode the Sparkplug B message: RuntimeError('bug')"
    assert rejection.machine_code == "GW-1"


def test_decoder_from_settings_only_when_groups_are_set():
    with override_settings(SPARKPLUG_GROUPS=[]):
        assert sparkplug_decoder_from_settings() is None
    with override_settings(SPARKPLUG_GROUPS=["plant1", "plant2/gw-3"]):
        decoder = sparkplug_decoder_from_settings()
    assert decoder.topic_filters() == ["spBv1.0/plant1/+/+/#", "spBv1.0/plant2/+/gw-3/#"]
    assert decoder.publish is None


# --- a real edge node through the real broker ------------------------------------------------------


class EdgeNodeProcess:
    """testing/sparkplug_edge.py in .venv-sparkplug: pysparkplug's EdgeNode, commanded over stdin."""

    def __init__(self, *, group: str, edge_node: str, devices: list[str], node_metrics: dict | None = None):
        if not EDGE_PYTHON.exists():
            pytest.fail(f"{EDGE_PYTHON.relative_to(PROJECT_ROOT)} is missing: run {EDGE_VENV_TARGET}", pytrace=False)
        broker = BrokerAddress.from_url(settings.MQTT_URL)
        arguments = [str(EDGE_PYTHON), str(EDGE_SCRIPT), "--host", broker.host, "--port", str(broker.port)]
        if broker.username:
            arguments += ["--username", broker.username, "--password", broker.password or ""]
        arguments += ["--group", group, "--edge-node", edge_node, "--node-metrics", json.dumps(node_metrics or {})]
        for device in devices:
            arguments += ["--device", device]
        self.process = subprocess.Popen(  # noqa: S603 - our script, arguments from the test
            arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_until(lambda: {"event": "ready"} in self.events or self.process.poll() is not None, what="edge node ready")
        assert self.process.poll() is None, "the edge node script exited (see its stderr above)"

    def _read(self) -> None:
        for line in self.process.stdout:
            self.events.append(json.loads(line))

    def do(self, action: str, **arguments) -> None:
        """Send one command and wait until the edge node has published what it says."""
        before = len(self.events)
        self.process.stdin.write(json.dumps({"do": action, **arguments}) + "\n")
        self.process.stdin.flush()
        wait_until(
            lambda: {"done": action} in self.events[before:] or self.process.poll() is not None,
            what=f"the edge node's {action}",
        )
        assert {"done": action} in self.events[before:], f"the edge node exited during {action}"

    def rebirths(self) -> int:
        return self.events.count({"event": "rebirth"})

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no NDEATH of its own, the broker sends its will
        self.process.wait(timeout=20)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=20)
        self.process.stdin.close()


class BrokerWatcher:
    """Every message of a Sparkplug group, as the broker routes it (a second subscriber)."""

    def __init__(self, group: str):
        address = BrokerAddress.from_url(settings.MQTT_URL)
        self.messages: list[str] = []
        subscribed = threading.Event()
        self.client = client_create(address, client_id=f"test-watch-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda client, userdata, message: self.messages.append(message.topic)
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        self.client.subscribe(f"spBv1.0/{group}/#", qos=0)
        assert subscribed.wait(timeout=20)

    def count(self, message_type: str) -> int:
        return sum(1 for topic in self.messages if topic.split("/")[2] == message_type)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def group():
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def edge_nodes():
    if not EDGE_PYTHON.exists():  # before the test starts a listener, so that it fails at once
        pytest.fail(f"{EDGE_PYTHON.relative_to(PROJECT_ROOT)} is missing: run {EDGE_VENV_TARGET}", pytrace=False)
    started: list[EdgeNodeProcess] = []

    def start(**arguments) -> EdgeNodeProcess:
        started.append(EdgeNodeProcess(**arguments))
        return started[-1]

    yield start
    for edge in started:
        edge.close()


@pytest.fixture
def watcher(group):
    watcher = BrokerWatcher(group)
    yield watcher
    watcher.close()


@dataclass(frozen=True)
class Line:
    """Codes of this test alone: a listener also takes the plant/<code>/telemetry readings that tests
    running beside it publish on the shared broker."""

    gateway: str  # the edge node, itself a machine (its cabinet)
    motor_a: str  # its devices
    motor_b: str


@pytest.fixture
def line(db, group) -> Line:
    suffix = group.removeprefix("test-")
    line = Line(f"GW-{suffix}", f"MA-{suffix}", f"MB-{suffix}")
    cabinet = MachineTypeFactory(name="Gateway cabinet")
    MetricSpecFactory(machine_type=cabinet, name="cabinet_temp", unit="°C", normal_min=0, normal_max=45, alarm_max=60)
    motor = MachineTypeFactory(name="Motor")
    MetricSpecFactory(machine_type=motor, name="vibration")
    MetricSpecFactory(machine_type=motor, name="bearing_temp", unit="°C", normal_min=10, normal_max=70, alarm_max=90)
    MachineFactory(code=line.gateway, machine_type=cabinet)
    MachineFactory(code=line.motor_a, machine_type=motor)
    MachineFactory(code=line.motor_b, machine_type=motor)
    return line


class CountingDecoder(SparkplugDecoder):
    """The decoder, counting the messages it was given by type: what the tests wait for, since the
    database is read only once the listener has stopped (SQLite locks tables while it writes)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.message_types: list[str] = []

    def decode(self, topic, payload, *, now):
        items = super().decode(topic, payload, now=now)
        self.message_types.append(topic.split("/")[2])
        return items

    def count(self, message_type: str) -> int:
        return self.message_types.count(message_type)

    def wait_for(self, message_type: str, count: int) -> None:
        wait_until(lambda: self.count(message_type) >= count, what=f"{count} {message_type} at the listener")


def sparkplug_listener(decoder: SparkplugDecoder) -> TelemetryListener:
    listener = TelemetryListener(
        ListenerConfig(
            broker=BrokerAddress.from_url(settings.MQTT_URL),
            client_id=f"test-sparkplug-{uuid.uuid4().hex[:8]}",
            batch_max_age=0.05,
        ),
        directory=MachineDirectory(),
        decoders=[decoder],
    )
    decoder.publish = listener.publish
    return listener


def start_edge(edge_nodes, group: str, line: Line) -> EdgeNodeProcess:
    """The edge node connected: its NBIRTH and a DBIRTH for each motor published."""
    edge = edge_nodes(
        group=group, edge_node=line.gateway, devices=[line.motor_a, line.motor_b], node_metrics={"Cabinet Temp": 31.0}
    )
    edge.do("connect")
    return edge


def ms_ago(seconds: float) -> int:
    return int((datetime.datetime.now(datetime.UTC).timestamp() - seconds) * 1000)


def offline(code: str) -> tuple[bool, str]:
    machine = Machine.objects.get(code=code)
    return machine.offline_since is not None, machine.offline_reason


def rejected_reasons(group: str) -> list[str]:
    return list(RejectedMessage.objects.filter(topic__startswith=f"spBv1.0/{group}/").values_list("reason", flat=True))


@pytest.mark.django_db(transaction=True)
def test_an_edge_nodes_births_and_data_are_stored_as_readings_with_their_values_and_times(line, group, edge_nodes):
    decoder = CountingDecoder([group])
    with ListenerThread(sparkplug_listener(decoder)):
        edge = start_edge(edge_nodes, group, line)
        first, second = ms_ago(60), ms_ago(30)
        edge.do("data", device=line.motor_a, metrics={"Motor/Vibration": 2.5, "Motor/Bearing Temp": 45.0}, ts=first)
        edge.do("data", device=line.motor_b, metrics={"Motor/Vibration": 3.1}, ts=second)
        edge.do("node_data", metrics={"Cabinet Temp": 33.5}, ts=second)
        decoder.wait_for("DDATA", 2)
        decoder.wait_for("NDATA", 1)

    births = dict(Reading.objects.exclude(ts__in=[at_ms(first), at_ms(second)]).values_list("machine__code", "metrics"))
    assert births == {
        line.gateway: {"cabinet_temp": 31.0},
        line.motor_a: {"vibration": 2.0, "bearing_temp": 40.0},
        line.motor_b: {"vibration": 2.0, "bearing_temp": 40.0},
    }
    stored = Reading.objects.filter(ts__in=[at_ms(first), at_ms(second)])
    assert sorted(stored.values_list("machine__code", "ts", "metrics")) == sorted(
        [
            (line.motor_a, at_ms(first), {"vibration": 2.5, "bearing_temp": 45.0}),
            (line.motor_b, at_ms(second), {"vibration": 3.1}),
            (line.gateway, at_ms(second), {"cabinet_temp": 33.5}),
        ]
    )
    assert rejected_reasons(group) == []
    assert not Machine.objects.filter(offline_since__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_data_sent_by_alias_only_is_read_through_the_births_aliases(line, group, edge_nodes):
    decoder = CountingDecoder([group])
    ts = ms_ago(20)
    with ListenerThread(sparkplug_listener(decoder)):
        edge = start_edge(edge_nodes, group, line)
        metrics = {"Motor/Vibration": 4.25, "Motor/Bearing Temp": 52.0}
        edge.do("data", device=line.motor_a, metrics=metrics, ts=ts, by_alias=True)
        decoder.wait_for("DDATA", 1)

    assert Reading.objects.get(machine__code=line.motor_a, ts=at_ms(ts)).metrics == {
        "vibration": 4.25,
        "bearing_temp": 52.0,
    }
    assert rejected_reasons(group) == []


@pytest.mark.django_db(transaction=True)
def test_messages_lost_while_the_listener_was_down_are_a_sequence_gap_and_the_edge_node_is_reborn(
    line, group, edge_nodes, watcher
):
    decoder = CountingDecoder([group])  # one decoder: the listener restarts, what it knows stays
    with ListenerThread(sparkplug_listener(decoder)):
        edge = start_edge(edge_nodes, group, line)  # NBIRTH seq 0, DBIRTHs seq 1 and 2
        decoder.wait_for("DBIRTH", 2)

    missed = [ms_ago(50 - n) for n in range(3)]  # seq 3, 4 and 5: QoS 0, kept for nobody
    for ts in missed:
        edge.do("data", device=line.motor_a, metrics={"Motor/Vibration": 9.0}, ts=ts)
    wait_until(lambda: watcher.count("DDATA") == 3, what="the broker routing the missed messages")

    after_gap, reborn = ms_ago(40), ms_ago(30)
    with ListenerThread(sparkplug_listener(decoder)):
        edge.do("data", device=line.motor_a, metrics={"Motor/Vibration": 2.75}, ts=after_gap)  # seq 6
        wait_until(lambda: edge.rebirths() == 1, what="the edge node's rebirth")
        decoder.wait_for("DBIRTH", 4)
        edge.do("data", device=line.motor_a, metrics={"Motor/Vibration": 2.8}, ts=reborn)
        decoder.wait_for("DDATA", 2)

    [gap] = RejectedMessage.objects.filter(topic__startswith=f"spBv1.0/{group}/")
    assert gap.kind == RejectionKind.SEQUENCE
    assert gap.reason == (
        f"edge node {group}/{line.gateway}: expected seq 3, received 6 (DDATA of device {line.motor_a}): "
        "3 messages lost; rebirth requested"
    )
    assert gap.machine_code == line.motor_a
    assert watcher.count("NCMD") == 1
    assert watcher.count("NBIRTH") == 2
    motor_a = Reading.objects.filter(machine__code=line.motor_a)
    assert motor_a.get(ts=at_ms(after_gap)).metrics == {"vibration": 2.75}
    assert motor_a.get(ts=at_ms(reborn)).metrics == {"vibration": 2.8}
    assert not motor_a.filter(ts__in=[at_ms(ts) for ts in missed]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_clean_disconnect_takes_the_edge_node_and_its_devices_offline_until_it_is_born_again(
    line, group, edge_nodes, watcher
):
    decoder = CountingDecoder([group])
    with ListenerThread(sparkplug_listener(decoder)):
        edge = start_edge(edge_nodes, group, line)
        edge.do("disconnect")
        decoder.wait_for("NDEATH", 1)

    assert offline(line.gateway) == (True, f"edge node {group}/{line.gateway} sent NDEATH")
    assert offline(line.motor_a) == (True, f"edge node {group}/{line.gateway} sent NDEATH (device {line.motor_a})")
    assert offline(line.motor_b)[0]
    assert watcher.count("NDEATH") == 1  # its own, not the broker's will besides

    with ListenerThread(sparkplug_listener(decoder)):
        start_edge(edge_nodes, group, line)
        decoder.wait_for("DBIRTH", 4)

    assert not Machine.objects.filter(offline_since__isnull=False).exists()
    assert rejected_reasons(group) == []


@pytest.mark.django_db(transaction=True)
def test_a_killed_edge_node_is_taken_offline_by_its_will_until_it_is_born_again(line, group, edge_nodes):
    decoder = CountingDecoder([group])
    with ListenerThread(sparkplug_listener(decoder)):
        edge = start_edge(edge_nodes, group, line)
        edge.kill()
        decoder.wait_for("NDEATH", 1)

    assert offline(line.gateway) == (True, f"edge node {group}/{line.gateway} sent NDEATH")
    assert offline(line.motor_b) == (True, f"edge node {group}/{line.gateway} sent NDEATH (device {line.motor_b})")

    with ListenerThread(sparkplug_listener(decoder)):
        start_edge(edge_nodes, group, line)
        decoder.wait_for("DBIRTH", 4)

    assert not Machine.objects.filter(offline_since__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_a_ddeath_takes_only_its_device_offline(line, group, edge_nodes):
    decoder = CountingDecoder([group])
    with ListenerThread(sparkplug_listener(decoder)):
        edge = start_edge(edge_nodes, group, line)
        edge.do("device_death", device=line.motor_a)
        decoder.wait_for("DDEATH", 1)

    assert offline(line.motor_a) == (True, f"device {group}/{line.gateway}/{line.motor_a} sent DDEATH")
    assert offline(line.motor_b) == (False, "")
    assert offline(line.gateway) == (False, "")


@pytest.mark.django_db(transaction=True)
def test_an_undecodable_payload_on_a_sparkplug_topic_is_kept_as_a_rejection(line, group):
    decoder = CountingDecoder([group])
    topic = f"spBv1.0/{group}/NBIRTH/{line.gateway}"
    garbage = b"\x0a\xff\xff not a Sparkplug payload"
    with ListenerThread(sparkplug_listener(decoder)):
        address = BrokerAddress.from_url(settings.MQTT_URL)
        client = client_create(address, client_id=f"test-garbage-{uuid.uuid4().hex[:8]}")
        client.connect(address.host, address.port)
        client.loop_start()
        client.publish(topic, garbage, qos=1).wait_for_publish(timeout=20)
        client.disconnect()
        client.loop_stop()
        decoder.wait_for("NBIRTH", 1)

    [rejection] = RejectedMessage.objects.filter(topic__startswith=f"spBv1.0/{group}/")
    assert (rejection.topic, rejection.machine_code, bytes(rejection.payload)) == (topic, line.gateway, garbage)
    assert rejection.reason.startswith(f"NBIRTH of {group}/{line.gateway} is not a Sparkplug B payload: ")
