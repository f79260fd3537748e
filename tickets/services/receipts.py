"""Idempotent ticket actions: an action sent with an Idempotency-Key is done once, and the same key
again (a tablet that lost the answer and retries) gets the first answer back."""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tickets.models import Ticket, TicketActionReceipt

IDEMPOTENCY_KEY_MAX_LENGTH = TicketActionReceipt._meta.get_field("key").max_length


class _SameKeyCommittedFirstError(Exception):
    """A request with the same key committed between our look-up and our receipt."""


def _receipt_answer(receipt: TicketActionReceipt, *, ticket: Ticket, action: str) -> tuple[int, Any]:
    if (receipt.ticket_id, receipt.action) != (ticket.pk, action):
        raise ValidationError(
            {
                "Idempotency-Key": [
                    f"This key was used for another action ({receipt.action} on ticket #{receipt.ticket_id}): "
                    "send a new key for each action."
                ]
            }
        )
    return receipt.response_status, receipt.response_body


def ticket_action_once(
    *, actor, key: str, ticket: Ticket, action: str, perform: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """(status, body) of `perform()` the first time `actor` sends `key`; the same again afterwards,
    without performing it twice. `perform` returns the answer to keep (a JSON-able body); when it
    raises, nothing is kept and a retry performs it again.

    ValidationError naming `Idempotency-Key` when the key is too long, or was used for another action.
    """
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationError(
            {"Idempotency-Key": [f"An Idempotency-Key has 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters."]}
        )
    try:
        with transaction.atomic():
            # The ticket's row lock orders two requests with the same key: the second finds the
            # first one's receipt once it commits.
            list(Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk", flat=True))
            receipt = TicketActionReceipt.objects.filter(actor=actor, key=key).first()
            if receipt is not None:
                return _receipt_answer(receipt, ticket=ticket, action=action)
            status, body = perform()
            try:
                with transaction.atomic():
                    TicketActionReceipt.objects.create(
                        actor=actor, key=key, ticket=ticket, action=action, response_status=status, response_body=body
                    )
            except IntegrityError:
                # Undo this request's action with its transaction: the other one's stands.
                raise _SameKeyCommittedFirstError from None
            return status, body
    except _SameKeyCommittedFirstError:
        return _receipt_answer(TicketActionReceipt.objects.get(actor=actor, key=key), ticket=ticket, action=action)
