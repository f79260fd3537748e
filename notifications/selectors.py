"""Reads of notifications, channel choices and push subscriptions; each person reads only their own."""

from django.db.models import QuerySet

from notifications.models import ChannelChoice, Notification, PushSubscription


def notification_list(*, user) -> QuerySet[Notification]:
    """The user's own notifications, newest first."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def channel_choice_get(*, user) -> ChannelChoice:
    """The user's channel choice; unsaved with every channel on when they never made one."""
    return ChannelChoice.objects.filter(user=user).first() or ChannelChoice(user=user)


def push_subscription_list(*, user) -> QuerySet[PushSubscription]:
    return PushSubscription.objects.filter(user=user).order_by("pk")
