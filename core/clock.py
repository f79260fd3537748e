"""The instant the simulated plant's past ends at: the wall clock, unless a command's --now moves it.

Commands that simulate or learn from "the last N days" take `--now` so that an operator, a test or
a benchmark can pin the window and get the same history on any date; everything else in the
product runs on `django.utils.timezone.now()`, which the tests pin with time-machine.
"""

import argparse
import datetime

from django.utils import timezone


def instant_argument(text: str) -> datetime.datetime:
    """An aware instant from the command line; a time without an offset is refused, not guessed."""
    try:
        instant = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 instant (e.g. 2026-01-15T12:00:00Z)") from None
    if timezone.is_naive(instant):
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset: add Z or +HH:MM")
    return instant


def now_or(instant: datetime.datetime | None) -> datetime.datetime:
    return timezone.now() if instant is None else instant
