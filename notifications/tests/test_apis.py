"""The notifications API as the dashboard's contract has it: each person reads and changes only their
own notifications, channels and push subscriptions; bad input is a 400 naming the field."""

import base64
import os

import pytest

from core.roles import Role
from core.tests.factories import UserFactory
from notifications.models import ChannelChoice, Notification, PushSubscription
from notifications.tests.conftest import NOW
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

ENDPOINT = "https://push.example.net/send/abc123"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _subscription_json(endpoint: str = ENDPOINT) -> dict:
    # Shaped as PushSubscription.toJSON(): a P-256 point (65 bytes, 0x04 first) and a 16-byte secret.
    return {
        "endpoint": endpoint,
        "keys": {"p256dh": _b64url(b"\x04" + os.urandom(64)), "auth": _b64url(os.urandom(16))},
    }


@pytest.fixture
def tech_client(api_client, technician):
    api_client.force_authenticate(technician)
    return api_client


def test_the_list_holds_only_my_notifications_newest_first_in_the_contracts_shape(tech_client, technician, clock):
    older = NotificationFactory(recipient=technician, title="older")
    clock.shift(60)
    newer = NotificationFactory(recipient=technician, title="newer", read_at=NOW)
    NotificationFactory(recipient=UserFactory(username="other", role=Role.TECHNICIAN), title="not mine")

    body = tech_client.get("/api/notifications/").json()

    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [newer.pk, older.pk]
    assert set(body["results"][0]) == {"id", "kind", "title", "body", "url", "ticket", "created_at", "read_at"}
    assert body["results"][0]["read_at"] is not None
    assert body["results"][1]["read_at"] is None


def test_the_unread_count_counts_my_unread_ones_only(tech_client, technician):
    NotificationFactory.create_batch(3, recipient=technician)
    NotificationFactory(recipient=technician, read_at=NOW)
    NotificationFactory(recipient=UserFactory(username="other", role=Role.TECHNICIAN))

    assert tech_client.get("/api/notifications/unread-count/").json() == {"unread": 3}


def test_marking_read_returns_the_item_and_another_users_notification_is_404(tech_client, technician, clock):
    mine = NotificationFactory(recipient=technician)
    theirs = NotificationFactory(recipient=UserFactory(username="other", role=Role.TECHNICIAN))

    response = tech_client.post(f"/api/notifications/{mine.pk}/read/")
    refused = tech_client.post(f"/api/notifications/{theirs.pk}/read/")

    assert response.status_code == 200
    assert response.json()["id"] == mine.pk
    assert response.json()["read_at"] == "2026-03-10T10:00:00Z"
    assert refused.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all_marks_mine_and_says_how_many(tech_client, technician):
    NotificationFactory.create_batch(2, recipient=technician)
    NotificationFactory(recipient=technician, read_at=NOW)
    other = NotificationFactory(recipient=UserFactory(username="other", role=Role.TECHNICIAN))

    assert tech_client.post("/api/notifications/read-all/").json() == {"marked": 2}
    assert not Notification.objects.filter(recipient=technician, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None


def test_every_channel_is_on_until_the_user_chooses(tech_client, technician):
    assert tech_client.get("/api/notifications/channels/").json() == {"push": True, "email": True, "in_app": True}

    response = tech_client.put(
        "/api/notifications/channels/", {"push": False, "email": True, "in_app": False}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"push": False, "email": True, "in_app": False}
    assert tech_client.get("/api/notifications/channels/").json() == {"push": False, "email": True, "in_app": False}
    choice = ChannelChoice.objects.get(user=technician)
    assert (choice.push, choice.email, choice.in_app) == (False, True, False)


def test_a_bad_channel_choice_is_a_400_naming_the_field_and_changes_nothing(tech_client, technician):
    response = tech_client.put("/api/notifications/channels/", {"push": "sometimes", "email": True}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"push", "in_app"}
    assert not ChannelChoice.objects.filter(user=technician).exists()


def test_the_push_key_is_the_vapid_public_key(tech_client, vapid):
    assert tech_client.get("/api/notifications/push/key/").json() == {"public_key": vapid.VAPID_PUBLIC_KEY}


def test_the_push_key_is_503_with_a_reason_when_vapid_is_not_configured(tech_client, settings):
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = None

    response = tech_client.get("/api/notifications/push/key/")

    assert response.status_code == 503
    assert "VAPID_PUBLIC_KEY" in response.json()["detail"]


def test_subscribing_creates_then_the_same_endpoint_again_updates(tech_client, technician):
    first = _subscription_json()
    renewed = _subscription_json()

    created = tech_client.post("/api/notifications/push/subscriptions/", first, format="json")
    updated = tech_client.post("/api/notifications/push/subscriptions/", renewed, format="json")

    assert (created.status_code, updated.status_code) == (201, 200)
    subscription = PushSubscription.objects.get()
    assert (subscription.user, subscription.endpoint) == (technician, ENDPOINT)
    assert (subscription.p256dh, subscription.auth) == (renewed["keys"]["p256dh"], renewed["keys"]["auth"])


@pytest.mark.parametrize(
    ("change", "field_path"),
    [
        (lambda body: body.pop("endpoint"), ("endpoint",)),
        (lambda body: body.update(endpoint="not a url"), ("endpoint",)),
        (lambda body: body.pop("keys"), ("keys",)),
        (lambda body: body["keys"].update(p256dh="!!not base64!!"), ("keys", "p256dh")),
        (lambda body: body["keys"].update(p256dh=_b64url(b"\x04" + b"short")), ("keys", "p256dh")),
        (lambda body: body["keys"].pop("auth"), ("keys", "auth")),
    ],
)
def test_a_bad_subscription_is_a_400_naming_the_field_and_nothing_is_saved(tech_client, change, field_path):
    body = _subscription_json()
    change(body)

    response = tech_client.post("/api/notifications/push/subscriptions/", body, format="json")

    assert response.status_code == 400
    errors = response.json()
    for name in field_path:
        errors = errors[name]
    assert errors
    assert not PushSubscription.objects.exists()


def test_unsubscribing_removes_my_subscription_and_never_another_users(tech_client, technician):
    tech_client.post("/api/notifications/push/subscriptions/", _subscription_json(), format="json")
    other = UserFactory(username="other", role=Role.TECHNICIAN)
    PushSubscription.objects.create(user=other, endpoint=ENDPOINT + "-other", p256dh="x", auth="y")

    mine = tech_client.delete("/api/notifications/push/subscriptions/", {"endpoint": ENDPOINT}, format="json")
    theirs = tech_client.delete(
        "/api/notifications/push/subscriptions/", {"endpoint": ENDPOINT + "-other"}, format="json"
    )
    bad = tech_client.delete("/api/notifications/push/subscriptions/", {}, format="json")

    assert (mine.status_code, theirs.status_code) == (204, 204)
    assert list(PushSubscription.objects.values_list("user", flat=True)) == [other.pk]
    assert bad.status_code == 400
    assert "endpoint" in bad.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/notifications/"),
        ("get", "/api/notifications/unread-count/"),
        ("post", "/api/notifications/read-all/"),
        ("get", "/api/notifications/channels/"),
        ("get", "/api/notifications/push/key/"),
        ("post", "/api/notifications/push/subscriptions/"),
    ],
)
def test_anonymous_users_and_users_without_a_role_get_nothing(api_client, user_without_role, method, path):
    anonymous = getattr(api_client, method)(path)
    api_client.force_authenticate(user_without_role)
    roleless = getattr(api_client, method)(path)

    assert (anonymous.status_code, roleless.status_code) == (401, 403)
