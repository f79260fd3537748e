"""Traffic for the whole-system suite (bench/system.py): the plant's sensors and a hostile sender.

Run by the suite as its own processes, so that their CPU is not the listener's:

    system_traffic.py publish --broker-url URL --machines FILE --keys FILE --client-id ID
        every machine of FILE once a second, spread evenly over the second, each reading's `ts` the
        instant it is handed to the client (so that a row's commit time minus its ts is the delay
        from publish to commit). Every reading the broker acknowledged (PUBACK) is appended to the
        keys file as (machine index, ts in microseconds): what was published, for the count check.
        SIGTERM stops it after the second at hand, once every reading is acknowledged.
    system_traffic.py hostile --broker-url URL --machines FILE --manifest FILE --count N --rate R --seed S
        N generated bad payloads, each of a known kind, at R a second; the manifest lists each one's
        kind, topic, size and sha256, and whether the broker acknowledged it.

Machines FILE: a JSON list of {"code": ..., "metrics": {"<name>": [normal low, normal high], ...}}.
"""

import argparse
import datetime
import hashlib
import json
import math
import random
import signal
import string
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

import paho.mqtt.client as mqtt  # noqa: E402

from telemetry.mqtt import BrokerAddress, client_create, connect_options, telemetry_topic  # noqa: E402

# One record per acknowledged reading: the machine's index in the machines file and ts in µs since 1970.
KEY_RECORD = struct.Struct("<IQ")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)
# telemetry.models.RejectedMessage.PAYLOAD_LIMIT, without loading Django here.
STORED_PAYLOAD_LIMIT = 64 * 1024
# Packet ids are 16-bit: a client with more than this many unacknowledged messages would reuse ids.
MAX_UNACKNOWLEDGED = 30_000


def epoch_us(ts: datetime.datetime) -> int:
    return (ts - EPOCH) // MICROSECOND


def machines_load(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def metric_values(machine: dict, *, t: float, phase: float, rng: random.Random) -> dict[str, float]:
    """A healthy machine: each metric inside its normal range, a slow swing plus noise (never flat,
    which the predictor would take for a stuck sensor)."""
    values = {}
    for name, (low, high) in machine["metrics"].items():
        span = high - low
        level = 0.5 + 0.12 * math.sin(2 * math.pi * t / 900 + phase) + rng.gauss(0, 0.03)
        values[name] = round(low + span * min(max(level, 0.1), 0.9), 3)
    return values


class Acknowledgements:
    """Messages handed to paho, and which of them the broker has acknowledged (PUBACK).

    paho's on_publish runs in its network thread and only appends the packet id to a deque (an
    atomic append); this thread maps ids to keys. A message published while the connection is
    down is sent after the reconnect, and its PUBACK comes through on_publish all the same (its
    MQTTMessageInfo, by contrast, keeps the error of the first try).
    """

    def __init__(self):
        self.pending: dict[int, object] = {}
        self._acked_ids: deque[int] = deque()
        self.acknowledged = 0

    def on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._acked_ids.append(mid)

    def add(self, mid: int, key) -> None:
        self.pending[mid] = key

    def collect(self) -> list:
        """The keys acknowledged since the last call."""
        done = []
        while self._acked_ids:
            key = self.pending.pop(self._acked_ids.popleft(), None)
            if key is not None:
                done.append(key)
        self.acknowledged += len(done)
        return done


def connected_client(broker_url: str, client_id: str, *, acks: Acknowledgements | None = None):
    """A publisher's client, connected, its network loop running; reconnects by itself.

    A persistent session, so that a reading published while the broker restarts is sent again
    after the reconnect instead of being dropped with a clean session's state."""
    address = BrokerAddress.from_url(broker_url)
    client = client_create(address, client_id=client_id, persistent=True)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    if acks is not None:
        client.on_publish = acks.on_publish
    client.connect_async(address.host, address.port, keepalive=30, **connect_options(protocol="5", persistent=True))
    client.loop_start()
    if not connected.wait(30):
        raise SystemExit(f"{client_id}: could not connect to {broker_url}")
    return client


def publish_with_room(client, acks: Acknowledgements, topic: str, body: bytes | str, key) -> None:
    """Publish at QoS 1 unless too many are unacknowledged (a broker outage): then wait for room."""
    while len(acks.pending) >= MAX_UNACKNOWLEDGED:
        time.sleep(0.05)
        acks.collect()
    # The id is registered before paho can see its PUBACK: on_publish only queues ids for collect().
    info = client.publish(topic, body, qos=1)
    # MQTT_ERR_NO_CONN still queues the message (paho sends it after the reconnect); only a
    # refused one (queue full, packet id in use) is not ours to track.
    if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
        raise SystemExit(f"paho refused a publish: {mqtt.error_string(info.rc)}")
    acks.add(info.mid, key)


def keys_append(keys, acks: Acknowledgements) -> None:
    keys.write(b"".join(KEY_RECORD.pack(*key) for key in acks.collect()))
    keys.flush()


def publish_main(args) -> None:
    machines = machines_load(Path(args.machines))
    topics = [telemetry_topic(machine["code"]) for machine in machines]
    rng = random.Random(args.seed)  # noqa: S311 - seeded sensor noise, not a secret
    phases = [rng.uniform(0, 2 * math.pi) for _ in machines]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    acks = Acknowledgements()
    client = connected_client(args.broker_url, args.client_id, acks=acks)
    count = len(machines)
    second = math.ceil(time.time())
    handed = 0
    next_flush = time.monotonic() + 1
    with Path(args.keys).open("ab") as keys:
        while not stop.is_set():
            for index in range(count):
                wait = second + index / count - time.time()
                if wait > 0.002:
                    time.sleep(wait)
                ts = datetime.datetime.now(datetime.UTC)
                values = metric_values(machines[index], t=ts.timestamp(), phase=phases[index], rng=rng)
                body = json.dumps({"ts": ts.isoformat(), "metrics": values})
                publish_with_room(client, acks, topics[index], body, (index, epoch_us(ts)))
                handed += 1
                if time.monotonic() >= next_flush:
                    keys_append(keys, acks)
                    next_flush = time.monotonic() + 1
            second += 1
            if time.time() > second + 5:
                # Starved of CPU for seconds: skip ahead rather than burst, as a sensor that missed its slots.
                second = math.ceil(time.time())
        drain_deadline = time.monotonic() + args.drain_seconds
        while acks.pending and time.monotonic() < drain_deadline:
            time.sleep(0.1)
            keys_append(keys, acks)
        keys_append(keys, acks)
    client.disconnect()
    client.loop_stop()
    summary = {"handed": handed, "acknowledged": acks.acknowledged, "unacknowledged": len(acks.pending)}
    Path(args.keys + ".done").write_text(json.dumps(summary))


# --- hostile payloads ---------------------------------------------------------------------------


# Two groups of bad payloads. The contract's mistakes: what the listener's decoder is there to refuse.
# JSON the database cannot hold: JSON that Python reads but PostgreSQL cannot store in jsonb, text or
# float8 (U+0000, half a surrogate pair, an integer past 1.8e308), each where the contract makes the
# payload bad; its rejection, reason and all, must still be stored.
CONTRACT, DATABASE = "malformed by the payload contract", "JSON the database cannot hold"
GROUP_GAP_SECONDS = 2.0
DATABASE_KINDS = frozenset({"integer beyond a double", "text with \\u0000", "text with a lone surrogate"})

# A key left out of a generated document, and a value replaced in its text after json.dumps.
_MISSING = object()
_PLACEHOLDER = "@@placeholder@@"


def _iso(ts: datetime.datetime) -> str:
    return ts.isoformat()


class HostilePayloads:
    """Bad payloads of known kinds, each bad by the payload contract (DESIGN.md), from one seed.

    Each kind is a function of (rng, machine, now) returning (topic, payload bytes); the content is
    random within the kind, so a run covers many spellings of the same mistake.
    """

    def __init__(self, *, machines: list[dict], seed: int, now: datetime.datetime):
        self.rng = random.Random(seed)  # noqa: S311 - a seeded fuzzer must repeat itself
        self.machines = machines
        self.now = now
        self.kinds: dict[str, Callable[[dict], tuple[str, bytes]]] = {
            "not UTF-8": self.not_utf8,
            "not JSON": self.not_json,
            "empty or blank": self.empty,
            "JSON but not an object": self.not_an_object,
            "ts missing or not a time": self.ts_wrong_type,
            "ts text not ISO-8601": self.ts_not_iso,
            "ts without UTC offset": self.ts_without_offset,
            "ts in the future": self.ts_future,
            "ts before 2000 or unusable epoch": self.ts_too_old,
            "metrics missing, empty or not an object": self.metrics_shape,
            "metric not a finite number": self.metric_not_number,
            "number too long to parse": self.number_too_long,
            "integer beyond a double": self.integer_beyond_double,
            "metric name not lower_snake_case": self.metric_name_invalid,
            "metric the machine type lacks": self.metric_not_of_type,
            "unknown machine": self.unknown_machine,
            "machine code not allowed in a topic": self.topic_code_invalid,
            "over 64 KiB": self.oversize,
            "error_code malformed": self.error_code_invalid,
            "nested deeper than Python recurses": self.deep_nesting,
            "text with \\u0000": self.nul_escape,
            "text with a lone surrogate": self.lone_surrogate,
        }

    # helpers -----------------------------------------------------------------------------------

    def _ts(self) -> str:
        return _iso(self.now - datetime.timedelta(seconds=self.rng.uniform(0, 60)))

    def _metrics(self, machine: dict) -> dict[str, float]:
        return {name: round(self.rng.uniform(low, high), 3) for name, (low, high) in machine["metrics"].items()}

    def _document(self, machine: dict, **overrides) -> dict:
        document = {"ts": self._ts(), "metrics": self._metrics(machine)}
        document.update(overrides)
        return {key: value for key, value in document.items() if value is not _MISSING}

    def _word(self, alphabet: str = string.ascii_letters, low: int = 1, high: int = 12) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(low, high)))

    def _json_scalar(self):
        return self.rng.choice(
            [None, True, False, self.rng.randint(-(10**6), 10**6), self.rng.uniform(-1e6, 1e6), self._word()]
        )

    @staticmethod
    def _topic(machine: dict) -> str:
        return telemetry_topic(machine["code"])

    def _encoded(self, machine: dict, document) -> tuple[str, bytes]:
        return self._topic(machine), json.dumps(document).encode()

    def _with_number(self, machine: dict, number_text: str) -> tuple[str, bytes]:
        """A payload whose vibration is `number_text` as written, which json.dumps cannot write."""
        text = json.dumps(self._document(machine, metrics={**self._metrics(machine), "vibration": _PLACEHOLDER}))
        return self._topic(machine), text.replace(json.dumps(_PLACEHOLDER), number_text, 1).encode()

    # kinds ---------------------------------------------------------------------------------------

    def not_utf8(self, machine):
        raw = bytearray(json.dumps(self._document(machine)).encode())
        for _ in range(self.rng.randint(1, 4)):
            raw.insert(self.rng.randrange(len(raw)), self.rng.choice([0xFF, 0xFE, 0xC0, 0x80, 0xED]))
        if self.rng.random() < 0.3:
            raw = bytearray(self.rng.randbytes(self.rng.randint(1, 200)) + b"\xff")
        return self._topic(machine), bytes(raw)

    def not_json(self, machine):
        valid = json.dumps(self._document(machine))
        choice = self.rng.randrange(4)
        if choice == 0:  # cut short: an object that never closes
            text = valid[: self.rng.randrange(1, len(valid) - 1)]
        elif choice == 1:  # Python's spelling, not JSON's
            text = valid.replace('"', "'")
        elif choice == 2:  # markup or a sentence
            text = "<reading>" + self._word(string.ascii_letters + " ", 5, 40) + "</reading>"
        else:  # a trailing comma
            text = valid[:-1] + ", }"
        return self._topic(machine), text.encode()

    def empty(self, machine):
        return self._topic(machine), self.rng.choice([b"", b" ", b"\n", b"\t \r\n"])

    def not_an_object(self, machine):
        document = self.rng.choice(
            [
                self._json_scalar(),
                [self._document(machine)],
                [self._json_scalar() for _ in range(self.rng.randint(0, 5))],
            ]
        )
        return self._encoded(machine, document)

    def ts_wrong_type(self, machine):
        ts = self.rng.choice([_MISSING, None, True, False, [self._ts()], {"at": self._ts()}])
        return self._encoded(machine, self._document(machine, ts=ts))

    def ts_not_iso(self, machine):
        ts = self.rng.choice(
            [
                self._word(),
                "yesterday",
                "27/11/2026 08:00",
                "",
                self.now.strftime("%a, %d %b %Y %H:%M:%S GMT"),
                self._ts().replace("T", "t" * self.rng.randint(2, 3)),
            ]
        )
        return self._encoded(machine, self._document(machine, ts=ts))

    def ts_without_offset(self, machine):
        naive = (self.now - datetime.timedelta(seconds=self.rng.uniform(0, 3600))).replace(tzinfo=None)
        return self._encoded(machine, self._document(machine, ts=naive.isoformat()))

    def ts_future(self, machine):
        ahead = datetime.timedelta(minutes=self.rng.uniform(6, 60 * 24 * 3650))
        ts = self.now + ahead
        return self._encoded(machine, self._document(machine, ts=self.rng.choice([_iso(ts), ts.timestamp()])))

    def ts_too_old(self, machine):
        old = datetime.datetime(1970, 1, 2, tzinfo=datetime.UTC) + datetime.timedelta(days=self.rng.uniform(0, 10_900))
        ts = self.rng.choice([_iso(old), old.timestamp(), 1e20, -1e20, 10**30])
        return self._encoded(machine, self._document(machine, ts=ts))

    def metrics_shape(self, machine):
        metrics = self.rng.choice(
            [_MISSING, None, {}, [], self._word(), self.rng.randint(0, 9), list(self._metrics(machine).items())]
        )
        return self._encoded(machine, self._document(machine, metrics=metrics))

    def metric_not_number(self, machine):
        metrics = self._metrics(machine)
        name = self.rng.choice(sorted(metrics))
        kind = self.rng.randrange(3)
        if kind == 0:  # JSON's non-numbers
            metrics[name] = self.rng.choice([None, True, False, "3.2", self._word(), [1.0], {"value": 1.0}])
            return self._encoded(machine, self._document(machine, metrics=metrics))
        # Not JSON numbers at all, though Python's json writes and reads them.
        if kind == 1:
            metrics[name] = self.rng.choice([math.nan, math.inf, -math.inf])
            return self._encoded(machine, self._document(machine, metrics=metrics))
        return self._with_number(machine, self.rng.choice(["1e999", "-1e400", "NaN", "Infinity"]))

    def number_too_long(self, machine):
        # Past Python's 4,300-digit limit for int(): its json refuses to read it.
        digits = "".join(self.rng.choice(string.digits) for _ in range(self.rng.randint(4400, 6000)))
        return self._with_number(machine, "1" + digits)

    def integer_beyond_double(self, machine):
        # A JSON integer Python reads exactly but no float8 can hold (> 1.8e308).
        digits = "".join(self.rng.choice(string.digits) for _ in range(self.rng.randint(309, 1000)))
        return self._with_number(machine, self.rng.choice(["", "-"]) + "9" + digits)

    def metric_name_invalid(self, machine):
        metrics = self._metrics(machine)
        name = self.rng.choice(
            [
                self._word(string.ascii_uppercase),
                "Vibration",
                "vibration rms",
                "9" + self._word(string.ascii_lowercase),
                "x" * self.rng.randint(41, 200),
                "température",
                "",
                "vib-ration",
            ]
        )
        metrics[name] = 1.0
        return self._encoded(machine, self._document(machine, metrics=metrics))

    def metric_not_of_type(self, machine):
        metrics = self._metrics(machine)
        extra = self.rng.choice(["humidity", "noise_db", "rotor_imbalance", "x_" + self._word(string.ascii_lowercase)])
        metrics[extra] = round(self.rng.uniform(0, 100), 2)
        return self._encoded(machine, self._document(machine, metrics=metrics))

    def unknown_machine(self, machine):
        topic = telemetry_topic(f"X-{self._word(string.ascii_uppercase + string.digits, 3, 10)}")
        return topic, json.dumps(self._document(machine)).encode()

    def topic_code_invalid(self, machine):
        code = self.rng.choice(
            [
                "-" + self._word(),
                "." + self._word(),
                self._word() + "!",
                self._word() + "@" + self._word(),
                "M" * self.rng.randint(33, 80),
                "maschine-ä",
                "M 001",
            ]
        )
        return f"plant/{code}/telemetry", json.dumps(self._document(machine)).encode()

    def oversize(self, machine):
        padding = self._word(string.ascii_letters, 10, 10) * self.rng.randint(6600, 8000)
        return self._encoded(machine, self._document(machine, note=padding))

    def error_code_invalid(self, machine):
        error_code = self.rng.choice(
            [
                self.rng.randint(1, 999),
                ["E-BRG-01"],
                {"code": "E-BRG-01"},
                True,
                "E BRG 01",
                "-E-BRG-01",
                "E/BRG/01",
                "E" * self.rng.randint(33, 100),
            ]
        )
        return self._encoded(machine, self._document(machine, error_code=error_code))

    def deep_nesting(self, machine):
        # Deeper than Python's recursion limit, small enough to stay under the size limit.
        opener, closer, depth = self.rng.choice([("[", "]", 20_000), ('{"a":', "}", 5_000)])
        text = json.dumps(self._document(machine, metrics=_PLACEHOLDER))
        return self._topic(machine), text.replace(
            json.dumps(_PLACEHOLDER), opener * depth + "1" + closer * depth, 1
        ).encode()

    def _text_in_a_checked_field(self, machine, text: str) -> tuple[str, bytes]:
        """`text` (a JSON string's escaped content) in the middle of the ts, a metric name or the
        error code: fields the contract checks, so the payload is bad wherever the text lands."""
        where = self.rng.choice(["ts", "metric name", "error_code"])
        if where == "ts":
            ts = self._ts()
            document = self._document(machine, ts=ts[:10] + _PLACEHOLDER + ts[10:])
        elif where == "metric name":
            document = self._document(machine, metrics={**self._metrics(machine), "vib" + _PLACEHOLDER: 1.0})
        else:
            document = self._document(machine, error_code="E-BRG" + _PLACEHOLDER + "-01")
        return self._topic(machine), json.dumps(document).replace(_PLACEHOLDER, text, 1).encode()

    def nul_escape(self, machine):
        # Valid JSON that Python reads, but PostgreSQL's jsonb and text cannot hold U+0000: the
        # rejection must still be storable.
        return self._text_in_a_checked_field(machine, "\\u0000")

    def lone_surrogate(self, machine):
        # Valid JSON escapes that name half of a UTF-16 pair: no character at all.
        return self._text_in_a_checked_field(machine, self.rng.choice(["\\ud800", "\\udfff", "\\udbff"]))

    # ---------------------------------------------------------------------------------------------

    def generate(self, count: int) -> list[tuple[str, str, str, bytes]]:
        """`count` payloads as (group, kind, topic, payload), the kinds in equal shares: first the
        contract's mistakes, shuffled, then the values only the database refuses, shuffled, so that
        a listener that fails on the second group has shown first what it does with the first."""
        names = list(self.kinds)
        groups: dict[str, list] = {CONTRACT: [], DATABASE: []}
        for n in range(count):
            kind = names[n % len(names)]
            topic, payload = self.kinds[kind](self.rng.choice(self.machines))
            group = DATABASE if kind in DATABASE_KINDS else CONTRACT
            groups[group].append((group, kind, topic, payload))
        for payloads in groups.values():
            self.rng.shuffle(payloads)
        return groups[CONTRACT] + groups[DATABASE]


def hostile_main(args) -> None:
    machines = machines_load(Path(args.machines))
    generator = HostilePayloads(machines=machines, seed=args.seed, now=datetime.datetime.now(datetime.UTC))
    excluded = set(args.exclude or [])
    unknown = excluded - set(generator.kinds)
    if unknown:
        raise SystemExit(f"unknown hostile kinds: {sorted(unknown)}; the kinds are {sorted(generator.kinds)}")
    for kind in excluded:
        del generator.kinds[kind]
    payloads = generator.generate(args.count)
    acks = Acknowledgements()
    client = connected_client(args.broker_url, args.client_id, acks=acks)
    started = time.monotonic()
    pause = 0.0
    for n, (group, _, topic, payload) in enumerate(payloads):
        if n and group != payloads[n - 1][0]:
            # Two seconds between the groups: the first group's last batch is committed before the
            # second group's first payload arrives, so each group's outcome is its own.
            pause += GROUP_GAP_SECONDS
        wait = started + pause + n / args.rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        publish_with_room(client, acks, topic, payload, n)
    deadline = time.monotonic() + args.drain_seconds
    acknowledged = set(acks.collect())
    while acks.pending and time.monotonic() < deadline:
        time.sleep(0.1)
        acknowledged.update(acks.collect())
    client.disconnect()
    client.loop_stop()
    with Path(args.manifest).open("w") as manifest:
        for n, (group, kind, topic, payload) in enumerate(payloads):
            entry = {
                "group": group,
                "kind": kind,
                "topic": topic,
                "size": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
                # What a RejectedMessage keeps of it: the first 64 KiB.
                "sha256_stored": hashlib.sha256(payload[:STORED_PAYLOAD_LIMIT]).hexdigest(),
                "acknowledged": n in acknowledged,
            }
            manifest.write(json.dumps(entry) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    publish = commands.add_parser("publish")
    publish.add_argument("--broker-url", required=True)
    publish.add_argument("--machines", required=True)
    publish.add_argument("--keys", required=True)
    publish.add_argument("--client-id", required=True)
    publish.add_argument("--seed", type=int, default=1)
    publish.add_argument("--drain-seconds", type=float, default=180.0)
    hostile = commands.add_parser("hostile")
    hostile.add_argument("--broker-url", required=True)
    hostile.add_argument("--machines", required=True)
    hostile.add_argument("--manifest", required=True)
    hostile.add_argument("--client-id", required=True)
    hostile.add_argument("--count", type=int, default=10_000)
    hostile.add_argument("--rate", type=float, default=200.0)
    hostile.add_argument("--seed", type=int, default=1)
    hostile.add_argument("--exclude", action="append", help="a kind to leave out (repeat)")
    hostile.add_argument("--drain-seconds", type=float, default=120.0)
    args = parser.parse_args()
    {"publish": publish_main, "hostile": hostile_main}[args.command](args)


if __name__ == "__main__":
    main()
