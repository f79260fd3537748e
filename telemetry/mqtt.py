"""paho-mqtt clients for the listener, the simulator and the benchmark, from one MQTT URL."""

import socket
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
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


def client_create(
    address: BrokerAddress, *, client_id: str, protocol: str = "5", persistent: bool = False, manual_ack: bool = False
) -> mqtt.Client:
    """A paho client with credentials, TLS and, for persistent sessions, clean_session off (3.1.1)."""
    mqtt_protocol = PROTOCOLS[protocol]
    client = mqtt.Client(
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
