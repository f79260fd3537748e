"""manage.py send_notifications: deliver the pending notifications (email, Web Push), retry failures."""

from django.core.management.base import BaseCommand

from core.signals import stop_on_signals
from notifications.services import NotificationSender


class Command(BaseCommand):
    help = (
        "Deliver the notifications waiting to be sent by email and Web Push, every --interval seconds: a "
        "failed delivery is retried with exponential backoff (NOTIFY_RETRY_SECONDS, doubling) up to "
        "NOTIFY_MAX_ATTEMPTS, and a push subscription whose push service answers 404 or 410 is removed. "
        "Several may run at once. Stops cleanly on SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds between passes (2)")
        parser.add_argument("--once", action="store_true", help="Send what is due now and exit")

    def handle(self, *args, interval, once, **options):
        sender = NotificationSender()
        if once:
            result = sender.send_due()
            self.stdout.write(
                f"{result.sent} sent, {result.retrying} to retry, {result.failed} failed, "
                f"{result.gone} push subscriptions gone"
            )
            for problem in result.errors:
                self.stderr.write(problem)
            return
        with stop_on_signals(sender.request_stop):
            sender.run(interval=interval)
