"""TelemetryClient against the real broker: bursts of QoS 1 messages all arrive, `ack_many`
acknowledges exactly the messages it names (what is not acked comes back on the next session), and
`on_publish_received` takes each message as sent, its MQTT 5 properties skipped."""

import socket
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from django.conf import settings
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from telemetry.mqtt import BrokerAddress, TelemetryClient, _BufferedSocket, client_create, connect_options

MESSAGES = 3 * TelemetryClient.READ_BURST + 17  # several bursts and a partial one
# Fewer than a 3.1.1 broker's default in-flight cap (Mosquitto: 20), so the first session still
# receives them all while they stay unacknowledged.
HELD_BACK = 10


def subscriber_session(
    address: BrokerAddress, client_id: str, protocol: str, topic: str, received: list
) -> TelemetryClient:
    """Connect with a persistent session, collect (mid, payload) until nothing arrives for 0.5 s."""
    client = client_create(address, client_id=client_id, protocol=protocol, persistent=True, manual_ack=True)
    subscribed = threading.Event()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_publish_received = lambda mid, qos, topic, payload: received.append((mid, payload))
    client.connect(address.host, address.port, **connect_options(protocol=protocol, persistent=True))
    client.loop_start()
    assert subscribed.wait(timeout=10)
    return client


def wait_quiet(received: list, *, quiet: float = 0.5, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        if len(received) == seen and seen > 0:
            return
        seen = len(received)
        time.sleep(quiet)


def stop(client) -> None:
    client.disconnect()
    client.loop_stop()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_ack_many_acknowledges_exactly_the_named_messages_and_the_rest_come_back(protocol):
    address = BrokerAddress.from_url(settings.MQTT_URL)
    topic = f"test/ack-many/{uuid.uuid4().hex[:8]}"
    client_id = f"test-ack-many-{uuid.uuid4().hex[:8]}"
    first_session: list[tuple[int, bytes]] = []
    subscriber = subscriber_session(address, client_id, protocol, topic, first_session)

    publisher = client_create(address, client_id=f"test-pub-{uuid.uuid4().hex[:8]}", protocol=protocol)
    publisher.connect(address.host, address.port)
    publisher.loop_start()
    infos = [publisher.publish(topic, f"{n}".encode(), qos=1) for n in range(MESSAGES)]
    for info in infos:
        info.wait_for_publish(timeout=20)
    stop(publisher)

    # Ack as the listener does, batch by batch, until all but the last HELD_BACK are acknowledged.
    acknowledged: set[bytes] = set()
    deadline = time.monotonic() + 30
    while len(acknowledged) < MESSAGES - HELD_BACK and time.monotonic() < deadline:
        batch = first_session[len(acknowledged) : MESSAGES - HELD_BACK]
        subscriber.ack_many([mid for mid, _ in batch])
        acknowledged.update(body for _, body in batch)
        time.sleep(0.05)
    wait_quiet(first_session)
    assert len(first_session) == MESSAGES  # every burst delivered, none lost inside a burst
    assert [body for _, body in first_session] == [f"{n}".encode() for n in range(MESSAGES)]
    time.sleep(0.3)  # let the network thread write the last PUBACKs
    stop(subscriber)

    second_session: list[tuple[int, bytes]] = []
    resumed = subscriber_session(address, client_id, protocol, topic, second_session)
    wait_quiet(second_session, timeout=10)
    resumed.ack_many([mid for mid, _ in second_session])
    time.sleep(0.3)
    stop(resumed)

    assert sorted(int(body) for _, body in second_session) == list(range(MESSAGES - HELD_BACK, MESSAGES))


def test_ack_many_with_no_messages_sends_nothing():
    client = client_create(BrokerAddress.from_url(settings.MQTT_URL), client_id="unused", manual_ack=True)
    client.ack_many([])
    assert len(client._out_packet) == 0


def test_buffered_socket_serves_reads_across_chunks_and_says_what_it_holds():
    left, right = socket.socketpair()
    try:
        right.setblocking(False)
        buffered = _BufferedSocket(right)
        with pytest.raises(BlockingIOError):
            buffered.recv(1)  # nothing sent yet: paho's "try again later"
        left.sendall(b"\x30\x05hello\x30\x03abc")
        time.sleep(0.05)
        # paho's pattern: the type byte, the length byte, then the rest; all from one recv.
        assert (buffered.recv(1), buffered.recv(1), buffered.recv(5)) == (b"\x30", b"\x05", b"hello")
        assert buffered.pending() == 5
        assert buffered.recv(3) == b"\x30\x03a"  # a read that ends inside the chunk
        assert buffered.recv(100) == b"bc"  # no more than what is held, without a system call
        assert buffered.pending() == 0
        left.close()
        time.sleep(0.05)
        assert buffered.recv(1) == b""  # the broker closed the connection
        assert buffered.fileno() == right.fileno()  # select() and the rest reach the real socket
    finally:
        right.close()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_on_publish_received_takes_each_message_as_sent_and_acks_it_unless_manual(protocol):
    """QoS 0 and 1, with MQTT 5 properties of every size the header allows (a user property of 300
    bytes makes their length two bytes long): the topic and payload arrive exact, the packet id with
    QoS 1 only, and without manual_ack the client acks by itself (nothing comes back on resuming)."""
    address = BrokerAddress.from_url(settings.MQTT_URL)
    topic = f"test/raw-publish/{uuid.uuid4().hex[:8]}"
    client_id = f"test-raw-publish-{uuid.uuid4().hex[:8]}"

    def session(received: list) -> TelemetryClient:
        client = client_create(address, client_id=client_id, protocol=protocol, persistent=True)
        subscribed = threading.Event()
        client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_publish_received = lambda *message: received.append(message)
        client.connect(address.host, address.port, **connect_options(protocol=protocol, persistent=True))
        client.loop_start()
        assert subscribed.wait(timeout=10)
        return client

    received: list[tuple[int, int, bytes, bytes]] = []
    subscriber = session(received)
    publisher = client_create(address, client_id=f"test-pub-{uuid.uuid4().hex[:8]}", protocol=protocol)
    publisher.connect(address.host, address.port)
    publisher.loop_start()
    sent = []
    for n, (qos, note) in enumerate([(0, "x"), (1, "y" * 300), (1, ""), (0, "z" * 200)]):
        properties = None
        if protocol == "5":
            properties = Properties(PacketTypes.PUBLISH)
            properties.ContentType = "application/json"
            properties.MessageExpiryInterval = 3600
            if note:
                properties.UserProperty = ("note", note)
        body = b'{"n": %d}' % n if n != 2 else b""  # an empty payload too
        publisher.publish(topic, body, qos=qos, properties=properties).wait_for_publish(timeout=10)
        sent.append((qos, body))
    stop(publisher)
    wait_quiet(received)
    stop(subscriber)

    assert [(qos, payload) for _, qos, _, payload in received] == sent
    assert {received_topic for _, _, received_topic, _ in received} == {topic.encode()}
    assert [mid > 0 for mid, qos, _, _ in received] == [qos == 1 for qos, _ in sent]

    resumed: list = []
    stop(session(resumed))
    assert resumed == []  # the QoS 1 messages were acked on receipt


@pytest.mark.parametrize(
    ("protocol", "packet", "complaint"),
    [
        # MQTT 5, QoS 1: topic "a", packet id 7, a properties length of 9 with 2 bytes after it.
        (mqtt.MQTTv5, b"\x00\x01a\x00\x07\x09\x01\x01", "ends inside its header"),
        # MQTT 5: a properties length whose continuation bit never ends.
        (mqtt.MQTTv5, b"\x00\x01a\x00\x07\xff\xff\xff\xff\x01", "variable byte integer"),
        # MQTT 3.1.1: an empty topic.
        (mqtt.MQTTv311, b"\x00\x00\x00\x07{}", "topic can't be empty"),
        # A topic length past the end.
        (mqtt.MQTTv311, b"\x00\x09ab", "ends inside its header"),
    ],
)
def test_a_malformed_publish_is_refused_as_paho_refuses_it(protocol, packet, complaint):
    """paho answers MalformedPacket by dropping the connection (a protocol error): the same here."""
    client = TelemetryClient(mqtt.CallbackAPIVersion.VERSION2, client_id="unused", protocol=protocol)
    received = []
    client.on_publish_received = lambda *message: received.append(message)
    client._in_packet = {"command": mqtt.PUBLISH | 0x02, "packet": packet}  # QoS 1
    with pytest.raises(MalformedPacket, match=complaint):
        client._handle_publish()
    assert received == []
