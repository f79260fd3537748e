"""Sparkplug B (spBv1.0) edge nodes as a source of readings: births, data and deaths become readings
and machine links going down or up.

A device's id is a machine code: DBIRTH, DDATA and DDEATH are that machine's. An edge node's own
metrics (NBIRTH, NDATA) are the machine's whose code is the edge node id. Only numeric metrics
become reading metrics; each metric keeps its own timestamp, so one message can hold several
readings.

The codec is pysparkplug's (installed without its paho-mqtt<2 client dependency: see
requirements-nodeps.txt); the state a Sparkplug host must keep is here: the latest births (to
resolve the aliases DATA messages use instead of names), each edge node's sequence number (to see
messages lost in between) and its bdSeq (to tell its death from an older session's). A gap or a
DATA message whose birth was not seen asks the edge node to publish its births again (a rebirth
NCMD).
"""

import datetime
import functools
import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from pysparkplug import DataType, DBirth, DData, DDeath, Metric, NBirth, NCmd, NData, NDeath
from pysparkplug import _protobuf as sparkplug_protobuf

from telemetry.ingest import DecodedItem, DecodedReading, LinkChange, Rejection, metrics_problem, ts_parse
from telemetry.models import RejectionKind

logger = logging.getLogger(__name__)

NAMESPACE = "spBv1.0"
SEQ_MODULUS = 256
BD_SEQ = "bdSeq"
REBIRTH_METRIC = "Node Control/Rebirth"
# At most one rebirth request per edge node in this many seconds: a burst of messages after a gap
# must not become a burst of rebirths, each of which resends every birth.
REBIRTH_INTERVAL = 10.0
# Metrics that describe the edge node or ask it to act, never measurements (Node Control/Rebirth,
# Ignition's Properties/Hardware Make, ...), even where their values are numbers.
NOT_MEASUREMENTS = re.compile(r"(Node Control|Device Control|Properties|Node Info)/.*|bdSeq")
NUMERIC_TYPES = frozenset(
    {
        DataType.INT8,
        DataType.INT16,
        DataType.INT32,
        DataType.INT64,
        DataType.UINT8,
        DataType.UINT16,
        DataType.UINT32,
        DataType.UINT64,
        DataType.FLOAT,
        DataType.DOUBLE,
    }
)
# Value fields pysparkplug 0.6.1 cannot decode: a payload holding one fails as a whole, so these
# metrics are taken out first (they are never measurements).
UNDECODABLE_VALUES = frozenset({"dataset_value", "template_value", "extension_value"})
UNDECODABLE_TYPES = frozenset({DataType.DATASET, DataType.TEMPLATE, DataType.PROPERTYSET, DataType.PROPERTYSETLIST})
# Edge nodes followed at once: a plant has a few; a sender inventing edge node ids must not grow the
# decoder's memory without limit (a birth past it is rejected, so it shows).
MAX_EDGE_NODES = 10_000
ENTRY_PATTERN = re.compile(r"[^/+#\s]+(/[^/+#\s]+)?")
NOT_A_NAME_CHARACTER = re.compile(r"[^a-z0-9_]")


# Per metric of every DATA message: a plant has few metric names, each mapped once.
@functools.lru_cache(maxsize=10_000)
def reading_metric_name(sparkplug_name: str) -> str:
    """The reading metric a Sparkplug B metric is stored as: the last `/` segment of its name,
    lower-cased, with each character other than a-z, 0-9 and _ made an underscore
    ("Motor/Bearing Temp" → "bearing_temp"). The machine type's metric names are matched against it."""
    return NOT_A_NAME_CHARACTER.sub("_", sparkplug_name.rsplit("/", 1)[-1].lower())


@dataclass
class EdgeNodeSession:
    """What this host knows of one edge node since its last NBIRTH."""

    node_birth: NBirth | None
    bd_seq: int | None
    # The seq the next message must carry; None while unknown (no NBIRTH, or a rebirth is awaited).
    next_seq: int | None
    device_births: dict[str, DBirth] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    group: str
    message_type: str
    edge_node: str
    device: str | None

    @property
    def edge_node_path(self) -> str:
        return f"{self.group}/{self.edge_node}"

    @property
    def path(self) -> str:
        return self.edge_node_path if self.device is None else f"{self.edge_node_path}/{self.device}"


class SparkplugMessageError(Exception):
    """A message this decoder cannot take; its text is the rejection's reason. `stale_birth`: it
    names a metric the birth this host holds does not have, so the edge node should be born again."""

    def __init__(self, reason: str, *, kind: str = RejectionKind.PAYLOAD, stale_birth: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.stale_birth = stale_birth


class SparkplugDecoder:
    """The `MessageDecoder` of Sparkplug B for the configured groups (`group` or `group/edge_node`).

    Not shareable: aliases and sequence numbers need every message of an edge node, so each listener
    subscribes to all of them; several listeners then store the same readings, which is harmless
    (a reading is idempotent on its machine and time). `publish` sends the rebirth requests (the
    listener's `publish`; it may be assigned once the listener exists)."""

    name = "Sparkplug B"
    shareable = False

    def __init__(
        self,
        groups: Sequence[str],
        *,
        publish: Callable[[str, bytes], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        for entry in groups:
            if not ENTRY_PATTERN.fullmatch(entry):
                raise ValueError(f"{entry!r} is not a Sparkplug B group id or group/edge_node")
        self.groups = tuple(dict.fromkeys(groups))
        self.publish = publish
        self._clock = clock
        self._sessions: dict[tuple[str, str], EdgeNodeSession] = {}
        self._rebirth_requested_at: dict[tuple[str, str], float] = {}

    def topic_filters(self) -> Sequence[str]:
        filters = []
        for entry in self.groups:
            group, _, edge_node = entry.partition("/")
            filters.append(f"{NAMESPACE}/{group}/+/{edge_node or '+'}/#")
        return filters

    # --- decoding: runs on the MQTT client's network thread ------------------------------------

    def decode(self, topic: str, payload: bytes, *, now: datetime.datetime) -> list[DecodedItem]:
        """Never raises: what cannot be taken is a Rejection with its reason."""
        try:
            parsed = self._topic_parse(topic)
            if parsed is None:
                return []
            handler = self._handlers.get(parsed.message_type)
            if handler is None:
                raise SparkplugMessageError(f"unknown Sparkplug B message type {parsed.message_type!r} in {topic!r}")
            return handler(self, parsed, topic, payload, now)
        except SparkplugMessageError as problem:
            reason = f"{problem.reason}: {self._rebirth_request(parsed)}" if problem.stale_birth else problem.reason
            return [Rejection(topic, payload, reason, _machine_code_in(topic), problem.kind)]
        except Exception as exc:  # a payload that trips the codec must not kill the network thread
            logger.exception("could not decode the Sparkplug B message on %r", topic)
            reason = f"could not decode the Sparkplug B message: {exc!r}"
            return [Rejection(topic, payload, reason, _machine_code_in(topic))]

    @staticmethod
    def _topic_parse(topic: str) -> SparkplugTopic | None:
        """The topic's parts; None for what a host reads past (STATE, and commands, ours included)."""
        parts = topic.split("/")
        if len(parts) >= 2 and parts[0] == NAMESPACE and parts[1] == "STATE":
            return None
        if not 4 <= len(parts) <= 5 or parts[0] != NAMESPACE or not all(parts[1:]):
            raise SparkplugMessageError(f"topic {topic!r} is not spBv1.0/<group>/<message type>/<edge node>[/<device>]")
        message_type = parts[2]
        if message_type in ("NCMD", "DCMD"):
            return None
        device = parts[4] if len(parts) == 5 else None
        if message_type.startswith("D") != (device is not None):
            raise SparkplugMessageError(
                f"a {message_type} topic {'needs' if device is None else 'has no'} a device id: {topic!r}"
            )
        return SparkplugTopic(parts[1], message_type, parts[3], device)

    def _node_birth(self, topic: SparkplugTopic, raw_topic: str, payload: bytes, now) -> list[DecodedItem]:
        birth = _payload_decode(NBirth, payload, birth=None, what=f"NBIRTH of {topic.edge_node_path}")
        bd_seq = next((m.value for m in birth.metrics if m.name == BD_SEQ and type(m.value) is int), None)
        self._session_room(topic)
        # A new session: the devices publish their births again after this one.
        self._sessions[(topic.group, topic.edge_node)] = EdgeNodeSession(
            birth, bd_seq, next_seq=(birth.seq + 1) % SEQ_MODULUS
        )
        items: list[DecodedItem] = [
            LinkChange(topic.edge_node, now, online=True, detail=f"edge node {topic.edge_node_path} sent NBIRTH")
        ]
        items.extend(self._readings(raw_topic, topic.edge_node, birth, now=now))
        return items

    def _device_birth(self, topic: SparkplugTopic, raw_topic: str, payload: bytes, now) -> list[DecodedItem]:
        birth = _payload_decode(DBirth, payload, birth=None, what=f"DBIRTH of {topic.path}")
        items: list[DecodedItem] = []
        session = self._sessions.get((topic.group, topic.edge_node))
        if session is None:
            # The listener started after the NBIRTH: this birth is whole, but the edge node's own
            # aliases and sequence are unknown until it is born again.
            self._session_room(topic)
            session = self._sessions[(topic.group, topic.edge_node)] = EdgeNodeSession(None, None, None)
            logger.info("DBIRTH of %s without its NBIRTH: %s", topic.path, self._rebirth_request(topic))
        else:
            items.extend(self._sequence_check(topic, raw_topic, payload, session, birth.seq))
        session.device_births[topic.device] = birth
        items.append(LinkChange(topic.device, now, online=True, detail=f"device {topic.path} sent DBIRTH"))
        items.extend(self._readings(raw_topic, topic.device, birth, now=now))
        return items

    def _node_data(self, topic: SparkplugTopic, raw_topic: str, payload: bytes, now) -> list[DecodedItem]:
        session = self._sessions.get((topic.group, topic.edge_node))
        if session is None or session.node_birth is None:
            return self._unborn(topic, raw_topic, payload, session, f"no NBIRTH seen for edge node {topic.path}")
        data = _payload_decode(NData, payload, birth=session.node_birth, what=f"NDATA of {topic.path}")
        items = self._sequence_check(topic, raw_topic, payload, session, data.seq)
        items.extend(self._readings(raw_topic, topic.edge_node, data, now=now))
        return items

    def _device_data(self, topic: SparkplugTopic, raw_topic: str, payload: bytes, now) -> list[DecodedItem]:
        session = self._sessions.get((topic.group, topic.edge_node))
        birth = session.device_births.get(topic.device) if session is not None else None
        if birth is None:
            return self._unborn(topic, raw_topic, payload, session, f"no DBIRTH seen for device {topic.path}")
        data = _payload_decode(DData, payload, birth=birth, what=f"DDATA of {topic.path}")
        items = self._sequence_check(topic, raw_topic, payload, session, data.seq)
        items.extend(self._readings(raw_topic, topic.device, data, now=now))
        return items

    def _node_death(self, topic: SparkplugTopic, raw_topic: str, payload: bytes, now) -> list[DecodedItem]:
        bd_seq = _death_bd_seq(payload, what=f"NDEATH of {topic.path}")
        key = (topic.group, topic.edge_node)
        session = self._sessions.get(key)
        if session is not None and not _same_session(session.bd_seq, bd_seq):
            logger.info(
                "ignored a stale NDEATH of %s (bdSeq %s; the session born last has %s)",
                topic.path,
                bd_seq,
                session.bd_seq,
            )
            return []
        self._sessions.pop(key, None)
        detail = f"edge node {topic.edge_node_path} sent NDEATH"
        # The link's times are this host's: a will's payload carries the time it was set (at connect),
        # and an edge node's clock may be off ours, which would order a birth before the death it ends.
        items: list[DecodedItem] = [LinkChange(topic.edge_node, now, online=False, detail=detail)]
        for device in session.device_births if session is not None else ():
            items.append(LinkChange(device, now, online=False, detail=f"{detail} (device {device})"))
        return items

    def _device_death(self, topic: SparkplugTopic, raw_topic: str, payload: bytes, now) -> list[DecodedItem]:
        what = f"DDEATH of {topic.path}"
        death = _payload_decode(DDeath, payload, birth=None, what=what)
        items: list[DecodedItem] = []
        session = self._sessions.get((topic.group, topic.edge_node))
        if session is not None:
            items.extend(self._sequence_check(topic, raw_topic, payload, session, death.seq))
            session.device_births.pop(topic.device, None)
        items.append(LinkChange(topic.device, now, online=False, detail=f"device {topic.path} sent DDEATH"))
        return items

    _handlers = {
        "NBIRTH": _node_birth,
        "DBIRTH": _device_birth,
        "NDATA": _node_data,
        "DDATA": _device_data,
        "NDEATH": _node_death,
        "DDEATH": _device_death,
    }

    # --- sessions ----------------------------------------------------------------------------------

    def _session_room(self, topic: SparkplugTopic) -> None:
        if (topic.group, topic.edge_node) not in self._sessions and len(self._sessions) >= MAX_EDGE_NODES:
            raise SparkplugMessageError(
                f"edge node {topic.edge_node_path} is past the {MAX_EDGE_NODES} followed at once"
            )

    def _unborn(
        self, topic: SparkplugTopic, raw_topic: str, payload: bytes, session: EdgeNodeSession | None, problem: str
    ) -> list[DecodedItem]:
        """DATA whose birth this host has not seen: its aliases cannot be read, so it is kept aside and
        the births asked for; the sequence is unknown until they come."""
        if session is not None:
            session.next_seq = None
        reason = f"{problem}: {self._rebirth_request(topic)}"
        return [Rejection(raw_topic, payload, reason, topic.device or topic.edge_node)]

    def _sequence_check(
        self, topic: SparkplugTopic, raw_topic: str, payload: bytes, session: EdgeNodeSession, seq: int
    ) -> list[DecodedItem]:
        """A SEQUENCE rejection (and a rebirth request) when messages of the edge node were lost
        before this one; the message itself is still read."""
        expected, session.next_seq = session.next_seq, (seq + 1) % SEQ_MODULUS
        if expected is None or seq == expected:
            return []
        lost = (seq - expected) % SEQ_MODULUS
        reason = (
            f"edge node {topic.edge_node_path}: expected seq {expected}, received {seq} "
            f"({topic.message_type}{f' of device {topic.device}' if topic.device else ''}): "
            f"{lost} message{'s' if lost != 1 else ''} lost; {self._rebirth_request(topic)}"
        )
        return [Rejection(raw_topic, payload, reason, topic.device or topic.edge_node, RejectionKind.SEQUENCE)]

    def _rebirth_request(self, topic: SparkplugTopic) -> str:
        """Ask the edge node for its births again (NCMD Node Control/Rebirth), at most once per
        REBIRTH_INTERVAL; says what was done, for a rejection's reason."""
        key = (topic.group, topic.edge_node)
        if self.publish is None:
            return "no rebirth requested (nothing to publish it with)"
        now = self._clock()
        if now - self._rebirth_requested_at.get(key, -math.inf) < REBIRTH_INTERVAL:
            return "rebirth already requested"
        if len(self._rebirth_requested_at) >= MAX_EDGE_NODES:
            self._rebirth_requested_at.clear()
        self._rebirth_requested_at[key] = now
        try:
            self.publish(f"{NAMESPACE}/{topic.group}/NCMD/{topic.edge_node}", rebirth_command())
        except Exception as exc:  # the broker's thread must go on; the next gap asks again
            logger.warning("could not request a rebirth of %s: %r", topic.edge_node_path, exc)
            return f"rebirth request failed ({exc})"
        logger.info("requested a rebirth of edge node %s", topic.edge_node_path)
        return "rebirth requested"

    # --- readings ----------------------------------------------------------------------------------

    @staticmethod
    def _readings(raw_topic: str, machine_code: str, payload, *, now) -> list[DecodedItem]:
        """The payload's numeric metrics as readings, one per distinct timestamp (a metric without
        its own takes the payload's); a reading that cannot be stored becomes a rejection."""
        by_ts: dict[int, dict[str, float]] = {}
        sources: dict[tuple[int, str], str] = {}
        items: list[DecodedItem] = []
        for metric in payload.metrics:
            if not _is_measurement(metric):
                continue
            ts_ms = payload.timestamp if metric.timestamp is None else metric.timestamp
            name = reading_metric_name(metric.name)
            reading_metrics = by_ts.setdefault(ts_ms, {})
            if name in reading_metrics:
                items.append(
                    Rejection(
                        raw_topic,
                        _reading_bytes(ts_ms, {metric.name: metric.value}),
                        f"metrics {sources[(ts_ms, name)]!r} and {metric.name!r} are both stored as {name!r}: "
                        f"the first kept",
                        machine_code,
                    )
                )
                continue
            reading_metrics[name] = metric.value
            sources[(ts_ms, name)] = metric.name
        for ts_ms, metrics in by_ts.items():
            ts = ts_parse(ts_ms / 1000, now=now)
            problem = f"timestamp {ts_ms} ms: {ts}" if type(ts) is str else metrics_problem(metrics)
            if problem is not None:
                items.append(Rejection(raw_topic, _reading_bytes(ts_ms, metrics), problem, machine_code))
            else:
                items.append(DecodedReading(raw_topic, None, machine_code, ts, metrics, "", False))
        return items


def rebirth_command() -> bytes:
    """The NCMD payload that asks an edge node to publish its NBIRTH and DBIRTHs again."""
    now_ms = int(time.time() * 1000)
    metric = Metric(timestamp=now_ms, name=REBIRTH_METRIC, datatype=DataType.BOOLEAN, value=True)
    return NCmd(timestamp=now_ms, metrics=(metric,)).encode(include_dtypes=True)


def sparkplug_decoder_from_settings() -> SparkplugDecoder | None:
    """The decoder for SPARKPLUG_GROUPS, or None when it is empty (Sparkplug B off). The caller sets
    its `publish` to the listener's, so that it can ask edge nodes for rebirths."""
    groups = settings.SPARKPLUG_GROUPS
    return SparkplugDecoder(groups) if groups else None


def _is_measurement(metric: Metric) -> bool:
    # Exact types: bool is an int subclass, and a DataType may say a number while the value is None.
    return (
        metric.datatype in NUMERIC_TYPES
        and type(metric.value) in (int, float)
        and not metric.is_null
        and metric.name is not None
        and not NOT_MEASUREMENTS.fullmatch(metric.name)
    )


def _payload_decode(payload_class, raw: bytes, *, birth, what: str):
    """pysparkplug's decoding of a payload, resolving aliases and datatypes through `birth`;
    SparkplugMessageError with the reason when it cannot be read."""
    try:
        try:
            return payload_class.decode(raw, birth=birth)
        except NotImplementedError:
            # A dataset, template or other type pysparkplug cannot decode: read the rest without it.
            return payload_class.decode(_without_undecodable_metrics(raw), birth=birth)
    except KeyError as exc:
        missing = exc.args[0] if exc.args else "?"
        shown = f"alias {missing}" if type(missing) is int else repr(missing)
        kind = "DBIRTH" if isinstance(birth, DBirth) else "NBIRTH"
        raise SparkplugMessageError(f"{what}: metric {shown} is not in the {kind}", stale_birth=True) from None
    except Exception as exc:  # protobuf's DecodeError, a missing field, a value out of its type's range
        raise SparkplugMessageError(f"{what} is not a Sparkplug B payload: {_short(exc)}") from None


def _without_undecodable_metrics(raw: bytes) -> bytes:
    payload = sparkplug_protobuf.Payload.FromString(raw)
    kept = [
        metric
        for metric in payload.metrics
        if metric.WhichOneof("value") not in UNDECODABLE_VALUES and metric.datatype not in UNDECODABLE_TYPES
    ]
    del payload.metrics[:]
    payload.metrics.extend(kept)
    return payload.SerializeToString()


def _death_bd_seq(raw: bytes, *, what: str) -> int | None:
    """The bdSeq an NDEATH carries, None when it has none."""
    try:
        death = NDeath.decode(raw)
    except IndexError:  # no metric at all
        return None
    except Exception as exc:
        raise SparkplugMessageError(f"{what} is not a Sparkplug B payload: {_short(exc)}") from None
    metric = death.bd_seq_metric
    return metric.value if metric.name == BD_SEQ and type(metric.value) is int else None


def _same_session(born_with: int | None, died_with: int | None) -> bool:
    """Whether an NDEATH ends the session born with bdSeq `born_with`. Unknown on either side: taken
    as the same (a link reported down is safer than one missed). pysparkplug 0.6.1's EdgeNode sends
    the bdSeq it has prepared for its next session on a clean disconnect, one above its birth's; a
    death from an older session carries an earlier one."""
    if born_with is None or died_with is None:
        return True
    return died_with in (born_with, (born_with + 1) % SEQ_MODULUS)


def _reading_bytes(ts_ms: int, metrics: dict) -> bytes:
    """A rejected reading in the contract's shape, which is what a rejection keeps of a reading."""
    try:
        ts: object = datetime.datetime.fromtimestamp(ts_ms / 1000, tz=datetime.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        ts = ts_ms
    return json.dumps({"ts": ts, "metrics": metrics}, default=repr).encode()


def _machine_code_in(topic: str) -> str:
    parts = topic.split("/")
    if len(parts) in (4, 5) and parts[0] == NAMESPACE:
        return parts[-1][:64]
    return ""


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
