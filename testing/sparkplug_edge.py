"""A real Sparkplug B edge node for the tests: pysparkplug's EdgeNode, with one device per machine code.

It runs in .venv-sparkplug (make .venv-sparkplug/.installed), whose paho-mqtt 1 pysparkplug's client
needs, never in the app's virtualenv. The test drives it through stdin, one JSON command a line, and
reads what it did from stdout, one JSON event a line:

    {"do": "connect"}                         NBIRTH and a DBIRTH per device   -> {"done": "connect"}
    {"do": "data", "device": "M-1", "metrics": {"Motor/Vibration": 2.5}, "ts": 1765000000000,
     "by_alias": false}                       one DDATA (metrics stamped "ts")  -> {"done": "data"}
    {"do": "node_data", "metrics": {...}, "ts": ...}                 one NDATA  -> {"done": "node_data"}
    {"do": "device_death", "device": "M-1"}   DDEATH                            -> {"done": "device_death"}
    {"do": "disconnect"}                      NDEATH, a clean disconnect, exit  -> {"done": "disconnect"}

A rebirth NCMD (Node Control/Rebirth = true) is answered with the births again -> {"event": "rebirth"}.
Killed with SIGKILL, it leaves the broker to publish its will, the NDEATH set at connect.

pysparkplug 0.6.1's EdgeNode does not answer a rebirth NCMD itself (its default command callback only
logs), and it always sends metric names in DATA; aliases appear only in births. `by_alias` sends the
DDATA as Ignition's and Eclipse Tahu's edge nodes do, with aliases and no names or datatypes, built
with pysparkplug's own payload classes and sent on the edge node's client with its sequence numbers.
"""

import argparse
import dataclasses
import itertools
import json
import logging
import sys
import threading
import time

from pysparkplug import (
    Client,
    DataType,
    DBirth,
    DData,
    Device,
    EdgeNode,
    Message,
    MessageType,
    Metric,
    NBirth,
    QoS,
    Topic,
)

REBIRTH = "Node Control/Rebirth"
SEQ_LIMIT = 256

logger = logging.getLogger("sparkplug_edge")


def emit(**event) -> None:
    print(json.dumps(event), flush=True)


def metrics_defined(values: dict[str, float], *, first_alias: int) -> list[Metric]:
    """Numeric metrics (DOUBLE) with aliases from `first_alias`, and a string one, as a PLC has."""
    metrics = [
        Metric(timestamp=None, name=name, datatype=DataType.DOUBLE, value=float(value), alias=alias)
        for alias, (name, value) in enumerate(values.items(), start=first_alias)
    ]
    metrics.append(
        Metric(
            timestamp=None, name="Status", datatype=DataType.STRING, value="running", alias=first_alias + len(values)
        )
    )
    return metrics


class CommandedEdgeNode(EdgeNode):
    """pysparkplug's EdgeNode that also answers rebirth requests and can send DDATA by alias."""

    def __init__(self, *args, **kwargs):
        self.lock = threading.RLock()  # the test's commands and the broker's thread both publish
        self.births_sent = threading.Event()
        self.session_bd_seq_metric: Metric | None = None
        # Each metric's alias as born: pysparkplug's update() replaces a metric with the one given,
        # so its births would lose the aliases unless every update carries them.
        self.aliases: dict[str | None, dict[str, int]] = {}
        super().__init__(*args, cmd_callback=self._command, **kwargs)
        self.aliases[None] = {metric.name: metric.alias for metric in self.metrics.values() if metric.alias}
        paho = self._client._client
        disconnected = threading.Event()
        paho.on_disconnect = lambda *args: disconnected.set()
        loop_stop = paho.loop_stop

        def loop_stop_once_disconnected(*args, **kwargs):
            # pysparkplug's disconnect() stops paho's network loop right after queueing the NDEATH
            # and the DISCONNECT, and paho 1.6 then often writes neither (the broker sends the will).
            disconnected.wait(timeout=10)
            return loop_stop(*args, **kwargs)

        paho.loop_stop = loop_stop_once_disconnected

    def register(self, device: Device) -> None:
        self.aliases[device.device_id] = {metric.name: metric.alias for metric in device.metrics.values()}
        super().register(device)

    def flush(self) -> None:
        """Wait until what was published is written to the broker (QoS 0 has no acknowledgement)."""
        deadline = time.monotonic() + 10
        while self._client._client.want_write() and time.monotonic() < deadline:
            time.sleep(0.01)

    def stamped(self, device_id: str | None, values: dict[str, float], ts: int | None) -> list[Metric]:
        aliases = self.aliases[device_id]
        return [
            Metric(timestamp=ts, name=name, datatype=DataType.DOUBLE, value=float(value), alias=aliases.get(name))
            for name, value in values.items()
        ]

    def _setup_will(self) -> None:
        # Called at connect and again at the end of the on-connect callback, after the births: the
        # metric it replaces then is the one this session was born with.
        previous = getattr(self, "_bd_seq_metric", None)
        super()._setup_will()
        if self._connected:
            self.session_bd_seq_metric = previous
            self.births_sent.set()

    def _command(self, _node: EdgeNode, message: Message) -> None:
        if any(metric.name == REBIRTH and metric.value is True for metric in message.payload.metrics):
            self.rebirth()
            emit(event="rebirth")

    def rebirth(self) -> None:
        """NBIRTH (seq 0, this session's bdSeq) and every DBIRTH again, as the connect callback sends them."""
        with self.lock:
            self._EdgeNode__seq_cycler = itertools.cycle(range(SEQ_LIMIT))
            metrics = (*self._metrics.values(), self.session_bd_seq_metric)
            self._publish(MessageType.NBIRTH, None, NBirth(timestamp=now_ms(), seq=self._seq, metrics=metrics))
            for device in self._devices.values():
                birth = DBirth(timestamp=now_ms(), seq=self._seq, metrics=tuple(device.metrics.values()))
                self._publish(MessageType.DBIRTH, device.device_id, birth)

    def update_device_by_alias(self, device_id: str, metrics: list[Metric]) -> None:
        with self.lock:
            self._devices[device_id].update(metrics)
            by_alias = tuple(dataclasses.replace(metric, name=None) for metric in metrics)
            self._publish(
                MessageType.DDATA,
                device_id,
                DData(timestamp=now_ms(), seq=self._seq, metrics=by_alias),
                include_dtypes=False,
            )

    def _publish(self, message_type: MessageType, device_id: str | None, payload, *, include_dtypes=True) -> None:
        topic = Topic(message_type=message_type, group_id=self.group_id, edge_node_id=self.edge_node_id)
        if device_id is not None:
            topic = dataclasses.replace(topic, device_id=device_id)
        message = Message(topic=topic, payload=payload, qos=QoS.AT_MOST_ONCE, retain=False)
        self._client.publish(message, include_dtypes=include_dtypes)


def now_ms() -> int:
    return int(time.time() * 1000)


def run(node: CommandedEdgeNode, host: str, port: int) -> None:
    for line in sys.stdin:
        command = json.loads(line)
        action = command["do"]
        if action == "connect":
            node.births_sent.clear()
            node.connect(host, port=port, blocking=False)
            if not node.births_sent.wait(timeout=30):
                raise SystemExit("the broker did not accept the connection within 30 s")
        elif action == "data":
            metrics = node.stamped(command["device"], command["metrics"], command.get("ts"))
            if command.get("by_alias"):
                node.update_device_by_alias(command["device"], metrics)
            else:
                with node.lock:
                    node.update_device(command["device"], metrics)
        elif action == "node_data":
            with node.lock:
                node.update(node.stamped(None, command["metrics"], command.get("ts")))
        elif action == "device_death":
            with node.lock:
                node.deregister(command["device"])
        elif action == "disconnect":
            with node.lock:
                node.disconnect()
            emit(done=action)
            return
        else:
            raise SystemExit(f"unknown command {action!r}")
        node.flush()
        emit(done=action)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--group", required=True)
    parser.add_argument("--edge-node", required=True)
    parser.add_argument("--device", action="append", default=[], help="a device id (a machine code); repeatable")
    parser.add_argument("--device-metrics", default='{"Motor/Vibration": 2.0, "Motor/Bearing Temp": 40.0}')
    parser.add_argument("--node-metrics", default="{}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="edge %(levelname)s %(name)s: %(message)s")

    # The rebirth metric every NBIRTH must carry; aliases unique across the edge node and its devices.
    rebirth = Metric(timestamp=None, name=REBIRTH, datatype=DataType.BOOLEAN, value=False)
    node_metrics = [rebirth, *metrics_defined(json.loads(args.node_metrics), first_alias=1)]
    client = Client(username=args.username, password=args.password)
    node = CommandedEdgeNode(args.group, args.edge_node, node_metrics, client=client)
    for position, device_id in enumerate(args.device, start=1):
        metrics = metrics_defined(json.loads(args.device_metrics), first_alias=100 * position)
        node.register(Device(device_id, metrics))
    emit(event="ready")
    run(node, args.host, args.port)


if __name__ == "__main__":
    main()
