from django.http import Http404
from rest_framework import generics, serializers

from telemetry.filters import MachineFilter
from telemetry.models import Machine, MetricSpec
from telemetry.selectors import machine_get, machine_list


class MetricSpecOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = MetricSpec
        fields = ["name", "unit", "normal_min", "normal_max", "alarm_min", "alarm_max"]


class MachineOutputSerializer(serializers.ModelSerializer):
    machine_type = serializers.CharField(source="machine_type.name")
    metrics = MetricSpecOutputSerializer(source="machine_type.metrics", many=True)
    status_display = serializers.CharField(source="get_status_display")

    class Meta:
        model = Machine
        fields = [
            "code",
            "name",
            "machine_type",
            "metrics",
            "line",
            "location",
            "status",
            "status_display",
            "status_changed_at",
            "installed_at",
            "topic",
        ]


class MachineListApi(generics.ListAPIView):
    """Machines of the plant; filter by status (repeatable), line or machine type."""

    serializer_class = MachineOutputSerializer
    filterset_class = MachineFilter
    search_fields = ["code", "name", "location"]
    ordering_fields = ["code", "name", "line", "status", "status_changed_at"]
    ordering = ["code"]

    def get_queryset(self):
        return machine_list()


class MachineDetailApi(generics.RetrieveAPIView):
    serializer_class = MachineOutputSerializer
    lookup_url_kwarg = "code"

    def get_object(self):
        try:
            return machine_get(code=self.kwargs["code"])
        except Machine.DoesNotExist:
            raise Http404(f"No machine with code {self.kwargs['code']!r}.") from None
