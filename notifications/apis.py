"""The notifications API (the dashboard's contract): a person reads and marks their own
notifications, chooses their channels and enables Web Push on their devices. Thin views over
notifications.selectors (reads) and notifications.services (writes)."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.selectors import channel_choice_get, notification_list, notification_unread_count
from notifications.serializers import NotificationOutputSerializer
from notifications.services import (
    channel_choice_set,
    notification_mark_read,
    notifications_mark_all_read,
    push_subscription_delete,
    push_subscription_save,
)
from notifications.services.notify import push_configured
from notifications.vapid import b64url_decode


class NotificationListApi(generics.ListAPIView):
    """The signed-in user's own notifications, newest first."""

    serializer_class = NotificationOutputSerializer
    # The order is the contract's (newest first); no search or ordering parameters.
    filter_backends = []

    def get_queryset(self):
        return notification_list(user=self.request.user)


class NotificationUnreadCountApi(APIView):
    @extend_schema(responses=inline_serializer("NotificationUnreadCount", {"unread": serializers.IntegerField()}))
    def get(self, request):
        return Response({"unread": notification_unread_count(user=request.user)})


class NotificationReadApi(APIView):
    """Marks one of the user's notifications read (another user's: 404)."""

    @extend_schema(request=None, responses=NotificationOutputSerializer)
    def post(self, request, pk: int):
        notification = generics.get_object_or_404(notification_list(user=request.user), pk=pk)
        notification = notification_mark_read(notification=notification)
        return Response(NotificationOutputSerializer(notification).data)


class NotificationReadAllApi(APIView):
    @extend_schema(
        request=None, responses=inline_serializer("NotificationsMarked", {"marked": serializers.IntegerField()})
    )
    def post(self, request):
        return Response({"marked": notifications_mark_all_read(user=request.user)})


class ChannelChoiceApi(APIView):
    """Which channels the user is told on: Web Push (on the devices where they enabled it), email (to
    their address) and the live in-app message."""

    class NotificationChannelsSerializer(serializers.Serializer):
        push = serializers.BooleanField()
        email = serializers.BooleanField()
        in_app = serializers.BooleanField()

    @extend_schema(responses=NotificationChannelsSerializer)
    def get(self, request):
        return Response(self.NotificationChannelsSerializer(channel_choice_get(user=request.user)).data)

    @extend_schema(request=NotificationChannelsSerializer, responses=NotificationChannelsSerializer)
    def put(self, request):
        serializer = self.NotificationChannelsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        choice = channel_choice_set(user=request.user, **serializer.validated_data)
        return Response(self.NotificationChannelsSerializer(choice).data)


class PushKeyApi(APIView):
    """The VAPID application server key that `pushManager.subscribe` needs (applicationServerKey)."""

    @extend_schema(
        responses={
            200: inline_serializer("PushKey", {"public_key": serializers.CharField()}),
            503: OpenApiResponse(description="Web Push is not configured on this install (VAPID keys unset)"),
        }
    )
    def get(self, request):
        if not push_configured():
            return Response(
                {
                    "detail": "Web Push is not configured on this install: "
                    "VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are unset."
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response({"public_key": settings.VAPID_PUBLIC_KEY})


def _base64url_of_length(length: int):
    def check(value: str) -> None:
        try:
            decoded = b64url_decode(value)
        except ValueError:
            raise serializers.ValidationError("Not base64url.") from None
        if len(decoded) != length:
            raise serializers.ValidationError(f"Must decode to {length} bytes (base64url); got {len(decoded)}.")

    return check


class PushKeysInputSerializer(serializers.Serializer):
    # The browser's P-256 public key, an uncompressed point, and its authentication secret (RFC 8291).
    p256dh = serializers.CharField(max_length=200, validators=[_base64url_of_length(65)])
    auth = serializers.CharField(max_length=100, validators=[_base64url_of_length(16)])


class PushSubscriptionApi(APIView):
    """A device's Web Push subscription: POST what PushSubscription.toJSON() gives to enable push there
    (201; the same endpoint again: 200, updated), DELETE its endpoint to disable it (204)."""

    class PushSubscriptionInputSerializer(serializers.Serializer):
        endpoint = serializers.URLField(max_length=1000)
        keys = PushKeysInputSerializer()

    class PushSubscriptionEndpointSerializer(serializers.Serializer):
        endpoint = serializers.URLField(max_length=1000)

    class PushSubscriptionOutputSerializer(serializers.Serializer):
        endpoint = serializers.URLField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

    @extend_schema(
        request=PushSubscriptionInputSerializer,
        responses={200: PushSubscriptionOutputSerializer, 201: PushSubscriptionOutputSerializer},
    )
    def post(self, request):
        serializer = self.PushSubscriptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription, created = push_subscription_save(
            user=request.user, endpoint=data["endpoint"], p256dh=data["keys"]["p256dh"], auth=data["keys"]["auth"]
        )
        return Response(
            self.PushSubscriptionOutputSerializer(subscription).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=PushSubscriptionEndpointSerializer, responses={204: None})
    def delete(self, request):
        serializer = self.PushSubscriptionEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        push_subscription_delete(user=request.user, endpoint=serializer.validated_data["endpoint"])
        return Response(status=status.HTTP_204_NO_CONTENT)
