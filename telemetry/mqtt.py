"""paho-mqtt clients for the listener, the simulator and the benchmark, from one MQTT URL."""

import socket
import ssl
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

TOPIC_FILTER = "plant/+/telemetry"
PROTOCOLS = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}


def telemetry_topic(machine_code: str) -> str:
    return f"plant/{machine_code}/telemetry"


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> "BrokerAddress":
        """mqtt://[user[:password]@]host[:port] or mqtts://… (TLS, port 8883 by default)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"not an MQTT URL: {url!r} (expected mqtt://host:port or mqtts://host:port)")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )

    def __str__(self):
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def default_client_id(role: str) -> str:
    """Stable across restarts on one host, so the broker keeps the session for us."""
    return f"maintainx-{role}-{socket.gethostname()}"[:64]


class TelemetryClient(mqtt.Client):
    """paho's client, tuned for a subscriber that takes thousands of QoS 1 messages a second.

    Four changes, inside paho's own machinery (pinned in requirements.txt; the listener's tests
    exercise them against a real broker):
    - `loop_read` reads every packet the socket holds (up to READ_BURST) per wake-up. paho sizes
      that loop by its QoS 2 and outgoing messages, so a QoS 1 stream cost one select() per message.
    - the socket is read in 64 KiB chunks (_BufferedSocket) instead of three system calls a packet.
    - `ack_many` sends the PUBACKs of a committed batch as one write. `ack()` per message costs the
      caller a wake-up of the network thread and the network thread one send() per PUBACK.
    - `on_publish_received`, when set, takes each QoS 0 and 1 message as (packet id, QoS, topic as
      bytes, payload) in place of `on_message`. For each message paho builds an MQTTMessage (with a
      threading.Condition of its own), parses its MQTT 5 properties into objects and matches its
      topic against the per-filter callbacks: two fifths of the listener's CPU time on the ingest
      benchmark, for fields the listener never reads.
    Measured on the ingest benchmark: a third less CPU per reading than paho as it is with the first
    three (a raw subscriber: 35 µs a message; the same on this client: 24 µs), and with the fourth
    16 µs against the raw subscriber's 53.
    And `reading_paused`, when set and true, leaves what the broker sent in the socket until the
    receiver has room (the listener's writer is behind): TCP then holds the broker back. MQTT 5's
    Receive Maximum should do that, but Mosquitto 2.0.11 stops counting it once a resumed session's
    backlog is being acknowledged (telemetry/tests/test_listener.py measures it).
    """

    READ_BURST = 256
    _PUBACK = struct.Struct("!BBH")

    on_publish_received: Callable[[int, int, bytes, bytes], None] | None = None
    reading_paused: Callable[[], bool] | None = None
    # While paused, how long each turn of the network loop waits before looking again: it still sends
    # the acks and keep-alives meanwhile.
    PAUSE_STEP_S = 0.005

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        receive = self.on_publish_received
        header = self._in_packet["command"]
        qos = (header & 0x06) >> 1
        if receive is None or qos == 2:
            return super()._handle_publish()
        packet = self._in_packet["packet"]
        topic_end = 2 + int.from_bytes(packet[:2])
        position = topic_end
        mid = 0
        if qos:
            mid = int.from_bytes(packet[position : position + 2])
            position += 2
        if self._protocol == mqtt.MQTTv5:
            properties_length, position = _variable_byte_integer(packet, position)
            position += properties_length  # their values are not read: skipped whole
        elif topic_end == 2:
            raise MalformedPacket("topic can't be empty in MQTTv3")
        if position > len(packet):
            raise MalformedPacket(f"PUBLISH of {len(packet)} bytes ends inside its header")
        # paho reads the packet into a bytearray: one copy each out of it, as bytes.
        view = memoryview(packet)
        with self._in_callback_mutex:
            receive(mid, qos, bytes(view[2:topic_end]), bytes(view[position:]))
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _create_socket(self):
        return _BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        if self.reading_paused is not None and self.reading_paused():
            time.sleep(self.PAUSE_STEP_S)
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        for _ in range(max(max_packets, self.READ_BURST)):
            if self._sock is None:
                return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN:
                break
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def ack_many(self, mids: Sequence[int]) -> None:
        """Acknowledge QoS 1 messages (manual_ack) in one write: a PUBACK is 4 bytes, and with MQTT 5
        a PUBACK without a reason code means success, so the packets are the same in both versions."""
        if not mids:
            return
        pack = self._PUBACK.pack
        packets = b"".join([pack(mqtt.PUBACK, 2, mid) for mid in mids])
        self._packet_queue(mqtt.PUBACK, packets, 0, 0)


def _variable_byte_integer(packet: bytes, position: int) -> tuple[int, int]:
    """MQTT's variable byte integer at `position`: its value and the position after it."""
    value, shift = 0, 0
    for _ in range(4):
        if position >= len(packet):
            break
        byte = packet[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    raise MalformedPacket("malformed variable byte integer")


class _BufferedSocket:
    """The broker's socket read in large chunks: paho asks for a PUBLISH in three reads (its type,
    its length, the rest), each a system call; this serves them from one recv of up to 64 KiB.
    `pending()` tells paho's loop that data is waiting here, as an SSL socket's does, so it does
    not wait in select() for bytes it already has."""

    CHUNK = 65536

    def __init__(self, sock):
        self._sock = sock
        self._buffer = b""
        self._position = 0

    def recv(self, size: int) -> bytes:
        buffer, position = self._buffer, self._position
        if position >= len(buffer):
            data = self._sock.recv(self.CHUNK)  # raises BlockingIOError when there is nothing, as paho expects
            if len(data) <= size:
                return data
            self._buffer, self._position = data, size
            return data[:size]
        end = min(position + size, len(buffer))
        self._position = end
        return buffer[position:end]

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._buffer) - self._position + inner

    def __getattr__(self, name):
        return getattr(self._sock, name)


def client_create(
    address: BrokerAddress,
    *,
    client_id: str,
    protocol: str = "5",
    persistent: bool = False,
    manual_ack: bool = False,
    client_class: type[mqtt.Client] = TelemetryClient,
) -> mqtt.Client:
    """A paho client with credentials, TLS and, for persistent sessions, clean_session off (3.1.1)."""
    mqtt_protocol = PROTOCOLS[protocol]
    client = client_class(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt_protocol,
        # MQTT 5 chooses clean start at connect time instead (see connect_options).
        clean_session=None if mqtt_protocol == mqtt.MQTTv5 else not persistent,
        manual_ack=manual_ack,
    )
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def connect_options(*, protocol: str, persistent: bool, receive_maximum: int | None = None) -> dict:
    """Keyword arguments for connect(): with MQTT 5, clean start off for a persistent session, how
    long the broker keeps it, and our in-flight window (3.1.1 sets clean_session on the client)."""
    if PROTOCOLS[protocol] != mqtt.MQTTv5:
        return {}
    properties = Properties(PacketTypes.CONNECT)
    if persistent:
        # A week: the broker keeps subscriptions and queued messages while the listener is away.
        properties.SessionExpiryInterval = 7 * 24 * 3600
    if receive_maximum:
        properties.ReceiveMaximum = receive_maximum
    return {"clean_start": not persistent, "properties": properties}
