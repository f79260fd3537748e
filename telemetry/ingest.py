"""Turning MQTT messages into readings: decoding, validation and machine lookup.

Plain functions and classes, called by the listener and by the tests without a broker. A message
that cannot become a reading becomes a `Rejection` with a reason a person can read; nothing here
raises on bad input.
"""

import datetime
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from telemetry.models import Machine, RejectedMessage

TOPIC_PATTERN = re.compile(r"plant/([A-Za-z0-9][A-Za-z0-9_.-]{0,31})/telemetry")
METRIC_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
ERROR_CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
MAX_PAYLOAD_BYTES = RejectedMessage.PAYLOAD_LIMIT
MAX_FUTURE = datetime.timedelta(minutes=5)
EARLIEST_TS = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
# Metrics are stored and aggregated as 64-bit floats: a larger integer cannot be one.
MAX_INT = int(1.7e308)


@dataclass(slots=True)
class DecodedReading:
    """A well-formed reading whose machine has not been looked up yet."""

    topic: str
    payload: bytes
    machine_code: str
    ts: datetime.datetime
    metrics: dict[str, float]
    error_code: str
    # Whether PostgreSQL's jsonb takes the payload as it is, so the bulk write may send it whole
    # (services._readings_copy) instead of encoding the metrics again. JSON allows what jsonb
    # refuses, "\u0000" and unpaired surrogates, and only an escape can spell them.
    payload_jsonb_safe: bool = True


@dataclass(slots=True)
class Rejection:
    topic: str
    payload: bytes
    reason: str
    machine_code: str = ""

    def to_model(self, *, received_at: datetime.datetime) -> RejectedMessage:
        return RejectedMessage(
            topic=_text_storable(self.topic)[:255],
            machine_code=_text_storable(self.machine_code)[:64],
            payload=self.payload[:MAX_PAYLOAD_BYTES],
            payload_size=len(self.payload),
            reason=_text_storable(self.reason)[:500],
            received_at=received_at,
        )


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


def message_decode(topic: str, payload: bytes, *, now: datetime.datetime) -> DecodedReading | Rejection:
    """Check one message against the payload contract (DESIGN.md), without the database."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        limit_kib = MAX_PAYLOAD_BYTES // 1024
        return Rejection(topic, payload, f"payload is {len(payload)} bytes, over the {limit_kib} KiB limit")
    machine_code = _machine_code_of(topic)
    if machine_code is None:
        return Rejection(topic, payload, f"topic {topic!r} does not match plant/<machine_code>/telemetry")
    result = _document_decode(payload, now=now)
    if isinstance(result, str):
        return Rejection(topic, payload, result, machine_code)
    ts, metrics, error_code = result
    return DecodedReading(topic, payload, machine_code, ts, metrics, error_code, b"\\u" not in payload)


def _document_decode(payload: bytes, *, now: datetime.datetime) -> tuple[datetime.datetime, dict, str] | str:
    """(ts, metrics, error_code) of a well-formed payload, or the reason it is not."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"payload is not UTF-8 (byte 0x{payload[exc.start]:02x} at position {exc.start})"
    try:
        document = json.loads(text)
    except ValueError as exc:
        return f"payload is not JSON: {exc}"
    except RecursionError:
        return "payload is nested too deeply to be a reading"
    if type(document) is not dict:
        return f"payload is a JSON {_json_type(document)}, not an object"

    ts = _ts_parse(document.get("ts"), now=now)
    if type(ts) is str:
        return ts

    metrics = document.get("metrics")
    if metrics is None:
        return "'metrics' is missing"
    if type(metrics) is not dict:
        return f"'metrics' must be an object, got a JSON {_json_type(metrics)}"
    if not metrics:
        return "'metrics' is empty"
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

    error_code = document.get("error_code") or ""
    if type(error_code) is not str or (error_code and not ERROR_CODE_PATTERN.fullmatch(error_code)):
        return "'error_code' must be a short code such as E-BRG-01"
    return ts, metrics, error_code


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
    """Why a metric value that failed the fast check in _document_decode is not a measurement."""
    if isinstance(value, bool):
        return f"must be a finite number, got {str(value).lower()}"
    if isinstance(value, int):
        return f"is out of range: {len(str(abs(value)))} digits, more than a 64-bit float holds"
    if isinstance(value, float):
        return f"must be a finite number, got {value}"
    shown = json.dumps(value)[:40] if not isinstance(value, str) else repr(value[:40])
    return f"must be a finite number, got a JSON {_json_type(value)} {shown}"


def _ts_parse(raw, *, now: datetime.datetime) -> datetime.datetime | str:
    """The reading's instant, or the reason it is not acceptable."""
    raw_type = type(raw)
    if raw is None:
        return "'ts' is missing"
    if raw_type is bool:
        return "'ts' must be ISO-8601 with an offset or epoch seconds, got a boolean"
    if raw_type is int or raw_type is float:
        try:
            ts = datetime.datetime.fromtimestamp(raw, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return f"'ts' {raw} is not a usable epoch time in seconds"
    elif raw_type is str:
        try:
            ts = datetime.datetime.fromisoformat(raw)
        except ValueError:
            return f"'ts' {raw[:40]!r} is not ISO-8601"
        if ts.tzinfo is None:
            return f"'ts' {raw[:40]!r} has no UTC offset (add Z or +hh:mm)"
    else:
        return f"'ts' must be ISO-8601 with an offset or epoch seconds, got a JSON {_json_type(raw)}"
    if ts < EARLIEST_TS:
        return f"'ts' {ts.isoformat()} is before the year 2000"
    if ts > now + MAX_FUTURE:
        return f"'ts' {ts.isoformat()} is more than 5 minutes in the future"
    return ts


@dataclass(frozen=True, slots=True)
class MachineRef:
    id: int
    code: str
    type_name: str
    # Empty: the type lists no metrics yet (an auto-registered machine), so any metric is accepted.
    metric_names: frozenset[str]


class MachineDirectory:
    """Machine codes to ids and metric names, cached and reloaded every `refresh_seconds`.

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
        return {
            machine.code: MachineRef(
                id=machine.id,
                code=machine.code,
                type_name=machine.machine_type.name,
                metric_names=frozenset(metric.name for metric in machine.machine_type.metrics.all()),
            )
            for machine in machines.select_related("machine_type").prefetch_related("machine_type__metrics")
        }

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
        """Readings whose machine is known and whose metrics its type reports; the rest rejected."""
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
                        reading.payload,
                        f"unknown machine {reading.machine_code!r}: register it in the admin "
                        "(or set TELEMETRY_AUTO_REGISTER=1)",
                        reading.machine_code,
                    )
                )
                continue
            if machine.metric_names and not machine.metric_names.issuperset(reading.metrics):
                unknown = sorted(set(reading.metrics) - machine.metric_names)
                rejections.append(
                    Rejection(
                        reading.topic,
                        reading.payload,
                        f"machine type {machine.type_name!r} does not report {', '.join(unknown)} "
                        f"(it reports {', '.join(sorted(machine.metric_names))})",
                        reading.machine_code,
                    )
                )
                continue
            rows.append(
                ReadingRow(
                    machine.id,
                    machine.code,
                    reading.ts,
                    reading.metrics,
                    reading.error_code,
                    reading.payload if reading.payload_jsonb_safe else None,
                )
            )
        return rows, rejections
