from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils import timezone


class ModelKind(models.TextChoices):
    RANDOM_FOREST = "random_forest", "Random Forest (failure within horizon)"
    LSTM = "lstm", "LSTM (remaining useful life)"


class ModelVersion(models.Model):
    """A trained model artifact and what it was trained on; at most one active per kind."""

    Kind = ModelKind

    kind = models.CharField(max_length=20, choices=Kind.choices)
    version = models.CharField(max_length=64, help_text="e.g. 2026-11-26.1")
    artifact_path = models.CharField(max_length=500, help_text="Directory holding the model and metadata.json")
    sha256 = models.CharField(
        max_length=64,
        validators=[RegexValidator(r"^[0-9a-f]{64}$", "64 lower-case hex digits")],
        help_text="Checked on every load",
    )
    metrics = models.JSONField(default=dict, blank=True, help_text="Evaluation on held-out machines")
    data_description = models.TextField(blank=True)
    trained_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "-trained_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="modelversion_unique_version_per_kind"),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(is_active=True),
                name="modelversion_one_active_per_kind",
                violation_error_message="Another version of this kind is already active.",
            ),
            models.CheckConstraint(condition=Q(kind__in=ModelKind.values), name="modelversion_kind_valid"),
            models.CheckConstraint(
                condition=Exact(Length("sha256"), 64),
                name="modelversion_sha256_length",
                violation_error_message="sha256 must be 64 hex digits.",
            ),
        ]

    def __str__(self):
        active = " (active)" if self.is_active else ""
        return f"{self.get_kind_display()} {self.version}{active}"


class Prediction(models.Model):
    """What the models said about one machine at one instant, and why."""

    machine = models.ForeignKey("telemetry.Machine", on_delete=models.CASCADE, related_name="predictions")
    ts = models.DateTimeField(help_text="End of the readings window the prediction was made from")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="predictions", help_text="The classifier"
    )
    rul_model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        related_name="rul_predictions",
        null=True,
        blank=True,
        help_text="The remaining-useful-life model, when one is active",
    )
    failure_probability = models.FloatField(help_text="Probability of failure within the horizon")
    error_code = models.ForeignKey(
        "catalogue.ErrorCode",
        on_delete=models.PROTECT,
        related_name="predictions",
        null=True,
        blank=True,
        help_text="The most likely failure mode's error code",
    )
    rul_hours = models.FloatField(null=True, blank=True)
    rul_low_hours = models.FloatField(null=True, blank=True)
    rul_high_hours = models.FloatField(null=True, blank=True)
    top_signals = models.JSONField(
        default=list, blank=True, help_text='Top contributing signals, e.g. [{"signal": ..., "text": ...}]'
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-ts"]
        indexes = [models.Index(fields=["machine", "-ts"], name="prediction_machine_ts_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(failure_probability__gte=0) & Q(failure_probability__lte=1),
                name="prediction_probability_0_1",
            ),
            models.CheckConstraint(
                condition=Q(rul_hours__isnull=True) | Q(rul_hours__gte=0), name="prediction_rul_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(rul_low_hours__isnull=True)
                | Q(rul_high_hours__isnull=True)
                | Q(rul_low_hours__lte=F("rul_high_hours")),
                name="prediction_rul_range_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.machine} {self.failure_probability:.0%} @ {self.ts:%Y-%m-%d %H:%M}"


class SensorProblem(models.TextChoices):
    STALE = "stale", "No recent readings"
    FLAT = "flat", "Readings not changing"
    OUT_OF_RANGE = "out_of_range", "Readings out of the physical range"


class SensorWarning(models.Model):
    """The predictor skipped a machine because its sensors looked wrong: predicting on bad data
    would raise false alarms or hide real ones."""

    machine = models.ForeignKey("telemetry.Machine", on_delete=models.CASCADE, related_name="sensor_warnings")
    problem = models.CharField(max_length=20, choices=SensorProblem.choices)
    detail = models.CharField(max_length=300)
    detected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-detected_at"]
        indexes = [models.Index(fields=["machine", "-detected_at"], name="sensorwarning_machine_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(problem__in=SensorProblem.values), name="sensorwarning_problem_valid")
        ]

    def __str__(self):
        return f"{self.machine} {self.get_problem_display()}: {self.detail}"
