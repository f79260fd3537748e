"""Turning MQTT messages into readings: decoding, validation and machine lookup.

Plain functions and classes, called by the listener and by the tests without a broker. A message
that cannot become a reading becomes a `Rejection` with a reason a person can read; nothing here
raises on bad input.

A message decodes to a list of items: one reading (the contract's object), several (a JSON array,
a gateway's batch), rejections of the parts that cannot be stored, and, from Sparkplug B, a
machine's link going down or up. Each kind of payload has its `MessageDecoder`; `MessageRouter`
picks the decoder by topic.
"""

import datetime
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from paho.mqtt.client import topic_matches_sub

from telemetry.models import Machine, RejectedMessage, RejectionKind
from telemetry.mqtt import TOPIC_FILTER

TOPIC_PATTERN = re.compile(r"plant/([A-Za-z0-9][A-Za-z0-9_.-]{0,31})/telemetry")
METRIC_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
ERROR_CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
MAX_PAYLOAD_BYTES = RejectedMessage.PAYLOAD_LIMIT
MAX_FUTURE = datetime.timedelta(minutes=5)
EARLIEST_TS = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
# Metrics are stored and aggregated as 64-bit floats: a larger integer cannot be one.
MAX_INT = int(1.7e308)
# An epoch number at or above this is milliseconds: as seconds it would be after the year 5138, and
# as milliseconds anything below it is before 1973, so the two readings never overlap for a plant's
# dates (2000 to 2286 in seconds; 2001 onwards in milliseconds).
EPOCH_MILLISECONDS_FROM = 1e11


@dataclass(slots=True)
class DecodedReading:
    """A well-formed reading whose machine has not been looked up yet."""

    topic: str
    # The message as it came, when it was this one reading in the contract's shape; None when the
    # reading was one of several in a message, or came in another shape (see `message_bytes`).
    payload: bytes | None
    machine_code: str
    ts: datetime.datetime
    metrics: dict[str, float]
    error_code: str
    # Whether PostgreSQL's jsonb takes the payload as it is, so the bulk write may send it whole
    # (services._readings_copy) instead of encoding the metrics again. JSON allows what jsonb
    # refuses, "\u0000" and unpaired surrogates, and only an escape can spell them.
    payload_jsonb_safe: bool = True

    def message_bytes(self, metrics: dict[str, float] | None = None) -> bytes:
        """This reading in the contract's shape (or with only `metrics`): what a rejection keeps."""
        if metrics is None and self.payload is not None:
            return self.payload
        document = {"ts": self.ts.isoformat(), "metrics": self.metrics if metrics is None else metrics}
        if self.error_code:
            document["error_code"] = self.error_code
        return json.dumps(document).encode()


@dataclass(slots=True)
class Rejection:
    topic: str
    payload: bytes
    reason: str
    machine_code: str = ""
    kind: str = RejectionKind.PAYLOAD

    def to_model(self, *, received_at: datetime.datetime) -> RejectedMessage:
        return RejectedMessage(
            topic=_text_storable(self.topic)[:255],
            machine_code=_text_storable(self.machine_code)[:64],
            payload=self.payload[:MAX_PAYLOAD_BYTES],
            payload_size=len(self.payload),
            reason=_text_storable(self.reason)[:500],
            kind=self.kind,
            received_at=received_at,
        )


@dataclass(slots=True)
class LinkChange:
    """A machine's link went down or came back, as its gateway said (Sparkplug B's deaths and births).

    A machine whose link is down gets the predictor's sensor warning at once, rather than once its
    readings are STALE_AFTER old."""

    machine_code: str
    at: datetime.datetime
    online: bool
    detail: str


DecodedItem = DecodedReading | Rejection | LinkChange


class MessageDecoder(Protocol):
    """One kind of payload: the topics it owns and how a message on them becomes items.

    `decode` runs on the MQTT client's network thread, one message at a time; it must not raise
    (a bad message is a Rejection) and must not touch the database."""

    name: str

    def topic_filters(self) -> Sequence[str]: ...

    def decode(self, topic: str, payload: bytes, *, now: datetime.datetime) -> list[DecodedItem]: ...


class PlantContract:
    """The contract of DESIGN.md: plant/<machine_code>/telemetry, a JSON object or an array of them."""

    name = "MaintainX contract"

    def topic_filters(self) -> Sequence[str]:
        return (TOPIC_FILTER,)

    def decode(self, topic: str, payload: bytes, *, now: datetime.datetime) -> list[DecodedItem]:
        return message_decode(topic, payload, now=now)


class MessageRouter:
    """The decoders the listener serves, and which one owns a topic (the first whose filter matches)."""

    def __init__(self, decoders: Iterable[MessageDecoder]):
        self.decoders = tuple(decoders)
        self._decoder_by_topic: dict[str, MessageDecoder | None] = {}

    def topic_filters(self) -> list[str]:
        filters: list[str] = []
        for decoder in self.decoders:
            filters.extend(f for f in decoder.topic_filters() if f not in filters)
        return filters

    def decoder_for(self, topic: str) -> MessageDecoder | None:
        try:
            return self._decoder_by_topic[topic]
        except KeyError:
            pass
        found = next((d for d in self.decoders if any(topic_matches_sub(f, topic) for f in d.topic_filters())), None)
        if len(self._decoder_by_topic) < _CACHE_LIMIT:
            self._decoder_by_topic[topic] = found
        return found

    def decode(self, topic: str, payload: bytes, *, now: datetime.datetime) -> list[DecodedItem]:
        decoder = self.decoder_for(topic)
        if decoder is None:
            # A retained message or an old subscription the broker still holds for our session.
            return [Rejection(topic, payload, f"no payload source owns the topic {topic!r}")]
        return decoder.decode(topic, payload, now=now)


def _text_storable(text: str) -> str:
    """Text a database column takes: PostgreSQL refuses NUL and unpaired surrogates, which a topic
    or a value quoted in a reason can carry."""
    if "\x00" in text or any("\ud800" <= character <= "\udfff" for character in text):
        return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return text


class ReadingRow(NamedTuple):
    """A reading ready to store: its machine is known and its metrics are the machine type's.

    A named tuple rather than a dataclass: the listener makes one per reading, and this is the
    cheapest immutable record to build.
    """

    machine_id: int
    machine_code: str
    ts: datetime.datetime
    metrics: dict[str, float]
    error_code: str = ""
    # The message it came in, when there was one: the database can take the metrics from it,
    # which costs less than encoding them again (see services._readings_copy).
    payload: bytes | None = None


# Small caches for the hot path: a plant has few topics and metric names, each checked by its
# pattern once. Bounded so that a sender inventing names cannot grow them without limit.
_CACHE_LIMIT = 10_000
_machine_code_by_topic: dict[str, str] = {}
_valid_metric_names: set[str] = set()


def _machine_code_of(topic: str) -> str | None:
    code = _machine_code_by_topic.get(topic)
    if code is None:
        match = TOPIC_PATTERN.fullmatch(topic)
        if match is None:
            return None
        code = match.group(1)
        if len(_machine_code_by_topic) < _CACHE_LIMIT:
            _machine_code_by_topic[topic] = code
    return code


def message_decode(topic: str, payload: bytes, *, now: datetime.datetime) -> list[DecodedItem]:
    """Check one message against the payload contract (DESIGN.md), without the database: one reading
    or its rejection for an object; for an array, each element on its own."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        limit_kib = MAX_PAYLOAD_BYTES // 1024
        return [Rejection(topic, payload, f"payload is {len(payload)} bytes, over the {limit_kib} KiB limit")]
    machine_code = _machine_code_of(topic)
    if machine_code is None:
        return [Rejection(topic, payload, f"topic {topic!r} does not match plant/<machine_code>/telemetry")]
    document, problem = json_document(payload)
    if problem is not None:
        return [Rejection(topic, payload, problem, machine_code)]
    if type(document) is dict:
        result = reading_decode(document, now=now)
        if type(result) is str:
            return [Rejection(topic, payload, result, machine_code)]
        ts, metrics, error_code = result
        return [DecodedReading(topic, payload, machine_code, ts, metrics, error_code, b"\\u" not in payload)]
    if type(document) is list:
        return _array_decode(topic, payload, document, machine_code, now=now)
    return [
        Rejection(topic, payload, f"payload is a JSON {_json_type(document)}, not an object or an array", machine_code)
    ]


def json_document(payload: bytes) -> tuple[object, str | None]:
    """(the payload's JSON document, None), or (None, why it is not JSON)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"payload is not UTF-8 (byte 0x{payload[exc.start]:02x} at position {exc.start})"
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f"payload is not JSON: {exc}"
    except RecursionError:
        return None, "payload is nested too deeply to be a reading"


def _array_decode(topic: str, payload: bytes, document: list, machine_code: str, *, now) -> list[DecodedItem]:
    """A gateway's batch: every element is a reading of its own, stored or rejected on its own."""
    if not document:
        return [Rejection(topic, payload, "payload is an empty JSON array: no readings", machine_code)]
    items: list[DecodedItem] = []
    count = len(document)
    for position, element in enumerate(document, start=1):
        result = (
            reading_decode(element, now=now)
            if type(element) is dict
            else f"a JSON {_json_type(element)}, not an object"
        )
        if type(result) is str:
            items.append(
                Rejection(topic, _element_bytes(element), f"reading {position} of {count}: {result}", machine_code)
            )
        else:
            ts, metrics, error_code = result
            items.append(DecodedReading(topic, None, machine_code, ts, metrics, error_code, False))
    return items


def _element_bytes(element) -> bytes:
    try:
        return json.dumps(element).encode("utf-8", "replace")
    except (ValueError, RecursionError):  # NaN and such were parsed, so they can be written again
        return repr(element).encode("utf-8", "replace")


def reading_decode(document: dict, *, now: datetime.datetime) -> tuple[datetime.datetime, dict, str] | str:
    """(ts, metrics, error_code) of one reading in the contract's shape, or the reason it is not one."""
    ts = ts_parse(document.get("ts"), now=now)
    if type(ts) is str:
        return ts

    metrics = document.get("metrics")
    if metrics is None:
        return "'metrics' is missing"
    if type(metrics) is not dict:
        return f"'metrics' must be an object, got a JSON {_json_type(metrics)}"
    if not metrics:
        return "'metrics' is empty"
    problem = metrics_problem(metrics)
    if problem:
        return problem

    error_code = document.get("error_code") or ""
    if type(error_code) is not str or (error_code and not ERROR_CODE_PATTERN.fullmatch(error_code)):
        return "'error_code' must be a short code such as E-BRG-01"
    return ts, metrics, error_code


def metrics_problem(metrics: dict) -> str | None:
    """Why these metrics are not storable (a name or a value), or None when they are."""
    for name, value in metrics.items():
        if name not in _valid_metric_names:
            if not METRIC_NAME_PATTERN.fullmatch(name):
                return f"metric name {name[:60]!r} is not lower_snake_case (at most 40 characters)"
            if len(_valid_metric_names) < _CACHE_LIMIT:
                _valid_metric_names.add(name)
        # Exact type checks on purpose: bool is an int subclass, and true is no measurement.
        value_type = type(value)
        if not ((value_type is float and math.isfinite(value)) or (value_type is int and -MAX_INT <= value <= MAX_INT)):
            return f"metric {name!r} {_metric_value_problem(value)}"
    return None


def _json_type(value) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return "number"
    return "object"


def _metric_value_problem(value) -> str:
    """Why a metric value that failed the fast check in metrics_problem is not a measurement."""
    if isinstance(value, bool):
        return f"must be a finite number, got {str(value).lower()}"
    if isinstance(value, int):
        return f"is out of range: {len(str(abs(value)))} digits, more than a 64-bit float holds"
    if isinstance(value, float):
        return f"must be a finite number, got {value}"
    shown = json.dumps(value)[:40] if not isinstance(value, str) else repr(value[:40])
    return f"must be a finite number, got a JSON {_json_type(value)} {shown}"


def ts_parse(raw, *, now: datetime.datetime) -> datetime.datetime | str:
    """The reading's instant, or the reason it is not acceptable.

    A number is epoch seconds, or epoch milliseconds from EPOCH_MILLISECONDS_FROM up (JavaScript's
    Date.now(), Node-RED, ThingsBoard). A string is ISO-8601 with a UTC offset."""
    raw_type = type(raw)
    if raw is None:
        return "'ts' is missing"
    if raw_type is bool:
        return "'ts' must be ISO-8601 with an offset or epoch seconds or milliseconds, got a boolean"
    if raw_type is int or raw_type is float:
        unit = "milliseconds" if raw >= EPOCH_MILLISECONDS_FROM else "seconds"
        try:
            ts = datetime.datetime.fromtimestamp(raw / 1000 if unit == "milliseconds" else raw, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return f"'ts' {str(raw)[:40]} is not a usable epoch time in {unit}"
    elif raw_type is str:
        try:
            ts = datetime.datetime.fromisoformat(raw)
        except ValueError:
            return f"'ts' {raw[:40]!r} is not ISO-8601"
        if ts.tzinfo is None:
            return f"'ts' {raw[:40]!r} has no UTC offset (add Z or +hh:mm)"
    else:
        return f"'ts' must be ISO-8601 with an offset or epoch seconds or milliseconds, got a JSON {_json_type(raw)}"
    if ts < EARLIEST_TS:
        return f"'ts' {ts.isoformat()} is before the year 2000"
    if ts > now + MAX_FUTURE:
        return f"'ts' {ts.isoformat()} is more than 5 minutes in the future"
    return ts


@dataclass(frozen=True, slots=True)
class PhysicalRange:
    """The values a metric's sensor can read at all; outside them the reading is a sensor fault."""

    metric: str
    low: float  # -inf when open
    high: float  # inf when open
    unit: str

    def text(self) -> str:
        if self.low == -math.inf:
            return f"at most {self.high:g} {self.unit}"
        if self.high == math.inf:
            return f"at least {self.low:g} {self.unit}"
        return f"{self.low:g} to {self.high:g} {self.unit}"


@dataclass(frozen=True, slots=True)
class MachineRef:
    id: int
    code: str
    type_name: str
    # Empty: the type lists no metrics yet (an auto-registered machine), so any metric is accepted.
    metric_names: frozenset[str]
    physical_ranges: tuple[PhysicalRange, ...] = ()


class MachineDirectory:
    """Machine codes to ids, metric names and physical ranges, cached and reloaded every
    `refresh_seconds`.

    A batch holding codes the cache does not know looks those codes up, in one query for the batch,
    so a machine registered in the admin is recognised by the first batch after its registration
    commits, and a flood from an unregistered sensor costs one indexed lookup a batch.
    """

    def __init__(
        self,
        *,
        auto_register: Callable[[str], Machine] | None = None,
        refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        # When set (TELEMETRY_AUTO_REGISTER=1), an unknown code is registered instead of rejected.
        self.auto_register = auto_register
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._machines: dict[str, MachineRef] = {}
        self._loaded_at = float("-inf")

    @staticmethod
    def _load(machines) -> dict[str, MachineRef]:
        refs = {}
        for machine in machines.select_related("machine_type").prefetch_related("machine_type__metrics"):
            specs = machine.machine_type.metrics.all()
            refs[machine.code] = MachineRef(
                id=machine.id,
                code=machine.code,
                type_name=machine.machine_type.name,
                metric_names=frozenset(spec.name for spec in specs),
                physical_ranges=tuple(
                    PhysicalRange(
                        spec.name,
                        -math.inf if spec.physical_min is None else spec.physical_min,
                        math.inf if spec.physical_max is None else spec.physical_max,
                        spec.unit,
                    )
                    for spec in specs
                    if spec.physical_min is not None or spec.physical_max is not None
                ),
            )
        return refs

    def reload(self) -> None:
        self._machines = self._load(Machine.objects.all())
        self._loaded_at = self._clock()

    def _look_up(self, codes: set[str]) -> None:
        """Add the machines among `codes` registered since the cache was loaded (registering them first
        when auto-registration is on)."""
        if self.auto_register is not None:
            for code in sorted(codes):
                self.auto_register(code)
        self._machines.update(self._load(Machine.objects.filter(code__in=codes)))

    def rows_from(self, decoded: list[DecodedReading]) -> tuple[list[ReadingRow], list[Rejection]]:
        """Readings whose machine is known, each with the metrics its type reports and its sensors can
        read; the rest kept as rejections: a whole reading whose machine is unknown, and just the
        metrics of a reading that its type does not report or that are physically impossible."""
        if self._clock() - self._loaded_at >= self.refresh_seconds:
            self.reload()
        unknown_codes = {reading.machine_code for reading in decoded} - self._machines.keys()
        if unknown_codes:
            self._look_up(unknown_codes)
        rows: list[ReadingRow] = []
        rejections: list[Rejection] = []
        for reading in decoded:
            machine = self._machines.get(reading.machine_code)
            if machine is None:
                rejections.append(
                    Rejection(
                        reading.topic,
                        reading.message_bytes(),
                        f"unknown machine {reading.machine_code!r}: register it in the admin "
                        "(or set TELEMETRY_AUTO_REGISTER=1)",
                        reading.machine_code,
                        RejectionKind.MACHINE,
                    )
                )
                continue
            metrics = reading.metrics
            if machine.metric_names and not machine.metric_names.issuperset(metrics):
                metrics = self._metrics_reported(reading, machine, rejections)
            if machine.physical_ranges:
                metrics = self._metrics_possible(reading, metrics, machine, rejections)
            if not metrics:
                continue
            whole = metrics is reading.metrics
            rows.append(
                ReadingRow(
                    machine.id,
                    machine.code,
                    reading.ts,
                    metrics,
                    reading.error_code,
                    reading.payload if whole and reading.payload_jsonb_safe else None,
                )
            )
        return rows, rejections

    @staticmethod
    def _metrics_reported(reading: DecodedReading, machine: MachineRef, rejections: list[Rejection]) -> dict:
        """The reading's metrics that the machine's type reports; the others kept as a rejection."""
        kept = {name: value for name, value in reading.metrics.items() if name in machine.metric_names}
        unknown = {name: value for name, value in reading.metrics.items() if name not in machine.metric_names}
        stored = f"; its {', '.join(kept)} stored" if kept else ""
        rejections.append(
            Rejection(
                reading.topic,
                reading.message_bytes(unknown),
                f"machine type {machine.type_name!r} does not report {', '.join(sorted(unknown))} "
                f"(it reports {', '.join(sorted(machine.metric_names))}){stored}",
                reading.machine_code,
                RejectionKind.METRIC,
            )
        )
        return kept

    @staticmethod
    def _metrics_possible(
        reading: DecodedReading, metrics: dict, machine: MachineRef, rejections: list[Rejection]
    ) -> dict:
        """The metrics within their sensors' physical range; the others kept as a rejection (which
        the predictor turns into a sensor warning for the machine)."""
        impossible = [
            (physical, metrics[physical.metric])
            for physical in machine.physical_ranges
            if physical.metric in metrics and not physical.low <= metrics[physical.metric] <= physical.high
        ]
        if not impossible:
            return metrics
        names = {physical.metric for physical, _ in impossible}
        kept = {name: value for name, value in metrics.items() if name not in names}
        stored = f"; its {', '.join(kept)} stored" if kept else ""
        problems = "; ".join(
            f"{physical.metric} {value:g} is outside what its sensor can read ({physical.text()})"
            for physical, value in impossible
        )
        rejections.append(
            Rejection(
                reading.topic,
                reading.message_bytes({physical.metric: value for physical, value in impossible}),
                f"{problems}: a sensor fault{stored}",
                reading.machine_code,
                RejectionKind.RANGE,
            )
        )
        return kept
