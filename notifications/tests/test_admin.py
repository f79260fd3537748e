"""Supervisors follow deliveries in the admin: a failed one is found by its status and says why, and
"retry now" makes it due again."""

import pytest
from django.test import Client
from django.utils import timezone

from notifications.models import Delivery, DeliveryChannel, DeliveryStatus
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def _delivery(status: str, error: str = "") -> Delivery:
    return Delivery.objects.create(
        notification=NotificationFactory(title=f"A {status} one"),
        channel=DeliveryChannel.EMAIL,
        status=status,
        attempts=3,
        last_error=error,
        created_at=timezone.now(),
    )


@pytest.fixture
def supervisor_browser(supervisor):
    browser = Client()
    browser.force_login(supervisor)
    return browser


def test_the_deliveries_list_filters_by_status_and_shows_the_error(supervisor_browser):
    _delivery(DeliveryStatus.RETRYING, "SMTPConnectError: Connection refused by mail.plant.example")
    _delivery(DeliveryStatus.SENT)

    page = supervisor_browser.get("/admin/notifications/delivery/", {"status__exact": "retrying"})

    assert page.status_code == 200
    text = page.content.decode()
    assert "Connection refused by mail.plant.example" in text
    assert "Failed, will retry" in text
    assert page.context["cl"].result_count == 1


def test_retry_now_makes_failed_deliveries_due_with_their_attempts_back(supervisor_browser):
    failed = _delivery(DeliveryStatus.FAILED, "SMTPConnectError: Connection refused")
    sent = _delivery(DeliveryStatus.SENT)

    response = supervisor_browser.post(
        "/admin/notifications/delivery/",
        {"action": "retry_now", "_selected_action": [failed.pk, sent.pk]},
    )

    assert response.status_code == 302
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts) == (DeliveryStatus.RETRYING, 0)
    assert failed.next_attempt_at is not None
    assert sent.status == DeliveryStatus.SENT
