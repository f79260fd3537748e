"""The one way people are told about tickets: every assignment, reassignment, escalation, comment on
one's ticket and new unassigned ticket comes through `ticket_news_handle` (which the tickets'
services call through tickets.services.events.ticket_news and the composition root's
TICKET_NEWS_HANDLER), which decides who is told and how.

The rules:
- the person who did it is never told of their own action (a comment's author, a technician who
  takes a ticket);
- someone off shift is not paged: the in-app record is kept, nothing is pushed or mailed;
- news of long ago (STALE_AFTER) is recorded as read, not paged;
- an escalation goes to the supervisors on duty, a new unassigned ticket to the technicians on
  shift and the supervisors on duty;
- a flood (past NOTIFY_DIGEST_AFTER for one person within NOTIFY_DIGEST_WINDOW_SECONDS) is told in
  one digest at the end of the window instead of one page each.

Everything is written in the ticket's own transaction (a rolled-back ticket tells nobody, a committed
one loses nothing); delivery waits for the commit: the live message is broadcast on commit, and the
pending deliveries are the queue of the sender (services.delivery), which is woken on commit.
"""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.models import (
    ChannelChoice,
    Delivery,
    DeliveryChannel,
    Notification,
    NotificationKind,
    PushSubscription,
)
from notifications.serializers import notification_item
from notifications.services.wakeup import sender_wake_on_commit
from realtime.broadcast import broadcast_on_commit
from tickets.assignment import technicians_on_shift
from tickets.models import Shift, Ticket
from tickets.services.common import person_name
from tickets.services.events import TicketNews, TicketNewsKind, supervisor_ids

User = get_user_model()

# The live message's type on the user's socket (the dashboard's contract).
LIVE_MESSAGE_TYPE = "notification.created"

# News about something this long ago (the demo's replay of the plant's past, a backlog) is recorded as
# read and not paged: a page is for what needs someone now.
STALE_AFTER = datetime.timedelta(minutes=10)


# The ticket's transaction when there is one (always, from the tickets' services), without a savepoint.
@transaction.atomic(savepoint=False)
def ticket_news_handle(news: TicketNews) -> list[Notification]:
    """Tell whoever the rules say of `news`; the notifications made."""
    ticket = news.ticket
    label = f"Ticket #{ticket.pk} on {ticket.machine.code}"
    made = []
    if news.what == TicketNewsKind.ASSIGNED:
        made += notify_about_ticket(
            ticket=ticket,
            kind=NotificationKind.ASSIGNED,
            recipient_ids=[ticket.assignee_id],
            title=f"{label} is yours",
            body=ticket.title,
            actor_id=news.actor_id,
            at=news.at,
        )
    elif news.what == TicketNewsKind.REASSIGNED:
        made += notify_about_ticket(
            ticket=ticket,
            kind=NotificationKind.REASSIGNED,
            recipient_ids=[ticket.assignee_id],
            title=f"{label} was reassigned to you",
            body=ticket.title,
            actor_id=news.actor_id,
            at=news.at,
        )
        made += notify_about_ticket(
            ticket=ticket,
            kind=NotificationKind.REASSIGNED,
            recipient_ids=[news.previous_assignee_id],
            title=f"{label} was reassigned to {person_name(ticket.assignee)}",
            body=f"{ticket.title}: it is no longer yours.",
            actor_id=news.actor_id,
            at=news.at,
        )
    elif news.what == TicketNewsKind.ESCALATED:
        made += notify_about_ticket(
            ticket=ticket,
            kind=NotificationKind.ESCALATED,
            recipient_ids=supervisor_ids(),
            title=f"{label} escalated: nobody started it",
            body=ticket.title,
            actor_id=news.actor_id,
            at=news.at,
        )
    elif news.what == TicketNewsKind.COMMENTED:
        author = User.objects.filter(pk=news.actor_id).first()
        made += notify_about_ticket(
            ticket=ticket,
            kind=NotificationKind.COMMENTED,
            recipient_ids=[ticket.assignee_id],
            title=f"{person_name(author)} commented on {label}",
            body=news.comment,
            actor_id=news.actor_id,
            at=news.at,
        )
    elif news.what == TicketNewsKind.UNASSIGNED:
        made += notify_about_ticket(
            ticket=ticket,
            kind=NotificationKind.UNASSIGNED_TICKET,
            recipient_ids=[*technicians_on_shift(at=news.at), *supervisor_ids()],
            title=f"{label} needs someone: nobody was assigned",
            body=ticket.title,
            actor_id=news.actor_id,
            at=news.at,
        )
    else:
        raise ValueError(f"unknown ticket news {news.what!r}")
    return made


def notify_about_ticket(
    *,
    ticket: Ticket,
    kind: str,
    recipient_ids: Iterable[int | None],
    title: str,
    body: str,
    at: datetime.datetime,
    actor_id: int | None = None,
) -> list[Notification]:
    """One notification for each recipient but the actor, paged on their channels unless they are off
    duty, the news is stale, or it joins a flood's digest."""
    recipients = sorted({pk for pk in recipient_ids if pk is not None and pk != actor_id})
    if not recipients:
        return []
    now = timezone.now()
    on_duty = users_on_duty(recipients, at=at)
    stale = now - at > STALE_AFTER
    made = []
    for recipient_id in recipients:
        notification = Notification.objects.create(
            recipient_id=recipient_id,
            kind=kind,
            title=title[:200],
            body=body,
            url=ticket_path(ticket),
            ticket=ticket,
            created_at=now,
            # Stale news is there to look back on; the unread count is for what needs someone now.
            read_at=now if stale else None,
            paged=recipient_id in on_duty and not stale,
        )
        if notification.paged:
            digest = _digest_if_flooded(notification, now=now)
            if digest is None:
                notification_page(notification, send_at=now)
            else:
                notification.paged = False
                notification.digest = digest
                notification.save(update_fields=["paged", "digest"])
        made.append(notification)
    return made


def ticket_path(ticket: Ticket) -> str:
    """The dashboard's page of the ticket."""
    return f"/tickets/{ticket.pk}"


def users_on_duty(user_ids: Iterable[int], *, at: datetime.datetime) -> set[int]:
    """The users among `user_ids` on duty at `at`: in a shift that covers it, or in no shift at all
    (a supervisor or an install that keeps no shifts is always on duty). Shifts are plant-local."""
    user_ids = set(user_ids)
    moment = timezone.localtime(at).time()
    in_a_shift, covered = set(), set()
    for shift in Shift.objects.filter(technicians__in=user_ids).distinct().prefetch_related("technicians"):
        members = {user.pk for user in shift.technicians.all()} & user_ids
        in_a_shift |= members
        if shift.covers(moment):
            covered |= members
    return (user_ids - in_a_shift) | covered


def notification_page(notification: Notification, *, send_at: datetime.datetime) -> None:
    """Queue the notification on the recipient's channels: the live message on commit, a delivery for
    email and one for each push subscription, which the sender takes from `send_at`."""
    user = notification.recipient
    choice = ChannelChoice.objects.filter(user=user).first() or ChannelChoice(user=user)
    deliveries = []
    if choice.push and push_configured():
        deliveries += [
            Delivery(
                notification=notification,
                channel=DeliveryChannel.PUSH,
                push_subscription=subscription,
                next_attempt_at=send_at,
                created_at=notification.created_at,
            )
            for subscription in PushSubscription.objects.filter(user=user).order_by("pk")
        ]
    if choice.email and user.email:
        deliveries.append(
            Delivery(
                notification=notification,
                channel=DeliveryChannel.EMAIL,
                next_attempt_at=send_at,
                created_at=notification.created_at,
            )
        )
    Delivery.objects.bulk_create(deliveries)
    if deliveries:
        sender_wake_on_commit()
    if choice.in_app:
        broadcast_on_commit(
            {"type": LIVE_MESSAGE_TYPE, "notification": notification_item(notification)},
            user_ids=[user.pk],
            plant=False,
        )


def push_configured() -> bool:
    return bool(settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY)


def _digest_if_flooded(notification: Notification, *, now: datetime.datetime) -> Notification | None:
    """The digest that tells of `notification` when its recipient is flooded, or None: page it alone.

    Flooded: NOTIFY_DIGEST_AFTER notifications or more already told in the window (paged alone or in
    a digest). The window's digest is made by the first one held back, paged at the end of the window,
    and says how many it holds when it is sent.
    """
    window = datetime.timedelta(seconds=settings.NOTIFY_DIGEST_WINDOW_SECONDS)
    recent = (
        Notification.objects.filter(recipient_id=notification.recipient_id, created_at__gt=now - window)
        .exclude(kind=NotificationKind.DIGEST)
        .exclude(pk=notification.pk)
        .filter(Q(paged=True) | Q(digest__isnull=False))
        .count()
    )
    if recent < settings.NOTIFY_DIGEST_AFTER:
        return None
    digest = (
        Notification.objects.select_for_update()
        .filter(recipient_id=notification.recipient_id, kind=NotificationKind.DIGEST, created_at__gt=now - window)
        .order_by("-created_at", "-pk")
        .first()
    )
    if digest is None:
        digest = Notification.objects.create(
            recipient_id=notification.recipient_id,
            kind=NotificationKind.DIGEST,
            title="",
            url="/tickets",
            created_at=now,
        )
        _digest_describe(digest, held=[notification])
        notification_page(digest, send_at=now + window)
        return digest
    _digest_describe(digest, held=[*digest.digested.order_by("created_at", "pk"), notification])
    return digest


def _digest_describe(digest: Notification, *, held: list[Notification]) -> None:
    digest.title = f"{len(held)} more notification{'s' if len(held) != 1 else ''} in a short time"
    digest.body = "\n".join(notification.title for notification in held[-10:])
    if len(held) > 10:
        digest.body = f"… and {len(held) - 10} earlier\n{digest.body}"
    digest.save(update_fields=["title", "body"])
