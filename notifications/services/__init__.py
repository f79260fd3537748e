"""Writes of the notifications app, one module per subject (DESIGN.md "Where things live")."""

from notifications.services.choices import channel_choice_set
from notifications.services.delivery import DeliveryResult, NotificationSender, deliveries_retry_now
from notifications.services.notify import notify_about_ticket, ticket_news_handle
from notifications.services.reading import (
    notification_mark_read,
    notifications_mark_all_read,
    notifications_still_news_unread,
)
from notifications.services.subscriptions import push_subscription_delete, push_subscription_save

__all__ = [
    "DeliveryResult",
    "NotificationSender",
    "channel_choice_set",
    "deliveries_retry_now",
    "notification_mark_read",
    "notifications_mark_all_read",
    "notifications_still_news_unread",
    "notify_about_ticket",
    "push_subscription_delete",
    "push_subscription_save",
    "ticket_news_handle",
]
