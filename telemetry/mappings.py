"""Decoding other gateways' payloads with the mappings a supervisor set up (PayloadSource).

A `MappedSource` is made from a source when the listener loads the sources (in its writer thread),
frozen, and then decodes on the MQTT network thread without the database: the source's paths are
parsed and its unit conversions resolved at load time (telemetry.mapping_rules, telemetry.units).

Every rejection names the source and the path that failed, e.g.
"source 'Telegraf JSON': 'timestamp' is missing".
"""

import datetime
import json
import math
import re
from collections.abc import Sequence

from telemetry.ingest import (
    EARLIEST_TS,
    MAX_FUTURE,
    MAX_INT,
    MAX_PAYLOAD_BYTES,
    DecodedItem,
    DecodedReading,
    Rejection,
    json_document,
    metrics_problem,
    ts_parse,
)
from telemetry.mapping_rules import MISSING, Path, SourceSpec, TimeFormat, path_get, path_text
from telemetry.models import PayloadSource

# A machine code as the contract's topic allows it (telemetry.ingest.TOPIC_PATTERN's level).
MACHINE_CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


class MappedSource:
    """A MessageDecoder for one payload source."""

    def __init__(self, spec: SourceSpec):
        self.spec = spec
        self.name = spec.name
        self._prefix = f"source {spec.name!r}: "
        # In a document without a metrics path, its own members are the metrics, less the members
        # that hold the time and the machine code.
        self._not_metrics = {spec.ts_path[0]} | ({spec.machine_path[0]} if spec.machine_path else set())

    @classmethod
    def from_source(cls, source: PayloadSource) -> "MappedSource":
        """ValueError when the source's settings do not hold (saved around its validation)."""
        spec, problems = source.spec_build()
        if spec is None:
            shown = "; ".join(f"{setting}: {text}" for setting, texts in problems.items() for text in texts)
            raise ValueError(f"payload source {source.name!r} is not usable: {shown}")
        return cls(spec)

    def __repr__(self):
        return f"MappedSource({self.name!r}, {self.spec.topic_filter!r})"

    def topic_filters(self) -> Sequence[str]:
        return (self.spec.topic_filter,)

    def decode(self, topic: str, payload: bytes, *, now: datetime.datetime) -> list[DecodedItem]:
        if len(payload) > MAX_PAYLOAD_BYTES:
            limit_kib = MAX_PAYLOAD_BYTES // 1024
            return [self._rejection(topic, payload, f"payload is {len(payload)} bytes, over the {limit_kib} KiB limit")]
        topic_code = ""
        if self.spec.machine_topic_level is not None:
            levels = topic.split("/")
            level = self.spec.machine_topic_level
            if level >= len(levels):
                return [self._rejection(topic, payload, f"topic {topic!r} has no level {level} for the machine code")]
            topic_code = levels[level]
            if not MACHINE_CODE_PATTERN.fullmatch(topic_code):
                return [
                    self._rejection(topic, payload, f"topic level {level} {topic_code[:40]!r} is not a machine code")
                ]
        document, problem = json_document(payload)
        if problem is not None:
            return [self._rejection(topic, payload, problem, topic_code)]
        if self.spec.readings_path:
            readings = path_get(document, self.spec.readings_path)
            where = path_text(self.spec.readings_path)
            if readings is MISSING:
                return [self._rejection(topic, payload, f"{where!r} is missing", topic_code)]
            if type(readings) is not list:
                return [self._rejection(topic, payload, f"{where!r} must be an array of readings", topic_code)]
            envelope = document if type(document) is dict else None
            return self._array_decode(topic, payload, readings, envelope, topic_code, now=now)
        if type(document) is list:
            return self._array_decode(topic, payload, document, None, topic_code, now=now)
        if type(document) is not dict:
            return [self._rejection(topic, payload, "payload is not a JSON object or array", topic_code)]
        result = self._reading_decode(topic, document, None, topic_code, now=now)
        if type(result) is str:
            code = topic_code or self._code_or_blank(document, None)
            return [self._rejection(topic, payload, result, code)]
        return [result]

    # --- one reading ----------------------------------------------------------------------------

    def _array_decode(
        self, topic: str, payload: bytes, elements: list, envelope: dict | None, topic_code: str, *, now
    ) -> list[DecodedItem]:
        """Each element a reading of its own, stored or rejected on its own (as ingest's arrays)."""
        if not elements:
            return [self._rejection(topic, payload, "the array of readings is empty", topic_code)]
        items: list[DecodedItem] = []
        count = len(elements)
        for position, element in enumerate(elements, start=1):
            if type(element) is dict:
                result = self._reading_decode(topic, element, envelope, topic_code, now=now)
            else:
                result = "a reading must be a JSON object"
            if type(result) is str:
                code = topic_code or self._code_or_blank(element, envelope)
                items.append(
                    self._rejection(topic, _element_bytes(element), f"reading {position} of {count}: {result}", code)
                )
            else:
                items.append(result)
        return items

    def _lookup(self, reading: dict, envelope: dict | None, keys: Path) -> object:
        """The value at `keys` in the reading, else in the document around it."""
        value = path_get(reading, keys)
        if value is MISSING and envelope is not None:
            value = path_get(envelope, keys)
        return value

    def _code_or_blank(self, reading: object, envelope: dict | None) -> str:
        if not self.spec.machine_path:
            return ""
        code = self._lookup(reading if type(reading) is dict else {}, envelope, self.spec.machine_path)
        return code if type(code) is str else ""

    def _reading_decode(
        self, topic: str, reading: dict, envelope: dict | None, topic_code: str, *, now: datetime.datetime
    ) -> DecodedReading | str:
        """One reading, or the reason it is not one."""
        spec = self.spec
        machine_code = topic_code
        if not machine_code:
            machine_code, problem = self._machine_code(reading, envelope)
            if problem:
                return problem
        ts = self._ts(self._lookup(reading, envelope, spec.ts_path), now=now)
        if type(ts) is str:
            return ts
        metrics = self._metrics(reading)
        if type(metrics) is str:
            return metrics
        # No payload to keep: the message is not in the contract's shape (DecodedReading.message_bytes
        # writes one when a part of it is rejected later).
        return DecodedReading(topic, None, machine_code, ts, metrics, "", False)

    def _machine_code(self, reading: dict, envelope: dict | None) -> tuple[str, str | None]:
        """(the code, None) or ("", why there is none)."""
        where = path_text(self.spec.machine_path)
        code = self._lookup(reading, envelope, self.spec.machine_path)
        if code is MISSING:
            return "", f"{where!r} is missing"
        if type(code) is int:
            code = str(code)  # a numeric device id
        if type(code) is not str or not MACHINE_CODE_PATTERN.fullmatch(code):
            shown = repr(code[:40]) if type(code) is str else f"({_shown(code)})"
            return "", f"{where!r} {shown} is not a machine code"
        return code, None

    def _ts(self, raw: object, *, now: datetime.datetime) -> datetime.datetime | str:
        where = repr(path_text(self.spec.ts_path))
        if raw is MISSING or raw is None:
            return f"{where} is missing"
        time_format = self.spec.ts_format
        if type(raw) is int and not -MAX_INT <= raw <= MAX_INT:
            # ts_parse would raise dividing it into milliseconds (an int no float holds).
            return f"{where} is a number of {len(str(abs(raw)))} digits, not a usable epoch time"
        if time_format == TimeFormat.AUTO:
            ts = ts_parse(raw, now=now)
            # ts_parse names the contract's member; name the source's path instead.
            return ts.replace("'ts'", where, 1) if type(ts) is str else ts
        is_number = type(raw) in (int, float)
        if time_format == TimeFormat.ISO_8601:
            if type(raw) is not str:
                return f"{where} must be ISO-8601 text"
            ts = ts_parse(raw, now=now)
            return ts.replace("'ts'", where, 1) if type(ts) is str else ts
        unit = "milliseconds" if time_format == TimeFormat.EPOCH_MILLISECONDS else "seconds"
        if not is_number:
            return f"{where} must be a number of epoch {unit}"
        try:
            # Inside the try: an integer too large for a float overflows in the division already.
            seconds = raw / 1000 if time_format == TimeFormat.EPOCH_MILLISECONDS else raw
            ts = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return f"{where} {raw} is not a usable epoch time in {unit}"
        if ts < EARLIEST_TS:
            return f"{where} {ts.isoformat()} is before the year 2000 (are these epoch {unit}?)"
        if ts > now + MAX_FUTURE:
            return f"{where} {ts.isoformat()} is more than 5 minutes in the future (are these epoch {unit}?)"
        return ts

    def _metrics(self, reading: dict) -> dict[str, float] | str:
        spec = self.spec
        if spec.metrics_path:
            where = path_text(spec.metrics_path)
            fields = path_get(reading, spec.metrics_path)
            if fields is MISSING:
                return f"{where!r} is missing"
            if type(fields) is not dict:
                return f"{where!r} must be an object of metrics"
            prefix = f"{where}."
        else:
            fields = {name: value for name, value in reading.items() if name not in self._not_metrics}
            prefix = ""
        metrics: dict[str, float] = {}
        origin: dict[str, str] = {}
        for field, raw in fields.items():
            value = raw
            mapping = spec.field_mappings.get(field)
            if mapping is None and spec.only_mapped_fields:
                continue
            metric = field if mapping is None else mapping.metric
            if metric in origin:
                return f"{prefix + origin[metric]!r} and {prefix + field!r} both give metric {metric!r}"
            if not _is_number(value):
                return f"{prefix + field!r} must be a finite number, got {_shown(value)}"
            if mapping is not None and mapping.conversion is not None:
                value = mapping.conversion.apply(value)
                if not math.isfinite(value):
                    return f"{prefix + field!r} is too large to convert from {mapping.from_unit} to {mapping.to_unit}"
                # 12 significant digits, far past any sensor's, drop the binary noise of the factor
                # (0.1 in/s is 2.54 mm/s, not 2.5400000000000005) that charts and exports would show.
                value = float(f"{value:.12g}")
            metrics[metric] = value
            origin[metric] = field
        if not metrics:
            where = repr(path_text(spec.metrics_path)) if spec.metrics_path else "the document"
            mapped = " that the mappings name" if spec.only_mapped_fields else ""
            return f"{where} holds no metrics{mapped}"
        return metrics_problem(metrics) or metrics

    def _rejection(self, topic: str, payload: bytes, reason: str, machine_code: str = "") -> Rejection:
        return Rejection(topic, payload, self._prefix + reason, machine_code)


def _is_number(value: object) -> bool:
    # Exact types, as ingest.metrics_problem: bool is an int subclass, and true is no measurement.
    value_type = type(value)
    return (value_type is float and math.isfinite(value)) or (value_type is int and -MAX_INT <= value <= MAX_INT)


def _shown(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return str(value).lower()
    if type(value) is str:
        return repr(value[:40])
    if type(value) is int:
        return f"a number of {len(str(abs(value)))} digits, more than a 64-bit float holds"
    if type(value) in (list, dict):
        return "a JSON " + ("array" if type(value) is list else "object")
    return repr(value)


def _element_bytes(element: object) -> bytes:
    try:
        return json.dumps(element).encode("utf-8", "replace")
    except (ValueError, RecursionError):  # NaN and such were parsed, so they can be written again
        return repr(element).encode("utf-8", "replace")
