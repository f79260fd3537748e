from django.urls import path

from notifications.apis import (
    ChannelChoiceApi,
    NotificationListApi,
    NotificationReadAllApi,
    NotificationReadApi,
    NotificationUnreadCountApi,
    PushKeyApi,
    PushSubscriptionApi,
)

urlpatterns = [
    path("notifications/", NotificationListApi.as_view(), name="notification-list"),
    path("notifications/unread-count/", NotificationUnreadCountApi.as_view(), name="notification-unread-count"),
    path("notifications/<int:pk>/read/", NotificationReadApi.as_view(), name="notification-read"),
    path("notifications/read-all/", NotificationReadAllApi.as_view(), name="notification-read-all"),
    path("notifications/channels/", ChannelChoiceApi.as_view(), name="notification-channels"),
    path("notifications/push/key/", PushKeyApi.as_view(), name="notification-push-key"),
    path("notifications/push/subscriptions/", PushSubscriptionApi.as_view(), name="notification-push-subscriptions"),
]
