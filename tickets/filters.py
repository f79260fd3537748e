import datetime

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from tickets.models import Alert, AlertSource, AlertStatus, Ticket, TicketStatus

SINCE_HELP = (
    "Only what changed after this instant (ISO 8601), e.g. the time of the last push received: "
    "a client that reconnects fetches what it missed."
)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, handed to the database in UTC: PostgreSQL refuses offsets beyond ±15:59 that
    Python accepts (up to ±23:59), and an instant near year 1 or 9999 may not exist in UTC at all."""

    def to_python(self, value):
        instant = super().to_python(value)
        if instant is None:
            return None
        try:
            return instant.astimezone(datetime.UTC)
        except OverflowError:
            raise ValidationError("Datetime value out of range.", code="invalid") from None


class SinceFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class AlertFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AlertStatus.choices)
    source = django_filters.ChoiceFilter(choices=AlertSource.choices)
    machine = django_filters.CharFilter(field_name="machine__code", help_text="Machine code, e.g. M-007")
    error_code = django_filters.CharFilter(field_name="error_code__code")
    since = SinceFilter(field_name="updated_at", lookup_expr="gt", help_text=SINCE_HELP)

    class Meta:
        model = Alert
        fields = ["status", "source", "machine", "error_code", "since"]


class TicketFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=TicketStatus.choices)
    machine = django_filters.CharFilter(field_name="machine__code", help_text="Machine code, e.g. M-007")
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="true: only the tickets assigned to me")
    since = SinceFilter(field_name="updated_at", lookup_expr="gt", help_text=SINCE_HELP)

    class Meta:
        model = Ticket
        fields = ["status", "machine", "mine", "priority", "since"]

    def filter_mine(self, queryset, name, value):
        if value is None:
            return queryset
        user = self.request.user
        return queryset.filter(assignee=user) if value else queryset.exclude(assignee=user)
