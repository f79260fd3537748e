import django_filters

from telemetry.models import Machine, MachineStatus


class MachineFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=MachineStatus.choices)
    line = django_filters.CharFilter()
    machine_type = django_filters.CharFilter(field_name="machine_type__name", lookup_expr="iexact")

    class Meta:
        model = Machine
        fields = ["status", "line", "machine_type"]
