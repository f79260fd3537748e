"""The sender: delivers the pending deliveries (email, Web Push), retries failures with exponential
backoff, and removes a push subscription its push service says is gone (404, 410).

`NotificationSender.send_due()` is one pass, which the tests call; `run()` loops until stopped
(manage.py send_notifications, the demo's thread). Several senders may run at once on PostgreSQL:
each claims its batch with SKIP LOCKED and leases it for CLAIM_LEASE, so that a sender that dies
mid-batch leaves its deliveries to be taken again once the lease ends.
"""

import datetime
import json
import logging
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import error_first_line
from notifications.models import Delivery, DeliveryChannel, DeliveryStatus, Notification, NotificationKind
from notifications.services.wakeup import sender_wakeup

logger = logging.getLogger(__name__)

# Long enough for one batch's sends (each bounded by SEND_TIMEOUT_S), short enough that a sender's
# crash delays its batch by no more than this.
CLAIM_LEASE = datetime.timedelta(minutes=5)
SEND_TIMEOUT_S = 10.0
# The longest wait between two attempts, whatever the backoff has doubled to.
RETRY_CAP = datetime.timedelta(hours=1)
# How long a push service keeps a notification for a device that is offline (a tablet off the wireless).
PUSH_TTL_S = 24 * 3600
# The push service's answers meaning the subscription no longer exists (RFC 8030 section 7.3).
PUSH_GONE_STATUSES = frozenset({404, 410})


class SubscriptionGoneError(Exception):
    """The push service says the subscription is no longer there."""


@dataclass
class DeliveryResult:
    """What one pass did, by outcome."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    gone: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed + self.gone


def retry_delay(attempts: int) -> datetime.timedelta:
    """The wait after the `attempts`-th failed attempt: NOTIFY_RETRY_SECONDS, doubled each time, capped."""
    return min(datetime.timedelta(seconds=settings.NOTIFY_RETRY_SECONDS * 2 ** (attempts - 1)), RETRY_CAP)


class NotificationSender:
    def __init__(self, *, batch_size: int = 100):
        self.batch_size = batch_size
        self._stop = threading.Event()

    def request_stop(self) -> None:
        self._stop.set()
        sender_wakeup.set()

    def run(self, *, interval: float) -> None:
        """Send what is due every `interval` seconds, or as soon as a commit queues something, until stopped."""
        try:
            while not self._stop.is_set():
                sender_wakeup.clear()
                try:
                    result = self.send_due()
                except Exception:
                    # A database that went away must not end the sender: the next pass retries.
                    logger.exception("sending notifications failed; trying again in %.0f s", interval)
                    connection.close()
                else:
                    if result.attempted:
                        logger.info(
                            "notifications: %d sent, %d to retry, %d failed, %d subscriptions gone",
                            result.sent,
                            result.retrying,
                            result.failed,
                            result.gone,
                        )
                    if result.attempted == self.batch_size:
                        continue  # more may be due at once
                sender_wakeup.wait(timeout=interval)
        finally:
            connection.close()

    def send_due(self, *, now: datetime.datetime | None = None) -> DeliveryResult:
        """One pass: every delivery due by `now` (at most a batch) sent, its outcome recorded."""
        result = DeliveryResult()
        for delivery in self._claim(now or timezone.now()):
            self._send(delivery, result)
        return result

    def _claim(self, now: datetime.datetime) -> list[Delivery]:
        with transaction.atomic():
            due = list(
                Delivery.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING], next_attempt_at__lte=now)
                .select_related("notification__recipient", "notification__ticket", "push_subscription")
                .order_by("next_attempt_at", "pk")[: self.batch_size]
            )
            for delivery in due:
                delivery.attempts += 1
                delivery.next_attempt_at = now + CLAIM_LEASE
            Delivery.objects.bulk_update(due, ["attempts", "next_attempt_at"])
        return due

    def _send(self, delivery: Delivery, result: DeliveryResult) -> None:
        try:
            if delivery.channel == DeliveryChannel.EMAIL:
                email_send(delivery.notification)
            else:
                push_send(delivery)
        except SubscriptionGoneError as gone:
            self._record(delivery, status=DeliveryStatus.GONE, error=str(gone))
            result.gone += 1
        except Exception as error:  # any failure of one delivery is recorded on it and retried, never raised
            problem = f"{type(error).__name__}: {error_first_line(error)}"
            result.errors.append(problem)
            if delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
                self._record(delivery, status=DeliveryStatus.FAILED, error=problem)
                result.failed += 1
            else:
                self._record(
                    delivery,
                    status=DeliveryStatus.RETRYING,
                    error=problem,
                    next_attempt_at=timezone.now() + retry_delay(delivery.attempts),
                )
                result.retrying += 1
            logger.warning(
                "delivery #%d (%s) failed, attempt %d: %s", delivery.pk, delivery.channel, delivery.attempts, problem
            )
        else:
            self._record(delivery, status=DeliveryStatus.SENT, sent_at=timezone.now())
            result.sent += 1

    @staticmethod
    def _record(delivery: Delivery, *, status: str, error: str = "", next_attempt_at=None, sent_at=None) -> None:
        delivery.status = status
        delivery.last_error = error
        delivery.next_attempt_at = next_attempt_at
        if sent_at is not None:
            delivery.sent_at = sent_at
        delivery.save(update_fields=["status", "last_error", "next_attempt_at", "sent_at"])


@transaction.atomic
def deliveries_retry_now(*, deliveries: QuerySet[Delivery]) -> int:
    """A supervisor's "try again" (the SMTP server is fixed): the deliveries not sent and not gone are
    due now, with attempts to spare; how many."""
    return deliveries.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.FAILED]
    ).update(status=DeliveryStatus.RETRYING, attempts=0, next_attempt_at=timezone.now())


def email_send(notification: Notification) -> None:
    """One email through Django's email backend (EMAIL_URL); raises what the backend raises."""
    link = f"{settings.SITE_URL}{notification.url}" if notification.url else settings.SITE_URL
    lines = [notification.body, "", f"Open it: {link}"] if notification.body else [f"Open it: {link}"]
    message = EmailMessage(
        subject=f"[MaintainX] {notification.title}",
        body="\n".join(lines) + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
        connection=get_connection(timeout=SEND_TIMEOUT_S),
    )
    message.send(fail_silently=False)


def push_payload(notification: Notification) -> dict:
    """What the service worker shows (frontend/public/sw.js): title, body, the page opened on a tap,
    and a tag, under which a newer notification of the same ticket replaces the older one."""
    if notification.kind == NotificationKind.DIGEST or notification.ticket_id is None:
        tag = f"notification-{notification.pk}"
    else:
        tag = f"ticket-{notification.ticket_id}"
    return {
        "title": notification.title,
        "body": notification.body,
        "url": notification.url,
        "tag": tag,
        "ticket": notification.ticket_id,
    }


def push_send(delivery: Delivery) -> None:
    """Encrypts the payload for the subscription (aes128gcm) and posts it to its push service, signed
    with the VAPID key; a gone subscription is removed and SubscriptionGoneError raised."""
    # Imported here, by the sender only: pywebpush (with requests and its crypto) costs every process
    # that loads the app's services about 0.4 s of start-up, and only the sender pushes.
    from pywebpush import WebPushException, webpush  # noqa: PLC0415

    subscription = delivery.push_subscription
    if subscription is None:
        raise SubscriptionGoneError("the push subscription was removed before this was sent")
    try:
        webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=json.dumps(push_payload(delivery.notification)),
            vapid_private_key=settings.VAPID_PRIVATE_KEY,
            # A new dict each time: pywebpush writes the audience and expiry into it.
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            content_encoding="aes128gcm",
            timeout=SEND_TIMEOUT_S,
            ttl=PUSH_TTL_S,
        )
    except WebPushException as error:
        response = error.response
        if response is not None and response.status_code in PUSH_GONE_STATUSES:
            endpoint = subscription.endpoint
            subscription.delete()  # its deliveries keep their record, with no subscription
            delivery.push_subscription = None
            raise SubscriptionGoneError(
                f"the push service answered {response.status_code}: subscription {endpoint[:80]} removed"
            ) from error
        raise
