import datetime

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from telemetry.filters import MachineFilter
from telemetry.ingest import METRIC_NAME_PATTERN
from telemetry.models import Machine, MetricSpec
from telemetry.selectors import HistorySource, machine_get, machine_list, reading_history


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


class MachineReadingsApi(APIView):
    """History of a machine's metrics for charts: at most `points` buckets with the average, minimum and
    maximum of each, aggregated in the database from the coarsest tier that fits (the per-hour roll-ups
    once buckets span whole hours, the per-minute ones once they span whole minutes; a tier that no
    longer holds the start gives way to a coarser one, with wider buckets). `source` and
    `bucket_seconds` say which tier and width were used. Buckets without readings are left out; `ts`
    holds each bucket's start in epoch seconds.
    """

    MAX_SPAN = datetime.timedelta(days=366)
    DEFAULT_SPAN = datetime.timedelta(hours=1)

    class InputSerializer(serializers.Serializer):
        metric = serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text="Repeat or separate with commas; default: every metric of the machine's type",
        )
        from_ = serializers.DateTimeField(required=False, help_text="Start, ISO 8601; default: an hour before `to`")
        to = serializers.DateTimeField(required=False, help_text="End, ISO 8601; default: now")
        points = serializers.IntegerField(required=False, default=600, min_value=2, max_value=5000)
        source = serializers.ChoiceField(
            choices=HistorySource.CHOICES,
            required=False,
            help_text="The storage tier to aggregate from; default: the coarsest one that fits the buckets "
            "and still holds the start (the buckets are then at least that tier's: a minute, an hour)",
        )

        def get_fields(self):
            fields = super().get_fields()
            fields["from"] = fields.pop("from_")  # `from` is a Python keyword
            return fields

    class ReadingHistoryOutputSerializer(serializers.Serializer):
        class MetricHistorySerializer(serializers.Serializer):
            metric = serializers.CharField()
            unit = serializers.CharField()
            ts = serializers.ListField(child=serializers.IntegerField())
            avg = serializers.ListField(child=serializers.FloatField())
            min = serializers.ListField(child=serializers.FloatField())
            max = serializers.ListField(child=serializers.FloatField())
            count = serializers.ListField(child=serializers.IntegerField())

        machine = serializers.CharField()
        from_ = serializers.DateTimeField()
        to = serializers.DateTimeField()
        bucket_seconds = serializers.IntegerField()
        source = serializers.ChoiceField(choices=HistorySource.CHOICES)
        series = MetricHistorySerializer(many=True)

        def get_fields(self):
            fields = super().get_fields()
            fields["from"] = fields.pop("from_")
            return fields

    @extend_schema(parameters=[InputSerializer], responses=ReadingHistoryOutputSerializer)
    def get(self, request, code):
        try:
            machine = machine_get(code=code)
        except Machine.DoesNotExist:
            raise Http404(f"No machine with code {code!r}.") from None
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        end = query.validated_data.get("to") or timezone.now()
        start = query.validated_data.get("from") or end - self.DEFAULT_SPAN
        if start >= end:
            message = f"The start ({start.isoformat()}) is not before the end ({end.isoformat()})."
            raise ValidationError({"from": [message]})
        if end - start > self.MAX_SPAN:
            raise ValidationError({"to": [f"A chart covers at most {self.MAX_SPAN.days} days."]})
        specs = {spec.name: spec for spec in machine.machine_type.metrics.all()}
        metrics = self._metrics_asked(query.validated_data.get("metric"), machine=machine, specs=specs)
        result = reading_history(
            machine=machine,
            metrics=metrics,
            start=start,
            end=end,
            points=query.validated_data["points"],
            source=query.validated_data.get("source"),
        )
        # Built as plain lists: running thousands of numbers through serializer fields one by one
        # would cost more than the query. The serializer above documents the shape.
        series = [
            {
                "metric": history.metric,
                "unit": specs[history.metric].unit if history.metric in specs else "",
                "ts": history.ts,
                "avg": history.avg,
                "min": history.min,
                "max": history.max,
                "count": history.count,
            }
            for history in result.series
        ]
        return Response(
            {
                "machine": machine.code,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "bucket_seconds": result.grid.bucket_s,
                "source": result.source,
                "series": series,
            }
        )

    @staticmethod
    def _metrics_asked(asked: list[str] | None, *, machine: Machine, specs: dict[str, MetricSpec]) -> list[str]:
        names = list(dict.fromkeys(name.strip() for item in asked or [] for name in item.split(",") if name.strip()))
        if not names:
            if not specs:
                raise ValidationError({"metric": [f"{machine.code}'s type lists no metrics: name one."]})
            return list(specs)
        if specs:
            unknown = [name for name in names if name not in specs]
            if unknown:
                reported, asked = ", ".join(specs), ", ".join(unknown)
                message = f"{machine.code} ({machine.machine_type}) reports {reported}, not {asked}."
                raise ValidationError({"metric": [message]})
        else:
            bad = [name for name in names if not METRIC_NAME_PATTERN.fullmatch(name)]
            if bad:
                raise ValidationError({"metric": [f"Not a metric name: {', '.join(bad)}."]})
        return names
