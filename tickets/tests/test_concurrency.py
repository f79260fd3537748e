"""Races between real transactions: two predictor processes scoring the same sick machine at once
make one alert and one ticket; two technicians taking the same ticket at once make one winner; a
tablet's retry that overtakes its first request does the action once.

Two real transactions on two connections (threads), started together with a barrier.
"""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from core.roles import Role
from core.tests.factories import UserFactory
from tickets.models import Alert, AlertSource, Ticket, TicketActionReceipt, TicketEventKind
from tickets.services import (
    WorkflowError,
    alerts_from_predictions,
    ticket_action_once,
    ticket_comment,
    ticket_create,
    ticket_take,
)
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


def run_together(*jobs, read=lambda: list(Alert.objects.all())) -> list[BaseException]:
    """Run each job in its own thread and transaction; all begin and `read` before any writes."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job):
        try:
            with transaction.atomic():
                read()  # both transactions have read the state before the race (e.g. "no alert") ...
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


def test_two_technicians_taking_the_same_ticket_at_once_make_one_winner_and_one_clear_refusal(pump):
    ticket = ticket_create(machine=pump, title="Coupling rattles", at=AT)
    first = UserFactory(username="tech1", role=Role.TECHNICIAN)
    second = UserFactory(username="tech2", role=Role.TECHNICIAN)

    def nobody_has_it():
        assert Ticket.objects.get(pk=ticket.pk).assignee_id is None

    errors = run_together(
        lambda: ticket_take(ticket=ticket, actor=first, at=AT),
        lambda: ticket_take(ticket=ticket, actor=second, at=AT),
        read=nobody_has_it,
    )

    ticket.refresh_from_db()
    assert ticket.assignee in (first, second)
    loser = second if ticket.assignee == first else first
    assert [type(error) for error in errors] == [WorkflowError]
    assert str(errors[0]) == (
        f"Ticket #{ticket.pk} cannot be taken: {ticket.assignee.get_full_name()} has it since {AT:%Y-%m-%d %H:%M}."
    )
    taken = ticket.events.filter(kind=TicketEventKind.ASSIGNED, actor__isnull=False)
    assert [(event.actor, event.assignee) for event in taken] == [(ticket.assignee, ticket.assignee)]
    assert loser not in {event.actor for event in ticket.events.all()}


def test_two_requests_with_the_same_idempotency_key_at_once_comment_once_and_answer_alike(pump):
    technician = UserFactory(username="tech-offline", role=Role.TECHNICIAN)
    ticket = ticket_create(machine=pump, title="Coupling rattles", assignee=technician, at=AT)
    answers = []

    def send_comment():
        def perform():
            event = ticket_comment(ticket=ticket, actor=technician, text="Coupling replaced")
            return 201, {"event": event.pk}

        answers.append(
            ticket_action_once(actor=technician, key="tablet-1", ticket=ticket, action="comment", perform=perform)
        )

    errors = run_together(send_comment, send_comment, read=lambda: list(TicketActionReceipt.objects.all()))

    assert errors == []
    assert len(answers) == 2
    assert answers[0] == answers[1]
    assert ticket.events.filter(kind=TicketEventKind.COMMENTED).count() == 1
