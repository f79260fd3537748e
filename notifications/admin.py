from django.contrib import admin

from notifications.models import ChannelChoice, Delivery, Notification, PushSubscription
from notifications.services import deliveries_retry_now


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ["channel", "push_subscription", "status", "attempts", "last_error", "next_attempt_at", "sent_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "kind", "title", "paged", "read_at"]
    list_filter = ["kind", "paged", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "recipient__username"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]
    raw_id_fields = ["recipient", "ticket", "digest"]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The sender's record: a failed delivery (status "Failed, will retry" or "Failed, gave up") says why."""

    list_display = ["created_at", "recipient", "channel", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", "channel"]
    search_fields = ["notification__title", "notification__recipient__username", "last_error"]
    date_hierarchy = "created_at"
    list_select_related = ["notification__recipient"]
    raw_id_fields = ["notification", "push_subscription"]
    actions = ["retry_now"]

    @admin.display(description="Recipient")
    def recipient(self, obj):
        return obj.notification.recipient

    @admin.action(description="Retry the selected deliveries now (those not sent and not gone)")
    def retry_now(self, request, queryset):
        retried = deliveries_retry_now(deliveries=queryset)
        self.message_user(request, f"{retried} deliveries will be retried at the sender's next pass.")


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "endpoint", "created_at", "updated_at"]
    search_fields = ["user__username", "endpoint"]
    raw_id_fields = ["user"]
    # What the browser gave: only the device itself renews it (through the API).
    readonly_fields = ["endpoint", "p256dh", "auth", "created_at", "updated_at"]


@admin.register(ChannelChoice)
class ChannelChoiceAdmin(admin.ModelAdmin):
    list_display = ["user", "push", "email", "in_app"]
    raw_id_fields = ["user"]
