"""Escalation: an open ticket nobody started in time goes to the supervisors, once."""

import datetime

import pytest

from core.roles import Role
from core.tests.factories import UserFactory
from predictor.models import Prediction
from telemetry.tests.factories import MachineFactory
from tickets.models import TicketEventKind
from tickets.services import predictions_handle, ticket_create, ticket_start, tickets_escalate_overdue
from tickets.tests.conftest import AT

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def escalate_after_30_minutes(settings):
    settings.TICKET_ESCALATE_MINUTES = 30


def test_an_open_ticket_not_started_in_time_is_escalated_once(technician_on_shift):
    ticket = ticket_create(machine=MachineFactory(), title="Leak at the seal", at=AT)

    assert tickets_escalate_overdue(now=AT + 29 * MINUTE) == []
    assert tickets_escalate_overdue(now=AT + 30 * MINUTE) == [ticket]
    assert tickets_escalate_overdue(now=AT + 90 * MINUTE) == []

    ticket.refresh_from_db()
    assert ticket.escalated_at == AT + 30 * MINUTE
    event = ticket.events.get(kind=TicketEventKind.ESCALATED)
    assert (event.actor, event.at) == (None, AT + 30 * MINUTE)
    assert "Not started 30 minutes after it opened" in event.note


def test_a_started_ticket_is_not_escalated(technician_on_shift):
    ticket = ticket_create(machine=MachineFactory(), title="Leak at the seal", at=AT)
    ticket_start(ticket=ticket, actor=technician_on_shift, at=AT + 10 * MINUTE)
    assert tickets_escalate_overdue(now=AT + 60 * MINUTE) == []


def test_escalation_pushes_to_every_supervisor(technician_on_shift, django_capture_on_commit_callbacks):
    UserFactory(username="super", role=Role.SUPERVISOR)
    ticket_create(machine=MachineFactory(), title="Leak at the seal", at=AT)
    with django_capture_on_commit_callbacks() as callbacks:
        tickets_escalate_overdue(now=AT + 31 * MINUTE)
    assert len(callbacks) == 1  # one push: plant, assignee and supervisors (groups in tests/test_push.py)


def test_the_predictor_tick_runs_escalation(technician_on_shift):
    ticket = ticket_create(machine=MachineFactory(), title="Leak at the seal", at=AT)
    predictions_handle(predictions=Prediction.objects.none(), detected_at=AT + 45 * MINUTE)
    ticket.refresh_from_db()
    assert ticket.escalated_at == AT + 45 * MINUTE
