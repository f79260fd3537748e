"""Several listeners on one shared subscription (`mqtt_listen --shared ingest`, what `docker compose up
--scale listener=3` runs), as processes on a throwaway Mosquitto and a throwaway PostgreSQL cluster.

What Mosquitto (2.0.11, the broker of deploy/) really does with a member of a shared subscription:
- it hands the group's messages to its members in turn, and keeps giving a member killed with
  kill -9 its turn: its persistent session queues that share, with the messages it had not
  acknowledged, and nothing goes to the other members instead; all of it is delivered when a
  listener with the same client id connects again;
- a member that unsubscribes gets no more turns;
- while the group has no member at all, what is published matches no subscription and is dropped.

What the listeners do about it: with a client-id slot (the default with --shared on PostgreSQL,
telemetry.slots), a listener stays in the group when it stops, the next one to take the slot resumes
its session, and a slot left unheld is drained by the listeners still running. With a client id of
its own, a listener leaves the group on SIGTERM after storing what was on its way to it.
"""

import re

from telemetry.mqtt import BrokerAddress, client_create, connect_options, telemetry_topic
from telemetry.tests.test_listener import publish
from telemetry.tests.test_listener_outages import (  # noqa: F401 - fixtures: the throwaway broker and database
    ListenerProcess,
    Publisher,
    broker,
    cluster,
    database,
    stored_counts,
)
from testing.throwaway import wait_until

GROUP = ["--shared", "ingest"]


def received_in_all(listener: ListenerProcess) -> list[int]:
    """What the listener said it received, at each stop ("stopped: received N ...")."""
    return [int(found) for found in re.findall(r"stopped: received (\d+)", listener.log())]


def test_a_killed_member_keeps_its_turn_and_gets_its_share_when_it_comes_back(database, broker, tmp_path):  # noqa: F811
    killed = ListenerProcess(broker=broker, cluster=database, log_path=tmp_path / "killed.log", extra=GROUP).start()
    survivor = ListenerProcess(broker=broker, cluster=database, log_path=tmp_path / "survivor.log", extra=GROUP)
    survivor.start()
    killed.kill()  # kill -9: its session and its place in the group stay at the broker

    Publisher(broker, count=2_000).run()  # returns once the broker has taken every message
    killed.start()  # the same client id: the session it left
    wait_until(lambda: stored_counts(database)[0] >= 2_000, what="every reading")

    assert stored_counts(database) == (2_000, 2_000)
    assert killed.terminate() == 0
    assert survivor.terminate() == 0
    [after_return] = received_in_all(killed)
    [survivor_received] = received_in_all(survivor)
    # Half the stream waited for the killed member; the survivor was given none of it.
    assert after_return == survivor_received == 1_000
    assert "(resumed session)" in killed.log()


def test_a_member_stopped_by_sigterm_leaves_the_group_and_the_others_store_the_rest(
    database,  # noqa: F811
    broker,  # noqa: F811
    tmp_path,
):
    leaving = ListenerProcess(broker=broker, cluster=database, log_path=tmp_path / "leaving.log", extra=GROUP).start()
    staying = ListenerProcess(broker=broker, cluster=database, log_path=tmp_path / "staying.log", extra=GROUP).start()
    publisher = Publisher(broker, count=20_000)
    publisher.start()
    wait_until(lambda: stored_counts(database)[0] >= 3_000, what="the first readings")

    assert leaving.terminate() == 0  # mid-stream, and never started again
    publisher.join(timeout=120)
    wait_until(lambda: stored_counts(database)[0] >= 20_000, what="every reading, by the listener that stayed")

    assert stored_counts(database) == (20_000, 20_000)
    assert "left the shared group: unsubscribed from $share/ingest/plant/+/telemetry" in leaving.log()
    assert staying.terminate() == 0
    # Everything the leaving listener was sent it stored and acknowledged: nothing came twice.
    assert received_in_all(leaving)[0] + received_in_all(staying)[0] == 20_000
    assert received_in_all(leaving)[0] > 0


class Member:
    """A bare MQTT 5 client in the group `g` with a persistent session, to watch the broker alone."""

    def __init__(self, broker_url: str):
        self.address = BrokerAddress.from_url(broker_url)
        self.client = client_create(self.address, client_id="only-member", persistent=True)
        self.received: list[bytes] = []
        self.answered: set[int] = set()
        self.client.on_message = lambda client, userdata, message: self.received.append(message.payload)
        self.client.on_subscribe = lambda client, userdata, mid, *rest: self.answered.add(mid)
        self.client.on_unsubscribe = lambda client, userdata, mid, *rest: self.answered.add(mid)

    def connect(self) -> "Member":
        self.client.connect(self.address.host, self.address.port, **connect_options(protocol="5", persistent=True))
        self.client.loop_start()
        return self

    def subscribe(self, topic: str) -> None:
        self._answer_wait(self.client.subscribe(topic, qos=1)[1])

    def unsubscribe(self, topic: str) -> None:
        self._answer_wait(self.client.unsubscribe(topic)[1])

    def _answer_wait(self, mid: int) -> None:
        wait_until(lambda: mid in self.answered, what="the broker's answer")

    def disconnect(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_while_the_group_has_no_member_the_broker_drops_what_is_published(broker):  # noqa: F811
    share = "$share/g/plant/+/telemetry"
    member = Member(broker.url).connect()
    member.subscribe(share)
    member.unsubscribe(share)  # the last member leaves, as mqtt_listen does on SIGTERM
    member.disconnect()

    publish(broker.url, [(telemetry_topic("M-001"), f"while empty {n}".encode()) for n in range(5)])
    member.connect()
    member.subscribe(share)
    publish(broker.url, [(telemetry_topic("M-001"), b"after rejoining")])
    wait_until(lambda: member.received, what="the message published after rejoining")
    member.disconnect()

    # Its session kept nothing: what came while the group was empty matched no subscription.
    assert member.received == [b"after rejoining"]


def test_a_re_created_listener_takes_the_slot_and_its_session_with_what_was_published_meanwhile(
    database,  # noqa: F811
    broker,  # noqa: F811
    tmp_path,
):
    """What a deploy does to the one listener of compose's default: the container stops, and a new one
    (another host name) starts. No moment without a member in the group: nothing dropped."""
    old = ListenerProcess(broker=broker, cluster=database, log_path=tmp_path / "old.log", extra=GROUP, slot=True)
    old.start()
    assert "as maintainx-listener-ingest-0 (slot 0 of the group ingest)" in old.log()
    assert old.terminate() == 0  # SIGTERM: it stays in the group

    Publisher(broker, count=2_000).run()  # nobody connected
    new = ListenerProcess(broker=broker, cluster=database, log_path=tmp_path / "new.log", extra=GROUP, slot=True)
    new.start()
    wait_until(lambda: stored_counts(database)[0] >= 2_000, what="every reading published between the two")

    assert stored_counts(database) == (2_000, 2_000)
    assert "as maintainx-listener-ingest-0 (slot 0 of the group ingest)" in new.log()
    assert "(resumed session)" in new.log()
    assert "left the shared group" not in old.log()
    assert new.terminate() == 0


def test_the_share_of_a_listener_killed_and_not_back_is_drained_by_the_others(
    database,  # noqa: F811
    broker,  # noqa: F811
    tmp_path,
):
    drain_after = [*GROUP, "--drain-after", "2"]
    staying = ListenerProcess(
        broker=broker, cluster=database, log_path=tmp_path / "staying.log", extra=drain_after, slot=True
    ).start()
    killed = ListenerProcess(
        broker=broker, cluster=database, log_path=tmp_path / "killed.log", extra=drain_after, slot=True
    ).start()
    assert "(slot 1 of the group ingest)" in killed.log()
    killed.kill()  # kill -9: its lock goes with its connection, its session keeps its turn

    Publisher(broker, count=2_000).run()
    wait_until(lambda: stored_counts(database)[0] >= 2_000, what="every reading, the killed one's share drained")
    Publisher(broker, count=1_000, first=2_000).run()  # the group is the one listener now
    wait_until(lambda: stored_counts(database)[0] >= 3_000, what="every later reading, by the one left")

    assert stored_counts(database) == (3_000, 3_000)
    log = staying.log()
    assert "draining maintainx-listener-ingest-1: no listener has held it for 2 s" in log
    drained = int(re.search(r"drained maintainx-listener-ingest-1: stored (\d+) messages of its session", log)[1])
    assert drained > 0  # its turns from the kill to the drain
    assert staying.terminate() == 0
    [received] = received_in_all(staying)
    assert received + drained == 3_000  # nothing came twice
