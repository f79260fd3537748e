"""The payload contract: what becomes a reading, and the reason for everything that does not."""

import datetime
import json

import pytest

from telemetry.ingest import DecodedReading, MachineDirectory, Rejection, message_decode
from telemetry.models import Machine
from telemetry.services import machine_auto_register
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory

NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)
TOPIC = "plant/M-001/telemetry"


def decode_all(payload, topic=TOPIC) -> list:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return message_decode(topic, raw, now=NOW)


def decode(payload, topic=TOPIC):
    [item] = decode_all(payload, topic)
    return item


def test_iso_timestamp_with_offset_becomes_a_reading():
    reading = decode({"ts": "2026-11-26T13:00:00+01:00", "metrics": {"vibration": 2.5, "temperature": 61}})
    assert isinstance(reading, DecodedReading)
    assert (reading.machine_code, reading.ts, reading.metrics) == (
        "M-001",
        datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC),
        {"vibration": 2.5, "temperature": 61},
    )


def test_epoch_seconds_and_error_code_are_accepted():
    reading = decode({"ts": NOW.timestamp() - 1.5, "metrics": {"vibration": 9.0}, "error_code": "E-BRG-01"})
    assert reading.ts == NOW - datetime.timedelta(seconds=1.5)
    assert reading.error_code == "E-BRG-01"


BAD_PAYLOADS = [
    (b"\xff\xfe{}", "payload is not UTF-8 (byte 0xff at position 0)"),
    (b"{not json", "payload is not JSON"),
    (b"[]", "payload is an empty JSON array: no readings"),
    (b'"text"', "payload is a JSON string, not an object or an array"),
    ({"metrics": {"vibration": 1}}, "'ts' is missing"),
    ({"ts": "yesterday", "metrics": {"vibration": 1}}, "'ts' 'yesterday' is not ISO-8601"),
    ({"ts": "2026-11-26T12:00:00", "metrics": {"vibration": 1}}, "has no UTC offset"),
    ({"ts": True, "metrics": {"vibration": 1}}, "got a boolean"),
    ({"ts": [1], "metrics": {"vibration": 1}}, "got a JSON array"),
    ({"ts": 1e20, "metrics": {"vibration": 1}}, "is not a usable epoch time in milliseconds"),
    ({"ts": 10**400, "metrics": {"vibration": 1}}, "is not a usable epoch time in milliseconds"),
    ({"ts": 5e10, "metrics": {"vibration": 1}}, "is more than 5 minutes in the future"),  # seconds: year 3554
    ({"ts": 9e11, "metrics": {"vibration": 1}}, "before the year 2000"),  # milliseconds: 1998
    ({"ts": "2026-11-26T12:05:01+00:00", "metrics": {"vibration": 1}}, "more than 5 minutes in the future"),
    ({"ts": "1999-12-31T23:59:59+00:00", "metrics": {"vibration": 1}}, "before the year 2000"),
    ({"ts": "2026-11-26T12:00:00Z"}, "'metrics' is missing"),
    ({"ts": "2026-11-26T12:00:00Z", "metrics": {}}, "'metrics' is empty"),
    ({"ts": "2026-11-26T12:00:00Z", "metrics": [1.0]}, "'metrics' must be an object, got a JSON array"),
    ({"ts": "2026-11-26T12:00:00Z", "metrics": {"vibration": "2.1"}}, "metric 'vibration' must be a finite number"),
    ({"ts": "2026-11-26T12:00:00Z", "metrics": {"vibration": True}}, "must be a finite number, got true"),
    ({"ts": "2026-11-26T12:00:00Z", "metrics": {"vibration": None}}, "got a JSON null"),
    ({"ts": "2026-11-26T12:00:00Z", "metrics": {"vibration": {"rms": 1}}}, "got a JSON object"),
    ({"ts": "2026-11-26T12:00:00Z", "metrics": {"vibration": 10**400}}, "is out of range: 401 digits"),
    (b"[" * 5000 + b"]" * 5000, "payload is nested too deeply to be a reading"),
    (b'{"ts": "2026-11-26T12:00:00Z", "metrics": {"vibration": NaN}}', "must be a finite number, got nan"),
    (b'{"ts": "2026-11-26T12:00:00Z", "metrics": {"vibration": Infinity}}', "must be a finite number, got inf"),
    ({"ts": "2026-11-26T12:00:00Z", "metrics": {"Vibration X": 1}}, "is not lower_snake_case"),
    ({"ts": "2026-11-26T12:00:00Z", "metrics": {"vibration": 1}, "error_code": 7}, "'error_code' must be a short"),
]


@pytest.mark.parametrize(("payload", "reason"), BAD_PAYLOADS, ids=[reason for _, reason in BAD_PAYLOADS])
def test_bad_payload_is_rejected_with_a_readable_reason(payload, reason):
    rejection = decode(payload)
    assert isinstance(rejection, Rejection)
    assert reason in rejection.reason
    assert rejection.machine_code == "M-001"
    # The message is kept as it came, for whoever investigates the sensor.
    assert rejection.payload == (payload if isinstance(payload, bytes) else json.dumps(payload).encode())


@pytest.mark.parametrize(
    "topic", ["plant/M-001", "plant/M-001/telemetry/extra", "factory/M-001/telemetry", "plant//telemetry"]
)
def test_topic_outside_the_contract_is_rejected(topic):
    rejection = decode({"ts": NOW.isoformat(), "metrics": {"vibration": 1}}, topic=topic)
    assert rejection.reason == f"topic {topic!r} does not match plant/<machine_code>/telemetry"


def test_oversized_payload_is_rejected_and_kept_cut_short():
    payload = b'{"ts": 1, "metrics": {"vibration": 1}, "pad": "' + b"x" * 70_000 + b'"}'
    rejection = decode(payload)
    assert rejection.reason == f"payload is {len(payload)} bytes, over the 64 KiB limit"
    stored = rejection.to_model(received_at=NOW)
    assert (len(stored.payload), stored.payload_size) == (64 * 1024, len(payload))


@pytest.fixture
def directory(db):
    pump = MachineTypeFactory(name="Centrifugal pump")
    MetricSpecFactory(machine_type=pump, name="vibration")
    MetricSpecFactory(machine_type=pump, name="temperature", unit="°C", normal_min=10, normal_max=70, alarm_max=90)
    MachineFactory(code="M-001", machine_type=pump)
    return MachineDirectory()


def test_known_machine_with_its_type_metrics_becomes_a_row(directory):
    rows, rejections = directory.rows_from([decode({"ts": NOW.isoformat(), "metrics": {"vibration": 1.2}})])
    assert rejections == []
    assert [(row.machine_code, row.metrics) for row in rows] == [("M-001", {"vibration": 1.2})]


def test_unknown_machine_is_rejected_unless_auto_registration_is_on(directory):
    reading = decode({"ts": NOW.isoformat(), "metrics": {"pressure": 3.0}}, topic="plant/M-404/telemetry")
    rows, [rejection] = directory.rows_from([reading])
    assert rows == []
    assert rejection.reason.startswith("unknown machine 'M-404'")

    auto = MachineDirectory(auto_register=machine_auto_register)
    [row], rejections = auto.rows_from([reading])
    assert (row.machine_code, rejections) == ("M-404", [])
    assert row.machine_id == Machine.objects.get(code="M-404").id


def test_metrics_the_machine_type_does_not_report_are_kept_aside_and_the_others_stored(directory):
    reading = decode({"ts": NOW.isoformat(), "metrics": {"vibration": 1.0, "flow": 80, "rpm": 1480}})
    [row], [rejection] = directory.rows_from([reading])
    assert row.metrics == {"vibration": 1.0}
    # The stored reading is not the message any more: the bulk write must not take its metrics from it.
    assert row.payload is None
    assert rejection.reason == (
        "machine type 'Centrifugal pump' does not report flow, rpm (it reports temperature, vibration); "
        "its vibration stored"
    )
    assert rejection.kind == "metric"
    assert json.loads(rejection.payload) == {"ts": NOW.isoformat(), "metrics": {"flow": 80, "rpm": 1480}}


def test_a_reading_with_no_metric_the_type_reports_is_rejected_whole(directory):
    reading = decode({"ts": NOW.isoformat(), "metrics": {"flow": 80}})
    rows, [rejection] = directory.rows_from([reading])
    assert rows == []
    assert rejection.reason == (
        "machine type 'Centrifugal pump' does not report flow (it reports temperature, vibration)"
    )


def test_unknown_codes_cost_one_lookup_a_batch_whatever_their_number(directory, django_assert_num_queries):
    readings = [
        decode({"ts": NOW.isoformat(), "metrics": {"vibration": 1.0}}, topic=f"plant/M-4{n % 10:02d}/telemetry")
        for n in range(100)
    ]
    directory.reload()
    with django_assert_num_queries(1):  # the codes, none found: nothing to prefetch
        rows, rejections = directory.rows_from(readings)
    assert (len(rows), len(rejections)) == (0, 100)


def test_a_machine_registered_after_the_directory_loaded_is_known_by_the_next_batch(directory):
    directory.reload()
    MachineFactory(code="M-002", machine_type=Machine.objects.get(code="M-001").machine_type)
    reading = decode({"ts": NOW.isoformat(), "metrics": {"vibration": 1.0}}, topic="plant/M-002/telemetry")

    [row], rejections = directory.rows_from([reading])

    assert (row.machine_code, rejections) == ("M-002", [])


@pytest.mark.parametrize("escape", ["\\u0000", "\\udbff", "\\ud83d\\ude00"])
def test_a_payload_jsonb_would_refuse_still_becomes_a_reading_sent_without_its_raw_text(escape):
    # JSON allows NUL and unpaired surrogates in strings; PostgreSQL's jsonb does not, so such a
    # payload is stored by its metrics alone (the emoji pair is fine but costs the same check).
    raw = ('{"ts": "2026-11-26T12:00:00Z", "metrics": {"vibration": 2.0}, "note": "a' + escape + 'b"}').encode()
    [reading] = message_decode(TOPIC, raw, now=NOW)
    assert isinstance(reading, DecodedReading)
    assert reading.metrics == {"vibration": 2.0}
    assert reading.payload_jsonb_safe is False
    assert decode({"ts": NOW.isoformat(), "metrics": {"vibration": 1}}).payload_jsonb_safe is True


def test_epoch_milliseconds_are_told_from_seconds_by_their_magnitude():
    seconds = decode({"ts": 1764921600, "metrics": {"vibration": 1.0}})
    milliseconds = decode({"ts": 1764921600123, "metrics": {"vibration": 1.0}})
    assert seconds.ts == datetime.datetime(2025, 12, 5, 8, 0, tzinfo=datetime.UTC)
    assert milliseconds.ts == datetime.datetime(2025, 12, 5, 8, 0, 0, 123000, tzinfo=datetime.UTC)


def test_an_array_of_readings_is_stored_or_rejected_element_by_element():
    items = decode_all(
        [
            {"ts": "2026-11-26T11:59:00Z", "metrics": {"vibration": 1.0}},
            {"ts": "2026-11-26T11:59:01Z", "metrics": {"vibration": "high"}},
            7,
            {"ts": 1764158341000, "metrics": {"temperature": 60.5}, "error_code": "E-OVH-01"},
        ]
    )
    assert [type(item).__name__ for item in items] == ["DecodedReading", "Rejection", "Rejection", "DecodedReading"]
    first, bad_value, not_an_object, last = items
    assert (first.ts, first.metrics) == (
        datetime.datetime(2026, 11, 26, 11, 59, tzinfo=datetime.UTC),
        {"vibration": 1.0},
    )
    assert (last.metrics, last.error_code) == ({"temperature": 60.5}, "E-OVH-01")
    # Readings of an array are not the message: the bulk write encodes their metrics itself.
    assert first.payload is None
    assert first.payload_jsonb_safe is False
    assert bad_value.reason == "reading 2 of 4: metric 'vibration' must be a finite number, got a JSON string 'high'"
    assert json.loads(bad_value.payload) == {"ts": "2026-11-26T11:59:01Z", "metrics": {"vibration": "high"}}
    assert not_an_object.reason == "reading 3 of 4: a JSON number, not an object"
    assert not_an_object.payload == b"7"


@pytest.fixture
def ranged_directory(db):
    pump = MachineTypeFactory(name="Centrifugal pump")
    MetricSpecFactory(machine_type=pump, name="vibration", unit="mm/s RMS", physical_min=0, physical_max=50)
    MetricSpecFactory(machine_type=pump, name="temperature", unit="°C", physical_min=-40)
    MachineFactory(code="M-001", machine_type=pump)
    return MachineDirectory()


@pytest.mark.parametrize(
    ("vibration", "problem"),
    [
        (-5, "vibration -5 is outside what its sensor can read (0 to 50 mm/s RMS)"),
        (1e300, "vibration 1e+300 is outside what its sensor can read (0 to 50 mm/s RMS)"),
    ],
)
def test_a_value_its_sensor_cannot_read_is_kept_aside_and_the_others_stored(ranged_directory, vibration, problem):
    reading = decode({"ts": NOW.isoformat(), "metrics": {"vibration": vibration, "temperature": 61.0}})
    [row], [rejection] = ranged_directory.rows_from([reading])
    assert row.metrics == {"temperature": 61.0}
    assert row.payload is None
    assert rejection.reason == f"{problem}: a sensor fault; its temperature stored"
    assert rejection.kind == "range"
    assert json.loads(rejection.payload)["metrics"] == {"vibration": vibration}


def test_the_edges_of_a_physical_range_are_values_and_an_open_side_has_no_limit(ranged_directory):
    readings = [
        decode({"ts": NOW.isoformat(), "metrics": {"vibration": 0, "temperature": 1e6}}),
        decode({"ts": NOW.isoformat(), "metrics": {"vibration": 50.0, "temperature": -40}}),
        decode({"ts": NOW.isoformat(), "metrics": {"temperature": -40.5}}),
    ]
    rows, [rejection] = ranged_directory.rows_from(readings)
    assert [row.metrics for row in rows] == [
        {"vibration": 0, "temperature": 1e6},
        {"vibration": 50.0, "temperature": -40},
    ]
    # The whole reading was impossible: nothing stored, all of it kept.
    assert rejection.reason == "temperature -40.5 is outside what its sensor can read (at least -40 °C): a sensor fault"


def test_a_reading_with_unknown_and_impossible_metrics_keeps_each_aside_with_its_own_reason(ranged_directory):
    reading = decode({"ts": NOW.isoformat(), "metrics": {"vibration": -1.0, "rpm": 1480, "temperature": 55.0}})
    [row], rejections = ranged_directory.rows_from([reading])
    assert row.metrics == {"temperature": 55.0}
    assert [(r.kind, json.loads(r.payload)["metrics"]) for r in rejections] == [
        ("metric", {"rpm": 1480}),
        ("range", {"vibration": -1.0}),
    ]


def test_an_unknown_machines_reading_from_an_array_is_kept_as_that_reading(directory):
    [reading] = decode_all([{"ts": NOW.isoformat(), "metrics": {"vibration": 1.0}}], topic="plant/M-404/telemetry")
    rows, [rejection] = directory.rows_from([reading])
    assert rows == []
    assert rejection.kind == "machine"
    assert json.loads(rejection.payload) == {"ts": NOW.isoformat(), "metrics": {"vibration": 1.0}}
