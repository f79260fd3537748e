"""Browsers' Web Push subscriptions: saved when a device enables push, removed when it disables it
(or when the push service says it is gone: services.delivery)."""

from django.db import transaction

from notifications.models import PushSubscription


@transaction.atomic
def push_subscription_save(*, user, endpoint: str, p256dh: str, auth: str) -> tuple[PushSubscription, bool]:
    """(subscription, created). The same endpoint again updates it: a browser renews its keys, or
    another person signs in on the same device and the device's pushes are theirs from now on."""
    return PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth}
    )


@transaction.atomic
def push_subscription_delete(*, user, endpoint: str) -> int:
    """Removes the user's subscription at `endpoint` (nobody else's); how many were removed (0 or 1)."""
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted
