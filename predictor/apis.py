"""Read-only API of the predictor: what the models said about each machine, and why."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from predictor.models import Prediction, SensorWarning
from predictor.selectors import machine_health_by_code, prediction_list, predictions_latest


class PredictionOutputSerializer(serializers.ModelSerializer):
    machine = serializers.CharField(source="machine.code")
    error_code = serializers.CharField(source="error_code.code", allow_null=True, default=None)
    error_title = serializers.CharField(source="error_code.title", allow_null=True, default=None)
    model_version = serializers.CharField(source="model_version.version")
    rul_model_version = serializers.CharField(source="rul_model_version.version", allow_null=True, default=None)
    top_signals = serializers.ListField(child=serializers.CharField(), help_text="Why, in words, strongest first")

    class Meta:
        model = Prediction
        fields = [
            "id",
            "machine",
            "ts",
            "failure_probability",
            "error_code",
            "error_title",
            "rul_hours",
            "rul_low_hours",
            "rul_high_hours",
            "top_signals",
            "model_version",
            "rul_model_version",
            "created_at",
        ]


class SensorWarningOutputSerializer(serializers.ModelSerializer):
    problem_display = serializers.CharField(source="get_problem_display")

    class Meta:
        model = SensorWarning
        fields = ["problem", "problem_display", "detail", "detected_at"]


class PredictionListApi(generics.ListAPIView):
    """Predictions, newest first. `since` (ISO 8601) gives those recorded after it, for a client that
    reconnects; `from` and `to` bound the instant they were made for."""

    serializer_class = PredictionOutputSerializer

    class FilterSerializer(serializers.Serializer):
        machine = serializers.CharField(required=False, help_text="Machine code, e.g. M-007")
        since = serializers.DateTimeField(required=False)
        from_ = serializers.DateTimeField(required=False)
        to = serializers.DateTimeField(required=False)

        def get_fields(self):
            fields = super().get_fields()
            fields["from"] = fields.pop("from_")  # `from` is a Python keyword
            return fields

    # Filtering is the FilterSerializer's; the default backends would add unrelated parameters.
    filter_backends = []

    @extend_schema(parameters=[FilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        query = filters.validated_data
        return prediction_list(
            machine_code=query.get("machine"), since=query.get("since"), start=query.get("from"), end=query.get("to")
        )


class MachineHealthOutputSerializer(serializers.Serializer):
    state = serializers.CharField(help_text="learning or ready")
    learned_days = serializers.FloatField(help_text="Days of usable normal data seen so far")
    required_days = serializers.FloatField(help_text="HEALTH_LEARNING_DAYS")
    ready_since = serializers.DateTimeField(allow_null=True)
    last_relearned_at = serializers.DateTimeField(allow_null=True)
    score = serializers.FloatField(allow_null=True, help_text="0-100; 50 is the machine's alarm threshold")
    scored_at = serializers.DateTimeField(allow_null=True)
    departures = serializers.ListField(child=serializers.CharField(), help_text="What departs most, in words")


class LatestPredictionsApi(APIView):
    """Every machine's newest prediction (null before the first), its sensor warning when the predictor
    skipped it since, its health model's state and score (null before the first learning pass), and
    the failure probability at which an alert opens."""

    class LatestPredictionsOutputSerializer(serializers.Serializer):
        class MachineLatestSerializer(serializers.Serializer):
            machine = serializers.CharField()
            prediction = PredictionOutputSerializer(allow_null=True)
            sensor_warning = SensorWarningOutputSerializer(allow_null=True)
            health = MachineHealthOutputSerializer(allow_null=True)

        threshold = serializers.FloatField(help_text="PREDICTION_THRESHOLD")
        machines = MachineLatestSerializer(many=True)

    @extend_schema(responses=LatestPredictionsOutputSerializer)
    def get(self, request):
        latest = predictions_latest()
        health = machine_health_by_code()
        machines = [
            {
                "machine": code,
                "prediction": prediction,
                "sensor_warning": warning,
                "health": _health_output(health.get(code)),
            }
            for code, (prediction, warning) in sorted(latest.items())
        ]
        return Response(
            self.LatestPredictionsOutputSerializer(
                {"threshold": settings.PREDICTION_THRESHOLD, "machines": machines}
            ).data
        )


def _health_output(health):
    if health is None:
        return None
    return {
        "state": health.state,
        "learned_days": health.learned_days,
        "required_days": settings.HEALTH_LEARNING_DAYS,
        "ready_since": health.ready_since,
        "last_relearned_at": health.last_relearned_at,
        "score": health.score,
        "scored_at": health.scored_at,
        "departures": health.departures,
    }
