"""The listener's batches: stored once, bad input kept, acks only after commit, live frames sent."""

import datetime
import json
import threading
import time
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from realtime.groups import machine_group
from telemetry.ingest import MachineDirectory, ReadingRow
from telemetry.listener import Batcher, ListenerConfig, Pending, TelemetryListener
from telemetry.live import LiveFrames
from telemetry.models import MetricSpec, Reading, ReadingMinute, RejectedMessage
from telemetry.mqtt import BrokerAddress, TelemetryClient, client_create, telemetry_topic
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory
from testing.throwaway import MosquittoBroker, wait_until


@pytest.fixture
def plant(db):
    pump = MachineTypeFactory(name="Centrifugal pump")
    MetricSpecFactory(machine_type=pump, name="vibration")
    MetricSpecFactory(machine_type=pump, name="temperature", unit="°C", normal_min=10, normal_max=70, alarm_max=90)
    return [MachineFactory(code=f"M-00{n}", machine_type=pump) for n in (1, 2)]


def listener_for(url=None, **config):
    config.setdefault("batch_max_age", 0.05)
    config.setdefault("client_id", f"test-listener-{uuid.uuid4().hex[:8]}")
    return TelemetryListener(
        ListenerConfig(broker=BrokerAddress.from_url(url or settings.MQTT_URL), **config),
        directory=MachineDirectory(),
        live=LiveFrames(),
    )


def payload(ts: datetime.datetime, **metrics) -> bytes:
    return json.dumps({"ts": ts.isoformat(), "metrics": metrics or {"vibration": 2.0}}).encode()


def receive_all(listener: TelemetryListener, messages: list[tuple[str, bytes]]) -> list:
    for mid, (topic, body) in enumerate(messages, start=1):
        listener.message_receive(mid=mid, qos=1, topic=topic, payload=body)
    return listener._batcher.take_all()


def test_batch_stores_good_readings_beside_bad_ones_and_acks_all_after_commit(plant):
    listener = listener_for()
    now = timezone.now().replace(microsecond=0)
    batch = receive_all(
        listener,
        [
            (telemetry_topic("M-001"), payload(now, vibration=2.1)),
            (telemetry_topic("M-001"), b"\x00\xff garbage"),
            (telemetry_topic("M-404"), payload(now)),
            (telemetry_topic("M-002"), payload(now, vibration=1.4, temperature=48.0)),
            (telemetry_topic("M-002"), payload(now, flow=3.0)),
            ("not/a/telemetry/topic", payload(now)),
        ],
    )
    acked = []

    assert listener.batch_commit(batch, ack=acked.extend)

    assert sorted(Reading.objects.values_list("machine__code", flat=True)) == ["M-001", "M-002"]
    reasons = sorted(RejectedMessage.objects.values_list("reason", flat=True))
    assert len(reasons) == 4
    assert any(reason.startswith("payload is not UTF-8") for reason in reasons)
    assert any(reason.startswith("unknown machine 'M-404'") for reason in reasons)
    assert any("does not report flow" in reason for reason in reasons)
    # Every message is acknowledged, bad ones too (they are kept), in the order received.
    assert acked == [1, 2, 3, 4, 5, 6]
    assert (listener.stats.stored, listener.stats.rejected, listener.stats.duplicates) == (2, 4, 0)


def test_payloads_the_database_would_refuse_never_hold_up_a_batch(plant):
    # Valid JSON that PostgreSQL's jsonb refuses (NUL, an unpaired surrogate), a number no float
    # holds, JSON nested past Python's recursion limit and a NUL in the topic: each is either
    # stored by its metrics or kept as a rejection, and the good readings beside them are stored.
    listener = listener_for()
    now = timezone.now().replace(microsecond=0)
    ts = [(now - datetime.timedelta(seconds=s)).isoformat() for s in range(5)]
    batch = receive_all(
        listener,
        [
            (telemetry_topic("M-001"), payload(now - datetime.timedelta(seconds=9), vibration=1.5)),
            (
                telemetry_topic("M-001"),
                f'{{"ts": "{ts[0]}", "metrics": {{"vibration": 2.0}}, "n": "\\u0000"}}'.encode(),
            ),
            (
                telemetry_topic("M-001"),
                f'{{"ts": "{ts[1]}", "metrics": {{"vibration": 2.1}}, "n": "\\udbff"}}'.encode(),
            ),
            (telemetry_topic("M-002"), f'{{"ts": "{ts[2]}", "metrics": {{"vibration": 1{"0" * 400}}}}}'.encode()),
            (telemetry_topic("M-002"), b"[" * 5000 + b"]" * 5000),
            ("plant/M-0\x0001/telemetry", payload(now)),
            (telemetry_topic("M-002"), payload(now - datetime.timedelta(seconds=9), vibration=1.4)),
        ],
    )

    assert listener.batch_commit(batch, ack=lambda mids: None)

    stored = sorted(Reading.objects.values_list("machine__code", "metrics"), key=lambda row: row[1]["vibration"])
    assert stored == [
        ("M-002", {"vibration": 1.4}),
        ("M-001", {"vibration": 1.5}),
        ("M-001", {"vibration": 2.0}),
        ("M-001", {"vibration": 2.1}),
    ]
    rejected = sorted(RejectedMessage.objects.values_list("topic", "reason"))
    assert [topic for topic, _ in rejected] == [
        "plant/M-002/telemetry",
        "plant/M-002/telemetry",
        "plant/M-0\ufffd01/telemetry",
    ]
    reasons = sorted(reason for _, reason in rejected)
    assert reasons[0] == "metric 'vibration' is out of range: 401 digits, more than a 64-bit float holds"
    assert reasons[1] == "payload is nested too deeply to be a reading"
    assert reasons[2].startswith("topic 'plant/M-0\\x0001/telemetry' does not match")
    assert (listener.stats.stored, listener.stats.rejected) == (4, 3)


def test_redelivered_reading_is_counted_as_duplicate_and_changes_nothing(plant):
    listener = listener_for()
    now = timezone.now()
    first = receive_all(listener, [(telemetry_topic("M-001"), payload(now, vibration=2.0))])
    listener.batch_commit(first, ack=lambda mids: None)
    again = receive_all(
        listener,
        [(telemetry_topic("M-001"), payload(now, vibration=9.9)), (telemetry_topic("M-001"), payload(now))],
    )
    listener.batch_commit(again, ack=lambda mids: None)
    assert list(Reading.objects.values_list("metrics", flat=True)) == [{"vibration": 2.0}]
    assert (listener.stats.stored, listener.stats.duplicates) == (1, 2)


def test_payload_with_newlines_tabs_and_backslashes_is_stored_exactly(plant):
    # The bulk write sends messages as they came; characters with a meaning in COPY must survive.
    listener = listener_for()
    now = timezone.now().replace(microsecond=0)
    body = f'{{\n\t"ts": "{now.isoformat()}",\r\n\t"metrics": {{"vibration": 2.25}},\n"note": "C:\\\\tmp\\t°"}}'
    listener.batch_commit(receive_all(listener, [(telemetry_topic("M-001"), body.encode())]), ack=lambda mids: None)
    assert list(Reading.objects.values_list("ts", "metrics")) == [(now, {"vibration": 2.25})]


def test_a_message_that_breaks_the_decoder_is_kept_not_raised(plant, monkeypatch):
    listener = listener_for()

    def broken_decoder(*args, **kwargs):
        raise RuntimeError("decoder bug")

    monkeypatch.setattr(listener.router, "decode", broken_decoder)
    [pending] = receive_all(listener, [(telemetry_topic("M-001"), b"{}")])
    [rejection] = pending.items
    assert rejection.reason == "could not be decoded: decoder bug"


def test_batcher_hands_out_a_batch_when_full_old_enough_or_quiet():
    clock = [0.0]
    batcher = Batcher(max_size=3, max_age=0.2, idle_gap=0.05, clock=lambda: clock[0])

    def arrive(*mids):
        for mid in mids:
            batcher.add(Pending(mid, 1, clock[0], None))
            clock[0] += 0.01

    arrive(1, 2)
    assert batcher.take(timeout=0) == []  # neither full, nor old, nor quiet
    clock[0] += 0.05
    assert [p.mid for p in batcher.take(timeout=0)] == [1, 2]  # quiet

    arrive(3, 4, 5)
    assert [p.mid for p in batcher.take(timeout=0)] == [3, 4, 5]  # full


def test_batcher_hands_out_a_steady_trickle_when_its_oldest_is_max_age_old():
    clock = [0.0]
    batcher = Batcher(max_size=100, max_age=0.2, idle_gap=0.05, clock=lambda: clock[0])
    taken = []
    for mid in range(100):  # one every 10 ms: never quiet, never full
        batcher.add(Pending(mid, 1, clock[0], None))
        taken = batcher.take(timeout=0)
        if taken:
            break
        clock[0] += 0.01
    assert [p.mid for p in taken] == list(range(21))  # the oldest had waited 200 ms


def test_batch_must_fit_in_half_the_brokers_window():
    with pytest.raises(ValueError, match="at most half the receive maximum"):
        ListenerConfig(broker=BrokerAddress.from_url("mqtt://x"), client_id="x", batch_size=6000)


def test_live_frames_are_throttled_per_machine_but_failures_always_go_out(plant):
    clock = [100.0]
    live = LiveFrames(max_per_second=4, clock=lambda: clock[0])
    now = timezone.now()
    row = ReadingRow(plant[0].id, "M-001", now, {"vibration": 2.0})
    assert live.publish([row]) == 1
    clock[0] += 0.1
    assert live.publish([row]) == 0
    assert live.publish([ReadingRow(plant[0].id, "M-001", now, {"vibration": 9.0}, "E-BRG-01")]) == 1
    clock[0] += 0.3
    assert live.publish([row]) == 1


@pytest.mark.django_db(transaction=True)
def test_machine_group_receives_the_newest_reading_after_commit(plant):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(machine_group("M-001"), channel)
    listener = listener_for()
    now = timezone.now().replace(microsecond=0)
    batch = receive_all(
        listener,
        [
            (telemetry_topic("M-001"), payload(now - datetime.timedelta(seconds=1), vibration=1.0)),
            (telemetry_topic("M-001"), payload(now, vibration=2.5)),
        ],
    )
    listener.batch_commit(batch, ack=lambda mids: None)

    message = async_to_sync(layer.receive)(channel)
    assert message == {
        "type": "machine.reading",
        "payload": {"machine": "M-001", "ts": now.isoformat(), "metrics": {"vibration": 2.5}},
    }
    async_to_sync(layer.group_discard)(machine_group("M-001"), channel)


# --- against the real broker (MQTT_URL) ----------------------------------------------------------


class ListenerThread:
    """run() in a thread, as the command runs it, stopped the way SIGTERM stops it."""

    def __init__(self, listener: TelemetryListener):
        self.listener = listener
        self.result = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.result = self.listener.run()

    def __enter__(self):
        self.thread.start()
        assert self.listener.subscribed.wait(timeout=20)
        return self.listener

    def __exit__(self, *exc):
        self.listener.request_stop()
        self.thread.join(timeout=20)
        assert self.result is True


def publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    client = client_create(BrokerAddress.from_url(url), client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    address = BrokerAddress.from_url(url)
    client.connect(address.host, address.port)
    client.loop_start()
    infos = [client.publish(topic, body, qos=1) for topic, body in messages]
    for info in infos:
        info.wait_for_publish(timeout=20)
    client.disconnect()
    client.loop_stop()


@pytest.mark.django_db(transaction=True)
def test_published_readings_become_rows_and_bad_ones_rejected_through_the_broker(plant):
    now = timezone.now().replace(microsecond=0)
    good = [(telemetry_topic("M-001"), payload(now - datetime.timedelta(seconds=s))) for s in range(50)]
    bad = [(telemetry_topic("M-002"), b"{oops"), (telemetry_topic("M-002"), payload(now, rpm=3.0))]
    duplicate = [good[0]]
    listener = listener_for()
    with ListenerThread(listener):
        publish(settings.MQTT_URL, good + bad + duplicate)
        wait_until(lambda: listener.stats.stored + listener.stats.rejected + listener.stats.duplicates == 53)

    assert Reading.objects.filter(machine__code="M-001").count() == 50
    assert RejectedMessage.objects.count() == 2
    assert listener.stats.duplicates == 1


@pytest.mark.django_db(transaction=True)
def test_a_backlog_waits_at_the_broker_not_in_memory_while_the_writer_is_behind(plant):
    """A resumed session's backlog of 6,000 with room for 1,000 unacknowledged: Mosquitto 2.0.11 sends
    far past that once the first batches are acked (its Receive Maximum count goes wrong), so the
    listener stops reading while the writer (held back here by 20 ms a batch) has that many waiting."""
    broker = MosquittoBroker().start()
    try:
        client_id = f"test-backlog-{uuid.uuid4().hex[:8]}"
        config = {"client_id": client_id, "receive_maximum": 1000, "batch_size": 200}
        with ListenerThread(listener_for(broker.url, **config)):
            pass  # its persistent session now queues what is published while it is away
        now = timezone.now().replace(microsecond=0)
        publish(
            broker.url,
            [(telemetry_topic("M-001"), payload(now - datetime.timedelta(milliseconds=10 * n))) for n in range(6000)],
        )
        listener = listener_for(broker.url, **config)
        waiting_most = 0
        add, store = listener._batcher.add, listener.batch_store

        def add_counted(pending):
            nonlocal waiting_most
            add(pending)
            waiting_most = max(waiting_most, len(listener._batcher))

        def store_slowly(batch):
            time.sleep(0.02)
            return store(batch)

        listener._batcher.add, listener.batch_store = add_counted, store_slowly
        with ListenerThread(listener):
            wait_until(lambda: listener.stats.stored == 6000, timeout=60)
    finally:
        broker.destroy()

    assert Reading.objects.count() == 6000
    assert listener.stats.duplicates == 0
    # Read in bursts: at most one burst past the mark.
    assert 1000 <= waiting_most <= 1000 + TelemetryClient.READ_BURST
    assert listener.stats.batches >= 6000 / 200  # no batch past batch_size


@pytest.mark.django_db(transaction=True)
def test_shared_subscription_splits_the_stream_between_listeners(plant):
    now = timezone.now().replace(microsecond=0)
    group = f"ingest-{uuid.uuid4().hex[:6]}"
    first, second = listener_for(shared_group=group), listener_for(shared_group=group)
    messages = [(telemetry_topic("M-001"), payload(now - datetime.timedelta(milliseconds=10 * n))) for n in range(400)]
    with ListenerThread(first), ListenerThread(second):
        publish(settings.MQTT_URL, messages)
        wait_until(lambda: first.stats.stored + second.stats.stored == 400)

    assert Reading.objects.count() == 400
    assert first.stats.received > 0
    assert second.stats.received > 0
    assert first.stats.received + second.stats.received == 400


@pytest.mark.django_db(transaction=True)
def test_what_gateways_send_every_day_is_stored_and_only_what_cannot_be_true_kept_aside(plant):
    """Epoch milliseconds, a batch of readings in one message, a metric the type does not know beside
    one it does, and values no vibration sensor reads, through the real broker."""
    MetricSpec.objects.filter(name="vibration").update(physical_min=0, physical_max=50)
    now = timezone.now().replace(microsecond=0)
    ms = int(now.timestamp() * 1000)
    messages = [
        (telemetry_topic("M-001"), json.dumps({"ts": ms - 1000, "metrics": {"vibration": 3.1}}).encode()),
        (
            telemetry_topic("M-002"),
            json.dumps([{"ts": ms - 3000 + n * 1000, "metrics": {"vibration": 2.0 + n}} for n in range(3)]).encode(),
        ),
        (telemetry_topic("M-001"), json.dumps({"ts": ms - 2000, "metrics": {"vibration": 3.5, "rpm": 1480}}).encode()),
        (telemetry_topic("M-001"), json.dumps({"ts": ms - 3000, "metrics": {"vibration": -5}}).encode()),
        (telemetry_topic("M-001"), json.dumps({"ts": ms - 4000, "metrics": {"vibration": 1e300}}).encode()),
    ]
    listener = listener_for()
    with ListenerThread(listener):
        publish(settings.MQTT_URL, messages)
        wait_until(lambda: listener.stats.stored + listener.stats.rejected == 8)

    second = datetime.timedelta(seconds=1)
    assert sorted(Reading.objects.values_list("machine__code", "ts", "metrics")) == [
        ("M-001", now - 2 * second, {"vibration": 3.5}),
        ("M-001", now - second, {"vibration": 3.1}),
        ("M-002", now - 3 * second, {"vibration": 2.0}),
        ("M-002", now - 2 * second, {"vibration": 3.0}),
        ("M-002", now - second, {"vibration": 4.0}),
    ]
    kept = {
        (kind, json.dumps(json.loads(bytes(body))["metrics"]))
        for kind, body in RejectedMessage.objects.values_list("kind", "payload")
    }
    assert kept == {("metric", '{"rpm": 1480}'), ("range", '{"vibration": -5}'), ("range", '{"vibration": 1e+300}')}
    # The roll-ups hold only what was stored.
    assert ReadingMinute.objects.filter(machine__code="M-001").aggregate(Max("maximum"))["maximum__max"] == 3.5
