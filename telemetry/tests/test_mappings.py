"""Payload sources: other gateways' payloads mapped onto readings, validated when saved, previewed in
the admin, and served by the listener as sources are added."""

import datetime
import html
import importlib
import json
import time
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from telemetry.ingest import DecodedReading, MachineDirectory, Rejection
from telemetry.listener import ListenerConfig, TelemetryListener
from telemetry.mapping_rules import filters_overlap, path_get, path_parse
from telemetry.mappings import MappedSource
from telemetry.models import PayloadSource, Reading, RejectedMessage
from telemetry.mqtt import BrokerAddress
from telemetry.selectors import payload_source_decoders, payload_source_preview
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory
from telemetry.tests.test_listener import ListenerThread, publish
from telemetry.units import conversion_find, unit_key
from testing.throwaway import wait_until

NOW = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.UTC)
TS = datetime.datetime(2026, 12, 6, 11, 59, tzinfo=datetime.UTC)
# The admin decodes its sample at the present time: a sample time an hour before the tests start.
RECENT = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).replace(microsecond=0)
SHIPPED = {
    spec["name"]: spec
    for spec in importlib.import_module("telemetry.migrations.0003_payload_sources").SHIPPED_PAYLOAD_SOURCES
}


def source_make(**settings_) -> PayloadSource:
    defaults = {
        "name": "Gateway",
        "topic_filter": "gateway/+/data",
        "machine_topic_level": 1,
        "ts_path": "ts",
        "metrics_path": "values",
    }
    return PayloadSource(**(defaults | settings_))


def decode(source: PayloadSource, topic: str, document) -> list:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return MappedSource.from_source(source).decode(topic, body, now=NOW)


def only_reading(items: list) -> DecodedReading:
    assert len(items) == 1
    assert isinstance(items[0], DecodedReading), items[0]
    return items[0]


def reasons(items: list) -> list[str]:
    return [item.reason for item in items if isinstance(item, Rejection)]


# --- the shipped mappings ------------------------------------------------------------------------


def test_telegraf_json_becomes_a_reading_of_the_machine_named_by_the_host_tag():
    telegraf = PayloadSource(**SHIPPED["Telegraf JSON"])
    reading = only_reading(
        decode(
            telegraf,
            "telegraf/edge-01/modbus",
            {
                "fields": {"vibration": 2.5, "temperature": 61},
                "name": "modbus",
                "tags": {"host": "M-007", "slave_id": "3"},
                "timestamp": int(TS.timestamp()),
            },
        )
    )
    assert (reading.topic, reading.machine_code, reading.ts) == ("telegraf/edge-01/modbus", "M-007", TS)
    assert reading.metrics == {"vibration": 2.5, "temperature": 61}
    # Not the contract's shape: a part kept aside later is written out again, never sent as it came.
    assert (reading.payload, reading.payload_jsonb_safe) == (None, False)


def test_telegraf_json_without_its_timestamp_is_rejected_naming_the_source_and_the_path():
    telegraf = PayloadSource(**SHIPPED["Telegraf JSON"])
    items = decode(telegraf, "telegraf/x/cpu", {"fields": {"vibration": 2.5}, "tags": {"host": "M-007"}})
    assert reasons(items) == ["source 'Telegraf JSON': 'timestamp' is missing"]
    assert items[0].machine_code == "M-007"


def test_thingsboard_epoch_milliseconds_one_reading_or_an_array_of_them():
    thingsboard = PayloadSource(**SHIPPED["ThingsBoard telemetry"])
    ms = int(TS.timestamp() * 1000)
    reading = only_reading(
        decode(thingsboard, "thingsboard/M-002/telemetry", {"ts": ms, "values": {"vibration": 1.25}})
    )
    assert (reading.machine_code, reading.ts, reading.metrics) == ("M-002", TS, {"vibration": 1.25})

    items = decode(
        thingsboard,
        "thingsboard/M-002/telemetry",
        [{"ts": ms, "values": {"vibration": 1.0}}, {"ts": ms + 1000, "values": {"vibration": 1.5}}],
    )
    assert [(item.ts, item.metrics) for item in items] == [
        (TS, {"vibration": 1.0}),
        (TS + datetime.timedelta(seconds=1), {"vibration": 1.5}),
    ]


def test_thingsboard_seconds_where_milliseconds_are_expected_are_rejected_with_a_hint():
    thingsboard = PayloadSource(**SHIPPED["ThingsBoard telemetry"])
    items = decode(thingsboard, "thingsboard/M-002/telemetry", {"ts": int(TS.timestamp()), "values": {"vibration": 1}})
    assert reasons(items) == [
        "source 'ThingsBoard telemetry': 'ts' 1970-01-21T19:02:38.340000+00:00 is before the year 2000 "
        "(are these epoch milliseconds?)"
    ]


def test_flat_object_stores_every_member_but_the_time_as_a_metric():
    flat = PayloadSource(**SHIPPED["Flat JSON"])
    reading = only_reading(
        decode(flat, "flat/M-003/telemetry", {"time": TS.isoformat(), "vibration": 3.5, "temperature": 48.0})
    )
    assert (reading.machine_code, reading.ts) == ("M-003", TS)
    assert reading.metrics == {"vibration": 3.5, "temperature": 48.0}


@pytest.mark.django_db
def test_shipped_mappings_are_in_the_database_enabled_valid_and_their_samples_decode():
    assert set(PayloadSource.objects.filter(enabled=True).values_list("name", flat=True)) >= set(SHIPPED)
    for spec in SHIPPED.values():
        source = PayloadSource.objects.get(name=spec["name"])
        source.full_clean()
        items = MappedSource.from_source(source).decode(source.sample_topic, source.sample_payload.encode(), now=NOW)
        assert [type(item) for item in items] == [DecodedReading], source.name


# --- units, renames and arrays -------------------------------------------------------------------


def test_inches_per_second_become_mm_per_second_and_fahrenheit_becomes_celsius():
    source = source_make(
        field_mappings={
            "vib_ips": {"metric": "vibration", "from_unit": "in/s", "to_unit": "mm/s RMS"},
            "temp_f": {"metric": "temperature", "from_unit": "°F", "to_unit": "°C"},
        }
    )
    reading = only_reading(
        decode(source, "gateway/M-001/data", {"ts": TS.isoformat(), "values": {"vib_ips": 0.1, "temp_f": 212}})
    )
    assert reading.metrics == {"vibration": 2.54, "temperature": 100.0}


@pytest.mark.parametrize(
    ("from_unit", "to_unit", "value", "expected"),
    [
        ("in/s", "mm/s", 1.0, 25.4),
        ("ips", "mm/s RMS", 0.5, 12.7),
        ("mil", "µm", 2.0, 50.8),
        ("g", "m/s²", 1.0, 9.80665),
        ("°F", "°C", 32.0, 0.0),
        ("degF", "°C", -40.0, -40.0),
        ("K", "°C", 273.15, 0.0),
        ("psi", "bar", 14.5037738, 1.0),
        ("kPa", "bar", 250.0, 2.5),
        ("mm/s", "mm/s RMS", 4.2, 4.2),
    ],
)
def test_unit_conversion_table(from_unit, to_unit, value, expected):
    assert conversion_find(from_unit, to_unit).apply(value) == pytest.approx(expected, abs=1e-6)


def test_units_compare_by_first_word_and_a_peak_never_becomes_an_rms():
    assert unit_key("mm/s RMS") == unit_key("mm/s") == "mm/s"
    assert unit_key("degC") == "°C"
    assert conversion_find("in/s peak", "mm/s RMS") is None
    assert conversion_find("in/s RMS", "mm/s RMS") is not None
    assert conversion_find("°C", "bar") is None
    assert conversion_find("furlong/fortnight", "mm/s") is None


def test_renamed_fields_are_stored_under_their_metric_names_and_others_under_their_own():
    source = source_make(field_mappings={"vib": "vibration", "t": {"metric": "temperature"}})
    reading = only_reading(
        decode(source, "gateway/M-001/data", {"ts": TS.isoformat(), "values": {"vib": 2.0, "t": 50, "rpm": 1480}})
    )
    assert reading.metrics == {"vibration": 2.0, "temperature": 50, "rpm": 1480}


def test_only_mapped_fields_ignores_the_others_and_rejects_a_reading_with_none():
    source = source_make(field_mappings={"vib": "vibration"}, only_mapped_fields=True)
    reading = only_reading(
        decode(source, "gateway/M-001/data", {"ts": TS.isoformat(), "values": {"vib": 2.0, "status": "ok"}})
    )
    assert reading.metrics == {"vibration": 2.0}
    items = decode(source, "gateway/M-001/data", {"ts": TS.isoformat(), "values": {"status": "ok"}})
    assert reasons(items) == ["source 'Gateway': 'values' holds no metrics that the mappings name"]


def test_a_renamed_field_meeting_a_metric_of_the_same_name_is_rejected():
    source = source_make(field_mappings={"vib": "vibration"})
    items = decode(source, "gateway/M-001/data", {"ts": TS.isoformat(), "values": {"vibration": 1.0, "vib": 2.0}})
    assert reasons(items) == ["source 'Gateway': 'values.vibration' and 'values.vib' both give metric 'vibration'"]


def test_array_of_readings_under_a_path_takes_the_machine_from_the_envelope_and_rejects_each_bad_one_alone():
    source = source_make(
        topic_filter="batch/#",
        machine_topic_level=None,
        machine_path="device",
        readings_path="readings",
        metrics_path="",
        field_mappings={"vib_ips": {"metric": "vibration", "from_unit": "in/s", "to_unit": "mm/s"}},
    )
    items = decode(
        source,
        "batch/line-2",
        {
            "device": "M-004",
            "readings": [
                {"ts": TS.isoformat(), "vib_ips": 0.1},
                {"vib_ips": 0.2},
                {"ts": TS.isoformat(), "device": "M-005", "vib_ips": "n/a"},
                "nonsense",
            ],
        },
    )
    assert isinstance(items[0], DecodedReading)
    assert (items[0].machine_code, items[0].metrics) == ("M-004", {"vibration": 2.54})
    assert reasons(items) == [
        "source 'Gateway': reading 2 of 4: 'ts' is missing",
        "source 'Gateway': reading 3 of 4: 'vib_ips' must be a finite number, got 'n/a'",
        "source 'Gateway': reading 4 of 4: a reading must be a JSON object",
    ]
    assert [item.machine_code for item in items[1:]] == ["M-004", "M-005", "M-004"]
    # Each rejected reading keeps its own element, not the whole message.
    assert json.loads(items[1].payload) == {"vib_ips": 0.2}


@pytest.mark.parametrize(
    ("settings_", "topic", "document", "reason"),
    [
        ({}, "gateway/M-001/data", b"{oops", "payload is not JSON"),
        ({}, "gateway/M-001/data", [], "the array of readings is empty"),
        ({}, "gateway/M-001/data", {"values": {"vibration": 1}}, "'ts' is missing"),
        ({}, "gateway/M-001/data", {"ts": "yesterday", "values": {"vibration": 1}}, "'ts' 'yesterday' is not ISO-8601"),
        ({}, "gateway/M-001/data", {"ts": TS.isoformat()}, "'values' is missing"),
        ({}, "gateway/M-001/data", {"ts": TS.isoformat(), "values": [1]}, "'values' must be an object of metrics"),
        ({}, "gateway/M-001/data", {"ts": TS.isoformat(), "values": {}}, "'values' holds no metrics"),
        ({}, "gateway/M-001/data", {"ts": TS.isoformat(), "values": {"v": True}}, "'values.v' must be a finite"),
        ({}, "gateway/M-001/data", {"ts": TS.isoformat(), "values": {"Vib": 1}}, "metric name 'Vib' is not lower"),
        (
            {},
            "gateway/M-001/data",
            {"ts": TS.isoformat(), "values": {"v": 10**400}},
            "'values.v' must be a finite number, got a number of 401 digits",
        ),
        ({}, "gateway/M 1/data", {"ts": TS.isoformat(), "values": {"v": 1}}, "topic level 1 'M 1' is not a machine"),
        (
            {"ts_format": "epoch_s"},
            "gateway/M-001/data",
            {"ts": TS.isoformat(), "values": {"v": 1}},
            "'ts' must be a number of epoch seconds",
        ),
        (
            {"ts_format": "iso8601"},
            "gateway/M-001/data",
            {"ts": 1764979200, "values": {"v": 1}},
            "'ts' must be ISO-8601 text",
        ),
        (
            {"machine_topic_level": None, "machine_path": "meta.id"},
            "gateway/M-001/data",
            {"ts": TS.isoformat(), "values": {"v": 1}},
            "'meta.id' is missing",
        ),
        (
            {"machine_topic_level": None, "machine_path": "meta.id"},
            "gateway/M-001/data",
            {"meta": {"id": ["M-1"]}, "ts": TS.isoformat(), "values": {"v": 1}},
            "'meta.id' (a JSON array) is not a machine code",
        ),
        (
            {"topic_filter": "gateway/#", "machine_topic_level": 3},
            "gateway/M-001",
            {"ts": TS.isoformat(), "values": {"v": 1}},
            "topic 'gateway/M-001' has no level 3 for the machine code",
        ),
    ],
)
def test_rejections_name_the_source_and_what_failed(settings_, topic, document, reason):
    items = decode(source_make(**settings_), topic, document)
    assert len(items) == 1
    assert items[0].reason.startswith(f"source 'Gateway': {reason}"), items[0].reason


@pytest.mark.parametrize("ts_format", ["auto", "epoch_s", "epoch_ms"])
@pytest.mark.parametrize("raw", [b"1" + b"0" * 400, b"1e400", b"NaN", b"-1"])
def test_an_epoch_time_no_clock_can_hold_is_rejected_not_raised(ts_format, raw):
    body = b'{"ts": ' + raw + b', "values": {"v": 1}}'
    items = decode(source_make(ts_format=ts_format), "gateway/M-001/data", body)
    assert reasons(items)[0].startswith("source 'Gateway': 'ts' ")


def test_a_numeric_device_id_is_a_machine_code():
    source = source_make(machine_topic_level=None, machine_path="id")
    reading = only_reading(decode(source, "gateway/x/data", {"id": 17, "ts": TS.isoformat(), "values": {"v": 1}}))
    assert reading.machine_code == "17"


def test_paths_are_dot_separated_keys_and_digits_index_arrays():
    assert path_parse("tags.host") == ("tags", "host")
    assert path_get({"tags": {"host": "M-1"}}, ("tags", "host")) == "M-1"
    assert path_get({"r": [{"ts": 5}]}, ("r", "0", "ts")) == 5
    with pytest.raises(ValueError, match="empty key"):
        path_parse("tags..host")


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("#", "plant/+/telemetry", True),
        ("+/+/telemetry", "plant/+/telemetry", True),
        ("plant/#", "plant/+/telemetry", True),
        ("plant/M-1/#", "plant/+/telemetry", True),
        ("telegraf/#", "plant/+/telemetry", False),
        ("+/+/data", "plant/+/telemetry", False),
        ("a/b", "a/b/#", True),  # '#' matches its parent level too
        ("a/+", "a/b/c", False),
    ],
)
def test_topic_filters_overlap_when_some_topic_matches_both(first, second, overlap):
    assert filters_overlap(first, second) is overlap
    assert filters_overlap(second, first) is overlap


# --- validation when saved -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("settings_", "field", "message"),
    [
        ({"topic_filter": "$share/ingest/gateway/#"}, "topic_filter", "cannot start with '$'"),
        ({"topic_filter": "#"}, "topic_filter", "overlaps plant/+/telemetry"),
        ({"topic_filter": "+/+/telemetry"}, "topic_filter", "overlaps plant/+/telemetry"),
        ({"topic_filter": "spBv1.0/plant/#"}, "topic_filter", "overlaps spBv1.0/#"),
        ({"topic_filter": "gateway/#/data"}, "topic_filter", "'#' must be a whole level and the last one"),
        ({"topic_filter": "gateway/M+/data"}, "topic_filter", "'+' must be a whole level"),
        ({"topic_filter": ""}, "topic_filter", "give the MQTT topic filter"),
        ({"machine_path": "device"}, "machine_path", "either from a topic level or from a path, not both"),
        ({"machine_topic_level": None}, "machine_path", "either from a topic level or from a path, not both"),
        ({"machine_topic_level": 3}, "machine_topic_level", "has levels 0 to 2, so no topic it matches has a level 3"),
        ({"ts_path": ""}, "ts_path", "a path cannot be empty"),
        ({"ts_path": "meta..ts"}, "ts_path", "has an empty key"),
        ({"metrics_path": "ts"}, "metrics_path", "cannot be at the same path as the time"),
        ({"readings_path": "values"}, "readings_path", "cannot be at the same path"),
        ({"ts_format": "julian"}, "ts_format", "choose one of auto, epoch_s, epoch_ms, iso8601"),
        ({"field_mappings": ["vibration"]}, "field_mappings", "must be a JSON object"),
        ({"field_mappings": {"v": 3}}, "field_mappings", "give a metric name or an object"),
        ({"field_mappings": {"v": {"metric": "Vibration"}}}, "field_mappings", "is not lower_snake_case"),
        ({"field_mappings": {"v": {"metric": "vibration", "scale": 2}}}, "field_mappings", "unknown keys scale"),
        ({"field_mappings": {"v": {"from_unit": "in/s"}}}, "field_mappings", "give both from_unit and to_unit"),
        (
            {"field_mappings": {"v": {"metric": "vibration", "from_unit": "in/s", "to_unit": "bar"}}},
            "field_mappings",
            "no conversion from 'in/s' to 'bar' (from 'in/s': in/s, mm/s)",
        ),
        ({"field_mappings": {"a": "vibration", "b": "vibration"}}, "field_mappings", "'a', 'b' all map to metric"),
        ({"only_mapped_fields": True}, "field_mappings", "only mapped fields are stored, so map at least one"),
    ],
)
def test_clean_refuses_a_mapping_that_cannot_work(settings_, field, message):
    with pytest.raises(ValidationError) as refused:
        source_make(**settings_).full_clean()
    assert any(message in text for text in refused.value.message_dict[field]), refused.value.message_dict


@pytest.mark.django_db
def test_clean_refuses_a_filter_overlapping_another_enabled_source_but_not_a_disabled_one():
    source_make(name="First", topic_filter="gateway/#", machine_topic_level=None, machine_path="id").save()
    second = source_make(name="Second")
    with pytest.raises(ValidationError) as refused:
        second.full_clean()
    assert refused.value.message_dict["topic_filter"] == [
        "it overlaps the filter gateway/# of the enabled source 'First'"
    ]
    second.enabled = False
    second.full_clean()
    PayloadSource.objects.filter(name="First").update(enabled=False)
    second.enabled = True
    second.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("settings_", "constraint"),
    [
        ({"machine_path": "device"}, "payloadsource_one_machine_code_origin"),
        ({"machine_topic_level": None}, "payloadsource_one_machine_code_origin"),
        ({"ts_path": ""}, "payloadsource_ts_path_given"),
        ({"ts_format": "julian"}, "payloadsource_ts_format_valid"),
        ({"topic_filter": ""}, "payloadsource_topic_filter_not_reserved"),
        ({"topic_filter": "$share/ingest/gateway/#"}, "payloadsource_topic_filter_not_reserved"),
        ({"topic_filter": "plant/#"}, "payloadsource_topic_filter_not_reserved"),
        ({"topic_filter": "spBv1.0/plant/#"}, "payloadsource_topic_filter_not_reserved"),
    ],
)
def test_database_refuses_what_its_constraints_forbid(settings_, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        source_make(**settings_).save()


@pytest.mark.django_db
def test_listener_loads_the_enabled_usable_sources_only():
    PayloadSource.objects.all().delete()
    source_make(name="On").save()
    source_make(name="Off", topic_filter="off/+/data", enabled=False).save()
    # Saved around clean(): a mapping the decoder could not apply is left out, the others served.
    source_make(name="Broken", topic_filter="broken/+/data", field_mappings=["x"]).save()
    assert [decoder.name for decoder in payload_source_decoders()] == ["On"]


@pytest.mark.django_db
def test_supervisors_manage_payload_sources():
    codenames = set(Group.objects.get(name="Supervisor").permissions.values_list("codename", flat=True))
    assert {f"{action}_payloadsource" for action in ("add", "change", "delete", "view")} <= codenames


# --- the admin ---------------------------------------------------------------------------------


@pytest.fixture
def pump(db):
    pump = MachineTypeFactory(name="Centrifugal pump")
    MetricSpecFactory(machine_type=pump, name="vibration")
    MetricSpecFactory(machine_type=pump, name="temperature", unit="°C", normal_min=10, normal_max=70, alarm_max=90)
    MachineFactory(code="M-001", machine_type=pump)
    return pump


def admin_form(**fields) -> dict:
    form = {
        "name": "Vendor gateway",
        "enabled": "on",
        "topic_filter": "vendor/+/data",
        "machine_topic_level": "1",
        "machine_path": "",
        "ts_path": "ts",
        "ts_format": "auto",
        "metrics_path": "values",
        "readings_path": "",
        "field_mappings": json.dumps({"vib_ips": {"metric": "vibration", "from_unit": "in/s", "to_unit": "mm/s"}}),
        "sample_topic": "vendor/M-001/data",
        "sample_payload": json.dumps(
            [
                {"ts": RECENT.isoformat(), "values": {"vib_ips": 0.1, "temperature": 50}},
                {"values": {"vib_ips": 0.2}},
                {"ts": RECENT.isoformat(), "values": {"flow": 3.0}},
            ]
        ),
    }
    return form | fields


def test_saving_a_bad_mapping_in_the_admin_shows_the_error(client, supervisor, pump):
    client.force_login(supervisor)
    form = admin_form(
        topic_filter="#",
        field_mappings=json.dumps({"vib_ips": {"metric": "vibration", "from_unit": "in/s", "to_unit": "bar"}}),
    )
    response = client.post(reverse("admin:telemetry_payloadsource_add"), form)
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "it overlaps plant/+/telemetry, whose messages MaintainX decodes itself" in page
    assert "'vib_ips': no conversion from 'in/s' to 'bar'" in page
    assert not PayloadSource.objects.filter(name="Vendor gateway").exists()


def test_the_admin_previews_what_the_sample_would_store(client, supervisor, pump):
    client.force_login(supervisor)
    response = client.post(reverse("admin:telemetry_payloadsource_add"), admin_form() | {"_continue": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    source = PayloadSource.objects.get(name="Vendor gateway")

    page = html.unescape(client.get(reverse("admin:telemetry_payloadsource_change", args=[source.pk])).content.decode())
    assert "What the sample would store" in page
    assert "Readings stored: 1" in page
    assert f"M-001 at {RECENT.isoformat()}: vibration = 2.54, temperature = 50" in page
    assert "source 'Vendor gateway': reading 2 of 3: 'ts' is missing" in page
    assert "machine type 'Centrifugal pump' does not report flow" in page
    assert "Kept aside (rejected): 2" in page


@pytest.mark.django_db
def test_the_preview_warns_of_unknown_metrics_and_units_other_than_the_machine_types(pump):
    source = source_make(
        field_mappings={
            "p": {"metric": "pressure", "from_unit": "psi", "to_unit": "bar"},
            "t": {"metric": "temperature", "from_unit": "K", "to_unit": "K"},
        },
        sample_topic="gateway/M-001/data",
        sample_payload=json.dumps({"ts": TS.isoformat(), "values": {"t": 300.0}}),
    )
    preview = payload_source_preview(source, now=NOW)
    assert preview.warnings == [
        "no machine type reports metric 'pressure' (field 'p')",
        "field 't' is converted to K, but machine types report temperature in °C",
    ]
    assert [(reading.machine_code, reading.metrics) for reading in preview.readings] == [
        ("M-001", {"temperature": 300.0})
    ]


# --- through the broker (MQTT_URL) -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_listener_stores_a_mapped_message_and_subscribes_to_a_source_added_while_it_runs(pump):
    run = uuid.uuid4().hex[:8]
    PayloadSource.objects.create(
        name="Vendor gateway",
        topic_filter=f"vendor-{run}/+/data",
        machine_topic_level=1,
        ts_path="ts",
        ts_format="epoch_s",
        metrics_path="values",
        field_mappings={"vib_ips": {"metric": "vibration", "from_unit": "in/s", "to_unit": "mm/s"}},
    )
    listener = TelemetryListener(
        ListenerConfig(
            broker=BrokerAddress.from_url(settings.MQTT_URL),
            client_id=f"test-listener-{run}",
            batch_max_age=0.05,
            sources_refresh=0.2,
        ),
        directory=MachineDirectory(),
        sources=payload_source_decoders,
    )
    first_ts = int(time.time()) - 60
    with ListenerThread(listener):
        publish(
            settings.MQTT_URL,
            [(f"vendor-{run}/M-001/data", json.dumps({"ts": first_ts, "values": {"vib_ips": 0.1}}).encode())],
        )
        wait_until(Reading.objects.exists, what="the mapped reading")

        added = PayloadSource(
            name="Telegraf on line 2",
            topic_filter=f"line2-{run}/#",
            machine_path="tags.host",
            ts_path="timestamp",
            metrics_path="fields",
            field_mappings={"temp_f": {"metric": "temperature", "from_unit": "°F", "to_unit": "°C"}},
        )
        added.full_clean()
        added.save()
        message = json.dumps({"fields": {"temp_f": 122}, "tags": {"host": "M-001"}, "timestamp": first_ts + 1})
        # The new subscription is made by the listener's next sources refresh; a message published
        # before the broker has it goes nowhere, so publish again (a duplicate changes nothing) until stored.
        last_sent = [0.0]

        def stored_from_added_source() -> bool:
            if time.monotonic() - last_sent[0] > 0.5:
                publish(settings.MQTT_URL, [(f"line2-{run}/edge/cpu", message.encode())])
                last_sent[0] = time.monotonic()
            return Reading.objects.filter(metrics__temperature=50.0).exists()

        wait_until(stored_from_added_source, what="the reading of the source added while listening")

    first = Reading.objects.get(ts=datetime.datetime.fromtimestamp(first_ts, tz=datetime.UTC))
    assert (first.machine.code, first.metrics) == ("M-001", {"vibration": 2.54})
    second = Reading.objects.get(ts=datetime.datetime.fromtimestamp(first_ts + 1, tz=datetime.UTC))
    assert second.metrics == {"temperature": 50.0}
    assert not RejectedMessage.objects.exists()
