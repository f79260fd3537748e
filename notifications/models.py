from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", "Assigned to you"
    ESCALATED = "escalated", "Escalated"
    REASSIGNED = "reassigned", "Reassigned"
    COMMENTED = "commented", "Comment on your ticket"
    UNASSIGNED_TICKET = "unassigned_ticket", "New unassigned ticket"
    DIGEST = "digest", "Digest"


class Notification(models.Model):
    """One thing one person is told. The row is the in-app record, kept whether or not it is paged."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # The dashboard's path of what it is about (/tickets/<id>), opened when the notification is tapped.
    url = models.CharField(max_length=300, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # False: in-app only. The recipient was off shift, or the notification joined a digest.
    paged = models.BooleanField(default=True)
    # A notification held back during a flood points to the digest that tells of it instead.
    digest = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="digested",
        limit_choices_to={"kind": "digest"},
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_newest"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.recipient}: {self.title}"


class ChannelChoice(models.Model):
    """How a person wants to be told (their profile's choice); no row: every channel."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notification_channels"
    )
    push = models.BooleanField(default=True, help_text="Web Push to the devices the user enabled it on")
    email = models.BooleanField(default=True, help_text="Email to the user's address, when they have one")
    in_app = models.BooleanField(default=True, help_text="The live message in an open dashboard")

    def __str__(self):
        return f"Channels of {self.user}"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (PushSubscription.toJSON()): where to send and the keys to encrypt with."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    # Push services' endpoint URLs run to a few hundred characters; unique: one browser, one subscription.
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200, help_text="The browser's P-256 public key, base64url")
    auth = models.CharField(max_length=100, help_text="The browser's authentication secret, base64url")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Push to {self.user} at {self.endpoint[:60]}"


class DeliveryChannel(models.TextChoices):
    PUSH = "push", "Web Push"
    EMAIL = "email", "Email"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Failed, will retry"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, gave up"
    GONE = "gone", "Subscription gone"


class Delivery(models.Model):
    """One notification sent on one channel (one push subscription): the sender's queue and its record."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=DeliveryChannel.choices)
    # Kept (null) when the push service said the subscription is gone and it was removed.
    push_subscription = models.ForeignKey(
        PushSubscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # When the sender next takes it; a digest's deliveries wait for the end of its flood.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "retrying"]),
                name="delivery_due",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(channel="email") | Q(push_subscription__isnull=True),
                name="delivery_email_has_no_push_subscription",
                violation_error_message="An email delivery goes to no push subscription.",
            )
        ]

    def __str__(self):
        return f"{self.get_channel_display()} of #{self.notification_id}: {self.get_status_display()}"
