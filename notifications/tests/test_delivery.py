"""The sender against real servers: email through an SMTP server (aiosmtpd) started here, Web Push to
a local push endpoint that decrypts the payload with the subscribing browser's keys. A failed delivery
is retried with backoff and loses nothing; a push subscription the push service says is gone goes."""

import datetime

import pytest
from django.core.management import call_command

from core.net import free_port
from notifications.models import Delivery, DeliveryChannel, DeliveryStatus, PushSubscription
from notifications.services import NotificationSender
from notifications.tests.conftest import NOW
from notifications.tests.servers import PushService, SmtpServer
from tickets.models import Ticket
from tickets.services import ticket_create

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def smtp_settings(settings):
    """Email through the SMTP backend to 127.0.0.1 on a port of the test's choosing (`.EMAIL_PORT`)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "MaintainX <maintainx@plant.example>"
    settings.SITE_URL = "https://maintainx.plant.example"
    return settings


@pytest.fixture
def smtp_server(smtp_settings):
    server = SmtpServer(port=smtp_settings.EMAIL_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def push_service():
    service = PushService().start()
    yield service
    service.stop()


@pytest.fixture
def tech_client(api_client, tech_on_shift):
    api_client.force_authenticate(tech_on_shift)
    return api_client


def test_the_assignment_email_reaches_the_smtp_server_with_a_link_to_the_ticket(
    clock, machine, tech_on_shift, smtp_server
):
    ticket = ticket_create(machine=machine, title="Bearing noise on M-007")

    result = NotificationSender().send_due()

    assert (result.sent, result.retrying) == (1, 0)
    [message] = smtp_server.messages
    assert smtp_server.envelopes == [("maintainx@plant.example", [tech_on_shift.email])]
    assert message["Subject"] == f"[MaintainX] Ticket #{ticket.pk} on M-007 is yours"
    assert message["To"] == tech_on_shift.email
    text = message.get_payload()
    assert "Bearing noise on M-007" in text
    assert f"https://maintainx.plant.example/tickets/{ticket.pk}" in text
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.sent_at, delivery.last_error) == (
        DeliveryStatus.SENT,
        1,
        NOW,
        "",
    )


def test_with_the_smtp_server_down_the_ticket_opens_and_the_email_is_retried_with_backoff_until_it_is_up(
    clock, machine, tech_on_shift, smtp_settings, settings
):
    settings.NOTIFY_RETRY_SECONDS = 30
    sender = NotificationSender()

    ticket = ticket_create(machine=machine, title="Bearing noise on M-007")  # nothing listens on EMAIL_PORT
    first = sender.send_due()

    assert Ticket.objects.get() == ticket
    assert ticket.assignee == tech_on_shift
    delivery = Delivery.objects.get()
    assert (first.retrying, delivery.status, delivery.attempts) == (1, DeliveryStatus.RETRYING, 1)
    assert "Connection" in delivery.last_error
    assert delivery.next_attempt_at == NOW + datetime.timedelta(seconds=30)

    clock.shift(30)
    sender.send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.RETRYING, 2)
    assert delivery.next_attempt_at == NOW + datetime.timedelta(seconds=30 + 60)  # the wait doubled

    server = SmtpServer(port=smtp_settings.EMAIL_PORT).start()
    try:
        clock.shift(59)
        assert sender.send_due().attempted == 0  # not due yet
        clock.shift(1)
        third = sender.send_due()
    finally:
        server.stop()

    delivery.refresh_from_db()
    assert (third.sent, delivery.status, delivery.attempts, delivery.last_error) == (1, DeliveryStatus.SENT, 3, "")
    [message] = server.messages
    assert message["Subject"] == f"[MaintainX] Ticket #{ticket.pk} on M-007 is yours"


def test_a_delivery_that_keeps_failing_is_given_up_after_the_last_attempt_with_its_error(
    clock, machine, tech_on_shift, smtp_settings, settings
):
    settings.NOTIFY_RETRY_SECONDS, settings.NOTIFY_MAX_ATTEMPTS = 1, 3
    ticket_create(machine=machine, title="Bearing noise on M-007")
    sender = NotificationSender()

    outcomes = []
    for _ in range(3):
        result = sender.send_due()
        outcomes.append((result.retrying, result.failed))
        clock.shift(3600)

    delivery = Delivery.objects.get()
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.FAILED, 3, None)
    assert "Connection" in delivery.last_error


@pytest.mark.usefixtures("clock")
def test_a_push_subscribed_through_the_api_is_delivered_encrypted_and_names_the_ticket(
    machine, tech_client, vapid, push_service
):
    endpoint = push_service.endpoint("tablet")
    subscribed = tech_client.post(
        "/api/notifications/push/subscriptions/",
        push_service.keys["tablet"].subscription_json(endpoint),
        format="json",
    )
    assert subscribed.status_code == 201

    ticket = ticket_create(machine=machine, title="Bearing noise on M-007")
    result = NotificationSender().send_due()

    assert push_service.problems == []
    [push] = push_service.received
    assert push.payload == {
        "title": f"Ticket #{ticket.pk} on M-007 is yours",
        "body": "Bearing noise on M-007",
        "url": f"/tickets/{ticket.pk}",
        "tag": f"ticket-{ticket.pk}",
        "ticket": ticket.pk,
    }
    assert push.vapid_public_key == vapid.VAPID_PUBLIC_KEY
    assert push.vapid_claims["sub"] == "mailto:maintenance@plant.example"
    assert push.vapid_claims["aud"] == f"http://127.0.0.1:{push_service.port}"
    assert result.sent == 2  # the push and the email
    push_delivery = Delivery.objects.get(channel=DeliveryChannel.PUSH)
    assert push_delivery.status == DeliveryStatus.SENT


@pytest.mark.parametrize("answer", [404, 410])
@pytest.mark.usefixtures("clock", "vapid")
def test_a_subscription_the_push_service_says_is_gone_is_removed_and_the_delivery_says_so(
    machine, tech_client, push_service, answer
):
    push_service.answer = answer
    endpoint = push_service.endpoint("old-phone")
    tech_client.post(
        "/api/notifications/push/subscriptions/",
        push_service.keys["old-phone"].subscription_json(endpoint),
        format="json",
    )

    ticket_create(machine=machine, title="Bearing noise on M-007")
    result = NotificationSender().send_due()

    assert result.gone == 1
    assert not PushSubscription.objects.exists()
    delivery = Delivery.objects.get(channel=DeliveryChannel.PUSH)
    assert delivery.status == DeliveryStatus.GONE
    assert delivery.push_subscription is None
    assert f"answered {answer}" in delivery.last_error
    assert NotificationSender().send_due().attempted == 0  # nothing left to retry


@pytest.mark.usefixtures("clock", "vapid")
def test_a_push_service_error_is_retried_and_the_subscription_kept(machine, tech_client, push_service):
    push_service.answer = 503
    endpoint = push_service.endpoint("tablet")
    tech_client.post(
        "/api/notifications/push/subscriptions/", push_service.keys["tablet"].subscription_json(endpoint), format="json"
    )

    ticket_create(machine=machine, title="Bearing noise on M-007")
    NotificationSender().send_due()

    delivery = Delivery.objects.get(channel=DeliveryChannel.PUSH)
    assert delivery.status == DeliveryStatus.RETRYING
    assert "503" in delivery.last_error
    assert PushSubscription.objects.count() == 1


def test_the_command_sends_what_is_due_once_and_says_what_it_did(clock, machine, tech_on_shift, smtp_server, capsys):
    ticket_create(machine=machine, title="Bearing noise on M-007")

    call_command("send_notifications", "--once")

    assert "1 sent, 0 to retry, 0 failed, 0 push subscriptions gone" in capsys.readouterr().out
    assert len(smtp_server.messages) == 1
