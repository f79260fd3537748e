"""Several listeners on one shared subscription (`mqtt_listen --shared ingest`, what `docker compose up
--scale listener=3` runs), as processes on a throwaway Mosquitto and a throwaway PostgreSQL cluster.

What Mosquitto (2.0.11, the broker of deploy/) really does with a member of a shared subscription:
- it hands the group's messages to its members in turn, and keeps giving a member killed with
  kill -9 its turn: its persistent session queues that share, with the messages it had not
  acknowledged, and nothing goes to the other members instead; all of it is delivered when a
  listener with the same client id connects again (compose's `restart: always` brings the same
  container, host name and client id back);
- a member that unsubscribes gets no more turns. mqtt_listen does that on SIGTERM before it
  disconnects, after storing what was already on its way to it, so a listener scaled away or
  re-created leaves nothing behind;
- while the group has no member at all, what is published matches no subscription and is dropped.
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
