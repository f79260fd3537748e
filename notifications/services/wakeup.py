"""Waking the sender when there is something to send, so that a page leaves within moments of the
ticket's commit instead of at the sender's next poll. In one process (the demo) this is the event the
sender's thread waits on; a separate `send_notifications` process polls (its --interval)."""

import threading

from django.db import transaction

sender_wakeup = threading.Event()


def sender_wake_on_commit() -> None:
    transaction.on_commit(sender_wakeup.set)
