"""Who is told of what: every ticket change that concerns someone goes through one service, which
pages those on duty, keeps an in-app record for those off shift, never tells the actor of their own
action, and turns a flood into one digest."""

import datetime

import pytest
from django.db import transaction

from core.roles import Role
from core.tests.factories import UserFactory
from notifications.models import Delivery, DeliveryChannel, DeliveryStatus, Notification, NotificationKind
from notifications.services import channel_choice_set, notifications_still_news_unread, ticket_news_handle
from notifications.tests.conftest import NOW
from telemetry.tests.factories import MachineFactory
from tickets.models import Ticket, TicketOutcome, TicketStatus
from tickets.services import (
    ticket_comment,
    ticket_create,
    ticket_reassign,
    ticket_take,
    tickets_escalate_overdue,
)
from tickets.services.events import TicketNews, TicketNewsKind
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _told(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user).order_by("created_at", "pk"))


def test_the_technician_on_shift_assigned_a_ticket_is_paged_with_a_link_to_it(machine, tech_on_shift):
    ticket = ticket_create(machine=machine, title="Bearing noise on M-007")

    [notification] = _told(tech_on_shift)
    assert ticket.assignee == tech_on_shift
    assert notification.kind == NotificationKind.ASSIGNED
    assert notification.title == f"Ticket #{ticket.pk} on M-007 is yours"
    assert (notification.body, notification.url, notification.ticket) == (
        "Bearing noise on M-007",
        f"/tickets/{ticket.pk}",
        ticket,
    )
    assert notification.paged
    [delivery] = notification.deliveries.all()
    assert (delivery.channel, delivery.status, delivery.next_attempt_at) == (
        DeliveryChannel.EMAIL,
        DeliveryStatus.PENDING,
        NOW,
    )


def test_an_off_shift_technician_is_not_paged_but_the_in_app_record_is_kept(machine, tech_on_shift, tech_off_shift):
    ticket = ticket_create(machine=machine, title="Check the belt", assignee=tech_off_shift, actor=None)

    [notification] = _told(tech_off_shift)
    assert notification.ticket == ticket
    assert not notification.paged
    assert not notification.deliveries.exists()


def test_no_channel_is_paged_when_the_user_turned_them_off(machine, tech_on_shift):
    channel_choice_set(user=tech_on_shift, push=False, email=False, in_app=True)
    ticket_create(machine=machine, title="Check the belt")

    [notification] = _told(tech_on_shift)
    assert notification.paged
    assert not notification.deliveries.exists()


def test_escalations_go_to_the_supervisors_on_duty_and_off_duty_ones_only_get_the_record(
    machine, tech_on_shift, night_shift
):
    on_duty = UserFactory(username="sue", role=Role.SUPERVISOR)  # in no shift: always on duty
    off_duty = UserFactory(username="sam", role=Role.SUPERVISOR)
    night_shift.technicians.add(off_duty)
    ticket = ticket_create(machine=machine, title="Oil leak", at=NOW - datetime.timedelta(hours=1))

    tickets_escalate_overdue(now=NOW)

    [told_on_duty] = _told(on_duty)
    [told_off_duty] = _told(off_duty)
    assert (told_on_duty.kind, told_on_duty.ticket, told_on_duty.paged) == (NotificationKind.ESCALATED, ticket, True)
    assert told_on_duty.deliveries.filter(channel=DeliveryChannel.EMAIL).exists()
    assert (told_off_duty.kind, told_off_duty.paged) == (NotificationKind.ESCALATED, False)
    assert not told_off_duty.deliveries.exists()
    assert [n.kind for n in _told(tech_on_shift)] == [NotificationKind.ASSIGNED]


def test_a_reassignment_tells_the_new_and_the_previous_assignee_but_not_the_supervisor_who_did_it(
    machine, tech_on_shift, day_shift
):
    other = UserFactory(username="olga", first_name="Olga", last_name="Other", role=Role.TECHNICIAN)
    day_shift.technicians.add(other)
    supervisor = UserFactory(username="sue", role=Role.SUPERVISOR)
    ticket = ticket_create(machine=machine, title="Check the belt", assignee=tech_on_shift, actor=supervisor)

    ticket_reassign(ticket=ticket, actor=supervisor, assignee=other)

    [to_new] = _told(other)
    assert to_new.kind == NotificationKind.REASSIGNED
    assert to_new.title == f"Ticket #{ticket.pk} on M-007 was reassigned to you"
    assigned, taken_away = _told(tech_on_shift)
    assert assigned.kind == NotificationKind.ASSIGNED
    assert taken_away.kind == NotificationKind.REASSIGNED
    assert taken_away.title == f"Ticket #{ticket.pk} on M-007 was reassigned to Olga Other"
    assert _told(supervisor) == []


def test_a_comment_tells_the_assignee_and_never_its_author(machine, tech_on_shift):
    supervisor = UserFactory(username="sue", first_name="Sue", last_name="Perv", role=Role.SUPERVISOR)
    ticket = ticket_create(machine=machine, title="Check the belt")

    ticket_comment(ticket=ticket, actor=tech_on_shift, text="Belt is worn, ordering a new one.")
    ticket_comment(ticket=ticket, actor=supervisor, text="Use the spare in bay 3.")

    kinds = [(n.kind, n.body) for n in _told(tech_on_shift)]
    assert kinds == [
        (NotificationKind.ASSIGNED, "Check the belt"),
        (NotificationKind.COMMENTED, "Use the spare in bay 3."),
    ]
    assert _told(tech_on_shift)[-1].title == f"Sue Perv commented on Ticket #{ticket.pk} on M-007"
    assert _told(supervisor) == []


def test_a_technician_who_takes_a_ticket_is_not_told_of_it(machine, day_shift, tech_off_shift):
    supervisor = UserFactory(username="sue", role=Role.SUPERVISOR)
    ticket = ticket_create(machine=machine, title="Nobody on shift")  # nobody on shift: unassigned
    day_shift.technicians.add(taker := UserFactory(username="tom", role=Role.TECHNICIAN))

    ticket_take(ticket=ticket, actor=taker)

    assert Ticket.objects.get().assignee == taker
    assert _told(taker) == []
    assert [n.kind for n in _told(supervisor)] == [NotificationKind.UNASSIGNED_TICKET]


def test_a_new_unassigned_ticket_is_told_to_the_supervisors_on_duty(machine, tech_off_shift):
    supervisor = UserFactory(username="sue", role=Role.SUPERVISOR)

    ticket = ticket_create(machine=machine, title="Nobody on shift")

    [notification] = _told(supervisor)
    assert ticket.assignee is None
    assert (notification.kind, notification.paged) == (NotificationKind.UNASSIGNED_TICKET, True)
    assert _told(tech_off_shift) == []


def test_a_flood_becomes_one_digest_sent_at_the_end_of_the_window(machine, tech_on_shift, clock, settings):
    settings.NOTIFY_DIGEST_AFTER, settings.NOTIFY_DIGEST_WINDOW_SECONDS = 5, 60
    for number in range(30):
        ticket_create(machine=machine, title=f"Ticket {number}", assignee=tech_on_shift)
        clock.shift(1)

    told = _told(tech_on_shift)
    paged_alone = [n for n in told if n.paged and n.kind != NotificationKind.DIGEST]
    [digest] = [n for n in told if n.kind == NotificationKind.DIGEST]
    held = [n for n in told if n.digest_id == digest.pk]
    assert len(told) == 31
    assert [n.body for n in paged_alone] == [f"Ticket {number}" for number in range(5)]
    assert len(held) == 25
    assert not any(n.paged for n in held)
    assert digest.title == "25 more notifications in a short time"
    assert "… and 15 earlier" in digest.body
    [digest_email] = digest.deliveries.all()
    assert digest_email.next_attempt_at == NOW + datetime.timedelta(seconds=5 + 60)
    assert Delivery.objects.filter(channel=DeliveryChannel.EMAIL).count() == 6


def test_a_ticket_rolled_back_tells_nobody(machine, tech_on_shift):
    @transaction.atomic
    def open_then_fail():
        ticket_create(machine=machine, title="Never happened")
        raise RuntimeError("the ticket's transaction fails")

    with pytest.raises(RuntimeError):
        open_then_fail()

    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()


def test_news_of_long_ago_is_recorded_as_read_and_not_paged(machine, tech_on_shift):
    ticket_create(machine=machine, title="Replayed from the past", at=NOW - datetime.timedelta(hours=2))

    [notification] = _told(tech_on_shift)
    assert notification.read_at == NOW
    assert not notification.paged
    assert not notification.deliveries.exists()


def test_after_a_replay_only_the_open_tickets_still_theirs_are_unread_again_and_none_is_paged(
    machine, tech_on_shift, day_shift, clock
):
    other = UserFactory(username="olga", role=Role.TECHNICIAN)
    day_shift.technicians.add(other)
    supervisor = UserFactory(username="sue", role=Role.SUPERVISOR)
    read_before = ticket_create(
        machine=MachineFactory(code="M-001"), title="Read before the replay", assignee=tech_on_shift, actor=None
    )
    notification_read_before = _told(tech_on_shift)[0]
    notification_read_before.read_at = NOW
    notification_read_before.save()
    clock.shift(60)
    replay_began = NOW + datetime.timedelta(seconds=60)
    past = NOW - datetime.timedelta(hours=3)
    still_open = ticket_create(
        machine=machine, title="Left to the technician", at=past, assignee=tech_on_shift, actor=None
    )
    resolved = ticket_create(machine=MachineFactory(code="M-002"), title="Worked by the crew", at=past)
    Ticket.objects.filter(pk=resolved.pk).update(
        status=TicketStatus.RESOLVED,
        started_at=past,
        resolved_at=past,
        outcome=TicketOutcome.FALSE_ALARM,
        resolution_notes="Nothing found.",
    )
    handed_on = ticket_create(
        machine=MachineFactory(code="M-003"), title="Given to a colleague", at=past, assignee=tech_on_shift, actor=None
    )
    ticket_reassign(ticket=handed_on, actor=supervisor, assignee=other, at=past)

    assert notifications_still_news_unread(recorded_since=replay_began) == 2

    unread = Notification.objects.filter(read_at__isnull=True)
    assert {(n.recipient, n.ticket, n.kind) for n in unread} == {
        (tech_on_shift, still_open, NotificationKind.ASSIGNED),
        (other, handed_on, NotificationKind.REASSIGNED),
    }
    assert read_before.assignee == tech_on_shift
    assert not Notification.objects.filter(read_at__isnull=True, ticket=read_before).exists()
    assert not Delivery.objects.filter(notification__in=unread).exists()


def test_an_unassigned_ticket_is_told_to_the_technicians_on_shift_and_not_to_those_off_it(
    machine, tech_on_shift, tech_off_shift
):
    # The default policy leaves a ticket unassigned only when nobody is on shift; another policy may
    # leave one with technicians on shift, who may take it.
    ticket = TicketFactory(machine=machine)

    ticket_news_handle(TicketNews(ticket, TicketNewsKind.UNASSIGNED, at=NOW))

    [notification] = _told(tech_on_shift)
    assert (notification.kind, notification.paged) == (NotificationKind.UNASSIGNED_TICKET, True)
    assert _told(tech_off_shift) == []
