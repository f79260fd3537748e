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

from telemetry.models import Machine, RejectedMessage

TOPIC_PATTERN = re.compile(r"plant/([A-Za-z0-9][A-Za-z0-9_.-]{0,31})/telemetry")
METRIC_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
ERROR_CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
MAX_PAYLOAD_BYTES = RejectedMessage.PAYLOAD_LIMIT
MAX_FUTURE = datetime.timedelta(minutes=5)
EARLIEST_TS = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


@dataclass(slots=True)
class DecodedReading:
    """A well-formed reading whose machine has not been looked up yet."""

    topic: str
    payload: bytes
    machine_code: str
    ts: datetime.datetime
    metrics: dict[str, float]
    error_code: str


@dataclass(slots=True)
class Rejection:
    topic: str
    payload: bytes
    reason: str
    machine_code: str = ""

    def to_model(self, *, received_at: datetime.datetime) -> RejectedMessage:
        return RejectedMessage(
            topic=self.topic[:255],
            machine_code=self.machine_code[:64],
            payload=self.payload[:MAX_PAYLOAD_BYTES],
            payload_size=len(self.payload),
            reason=self.reason[:500],
            received_at=received_at,
        )


@dataclass(frozen=True, slots=True)
class ReadingRow:
    """A reading ready to store: its machine is known and its metrics are the machine type's."""

    machine_id: int
    machine_code: str
    ts: datetime.datetime
    metrics: dict[str, float]
    error_code: str = ""


def message_decode(topic: str, payload: bytes, *, now: datetime.datetime) -> DecodedReading | Rejection:
    """Check one message against the payload contract (DESIGN.md), without the database."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejection(
            topic, payload, f"payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES // 1024} KiB limit"
        )
    match = TOPIC_PATTERN.fullmatch(topic)
    if match is None:
        return Rejection(topic, payload, f"topic {topic!r} does not match plant/<machine_code>/telemetry")
    machine_code = match.group(1)

    def reject(reason: str) -> Rejection:
        return Rejection(topic, payload, reason, machine_code)

    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return reject(f"payload is not UTF-8 (byte 0x{payload[exc.start]:02x} at position {exc.start})")
    try:
        document = json.loads(text)
    except ValueError as exc:
        return reject(f"payload is not JSON: {exc}")
    if not isinstance(document, dict):
        return reject(f"payload is a JSON {_json_type(document)}, not an object")

    ts = _ts_parse(document.get("ts"), now=now)
    if isinstance(ts, str):
        return reject(ts)

    metrics = document.get("metrics")
    if metrics is None:
        return reject("'metrics' is missing")
    if not isinstance(metrics, dict):
        return reject(f"'metrics' must be an object, got a JSON {_json_type(metrics)}")
    if not metrics:
        return reject("'metrics' is empty")
    for name, value in metrics.items():
        if not METRIC_NAME_PATTERN.fullmatch(name):
            return reject(f"metric name {name[:60]!r} is not lower_snake_case (at most 40 characters)")
        problem = _metric_value_problem(value)
        if problem:
            return reject(f"metric {name!r} {problem}")

    error_code = document.get("error_code", "")
    if error_code is None:
        error_code = ""
    if not isinstance(error_code, str) or (error_code and not ERROR_CODE_PATTERN.fullmatch(error_code)):
        return reject("'error_code' must be a short code such as E-BRG-01")

    return DecodedReading(topic, payload, machine_code, ts, metrics, error_code)


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


def _metric_value_problem(value) -> str | None:
    # bool is an int in Python; a sensor that sends true has sent no measurement.
    if isinstance(value, bool):
        return f"must be a finite number, got {str(value).lower()}"
    if isinstance(value, int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"must be a finite number, got {value}"
    shown = json.dumps(value)[:40] if not isinstance(value, str) else repr(value[:40])
    return f"must be a finite number, got a JSON {_json_type(value)} {shown}"


def _ts_parse(raw, *, now: datetime.datetime) -> datetime.datetime | str:
    """The reading's instant, or the reason it is not acceptable."""
    if raw is None:
        return "'ts' is missing"
    if isinstance(raw, bool):
        return "'ts' must be ISO-8601 with an offset or epoch seconds, got a boolean"
    if isinstance(raw, int | float):
        try:
            ts = datetime.datetime.fromtimestamp(raw, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return f"'ts' {raw} is not a usable epoch time in seconds"
    elif isinstance(raw, str):
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
    """Machine codes to ids and metric names, cached; reloaded when stale or on an unknown code.

    An unknown code triggers at most one reload per `refresh_seconds`, so a flood of messages from
    an unregistered sensor costs one query, not one per message.
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
        self._loaded_at: float | None = None

    def reload(self) -> None:
        machines = {}
        for machine in Machine.objects.select_related("machine_type").prefetch_related("machine_type__metrics"):
            machines[machine.code] = MachineRef(
                id=machine.id,
                code=machine.code,
                type_name=machine.machine_type.name,
                metric_names=frozenset(metric.name for metric in machine.machine_type.metrics.all()),
            )
        self._machines = machines
        self._loaded_at = self._clock()

    def _stale(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self.refresh_seconds

    def resolve(self, code: str) -> MachineRef | None:
        if self._stale():
            self.reload()
        machine = self._machines.get(code)
        if machine is None and self.auto_register is not None:
            self.auto_register(code)
            self.reload()
            machine = self._machines.get(code)
        return machine

    def rows_from(self, decoded: list[DecodedReading]) -> tuple[list[ReadingRow], list[Rejection]]:
        """Readings whose machine is known and whose metrics its type reports; the rest rejected."""
        rows: list[ReadingRow] = []
        rejections: list[Rejection] = []
        for reading in decoded:
            machine = self.resolve(reading.machine_code)
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
            rows.append(ReadingRow(machine.id, machine.code, reading.ts, reading.metrics, reading.error_code))
        return rows, rejections
