"""What a payload source's settings mean, and whether they make sense: plain Python shared by the model's
validation (PayloadSource.clean) and the decoder built from it (telemetry.mappings.MappedSource).

Paths
-----
A path names one value in a JSON document, by the keys that lead to it, joined by dots::

    path    := key ("." key)*
    key     := one or more characters other than "." (spaces kept as they are)

`tags.host` is `document["tags"]["host"]`. A key made only of digits also indexes an array
(`readings.0.ts`), counting from 0. There is nothing else: no wildcards, filters or expressions,
and a key that itself holds a dot cannot be named.

Topic filters
-------------
An MQTT filter with `+` (one level) and `#` (the rest). The listener adds `$share/<group>/` itself,
so a filter may not start with `$`; it may not overlap the topics that MaintainX decodes itself
(the contract's `plant/+/telemetry` and Sparkplug B's `spBv1.0/#`) nor, when both are enabled,
another payload source's filter: a message must have one owner.

Field mappings
--------------
A JSON object from the gateway's field name (a member of the metrics object) to what it becomes::

    {"vib_ips": {"metric": "vibration", "from_unit": "in/s", "to_unit": "mm/s"},
     "temp": "temperature",
     "temp_f": {"metric": "temperature", "from_unit": "°F", "to_unit": "°C"}}

A string is a rename; an object may rename (`metric`, default the field's own name) and convert
(`from_unit` and `to_unit`, both or neither; see telemetry.units). Declaring the target unit in the
mapping, rather than looking up the machine type's, keeps decoding free of the database; the admin's
preview warns when it differs from the unit of the machine types that report the metric.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from telemetry.mqtt import TOPIC_FILTER
from telemetry.units import Conversion, conversion_find, conversions_from

# The topics MaintainX decodes itself: the contract's and Sparkplug B's namespace.
RESERVED_FILTERS = (TOPIC_FILTER, "spBv1.0/#")
# The same rule as the contract's metric names (telemetry.ingest.METRIC_NAME_PATTERN), which this
# module cannot import: the models validate with it, and ingest imports the models.
METRIC_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_PATH_LENGTH = 200
_MAPPING_KEYS = {"metric", "from_unit", "to_unit"}

Path = tuple[str, ...]


class TimeFormat:
    AUTO = "auto"
    EPOCH_SECONDS = "epoch_s"
    EPOCH_MILLISECONDS = "epoch_ms"
    ISO_8601 = "iso8601"

    CHOICES = (
        (AUTO, "Automatic: ISO-8601, epoch seconds, or epoch milliseconds from 1e11 up"),
        (EPOCH_SECONDS, "Epoch seconds"),
        (EPOCH_MILLISECONDS, "Epoch milliseconds"),
        (ISO_8601, "ISO-8601 with a UTC offset"),
    )
    VALUES = tuple(value for value, _ in CHOICES)


def path_parse(text: str) -> Path:
    """The keys of a path (see the module's grammar); ValueError says what is wrong with it."""
    if not text:
        raise ValueError("a path cannot be empty")
    if len(text) > MAX_PATH_LENGTH:
        raise ValueError(f"a path has at most {MAX_PATH_LENGTH} characters")
    keys = tuple(text.split("."))
    if any(key == "" for key in keys):
        raise ValueError(f"{text!r} has an empty key: write keys joined by single dots, e.g. tags.host")
    return keys


class _Missing:
    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


def path_get(document: object, keys: Path) -> object:
    """The value at `keys` in the document, or MISSING."""
    value = document
    for key in keys:
        if type(value) is dict:
            if key not in value:
                return MISSING
            value = value[key]
        elif type(value) is list and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return MISSING
    return value


def path_text(keys: Path) -> str:
    return ".".join(keys)


# --- topic filters ----------------------------------------------------------------------------


def topic_filter_problem(topic_filter: str) -> str | None:
    """Why this is not a filter a payload source may own, or None."""
    if not topic_filter:
        return "give the MQTT topic filter the gateway publishes on, e.g. telegraf/#"
    if topic_filter.startswith("$"):
        return (
            "a filter cannot start with '$': the listener adds $share/<group>/ itself, and $SYS topics are the broker's"
        )
    if "\x00" in topic_filter:
        return "a filter cannot hold a NUL character"
    levels = topic_filter.split("/")
    for position, level in enumerate(levels):
        if "#" in level and (level != "#" or position != len(levels) - 1):
            return "'#' must be a whole level and the last one (e.g. telegraf/#)"
        if "+" in level and level != "+":
            return "'+' must be a whole level (e.g. thingsboard/+/telemetry)"
    for reserved in RESERVED_FILTERS:
        if filters_overlap(topic_filter, reserved):
            return f"it overlaps {reserved}, whose messages MaintainX decodes itself"
    return None


def filters_overlap(first: str, second: str) -> bool:
    """Whether some topic matches both filters."""
    return _levels_overlap(first.split("/"), second.split("/"))


def _levels_overlap(first: list[str], second: list[str]) -> bool:
    if (first and first[0] == "#") or (second and second[0] == "#"):
        # '#' also matches its parent level ("a/#" matches "a"), so it meets whatever is left.
        return True
    if not first or not second:
        return not first and not second
    if first[0] != second[0] and "+" not in (first[0], second[0]):
        return False
    return _levels_overlap(first[1:], second[1:])


def topic_level_problem(topic_filter: str, level: int) -> str | None:
    """Why topics matching the filter may not have a machine code at this level (0-based), or None."""
    levels = topic_filter.split("/")
    if levels[-1] == "#" and level >= len(levels) - 1:
        return None  # at or past '#': the topics that have this level carry the code there
    if level >= len(levels):
        return f"{topic_filter!r} has levels 0 to {len(levels) - 1}, so no topic it matches has a level {level}"
    if levels[level] == "":
        return f"level {level} of {topic_filter!r} is empty"
    return None


# --- field mappings ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """What one gateway field becomes: its metric name and, when the units differ, its conversion."""

    field: str
    metric: str
    from_unit: str = ""
    to_unit: str = ""
    conversion: Conversion | None = None


def field_mappings_parse(value: object) -> tuple[dict[str, FieldMapping], list[str]]:
    """The mappings by field name, and the problems that made any of them unusable."""
    if value in (None, ""):
        return {}, []
    if not isinstance(value, Mapping):
        return {}, ['field mappings must be a JSON object: {"gateway field": "metric", ...}']
    mappings: dict[str, FieldMapping] = {}
    problems: list[str] = []
    for field, target in value.items():
        mapping = _field_mapping_parse(field, target, problems)
        if mapping is not None:
            mappings[field] = mapping
    by_metric: dict[str, list[str]] = {}
    for mapping in mappings.values():
        by_metric.setdefault(mapping.metric, []).append(mapping.field)
    for metric, fields in by_metric.items():
        if len(fields) > 1:
            problems.append(f"fields {', '.join(repr(f) for f in sorted(fields))} all map to metric {metric!r}")
    return mappings, problems


def _field_mapping_parse(field: str, target: object, problems: list[str]) -> FieldMapping | None:
    if not field:
        problems.append("a field name cannot be empty")
        return None
    if isinstance(target, str):
        target = {"metric": target}
    if not isinstance(target, Mapping):
        problems.append(f"{field!r}: give a metric name or an object with metric, from_unit and to_unit")
        return None
    unknown = set(target) - _MAPPING_KEYS
    if unknown:
        problems.append(f"{field!r}: unknown keys {', '.join(sorted(unknown))} (use metric, from_unit, to_unit)")
        return None
    metric = target.get("metric", field)
    if not isinstance(metric, str) or not METRIC_NAME_PATTERN.fullmatch(metric):
        problems.append(f"{field!r}: metric {metric!r} is not lower_snake_case (at most 40 characters)")
        return None
    from_unit, to_unit = target.get("from_unit", ""), target.get("to_unit", "")
    if not isinstance(from_unit, str) or not isinstance(to_unit, str):
        problems.append(f'{field!r}: units are text, e.g. "in/s"')
        return None
    if bool(from_unit.strip()) != bool(to_unit.strip()):
        problems.append(f"{field!r}: give both from_unit and to_unit, or neither")
        return None
    if not from_unit.strip():
        return FieldMapping(field, metric)
    conversion = conversion_find(from_unit, to_unit)
    if conversion is None:
        known = conversions_from(from_unit)
        offered = f" (from {from_unit!r}: {', '.join(known)})" if len(known) > 1 else ""
        problems.append(f"{field!r}: no conversion from {from_unit!r} to {to_unit!r}{offered}")
        return None
    return FieldMapping(field, metric, from_unit, to_unit, None if conversion.is_identity else conversion)


# --- a whole source ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A payload source's settings, checked and parsed: all a decoder needs, with no database."""

    name: str
    topic_filter: str
    machine_topic_level: int | None
    machine_path: Path
    ts_path: Path
    ts_format: str
    metrics_path: Path
    readings_path: Path
    field_mappings: Mapping[str, FieldMapping]
    only_mapped_fields: bool


def source_spec_build(
    *,
    name: str,
    topic_filter: str,
    machine_topic_level: int | None,
    machine_path: str,
    ts_path: str,
    ts_format: str,
    metrics_path: str,
    readings_path: str,
    field_mappings: object,
    only_mapped_fields: bool,
) -> tuple[SourceSpec | None, dict[str, list[str]]]:
    """(the spec, {}) or (None, the problems by setting): what clean() reports and the decoder is built from."""
    problems: dict[str, list[str]] = {}

    def problem(setting: str, text: str) -> None:
        problems.setdefault(setting, []).append(text)

    def parsed(setting: str, text: str, *, optional: bool = True) -> Path:
        if not text and optional:
            return ()
        try:
            return path_parse(text)
        except ValueError as exc:
            problem(setting, str(exc))
            return ()

    filter_problem = topic_filter_problem(topic_filter)
    if filter_problem:
        problem("topic_filter", filter_problem)
    if (machine_topic_level is None) == (not machine_path):
        problem("machine_path", "take the machine code either from a topic level or from a path, not both")
    elif machine_topic_level is not None and not filter_problem:
        level_problem = topic_level_problem(topic_filter, machine_topic_level)
        if level_problem:
            problem("machine_topic_level", level_problem)
    machine_keys = parsed("machine_path", machine_path)
    ts_keys = parsed("ts_path", ts_path, optional=False)
    if ts_format not in TimeFormat.VALUES:
        problem("ts_format", f"choose one of {', '.join(TimeFormat.VALUES)}")
    metrics_keys = parsed("metrics_path", metrics_path)
    readings_keys = parsed("readings_path", readings_path)
    if metrics_keys and metrics_keys in (ts_keys, machine_keys):
        problem("metrics_path", "the metrics cannot be at the same path as the time or the machine code")
    if readings_keys and readings_keys in (ts_keys, machine_keys, metrics_keys):
        problem("readings_path", "the readings cannot be at the same path as the time, the machine or the metrics")
    mappings, mapping_problems = field_mappings_parse(field_mappings)
    for text in mapping_problems:
        problem("field_mappings", text)
    if only_mapped_fields and not mappings and not mapping_problems:
        problem("field_mappings", "only mapped fields are stored, so map at least one")
    if problems:
        return None, problems
    return (
        SourceSpec(
            name=name,
            topic_filter=topic_filter,
            machine_topic_level=machine_topic_level,
            machine_path=machine_keys,
            ts_path=ts_keys,
            ts_format=ts_format,
            metrics_path=metrics_keys,
            readings_path=readings_keys,
            field_mappings=mappings,
            only_mapped_fields=only_mapped_fields,
        ),
        {},
    )
