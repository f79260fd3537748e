"""manage.py vapid_keys: a new VAPID key pair for Web Push, as .env lines."""

from django.core.management.base import BaseCommand

from notifications.vapid import vapid_keys_generate


class Command(BaseCommand):
    help = (
        "Print a new VAPID key pair for Web Push as VAPID_PUBLIC_KEY= and VAPID_PRIVATE_KEY= lines for .env. "
        "Generate it once per install: the browsers' subscriptions are bound to the public key, and a new "
        "pair means every device enables push again."
    )

    def handle(self, *args, **options):
        public_key, private_key = vapid_keys_generate()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public_key}\nVAPID_PRIVATE_KEY={private_key}")
