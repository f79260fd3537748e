"""The MQTT listener: readings in, one bulk write per batch, acknowledged only after commit.

Threads: paho's network thread decodes each message and hands it to the `Batcher`; the thread that
calls `run()` takes batches by size or age, stores each in one transaction and only then acks its
messages. A crash at any moment therefore loses nothing: what was not acked is delivered again by
the broker (persistent session), and a redelivered reading is a duplicate that changes nothing.
The broker's in-flight window (MQTT 5 Receive Maximum) bounds what waits in memory, so while the
database is down the backlog stays at the broker; and the network thread stops reading while as many
messages wait for the writer, because Mosquitto 2.0.11 stops counting that window once a resumed
session's backlog is being acknowledged (TelemetryClient.reading_paused).
"""

import collections
import dataclasses
import datetime
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from django.db import DatabaseError, IntegrityError, connection
from django.utils import timezone

from core.errors import error_first_line
from telemetry.ingest import (
    DecodedItem,
    DecodedReading,
    LinkChange,
    MachineDirectory,
    MessageDecoder,
    MessageRouter,
    PlantContract,
    Rejection,
)
from telemetry.live import LiveFrames
from telemetry.mqtt import BrokerAddress, TelemetryClient, client_create, connect_options
from telemetry.services import IngestResult, readings_compact, readings_ingest, rollup_tiers_upkeep
from telemetry.slots import ListenerSlotLease, SlotLostError, slot_client_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenerConfig:
    broker: BrokerAddress
    client_id: str
    protocol: str = "5"
    shared_group: str | None = None
    batch_size: int = 2000
    batch_max_age: float = 0.2
    # The broker sends at most this many unacknowledged messages: the bound on our memory.
    receive_maximum: int = 10_000
    stats_interval: float = 10.0
    retry_max_delay: float = 30.0
    # On SIGTERM with the database down, how long to keep trying before leaving the batch at the broker.
    shutdown_grace: float = 10.0
    # How often the payload sources a supervisor edits in the admin are read again.
    sources_refresh: float = 30.0
    # PostgreSQL: how often the readings' partitions for the days ahead are created (telemetry.partitions),
    # and how soon that is tried again after the database failed it.
    partitions_upkeep_interval: float = 3600.0
    partitions_upkeep_retry: float = 60.0
    # The roll-up tiers' share of an upkeep (seconds): a first roll-up over months of minutes goes on
    # at the next upkeep (a retry's interval later) instead of holding the batches up at once.
    rollups_upkeep_budget: float = 2.0
    # On stop, after leaving the shared group: the broker's answer, then how long nothing may arrive
    # before what was already on its way to this listener counts as all stored.
    share_leave_timeout: float = 10.0
    share_drain_quiet: float = 1.0
    # With a client-id slot (telemetry.slots): how often the lock is confirmed and the group's other
    # slots looked at, and how long a slot must have been left before this listener drains it.
    slot_check_interval: float = 15.0
    slot_drain_after: float = 60.0
    # Connect as a slot nobody holds, store what its session holds, leave the group in its name, stop.
    drain_only: bool = False

    def __post_init__(self):
        # A batch is acked only once committed, so it must fit in the window with room for the
        # next one to fill while it is written; otherwise it would wait for itself.
        if self.protocol == "5" and self.batch_size > self.receive_maximum // 2:
            raise ValueError(f"batch size {self.batch_size} must be at most half the receive maximum")

    def subscription(self, topic_filter: str, *, shareable: bool = True) -> str:
        """The filter as subscribed: in the shared group, when there is one and the decoder allows it."""
        return f"$share/{self.shared_group}/{topic_filter}" if self.shared_group and shareable else topic_filter


@dataclass(slots=True)
class Pending:
    """A message waiting for its batch to commit, with what it decoded to."""

    mid: int
    qos: int
    received_at: float
    items: list[DecodedItem]


class Batcher:
    """Messages from the network thread, taken by the writer when the batch is full or old enough.

    A deque, whose append and popleft are atomic, so the network thread takes no lock per message;
    the event only wakes the writer early when a batch fills.
    """

    def __init__(
        self,
        *,
        max_size: int,
        max_age: float,
        idle_gap: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_size = max_size
        self.max_age = max_age
        # A batch is also due once nothing has arrived for this long: at low rates a reading need
        # not wait the full max_age, and a broker that caps unacknowledged messages (MQTT 3.1.1,
        # Mosquitto's default is 20) stops sending until the batch is committed and acked.
        self.idle_gap = max_age / 10 if idle_gap is None else idle_gap
        self._clock = clock
        self._items: collections.deque[Pending] = collections.deque()
        self._full = threading.Event()

    def __len__(self):
        return len(self._items)

    def add(self, pending: Pending) -> None:
        self._items.append(pending)
        if len(self._items) >= self.max_size and not self._full.is_set():
            self._full.set()

    def take(self, *, timeout: float) -> list[Pending]:
        """The pending messages, max_size at most, once the batch is full, its oldest is max_age old
        or nothing new has come for idle_gap; [] on timeout."""
        deadline = self._clock() + timeout
        while True:
            now = self._clock()
            if self._items:
                oldest_age = now - self._items[0].received_at
                quiet_for = now - self._items[-1].received_at
                if len(self._items) >= self.max_size or oldest_age >= self.max_age or quiet_for >= self.idle_gap:
                    return self._take(self.max_size)
                wait = min(deadline - now, self.max_age - oldest_age, self.idle_gap - quiet_for)
            else:
                wait = deadline - now
            if wait <= 0:
                return []
            self._full.wait(wait)

    def take_all(self) -> list[Pending]:
        return self._take(len(self._items))

    def _take(self, most: int) -> list[Pending]:
        self._full.clear()
        # Only what is there now: messages appended meanwhile wait for the next batch.
        return [self._items.popleft() for _ in range(min(most, len(self._items)))]


@dataclass
class ListenerStats:
    """Counters for the periodic summary line; `received` is written by the network thread."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    max_latency: float = 0.0  # receipt to commit, over the current interval
    newest_ts: datetime.datetime | None = None
    _interval_started: float = field(default_factory=time.monotonic)
    _received_at_interval_start: int = 0

    def record(self, result: IngestResult, batch: list[Pending], *, newest_ts, now: float) -> None:
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.rejected += result.rejected
        self.batches += 1
        self.max_latency = max(self.max_latency, now - batch[0].received_at)
        if newest_ts is not None and (self.newest_ts is None or newest_ts > self.newest_ts):
            self.newest_ts = newest_ts

    def summary(self, *, now: float) -> str:
        elapsed = max(now - self._interval_started, 1e-9)
        rate = (self.received - self._received_at_interval_start) / elapsed
        lag = (timezone.now() - self.newest_ts).total_seconds() if self.newest_ts else None
        line = (
            f"received {self.received} ({rate:.0f}/s), stored {self.stored}, duplicates {self.duplicates}, "
            f"rejected {self.rejected}, batches {self.batches}, commit latency max {self.max_latency * 1000:.0f} ms, "
            f"data lag {'-' if lag is None else f'{lag:.1f} s'}"
        )
        self._interval_started = now
        self._received_at_interval_start = self.received
        self.max_latency = 0.0
        return line


class TelemetryListener:
    def __init__(
        self,
        config: ListenerConfig,
        *,
        directory: MachineDirectory,
        decoders: Sequence[MessageDecoder] = (),
        sources: Callable[[], list[MessageDecoder]] | None = None,
        live: LiveFrames | None = None,
        slot: ListenerSlotLease | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        """`decoders`: the payloads served for the listener's life (the contract always, first);
        `sources`: reads the payload sources defined in the admin, again every `sources_refresh`;
        `slot`: the client-id slot it connects as (config.client_id is its client id), kept while it
        runs: it stays in its shared group when it stops, and drains the slots others left."""
        self.config = config
        self.directory = directory
        self.slot = slot
        # Set when the slot went to another listener: run() stops, and returns False.
        self.slot_lost = False
        self._extra_decoders = tuple(decoders)
        self._decoders = (PlantContract(), *decoders)
        self._sources = sources
        self.router = MessageRouter(self._decoders)
        self.live = live
        self.stats = ListenerStats()
        self._clock = clock
        self._batcher = Batcher(max_size=config.batch_size, max_age=config.batch_max_age, clock=clock)
        self._compaction: threading.Thread | None = None
        self._stop = threading.Event()
        # Set once the broker confirms the subscription (SUBACK): from then on nothing published is missed.
        self.subscribed = threading.Event()
        self._stop_requested_at: float | None = None
        self.client: TelemetryClient | None = None
        self._subscribed_to: list[str] = []
        # Packet ids of the unsubscriptions the broker confirmed (written by the network thread).
        self._unsubscribe_acks: set[int] = set()

    # --- network thread -----------------------------------------------------------------------

    def message_receive(self, mid: int, qos: int, topic: bytes | str, payload: bytes) -> None:
        """Decode one message and queue it for the next batch (TelemetryClient.on_publish_received).
        Never raises: a message that breaks the decoder is kept as a rejection, so the broker's
        thread never dies on bad input."""
        try:
            topic_text = topic if isinstance(topic, str) else topic.decode("utf-8", errors="replace")
            # datetime.now rather than timezone.now: this runs for every message, and the settings
            # lookup behind timezone.now costs as much as the rest of the clock call.
            items = self.router.decode(topic_text, payload, now=datetime.datetime.now(datetime.UTC))
        except Exception as exc:
            logger.exception("could not decode a message on %r", topic)
            shown_topic = topic if isinstance(topic, str) else topic.decode("utf-8", errors="replace")
            items = [Rejection(shown_topic[:255], bytes(payload), f"could not be decoded: {exc}")]
        self._batcher.add(Pending(mid, qos, self._clock(), items))
        self.stats.received += 1

    def _backlogged(self) -> bool:
        """Whether as many messages wait for the writer as the broker may send unacknowledged: the
        network thread reads no more until the writer takes a batch (TelemetryClient.reading_paused).
        Below that, a database outage never pauses it: the broker's window fills first."""
        return len(self._batcher) >= self.config.receive_maximum

    def publish(self, topic: str, payload: bytes, *, qos: int = 0) -> None:
        """Send a message on the listener's connection (a Sparkplug B rebirth request); dropped, with
        a log line, while it is not connected."""
        client = self.client
        if client is None or not client.is_connected():
            logger.warning("not connected: could not publish to %s", topic)
            return
        client.publish(topic, payload, qos=qos)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            logger.error("the broker at %s refused the connection: %s", self.config.broker, reason_code)
            return
        session = "resumed" if flags.session_present else "new"
        logger.info("connected to %s as %s (%s session)", self.config.broker, self.config.client_id, session)
        if self.config.drain_only:
            # The session's subscriptions deliver what it queued; only its shares are to be left.
            self._subscribed_to = [topic for topic in self._subscriptions(self.router) if topic.startswith("$share/")]
            self.subscribed.set()
            return
        # Subscribing on every connect re-subscribes after a reconnect to a broker that lost state.
        self._subscribed_to = self._subscriptions(self.router)
        client.subscribe([(topic, 1) for topic in self._subscribed_to])

    def _subscriptions(self, router: MessageRouter) -> list[str]:
        topics: list[str] = []
        for decoder in router.decoders:
            shareable = getattr(decoder, "shareable", True)
            for topic_filter in decoder.topic_filters():
                topic = self.config.subscription(topic_filter, shareable=shareable)
                if topic not in topics:
                    topics.append(topic)
        return topics

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            logger.error("the broker refused a subscription: %s", refused[0])
        else:
            logger.info("subscribed to %s", ", ".join(self._subscribed_to))
            self.subscribed.set()

    def sources_reload(self) -> None:
        """Read the payload sources again and follow their topic filters: subscribe to the new ones,
        unsubscribe from those no source owns any more. A source that fails to load keeps the last."""
        if self._sources is None:
            return
        try:
            router = MessageRouter((*self._decoders, *self._sources()))
        except (DatabaseError, OSError) as exc:
            connection.close()
            logger.warning("could not read the payload sources (%s); keeping the ones loaded", error_first_line(exc))
            return
        before, after = self._subscriptions(self.router), self._subscriptions(router)
        self.router = router
        client = self.client
        if before == after or client is None or not client.is_connected():
            return
        self._subscribed_to = after
        added = [topic for topic in after if topic not in before]
        removed = [topic for topic in before if topic not in after]
        if added:
            client.subscribe([(topic, 1) for topic in added])
        if removed:
            client.unsubscribe(removed)
        logger.info("payload sources changed: subscribed to %s, unsubscribed from %s", added or "-", removed or "-")

    def partitions_upkeep(self) -> bool:
        """The hourly upkeep of the readings' storage. PostgreSQL: create the partitions of today and
        the days ahead that are missing. Both back-ends: the roll-up tiers (rollup_tiers_upkeep). False
        when the database failed it (logged) or the roll-up has hours left: it runs again sooner. Until
        a day has its partition, its readings go to the default partition, so nothing waits on this."""
        if connection.vendor == "postgresql":
            # Here, not at the top: django-postgres-extra cannot even be imported without PostgreSQL.
            from telemetry.partitions import reading_partitions_create_ahead  # noqa: PLC0415

            try:
                reading_partitions_create_ahead()
            except (DatabaseError, OSError) as exc:
                connection.close()
                logger.warning(
                    "could not create the readings' partitions ahead (%s); trying again", error_first_line(exc)
                )
                return False
        try:
            # After the partitions: the hours it rolls up go to their month's partition.
            return rollup_tiers_upkeep(now=timezone.now(), budget_s=self.config.rollups_upkeep_budget)
        except (DatabaseError, OSError) as exc:
            connection.close()
            logger.warning("could not upkeep the roll-up tiers (%s); trying again", error_first_line(exc))
            return False

    def compaction_start(self) -> threading.Thread | None:
        """PostgreSQL: compact the closed days' readings into blocks (telemetry.services.readings_compact)
        in a thread of its own, with its own connection, so that storing batches never waits for it
        (a day takes minutes). None when the last one is still running, or on SQLite. Listeners
        beside this one start theirs too: all but one find the compaction's lock taken and leave."""
        if connection.vendor != "postgresql" or (self._compaction is not None and self._compaction.is_alive()):
            return None
        self._compaction = threading.Thread(target=self._compact, name="readings-compaction", daemon=True)
        self._compaction.start()
        return self._compaction

    def _compact(self) -> None:
        try:
            readings_compact()
        except (DatabaseError, OSError) as exc:
            # Whatever day was being compacted kept its rows (one transaction a day): the next hour
            # tries again.
            logger.warning("could not compact the readings (%s); trying again in an hour", error_first_line(exc))
        finally:
            connection.close()

    def _next_upkeep(self, upkept: bool) -> float:
        config = self.config
        return self._clock() + (config.partitions_upkeep_interval if upkept else config.partitions_upkeep_retry)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.subscribed.clear()
        if not self._stop.is_set():
            logger.warning("lost the broker at %s (%s); reconnecting", self.config.broker, reason_code)

    def _on_unsubscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self._unsubscribe_acks.add(mid)

    def _unsubscribe_confirmed(self, mid: int, *, timeout: float) -> bool:
        # A set rather than an event for one id: the answer may come before unsubscribe() returns it.
        deadline = time.monotonic() + timeout
        while mid not in self._unsubscribe_acks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def shares_leave(self, client: TelemetryClient, *, drain: bool = True) -> bool:
        """On stop, in a shared group: unsubscribe from the group's shares, then (`drain`) store and ack
        what was already on its way here until nothing has come for `share_drain_quiet`. False when
        the database stayed down: what is left stays unacknowledged in this listener's session, and is
        delivered when a listener with its client id connects again.

        Mosquitto (2.0.11, telemetry/tests/test_listener_scale.py) keeps giving a member of a shared
        subscription its turn while it is disconnected: a persistent session queues that member's
        share until it comes back. A listener that goes away for good must therefore leave the group
        before disconnecting, or its share of the plant would wait in its session for a week.
        """
        shares = [topic for topic in self._subscribed_to if topic.startswith("$share/")]
        if not shares or not client.is_connected():
            return True
        result, mid = client.unsubscribe(shares)
        left = result == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS and self._unsubscribe_confirmed(
            mid, timeout=self.config.share_leave_timeout
        )
        if left:
            self._subscribed_to = [topic for topic in self._subscribed_to if topic not in shares]
            logger.info("left the shared group: unsubscribed from %s", ", ".join(shares))
        else:
            logger.warning("could not leave the shared group %s; the broker keeps this listener's share", shares)
        if not drain:
            return False
        # Still in the group, messages would never stop coming: only what is here is stored.
        while left and (batch := self._batcher.take(timeout=self.config.share_drain_quiet)):
            if not self.batch_commit(batch, ack=client.ack_many):
                return False
        # take() hands out nothing when its wait ends before a batch is due: what came last is here.
        remaining = self._batcher.take_all()
        return self.batch_commit(remaining, ack=client.ack_many) if remaining else True

    # --- writer: the thread that calls run() ---------------------------------------------------

    def batch_store(self, batch: list[Pending]) -> IngestResult:
        """One attempt to store a batch in one transaction; raises if the database fails."""
        decoded, rejections, links = [], [], []
        for pending in batch:
            for item in pending.items:
                if type(item) is DecodedReading:
                    decoded.append(item)
                elif type(item) is LinkChange:
                    links.append(item)
                else:
                    rejections.append(item)
        rows, unknown = self.directory.rows_from(decoded)
        return readings_ingest(
            rows=rows,
            rejections=rejections + unknown,
            links=links,
            on_commit=self.live.publish if self.live else None,
        )

    def batch_commit(self, batch: list[Pending], *, ack: Callable[[list[int]], None]) -> bool:
        """Store the batch, retrying with backoff while the database is down, then ack every message
        (`ack` takes the packet ids of the batch's QoS 1 messages, in the order received).

        False when stopping gave up on a database that stayed down: nothing was acked, so the broker
        delivers those messages again to the next listener.
        """
        delay = 0.5
        while True:
            try:
                result = self.batch_store(batch)
                break
            except IntegrityError:
                # A machine deleted since the directory was loaded: reload, and its readings
                # become "unknown machine" rejections on the next attempt.
                logger.warning("a batch referred to a machine that no longer exists; reloading machines")
                self.directory.reload()
            except (DatabaseError, OSError) as exc:
                connection.close()  # a broken connection is replaced on the next attempt
                if self._stop.is_set() and self._clock() - self._stop_requested_at >= self.config.shutdown_grace:
                    logger.error(
                        "database still unavailable; %d messages stay unacknowledged at the broker", len(batch)
                    )
                    return False
                logger.warning(
                    "database unavailable (%s); keeping %d messages, retrying in %.1f s",
                    error_first_line(exc),
                    len(batch),
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, self.config.retry_max_delay)
        # Subscribed at QoS 1, the broker sends nothing above it, and QoS 0 is never acknowledged.
        ack([pending.mid for pending in batch if pending.qos == 1])
        newest = max(
            (item.ts for pending in batch for item in pending.items if type(item) is DecodedReading), default=None
        )
        self.stats.record(result, batch, newest_ts=newest, now=self._clock())
        return True

    def request_stop(self) -> None:
        """Safe from a signal handler: run() finishes the batch at hand, flushes and returns."""
        if not self._stop.is_set():
            self._stop_requested_at = self._clock()
            self._stop.set()

    def run(self) -> bool:
        """Listen until request_stop(); True when everything received was committed and acked."""
        client = client_create(
            self.config.broker,
            client_id=self.config.client_id,
            protocol=self.config.protocol,
            persistent=True,
            manual_ack=True,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        client.on_publish_received = self.message_receive
        client.reading_paused = self._backlogged
        self.client = client
        self.directory.reload()
        self.sources_reload()
        next_upkeep = self._clock() if self.config.drain_only else self._next_upkeep(self.partitions_upkeep())
        client.connect_async(
            self.config.broker.host,
            self.config.broker.port,
            keepalive=30,
            **connect_options(
                protocol=self.config.protocol, persistent=True, receive_maximum=self.config.receive_maximum
            ),
        )
        client.loop_start()
        next_summary = self._clock() + self.config.stats_interval
        next_sources = self._clock() + self.config.sources_refresh
        next_slots = self._clock() + self.config.slot_check_interval
        if self.config.drain_only and not self.subscribed.wait(timeout=self.config.share_leave_timeout):
            logger.warning("could not connect as %s to drain it", self.config.client_id)
            client.loop_stop()
            return False
        try:
            while not self._stop.is_set() and not self.config.drain_only:
                batch = self._batcher.take(timeout=0.5)
                if batch:
                    self.batch_commit(batch, ack=client.ack_many)
                if self._clock() >= next_summary:
                    logger.info(self.stats.summary(now=self._clock()))
                    next_summary = self._clock() + self.config.stats_interval
                if self._clock() >= next_sources:
                    self.sources_reload()
                    next_sources = self._clock() + self.config.sources_refresh
                if self._clock() >= next_upkeep:
                    next_upkeep = self._next_upkeep(self.partitions_upkeep())
                    # Hourly, not at start-up: a listener that restarts often does not start one
                    # each time, and a day waits at most an hour more.
                    self.compaction_start()
                if self.slot is not None and self._clock() >= next_slots:
                    self.slots_upkeep()
                    next_slots = self._clock() + self.config.slot_check_interval
            remaining = self._batcher.take_all()
            flushed = self.batch_commit(remaining, ack=client.ack_many) if remaining else True
            if self.slot is None:
                # Left even when the database is down: new messages then go to the other listeners.
                flushed = self.shares_leave(client, drain=flushed) and flushed
            # A listener with a slot stays in the group: its session queues its turns for the one that
            # takes the slot next, or for a listener that drains it (telemetry.slots).
        finally:
            client.disconnect()
            client.loop_stop()
            if self.slot is not None and not self.slot_lost:
                self.slot.release(now=timezone.now())
            connection.close()
        if not self.config.drain_only:  # a drain says what it stored itself (orphan_drain)
            logger.info("stopped: %s", self.stats.summary(now=self._clock()))
        return flushed and not self.slot_lost

    def slots_upkeep(self) -> None:
        """Confirm this listener's slot, then drain the slots of the group nobody holds any more (scaled
        down, or killed and not back): their sessions hold their turns of the plant."""
        now = timezone.now()
        try:
            self.slot.keep(now=now)
            orphans = self.slot.orphans_lock(now=now, drain_after=self.config.slot_drain_after)
        except SlotLostError as exc:
            logger.error("%s; stopping", exc)
            self.slot_lost = True
            self.request_stop()
            return
        except (DatabaseError, OSError) as exc:
            connection.close()
            logger.warning("could not look at the group's slots (%s)", error_first_line(exc))
            return
        for orphan in orphans:
            drained = self.orphan_drain(orphan)
            try:
                self.slot.orphan_done(orphan, drained=drained, now=timezone.now())
            except (DatabaseError, OSError) as exc:
                # Its lock stays with this listener's lock connection until that closes: nobody else
                # drains it meanwhile, and this listener offers it to itself again (drained_at unset).
                logger.warning("could not record the drain of slot %d (%s)", orphan, error_first_line(exc))

    def orphan_drain(self, slot: int) -> bool:
        """Connect as the left slot, store and ack what its session holds, and leave the group in its
        name. This listener's own messages wait in the broker's window meanwhile (seconds)."""
        client_id = slot_client_id(self.slot.group, slot)
        logger.info("draining %s: no listener has held it for %.0f s", client_id, self.config.slot_drain_after)
        drainer = TelemetryListener(
            dataclasses.replace(self.config, client_id=client_id, drain_only=True),
            directory=self.directory,
            decoders=self._extra_decoders,
            sources=self._sources,
            live=self.live,
            clock=self._clock,
        )
        try:
            drained = drainer.run()
        except Exception:
            logger.exception("draining %s failed; tried again later", client_id)
            return False
        logger.info(
            "drained %s: stored %d messages of its session%s",
            client_id,
            drainer.stats.received,
            "" if drained else "; not all of it (the database failed): tried again later",
        )
        return drained
