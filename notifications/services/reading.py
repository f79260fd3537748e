"""Marking notifications read."""

import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications.models import Notification, NotificationKind
from tickets.models import TicketStatus


@transaction.atomic
def notification_mark_read(*, notification: Notification, at: datetime.datetime | None = None) -> Notification:
    """Read now, or left with the time it was first read."""
    if notification.read_at is None:
        notification.read_at = at or timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user, at: datetime.datetime | None = None) -> int:
    """Every unread notification of `user` read; how many were."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=at or timezone.now())


@transaction.atomic
def notifications_still_news_unread(*, recorded_since: datetime.datetime) -> int:
    """Tickets handed out in a replay of the past (recorded since `recorded_since`) were kept as read,
    being old news (notify.STALE_AFTER); those whose ticket is still open and still their recipient's
    are news to them yet: unread again, so the bell shows each technician what was left to them. Not
    paged: the moment to page passed with the replay. How many."""
    return Notification.objects.filter(
        created_at__gte=recorded_since,
        read_at__isnull=False,
        kind__in=[NotificationKind.ASSIGNED, NotificationKind.REASSIGNED],
        ticket__assignee=F("recipient"),
        ticket__status__in=[TicketStatus.OPEN, TicketStatus.IN_PROGRESS],
    ).update(read_at=None)
