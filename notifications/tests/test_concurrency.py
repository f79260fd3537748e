"""Several senders at once (several `notifier` containers): each takes its own deliveries, none is
sent twice. Real transactions on two connections (threads)."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from notifications.models import Delivery, DeliveryChannel
from notifications.services import NotificationSender
from notifications.tests.factories import NotificationFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite runs one writing transaction at a time (BEGIN IMMEDIATE): two senders cannot "
        "interleave their claims; CI runs this on PostgreSQL",
    ),
]


def test_a_second_sender_skips_the_deliveries_the_first_holds_and_takes_the_others():
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(notification=NotificationFactory(), channel=DeliveryChannel.EMAIL, next_attempt_at=now, created_at=now)
        for _ in range(20)
    )
    first_claimed = threading.Event()
    second_done = threading.Event()
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def first_sender():
        try:
            # The claim's rows stay locked until this outer transaction ends: the second claims meanwhile.
            with transaction.atomic():
                claimed["first"] = [d.pk for d in NotificationSender(batch_size=10)._claim(now)]
                first_claimed.set()
                assert second_done.wait(timeout=20), "the second sender waited on the first's locks"
        except BaseException as error:  # handed to the test thread, which asserts on it
            errors.append(error)
            first_claimed.set()
        finally:
            connections.close_all()

    def second_sender():
        try:
            first_claimed.wait(timeout=20)
            claimed["second"] = [d.pk for d in NotificationSender(batch_size=20)._claim(now)]
        except BaseException as error:  # handed to the test thread
            errors.append(error)
        finally:
            second_done.set()
            connections.close_all()

    threads = [threading.Thread(target=first_sender), threading.Thread(target=second_sender)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(claimed["first"]) == 10
    assert len(claimed["second"]) == 10
    assert set(claimed["first"]).isdisjoint(claimed["second"])
    assert set(claimed["first"]) | set(claimed["second"]) == set(Delivery.objects.values_list("pk", flat=True))
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
