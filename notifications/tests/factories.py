import factory
from django.utils import timezone

from core.tests.factories import UserFactory
from notifications.models import Notification, NotificationKind


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    kind = NotificationKind.ASSIGNED
    title = factory.Sequence(lambda n: f"Ticket #{n} on M-007 is yours")
    body = "Bearing wear predicted on M-007"
    url = "/tickets/1"
    created_at = factory.LazyFunction(timezone.now)
