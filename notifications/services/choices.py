"""A person's choice of channels (their profile)."""

from django.db import transaction

from notifications.models import ChannelChoice


@transaction.atomic
def channel_choice_set(*, user, push: bool, email: bool, in_app: bool) -> ChannelChoice:
    choice, _ = ChannelChoice.objects.update_or_create(
        user=user, defaults={"push": push, "email": email, "in_app": in_app}
    )
    return choice
