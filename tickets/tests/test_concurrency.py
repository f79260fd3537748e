"""Two predictor processes scoring the same sick machine at once: still one alert and one ticket.

Two real transactions on two connections (threads), started together with a barrier.
"""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from tickets.models import Alert, AlertSource, Ticket, TicketEventKind
from tickets.services import alerts_from_predictions
from tickets.tests.conftest import AT

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("role_groups"),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite runs one writing transaction at a time (BEGIN IMMEDIATE): two cannot interleave, "
        "so there is no race to test; CI runs this on PostgreSQL",
    ),
]


def run_together(*jobs) -> list[BaseException]:
    """Run each job in its own thread and transaction; all begin and read before any writes."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job):
        try:
            with transaction.atomic():
                list(Alert.objects.all())  # both transactions have read "no alert" ...
                barrier.wait(timeout=10)  # ... before either goes on
                job()
        except BaseException as error:  # handed to the test thread, which asserts on it
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a transaction is stuck"
    return errors


def test_two_transactions_raising_for_the_same_machine_make_one_alert_and_one_ticket(
    pump, bearing_code, predict, technician_on_shift
):
    first, second = predict(pump, 0.9, bearing_code), predict(pump, 0.93, bearing_code)

    errors = run_together(
        lambda: alerts_from_predictions(predictions=[first], at=AT),
        lambda: alerts_from_predictions(predictions=[second], at=AT),
    )

    assert errors == []
    alert = Alert.objects.get()
    assert alert.last_prediction in (first, second)  # the later of the two refreshed the other's alert
    ticket = Ticket.objects.get()
    assert (ticket.alert, ticket.assignee) == (alert, technician_on_shift)
    assert ticket.events.filter(kind=TicketEventKind.CREATED).count() == 1


def test_the_database_refuses_a_second_open_alert_from_a_concurrent_transaction(pump, bearing_code):
    def create():
        Alert.objects.create(machine=pump, error_code=bearing_code, source=AlertSource.PREDICTION, probability=0.9)

    errors = run_together(create, create)

    assert [type(error) for error in errors] == [IntegrityError]
    assert Alert.objects.count() == 1
