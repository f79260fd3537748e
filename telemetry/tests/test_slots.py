"""The listeners' client-id slots (telemetry.slots): the lowest free one, held under an advisory lock
on a connection of the listener's own; a slot left unheld long enough is handed to a drainer once.
The listeners' behaviour with them on a real broker: telemetry/tests/test_listener_scale.py."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from telemetry.models import ListenerSlot
from telemetry.slots import ListenerSlotLease, SlotLostError, slot_client_id

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.UTC)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's; CI runs this on PostgreSQL"
)


@pytest.fixture
def leases():
    held: list[ListenerSlotLease] = []

    def claim(group: str = "ingest", *, now: datetime.datetime = NOW) -> ListenerSlotLease:
        lease = ListenerSlotLease.claim(group, now=now)
        held.append(lease)
        return lease

    yield claim
    for lease in held:
        lease._locks.close()


@postgresql_only
def test_each_listener_takes_the_lowest_free_slot_and_a_released_one_is_taken_again(leases):
    first, second = leases(), leases()
    assert (first.slot, second.slot) == (0, 1)
    assert (first.client_id, second.client_id) == ("maintainx-listener-ingest-0", "maintainx-listener-ingest-1")
    assert leases("other").slot == 0  # each group has its own slots

    first.release(now=NOW + datetime.timedelta(minutes=1))
    assert ListenerSlot.objects.get(group="ingest", slot=0).released_at == NOW + datetime.timedelta(minutes=1)
    again = leases(now=NOW + datetime.timedelta(minutes=2))

    assert again.slot == 0
    row = ListenerSlot.objects.get(group="ingest", slot=0)
    assert (row.claimed_at, row.released_at) == (NOW + datetime.timedelta(minutes=2), None)


@postgresql_only
def test_a_slot_left_unheld_for_drain_after_is_drained_once(leases):
    staying, leaving = leases(), leases()
    leaving.release(now=NOW)

    later = NOW + datetime.timedelta(seconds=30)
    staying.keep(now=later)
    assert staying.orphans_lock(now=later, drain_after=60) == []  # left too recently: it may be coming back
    much_later = NOW + datetime.timedelta(seconds=90)
    staying.keep(now=much_later)
    assert staying.orphans_lock(now=much_later, drain_after=60) == [1]
    assert leases().slot == 2  # locked while it is drained: a listener starting meanwhile takes another

    staying.orphan_done(1, drained=True, now=much_later)
    assert staying.orphans_lock(now=much_later + datetime.timedelta(minutes=5), drain_after=60) == []
    assert leases().slot == 1  # free again, and drained
    assert ListenerSlot.objects.get(slot=1).drained_at == much_later


@postgresql_only
def test_a_slot_not_drained_after_all_is_offered_again(leases):
    staying, leaving = leases(), leases()
    leaving.release(now=NOW)
    later = NOW + datetime.timedelta(seconds=90)

    assert staying.orphans_lock(now=later, drain_after=60) == [1]
    staying.orphan_done(1, drained=False, now=later)  # the database failed mid-drain

    assert staying.orphans_lock(now=later + datetime.timedelta(seconds=15), drain_after=60) == [1]


@postgresql_only
def test_a_broken_lock_connection_takes_the_slot_back_or_says_it_went_to_another(leases):
    lease = leases()
    lease._locks.connection.close()  # the database restarted under the lock's connection

    lease.keep(now=NOW)  # taken back
    assert ListenerSlot.objects.get(slot=0).seen_at == NOW

    lease._locks.connection.close()
    usurper = leases()  # free while this one's lock was gone
    assert usurper.slot == 0
    with pytest.raises(SlotLostError, match="maintainx-listener-ingest-0 went to another listener"):
        lease.keep(now=NOW)


@postgresql_only
def test_with_every_slot_held_mqtt_listen_stops_saying_so(leases, monkeypatch):
    monkeypatch.setattr("telemetry.slots.MAX_SLOTS", 2)
    leases(), leases()

    with pytest.raises(
        CommandError,
        match="could not take a client-id slot of the group 'ingest': all 2 client-id slots of the shared group "
        "'ingest' are held",
    ):
        call_command("mqtt_listen", "--shared", "ingest", "--mqtt-url", "mqtt://127.0.0.1:1")


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the embedded default's case; CI runs it on SQLite")
def test_without_advisory_locks_there_are_no_slots():
    assert ListenerSlotLease.claim("ingest", now=NOW) is None


def test_a_slot_client_id_is_cut_to_64_characters_as_the_host_name_one_is():
    assert slot_client_id("ingest", 63) == "maintainx-listener-ingest-63"
    assert len(slot_client_id("g" * 80, 1)) == 64
