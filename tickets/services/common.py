"""What the service modules share: the refusal they raise, how they name people and instants, and
how they check the time a tablet says it did something offline."""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

# A tablet's clock may run a little ahead of the server's: a time this close is taken as now.
CLOCK_SKEW = datetime.timedelta(minutes=2)


class WorkflowError(Exception):
    """A change the alert's or ticket's state does not allow; the message says why."""


def person_name(user) -> str:
    return user.get_full_name() or user.username if user is not None else "nobody"


def at_or_now(moment: datetime.datetime | None) -> datetime.datetime:
    return moment if moment is not None else timezone.now()


def done_at_checked(
    *,
    ticket,
    done_at: datetime.datetime,
    received_at: datetime.datetime,
    not_before: datetime.datetime | None = None,
    not_before_what: str = "",
) -> datetime.datetime:
    """When an action sent later (queued on a tablet offline) was done: `done_at`, at most now.

    Refused with a ValidationError naming `done_at` when it is in the future (past a little clock
    skew), before the ticket opened, or before `not_before` (e.g. a resolve before the start).
    """
    if done_at > received_at + CLOCK_SKEW:
        raise ValidationError(
            {
                "done_at": [
                    f"{timezone.localtime(done_at):%Y-%m-%d %H:%M:%S} is in the future "
                    f"(the server's time is {timezone.localtime(received_at):%H:%M:%S}): check the device's clock."
                ]
            }
        )
    earliest = [(ticket.opened_at, "opened")]
    if not_before is not None:
        earliest.append((not_before, not_before_what))
    for moment, what in earliest:
        if done_at < moment:
            raise ValidationError(
                {
                    "done_at": [
                        f"{timezone.localtime(done_at):%Y-%m-%d %H:%M:%S} is before ticket #{ticket.pk} {what} "
                        f"({timezone.localtime(moment):%Y-%m-%d %H:%M:%S})."
                    ]
                }
            )
    return min(done_at, received_at)
