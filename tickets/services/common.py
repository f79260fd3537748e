"""What the service modules share: the refusal they raise, and how they name people and instants."""

import datetime

from django.utils import timezone


class WorkflowError(Exception):
    """A change the alert's or ticket's state does not allow; the message says why."""


def person_name(user) -> str:
    return user.get_full_name() or user.username if user is not None else "nobody"


def at_or_now(moment: datetime.datetime | None) -> datetime.datetime:
    return moment if moment is not None else timezone.now()
