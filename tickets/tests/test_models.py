import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets.models import Alert, AlertStatus, Shift, Ticket, TicketOutcome, TicketStatus
from tickets.tests.factories import AlertFactory, ErrorCodeFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("first_status", [AlertStatus.ACTIVE, AlertStatus.ACKNOWLEDGED])
def test_second_open_alert_for_same_machine_and_code_is_refused(first_status):
    first = AlertFactory(status=first_status, acknowledged_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertFactory(machine=first.machine, error_code=first.error_code)


def test_new_alert_may_open_once_the_previous_one_cleared():
    first = AlertFactory(status=AlertStatus.CLEARED, cleared_at=timezone.now())
    second = AlertFactory(machine=first.machine, error_code=first.error_code)
    assert Alert.objects.filter(machine=first.machine, error_code=first.error_code).count() == 2
    assert second.status == AlertStatus.ACTIVE


def test_one_machine_may_have_open_alerts_for_different_codes():
    first = AlertFactory()
    AlertFactory(machine=first.machine, error_code=ErrorCodeFactory(code="E-TMP-01"))
    assert first.machine.alerts.count() == 2


def test_acknowledged_alert_needs_its_time():
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertFactory(status=AlertStatus.ACKNOWLEDGED, acknowledged_at=None)


def test_alert_probability_outside_0_1_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertFactory(probability=1.5)


def test_resolved_ticket_without_outcome_is_refused():
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(status=TicketStatus.RESOLVED, started_at=now, resolved_at=now, resolution_notes="done")


def test_resolved_ticket_without_notes_is_refused():
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(status=TicketStatus.RESOLVED, started_at=now, resolved_at=now, outcome=TicketOutcome.FALSE_ALARM)


def test_resolved_ticket_with_outcome_and_notes_is_stored():
    now = timezone.now()
    ticket = TicketFactory(
        status=TicketStatus.RESOLVED,
        started_at=now,
        resolved_at=now,
        outcome=TicketOutcome.FAILURE_CONFIRMED,
        resolution_notes="Replaced the drive-end bearing.",
    )
    assert Ticket.objects.get(pk=ticket.pk).outcome == TicketOutcome.FAILURE_CONFIRMED


def test_open_ticket_with_an_outcome_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(outcome=TicketOutcome.FALSE_ALARM)


def test_ticket_in_progress_needs_its_start_time():
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(status=TicketStatus.IN_PROGRESS)


def test_downtime_cannot_end_before_it_starts():
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(downtime_start=now, downtime_end=now - datetime.timedelta(minutes=1))


def test_an_alert_opens_at_most_one_ticket():
    alert = AlertFactory()
    TicketFactory(machine=alert.machine, alert=alert)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(machine=alert.machine, alert=alert)


def test_night_shift_covers_both_sides_of_midnight():
    night = Shift(name="Night", starts_at=datetime.time(22), ends_at=datetime.time(6))
    day = Shift(name="Early", starts_at=datetime.time(6), ends_at=datetime.time(14))
    assert [night.covers(datetime.time(h)) for h in (21, 22, 0, 5, 6)] == [False, True, True, True, False]
    assert [day.covers(datetime.time(h)) for h in (5, 6, 13, 14)] == [False, True, True, False]
