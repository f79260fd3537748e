"""Marking notifications read."""

import datetime

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification


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
