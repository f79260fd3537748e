"""The notification as the API lists it and the live message carries it: one shape for both."""

from rest_framework import serializers

from notifications.models import Notification


class NotificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "ticket", "created_at", "read_at"]
        read_only_fields = fields


def notification_item(notification: Notification) -> dict:
    """The item of the API's list, as plain JSON types (the channel layer carries no datetimes)."""
    return dict(NotificationOutputSerializer(notification).data)
