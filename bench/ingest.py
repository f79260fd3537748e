"""Ingest benchmark: mqtt_listen end to end against the two limits it sits between.

On a throwaway Mosquitto (queues unlimited) and a fresh PostgreSQL database, for the same M
readings of K machines, in each payload shape (`--shapes`: the contract's one reading a message,
arrays of 10 readings, a mapped source's flat documents, Sparkplug B), it measures:
  (a) a raw paho subscriber that only receives and parses the messages (JSON, or Sparkplug B's
      protobuf): the Python MQTT client's limit;
      and, beside it, the same subscriber on the listener's TelemetryClient (paho with burst reads
      and batched acks), which tells the client's share of (c) from the pipeline's;
  (b) a raw COPY of the same rows into the same table: the database's limit;
  (c) manage.py mqtt_listen end to end: readings per second committed, lost and duplicated counted
      in the table, and the listener's peak memory;
  (d) N mqtt_listen processes (`--shared-listeners`, default 2) in one shared subscription
      ($share/<group>/…, as `docker compose up --scale listener=N` runs them), draining the same
      backlog, which the broker split between their sessions as it arrived (Sparkplug B is not
      shared, so its shape has no (d)).
Each consumer drains a backlog that was published before it started, so the publisher's own speed
is not measured. Prints the three figures and c / min(a, b), and the CPU time each consumer spent
per reading (steadier than rates on a busy machine). Targets, for the contract's shape: ratio
>= 0.8 and >= 10,000/s, and c at least the raw subscriber's rate.

    make bench-ingest            (or: .venv/bin/python bench/ingest.py --readings 200000 --machines 100)
    .venv/bin/python bench/ingest.py --shapes plain,array --rounds 1
    make bench-ingest-listeners  (the contract's shape only: 1 listener against 2 on a shared subscription)
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from benchdb import database_recreate, pumps_create  # noqa: E402
from pysparkplug import DataType, DBirth, DData, Metric, NBirth  # noqa: E402
from pysparkplug import _protobuf as sparkplug_protobuf  # noqa: E402

from telemetry.mqtt import BrokerAddress, TelemetryClient, client_create, connect_options, telemetry_topic  # noqa: E402
from testing.throwaway import MosquittoBroker  # noqa: E402

SUBSCRIBER_ID = "bench-raw-subscriber"
TELEMETRY_SUBSCRIBER_ID = "bench-raw-telemetry-client"
SUBSCRIBER_CLIENTS = {"paho": mqtt.Client, "telemetry": TelemetryClient}
LISTENER_ID = "bench-listener"
SHARED_GROUP = "bench"
# Its own name per run: two runs on one server at once (two checkouts) would otherwise drop and
# fill each other's database, and count each other's rows.
DATABASE_NAME = f"maintainx_bench_{os.getpid()}"


@dataclass(frozen=True)
class BenchReading:
    code: str
    ts: datetime.datetime
    metrics: dict[str, float]


def bench_readings(readings: int, machines: int) -> list[BenchReading]:
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    return [
        BenchReading(
            f"B-{n % machines:04d}",
            start + datetime.timedelta(milliseconds=10 * (n // machines)),
            {"vibration": 1.5 + (n % 13) / 10, "temperature": 55.0 + n % 7},
        )
        for n in range(readings)
    ]


@dataclass(frozen=True)
class Shape:
    """A payload shape: how the readings travel, and what the raw subscriber does with each message."""

    name: str
    title: str
    topic_filter: str
    encode: Callable[[list[BenchReading]], list[tuple[str, bytes]]]
    parse: Callable[[bytes], object]


def plain_messages(readings: list[BenchReading]) -> list[tuple[str, bytes]]:
    return [
        (telemetry_topic(r.code), json.dumps({"ts": r.ts.isoformat(), "metrics": r.metrics}).encode()) for r in readings
    ]


ARRAY_SIZE = 10


def array_messages(readings: list[BenchReading]) -> list[tuple[str, bytes]]:
    """Each machine's readings in messages of ARRAY_SIZE, as a gateway batches them."""
    by_machine: dict[str, list[BenchReading]] = {}
    for r in readings:
        by_machine.setdefault(r.code, []).append(r)
    messages = []
    for code, own in by_machine.items():
        for first in range(0, len(own), ARRAY_SIZE):
            batch = [{"ts": r.ts.isoformat(), "metrics": r.metrics} for r in own[first : first + ARRAY_SIZE]]
            messages.append((telemetry_topic(code), json.dumps(batch).encode()))
    return messages


def mapped_messages(readings: list[BenchReading]) -> list[tuple[str, bytes]]:
    """The shipped "Flat JSON" payload source's shape: flat/<machine>/telemetry, {"time": …, <metric>: …}."""
    return [
        (f"flat/{r.code}/telemetry", json.dumps({"time": r.ts.isoformat(), **r.metrics}).encode()) for r in readings
    ]


SPARKPLUG_GROUP = "bench"
DEVICES_PER_EDGE_NODE = 10


def sparkplug_messages(readings: list[BenchReading]) -> list[tuple[str, bytes]]:
    """Edge nodes of DEVICES_PER_EDGE_NODE machines each, encoded by pysparkplug as an edge node sends
    them: each NBIRTH, then each DBIRTH naming the metrics and their aliases, then one DDATA per
    reading by alias alone (as Ignition's and Tahu's edge nodes do), seq counting per edge node."""
    codes = sorted({r.code for r in readings})
    edge_node_of = {code: f"edge-{n // DEVICES_PER_EDGE_NODE:03d}" for n, code in enumerate(codes)}
    names = sorted(readings[0].metrics)
    aliases = {name: alias for alias, name in enumerate(names, start=1)}
    seq: dict[str, int] = {}

    def next_seq(edge_node: str) -> int:
        seq[edge_node] = (seq.get(edge_node, -1) + 1) % 256
        return seq[edge_node]

    def metric(name: str, value: float, *, born: bool, ts_ms: int) -> Metric:
        return Metric(
            timestamp=ts_ms,
            name=name if born else None,
            datatype=DataType.DOUBLE,
            value=value,
            alias=aliases[name],
        )

    messages = []
    born_at = int(readings[0].ts.timestamp() * 1000)
    for edge_node in sorted(set(edge_node_of.values())):
        bd_seq = Metric(timestamp=born_at, name="bdSeq", datatype=DataType.INT64, value=0)
        birth = NBirth(timestamp=born_at, seq=next_seq(edge_node), metrics=(bd_seq,))
        messages.append((f"spBv1.0/{SPARKPLUG_GROUP}/NBIRTH/{edge_node}", birth.encode(include_dtypes=True)))
    for code in codes:
        edge_node = edge_node_of[code]
        first = next(r for r in readings if r.code == code)
        metrics = tuple(metric(n, first.metrics[n], born=True, ts_ms=born_at) for n in names)
        birth = DBirth(timestamp=born_at, seq=next_seq(edge_node), metrics=metrics)
        messages.append((f"spBv1.0/{SPARKPLUG_GROUP}/DBIRTH/{edge_node}/{code}", birth.encode(include_dtypes=True)))
    for r in readings:
        edge_node = edge_node_of[r.code]
        ts_ms = int(r.ts.timestamp() * 1000)
        metrics = tuple(metric(n, r.metrics[n], born=False, ts_ms=ts_ms) for n in names)
        data = DData(timestamp=ts_ms, seq=next_seq(edge_node), metrics=metrics)
        messages.append((f"spBv1.0/{SPARKPLUG_GROUP}/DDATA/{edge_node}/{r.code}", data.encode()))
    return messages


SHAPES = {
    "plain": Shape("plain", "one reading a message (the contract)", "plant/+/telemetry", plain_messages, json.loads),
    "array": Shape("array", f"arrays of {ARRAY_SIZE} readings", "plant/+/telemetry", array_messages, json.loads),
    "mapped": Shape("mapped", "a mapped source (flat JSON)", "flat/+/telemetry", mapped_messages, json.loads),
    # The raw subscriber parses the protobuf; aliases it leaves unresolved (it keeps no births).
    "sparkplug": Shape(
        "sparkplug",
        "Sparkplug B DDATA by alias",
        f"spBv1.0/{SPARKPLUG_GROUP}/#",
        sparkplug_messages,
        sparkplug_protobuf.Payload.FromString,
    ),
}


def publish_backlog(url: str, messages: list[tuple[str, bytes]]) -> float:
    address = BrokerAddress.from_url(url)
    client = client_create(address, client_id="bench-publisher")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(address.host, address.port)
    client.loop_start()
    started = time.perf_counter()
    # Packet ids are 16-bit: keep well under 65,536 messages outstanding or ids would collide.
    window = 30_000
    infos = []
    for n, (topic, body) in enumerate(messages):
        if n >= window:
            infos[n - window].wait_for_publish(timeout=600)
        infos.append(client.publish(topic, body, qos=1))
    for info in infos[-window:]:
        info.wait_for_publish(timeout=600)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return len(messages) / elapsed


def session_create(url: str, client_id: str, protocol: str, topic_filter: str) -> None:
    """Connect once with a persistent session and subscribe, so the broker queues the backlog for us."""
    address = BrokerAddress.from_url(url)
    client = client_create(address, client_id=client_id, persistent=True, protocol=protocol)
    subscribed = []
    client.on_subscribe = lambda *args: subscribed.append(True)
    client.connect(address.host, address.port, **connect_options(protocol=protocol, persistent=True))
    client.subscribe(topic_filter, qos=1)
    while not subscribed:
        client.loop(timeout=0.1)
    client.disconnect()


def raw_subscriber(url: str, expected: int, protocol: str, client_name: str, shape: Shape) -> None:
    """(a), run in its own process: receive and parse every message, nothing else."""
    address = BrokerAddress.from_url(url)
    client = client_create(
        address,
        client_id=SUBSCRIBER_ID if client_name == "paho" else TELEMETRY_SUBSCRIBER_ID,
        persistent=True,
        protocol=protocol,
        client_class=SUBSCRIBER_CLIENTS[client_name],
    )
    received = 0
    first = None

    parse = shape.parse

    # One function per client rather than one calling the other: the raw subscriber pays no call
    # the listener's path does not.
    def on_message(client, userdata, message):
        nonlocal received, first
        if first is None:
            first = time.perf_counter()
        parse(message.payload)
        received += 1

    def on_publish_received(mid, qos, topic, payload):  # as the listener takes its messages
        nonlocal received, first
        if first is None:
            first = time.perf_counter()
        parse(payload)
        received += 1

    if client_name == "paho":
        client.on_message = on_message
    else:
        client.on_publish_received = on_publish_received
    client.connect(
        address.host, address.port, **connect_options(protocol=protocol, persistent=True, receive_maximum=10_000)
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    while received < expected and time.perf_counter() - started < 600:
        client.loop(timeout=0.05)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    client.disconnect()
    print(json.dumps({"received": received, "seconds": elapsed, "cpu_seconds": cpu}))


def database_prepare(admin_url: str, name: str, machines: int) -> str:
    url = database_recreate(admin_url, name)
    with psycopg.connect(url) as conn:
        pumps_create(conn, machines=machines)
    return url


def raw_copy(url: str, readings: list[BenchReading]) -> float:
    """(b): the same rows straight into telemetry_reading with one COPY, committed."""
    with psycopg.connect(url) as conn:
        ids = dict(conn.execute("SELECT code, id FROM telemetry_machine").fetchall())
        rows = [f"{ids[r.code]}\t{r.ts.isoformat()}\t{json.dumps(r.metrics)}\t\n" for r in readings]
        conn.execute("TRUNCATE telemetry_reading")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy("COPY telemetry_reading (machine_id, ts, metrics, error_code) FROM STDIN") as copy:
            copy.write("".join(rows))
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("TRUNCATE telemetry_reading")
        conn.commit()
    return len(readings) / elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_memory_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def shared_listener_ids(count: int) -> list[str]:
    return [f"{LISTENER_ID}-shared-{n}" for n in range(1, count + 1)]


def listener_end_to_end(
    broker_url: str,
    database_url: str,
    expected: int,
    protocol: str,
    *,
    client_ids: list[str] | None = None,
    shared_group: str | None = None,
) -> dict:
    """(c), or (d) with several `client_ids` in `shared_group`: mqtt_listen drains the backlog; timed
    like (a), from the moment the last of them starts connecting (after Python and Django have
    loaded) to the last row committed. CPU time and peak memory are those of all of them together."""
    client_ids = client_ids or [LISTENER_ID]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        "SPARKPLUG_GROUPS": SPARKPLUG_GROUP,
    }
    env.pop("REDIS_URL", None)
    processes, log_paths = [], []
    for client_id in client_ids:
        log_paths.append(PROJECT_ROOT / "var" / f"{client_id}.log")
        with log_paths[-1].open("w") as log:
            processes.append(
                subprocess.Popen(  # noqa: S603
                    [
                        sys.executable,
                        "manage.py",
                        "mqtt_listen",
                        "--mqtt-url",
                        broker_url,
                        "--client-id",
                        client_id,
                        "--stats-interval",
                        "5",
                        "--protocol",
                        protocol,
                        *(["--shared", shared_group] if shared_group else []),
                    ],
                    cwd=PROJECT_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    for log_path in log_paths:
        while "Listening on" not in log_path.read_text():
            time.sleep(0.01)

    def running() -> bool:
        return all(process.poll() is None for process in processes)

    def cpu() -> float:
        return sum(cpu_seconds(process.pid) for process in processes)

    started, cpu_started = time.perf_counter(), cpu()
    with psycopg.connect(database_url, autocommit=True) as conn:
        stored = 0
        while stored < expected and time.perf_counter() - started < 600 and running():
            # Not more often: each count scans the table on the core the listener's database shares.
            time.sleep(0.2)
            stored = conn.execute("SELECT count(*) FROM telemetry_reading").fetchone()[0]
        elapsed, cpu_spent = time.perf_counter() - started, cpu() - cpu_started
        time.sleep(1)  # anything redelivered would land now
        memory = sum(peak_memory_mib(process.pid) for process in processes)
        for process in processes:
            process.terminate()
        exit_code = max(process.wait(timeout=60) for process in processes)
        stored, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (machine_id, ts)) FROM telemetry_reading"
        ).fetchone()
    return {
        "listeners": len(client_ids),
        "rate": stored / elapsed,
        "cpu_us": cpu_spent / max(stored, 1) * 1e6,
        "stored": stored,
        "distinct": distinct,
        "peak_mib": memory,
        "exit_code": exit_code,
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=200_000, help="M readings (default 200000)")
    parser.add_argument("--machines", type=int, default=100, help="K machines (default 100)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server; the benchmark creates and drops its own database there",
    )
    parser.add_argument("--protocol", choices=("5", "3.1.1"), default="5", help="MQTT version of (a) and (c)")
    parser.add_argument("--rounds", type=int, default=3, help="repeat (a), (b), (c); medians are reported")
    parser.add_argument(
        "--shapes",
        default=",".join(SHAPES),
        help=f"comma-separated payload shapes to measure (default: all of {', '.join(SHAPES)})",
    )
    parser.add_argument(
        "--shared-listeners",
        type=int,
        default=2,
        help="(d): this many listeners on one shared subscription (default 2; 0 leaves (d) out)",
    )
    parser.add_argument("--raw-subscriber", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=sorted(SUBSCRIBER_CLIENTS), default="paho", help=argparse.SUPPRESS)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="plain", help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_subscriber:
        raw_subscriber(args.raw_subscriber, args.expect, args.protocol, args.client, SHAPES[args.shape])
        return
    shapes = [SHAPES[name] for name in args.shapes.split(",")] if args.shapes else list(SHAPES.values())

    (PROJECT_ROOT / "var").mkdir(exist_ok=True)
    readings = bench_readings(args.readings, args.machines)
    database_url = database_prepare(args.database_url, DATABASE_NAME, args.machines)
    results: dict[str, list[dict]] = {}
    try:
        for shape in shapes:
            messages = shape.encode(readings)
            results[shape.name] = [
                benchmark_round(
                    shape, messages, readings, database_url, args.protocol, shared_listeners=args.shared_listeners
                )
                for _ in range(args.rounds)
            ]
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
    for shape in shapes:
        report(shape, results[shape.name], readings=len(readings), machines=args.machines, protocol=args.protocol)
    summary(shapes, results)


def cpu_per_reading_us(subscriber: dict, readings: int) -> float:
    return subscriber["cpu_seconds"] / max(readings, 1) * 1e6


def benchmark_round(
    shape: Shape,
    messages: list[tuple[str, bytes]],
    readings: list[BenchReading],
    database_url: str,
    protocol: str,
    *,
    shared_listeners: int = 0,
) -> dict:
    """(a), (b), (c) and (d) back to back on a fresh broker, so that each round sees the same machine load."""
    broker = MosquittoBroker().start()
    shared_ids = shared_listener_ids(shared_listeners) if shape.name != "sparkplug" else []
    try:
        for client_id in (SUBSCRIBER_ID, TELEMETRY_SUBSCRIBER_ID, LISTENER_ID):
            session_create(broker.url, client_id, protocol, shape.topic_filter)
        for client_id in shared_ids:
            session_create(broker.url, client_id, protocol, f"$share/{SHARED_GROUP}/{shape.topic_filter}")
        # Queued once per session, and once for the shared group, split between its members' sessions.
        publish_backlog(broker.url, messages)
        subscribers = {}
        for client_name in SUBSCRIBER_CLIENTS:
            raw = subprocess.run(  # noqa: S603
                [
                    sys.executable,
                    __file__,
                    "--raw-subscriber",
                    broker.url,
                    "--client",
                    client_name,
                    "--shape",
                    shape.name,
                    "--expect",
                    str(len(messages)),
                    "--protocol",
                    protocol,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            subscribers[client_name] = json.loads(raw.stdout)
        copy_rate = raw_copy(database_url, readings)
        listener = listener_end_to_end(broker.url, database_url, len(readings), protocol)
        shared = None
        if shared_ids:
            tables_empty(database_url)
            shared = listener_end_to_end(
                broker.url, database_url, len(readings), protocol, client_ids=shared_ids, shared_group=SHARED_GROUP
            )
    finally:
        broker.destroy()
    tables_empty(database_url)
    subscriber, telemetry_subscriber = subscribers["paho"], subscribers["telemetry"]
    # The subscribers count messages; every message of the backlog carries the same share of readings.
    per_message = len(readings) / len(messages)
    return {
        "subscriber": subscriber["received"] * per_message / subscriber["seconds"],
        "subscriber_cpu_us": cpu_per_reading_us(subscriber, round(subscriber["received"] * per_message)),
        "telemetry_subscriber": telemetry_subscriber["received"] * per_message / telemetry_subscriber["seconds"],
        "telemetry_subscriber_cpu_us": cpu_per_reading_us(
            telemetry_subscriber, round(telemetry_subscriber["received"] * per_message)
        ),
        "copy": copy_rate,
        "listener": listener,
        "lost": len(readings) - listener["distinct"],
        "duplicated": listener["stored"] - listener["distinct"],
        "shared": shared,
        "shared_lost": len(readings) - shared["distinct"] if shared else 0,
        "shared_duplicated": shared["stored"] - shared["distinct"] if shared else 0,
    }


def tables_empty(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE telemetry_reading, telemetry_rejectedmessage")


def _median(rounds: list[dict], key: Callable[[dict], float]) -> float:
    return statistics.median(key(r) for r in rounds)


def report(shape: Shape, rounds: list[dict], *, readings: int, machines: int, protocol: str) -> None:
    def median(key: Callable[[dict], float]) -> float:
        return _median(rounds, key)

    subscriber = median(lambda r: r["subscriber"])
    telemetry_subscriber = median(lambda r: r["telemetry_subscriber"])
    copy = median(lambda r: r["copy"])
    listener = median(lambda r: r["listener"]["rate"])
    peak = max(r["listener"]["peak_mib"] for r in rounds)
    ratio = listener / min(subscriber, copy)
    print(
        f"ingest benchmark, {shape.title}: {readings:,} readings of {machines} machines, MQTT {protocol} QoS 1, "
        f"{os.cpu_count()} cores, median of {len(rounds)} rounds"
    )
    print(
        f"  (a) raw paho subscriber, parsed        {subscriber:>10,.0f} readings/s   "
        f"CPU {median(lambda r: r['subscriber_cpu_us']):5.1f} µs/reading"
    )
    print(
        f"      same on TelemetryClient            {telemetry_subscriber:>10,.0f} readings/s   "
        f"CPU {median(lambda r: r['telemetry_subscriber_cpu_us']):5.1f} µs/reading"
    )
    print(f"  (b) raw COPY into telemetry_reading     {copy:>10,.0f} readings/s")
    print(
        f"  (c) mqtt_listen end to end, committed   {listener:>10,.0f} readings/s   "
        f"CPU {median(lambda r: r['listener']['cpu_us']):5.1f} µs/reading   (peak memory {peak:.0f} MiB)"
    )
    shared_rounds = [r for r in rounds if r["shared"]]
    if shared_rounds:
        shared = _median(shared_rounds, lambda r: r["shared"]["rate"])
        shared_peak = max(r["shared"]["peak_mib"] for r in shared_rounds)
        count = shared_rounds[0]["shared"]["listeners"]
        print(
            f"  (d) {count} mqtt_listen on $share, committed  {shared:>10,.0f} readings/s   "
            f"CPU {_median(shared_rounds, lambda r: r['shared']['cpu_us']):5.1f} µs/reading   "
            f"(peak memory {shared_peak:.0f} MiB together)"
        )
    for n, r in enumerate(rounds, start=1):
        print(
            f"      round {n}: a {r['subscriber']:,.0f}  a on TelemetryClient {r['telemetry_subscriber']:,.0f}  "
            f"b {r['copy']:,.0f}  c {r['listener']['rate']:,.0f}  "
            + (f"d {r['shared']['rate']:,.0f}  " if r["shared"] else "")
            + f"ratio {r['listener']['rate'] / min(r['subscriber'], r['copy']):.2f}  lost {r['lost']}  "
            f"duplicated {r['duplicated']}  exit {r['listener']['exit_code']}"
            + (
                f"  (d: lost {r['shared_lost']}, duplicated {r['shared_duplicated']}, exit {r['shared']['exit_code']})"
                if r["shared"]
                else ""
            )
        )
    print(f"  lost {sum(r['lost'] for r in rounds)}, duplicated {sum(r['duplicated'] for r in rounds)}")
    print(f"  ratio c / min(a, b) = {ratio:.2f}   (target >= 0.80; and c >= 10,000/s)")
    print(f"  ratio c / a = {listener / subscriber:.2f}   (target for the contract's shape: >= 1.00)")
    cpu_ratio = median(lambda r: r["subscriber_cpu_us"]) / median(lambda r: r["listener"]["cpu_us"])
    print(
        f"  by CPU time per reading, a / c = {cpu_ratio:.2f}   "
        "(the same ratio, steadier when other work shares the cores)"
    )
    print(
        f"  c / (a on TelemetryClient) = {listener / telemetry_subscriber:.2f}   "
        "(the pipeline's own cost: decode, batch, COPY, ack)"
    )
    if shared_rounds:
        print(
            f"  d / c = {shared / listener:.2f}, d / a = {shared / subscriber:.2f}   "
            f"({os.cpu_count()} cores: listeners past the core count share them with the broker and the database)"
        )
    print()


def summary(shapes: list[Shape], results: dict[str, list[dict]]) -> None:
    print(
        "shape                                  a readings/s   c readings/s   c / a   c µs/reading   lost   duplicated"
    )
    for shape in shapes:
        rounds = results[shape.name]
        subscriber = _median(rounds, lambda r: r["subscriber"])
        listener = _median(rounds, lambda r: r["listener"]["rate"])
        print(
            f"{shape.title:<38} {subscriber:>12,.0f}   {listener:>12,.0f}   {listener / subscriber:5.2f}   "
            f"{_median(rounds, lambda r: r['listener']['cpu_us']):12.1f}   "
            f"{sum(r['lost'] for r in rounds):4d}   {sum(r['duplicated'] for r in rounds):10d}"
        )


if __name__ == "__main__":
    main()
