from django.conf import settings
from django.core.exceptions import ValidationError
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
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who made it the active one; empty when a command or the promotion rule did",
    )
    activation_note = models.CharField(
        max_length=300, blank=True, help_text="Why it became the active one (promotion, rollback, by hand)"
    )
    # A challenger scores every tick in shadow (ShadowPrediction): it raises no alert until it is promoted.
    is_challenger = models.BooleanField(default=False)
    shadow_since = models.DateTimeField(null=True, blank=True, help_text="When it started scoring in shadow")
    shadow_report = models.JSONField(
        default=dict,
        blank=True,
        help_text="Since it started shadowing, on the plant's own outcomes: its alerts, precision, recall, "
        "lead and false alerts per machine-week, beside the active version's over the same period",
    )

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
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(is_challenger=True),
                name="modelversion_one_challenger_per_kind",
                violation_error_message="Another version of this kind is already the challenger.",
            ),
            models.CheckConstraint(
                condition=~(Q(is_active=True) & Q(is_challenger=True)),
                name="modelversion_active_is_not_challenger",
                violation_error_message="The active version cannot also be the challenger.",
            ),
            models.CheckConstraint(condition=Q(kind__in=ModelKind.values), name="modelversion_kind_valid"),
            models.CheckConstraint(
                condition=Exact(Length("sha256"), 64),
                name="modelversion_sha256_length",
                violation_error_message="sha256 must be 64 hex digits.",
            ),
        ]

    def __str__(self):
        role = " (active)" if self.is_active else " (challenger)" if self.is_challenger else ""
        return f"{self.get_kind_display()} {self.version}{role}"


class ModelDrift(models.Model):
    """How far the live feature rows of one machine type are from the rows a model version was trained
    on: the median of the features' population stability index (predictor.ml.drift) over the
    predictor's last day, and the feature that drifted most; updated every 10 minutes."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="drifts")
    # The name, as the version's training recorded it: its references are kept by name.
    machine_type = models.CharField(max_length=80)
    psi = models.FloatField(
        "PSI", help_text="Population stability index, the features' median: below 0.1 stable, above 0.25 shifted"
    )
    feature = models.CharField(max_length=80, help_text="The feature that drifted most")
    feature_psi = models.FloatField("its PSI", help_text="That feature's population stability index")
    sample_size = models.PositiveIntegerField(help_text="Live feature rows measured")
    measured_at = models.DateTimeField()

    class Meta:
        ordering = ["-psi"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "machine_type"], name="modeldrift_one_per_version_type"),
            models.CheckConstraint(condition=Q(psi__gte=0), name="modeldrift_psi_not_negative"),
            # A median is never above the largest.
            models.CheckConstraint(condition=Q(feature_psi__gte=F("psi")), name="modeldrift_feature_psi_at_least_psi"),
        ]

    def __str__(self):
        return f"{self.model_version.version} {self.machine_type}: PSI {self.psi:.2f}"

    @property
    def is_drifted(self) -> bool:
        return self.psi > settings.DRIFT_PSI_WARNING


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


class ShadowPrediction(models.Model):
    """What a challenger said about one machine at one tick: stored to judge it, never alerted on."""

    machine = models.ForeignKey("telemetry.Machine", on_delete=models.CASCADE, related_name="+")
    ts = models.DateTimeField(help_text="End of the readings window it was made from")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="shadow_predictions")
    failure_probability = models.FloatField()
    error_code = models.ForeignKey(
        "catalogue.ErrorCode", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    may_open = models.BooleanField(
        default=True,
        help_text="Whether the plant would have let a high probability here open an alert, had this version "
        "been active: it learned the machine, or the machine's own health model confirmed it",
    )

    class Meta:
        ordering = ["-ts"]
        indexes = [models.Index(fields=["model_version", "ts"], name="shadow_version_ts_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(failure_probability__gte=0) & Q(failure_probability__lte=1),
                name="shadowprediction_probability_0_1",
            ),
        ]

    def __str__(self):
        return (
            f"{self.model_version.version} on {self.machine}: {self.failure_probability:.0%} @ {self.ts:%Y-%m-%d %H:%M}"
        )


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


class RuleKind(models.TextChoices):
    ABOVE = "above", "At or above a limit"
    BELOW = "below", "At or below a limit"
    RISING = "rising", "Rising faster than (per hour)"
    FALLING = "falling", "Falling faster than (per hour)"
    ZONE = "zone", "In a vibration zone (ISO 10816)"


class VibrationZone(models.TextChoices):
    C = "C", "C: unsatisfactory for long-term operation"
    D = "D", "D: severe enough to cause damage"


class VibrationClass(models.Model):
    """A machine class of ISO 10816 and the vibration velocities (mm/s RMS) where its zones begin:
    A (new machines) below B, B (unrestricted long-term operation) below C, C below D."""

    name = models.CharField(max_length=80, unique=True, help_text="e.g. ISO 10816-3 group 2, rigid foundation")
    description = models.TextField(blank=True)
    zone_b_from = models.FloatField(help_text="mm/s RMS: zone A ends here")
    zone_c_from = models.FloatField(help_text="mm/s RMS: zone B ends here")
    zone_d_from = models.FloatField(help_text="mm/s RMS: zone C ends here")

    class Meta:
        ordering = ["zone_d_from", "name"]
        verbose_name_plural = "vibration classes"
        constraints = [
            models.CheckConstraint(
                condition=Q(zone_b_from__gt=0)
                & Q(zone_c_from__gt=F("zone_b_from"))
                & Q(zone_d_from__gt=F("zone_c_from")),
                name="vibrationclass_zones_ascending",
                violation_error_message="Zone boundaries must be positive and rise from B to C to D.",
            )
        ]

    def __str__(self):
        return self.name

    def zone_from(self, zone: str) -> float:
        return self.zone_d_from if zone == VibrationZone.D else self.zone_c_from


class AlarmRule(models.Model):
    """An alarm that needs no model: a supervisor's limit on one metric, for a machine type, or for
    one machine (which then replaces its type's rule of the same metric and kind).

    A machine type's metric specs give default rules too (past an alarm limit for
    DEFAULT_RULE_MINUTES); a rule here of the same metric and kind replaces that default.
    """

    machine_type = models.ForeignKey("telemetry.MachineType", on_delete=models.CASCADE, related_name="alarm_rules")
    machine = models.ForeignKey(
        "telemetry.Machine",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alarm_rules",
        help_text="Only this machine (of the type): replaces the type's rule of the same metric and kind",
    )
    name = models.CharField(max_length=120, blank=True, help_text="Shown with the alert; the rule in words if empty")
    metric = models.CharField(max_length=40, help_text="A metric of the machine type, e.g. vibration")
    kind = models.CharField(max_length=10, choices=RuleKind.choices)
    limit = models.FloatField(
        null=True, blank=True, help_text="In the metric's unit; per hour for rising and falling; empty for a zone"
    )
    vibration_class = models.ForeignKey(
        VibrationClass, on_delete=models.PROTECT, null=True, blank=True, help_text="For a zone rule"
    )
    zone = models.CharField(max_length=1, choices=VibrationZone.choices, blank=True, help_text="For a zone rule")
    minutes = models.PositiveSmallIntegerField(
        default=5, help_text="How long it must hold (above, below, zone), or the span of the slope (rising, falling)"
    )
    error_code = models.ForeignKey(
        "catalogue.ErrorCode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alarm_rules",
        help_text="The code its alert and ticket carry; empty: the generic inspection code",
    )
    is_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["machine_type", "machine", "metric", "kind"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RuleKind.values), name="alarmrule_kind_valid"),
            models.CheckConstraint(
                condition=Q(minutes__gte=1) & Q(minutes__lte=720),
                name="alarmrule_minutes_1_720",
                violation_error_message="A rule looks at 1 to 720 minutes (the predictor's 12-hour window).",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind=RuleKind.ZONE,
                        limit__isnull=True,
                        vibration_class__isnull=False,
                        zone__in=VibrationZone.values,
                    )
                    | (~Q(kind=RuleKind.ZONE) & Q(limit__isnull=False, vibration_class__isnull=True, zone=""))
                ),
                name="alarmrule_zone_or_limit",
                violation_error_message="A zone rule takes a vibration class and a zone; other rules a limit.",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=[RuleKind.RISING, RuleKind.FALLING]) | Q(limit__gt=0),
                name="alarmrule_rate_positive",
                violation_error_message="A rate limit is a positive number per hour (falling: how fast it falls).",
            ),
            models.UniqueConstraint(
                fields=["machine_type", "metric", "kind"],
                condition=Q(machine__isnull=True),
                name="alarmrule_one_per_type_metric_kind",
                violation_error_message="The machine type already has a rule of this kind for this metric.",
            ),
            models.UniqueConstraint(
                fields=["machine", "metric", "kind"],
                condition=Q(machine__isnull=False),
                name="alarmrule_one_per_machine_metric_kind",
                violation_error_message="The machine already has a rule of this kind for this metric.",
            ),
        ]

    def __str__(self):
        return self.name or self.describe()

    def describe(self) -> str:
        where = self.machine.code if self.machine_id else str(self.machine_type)
        if self.kind == RuleKind.ZONE:
            what = f"{self.metric} in zone {self.zone} of {self.vibration_class}"
        elif self.kind in (RuleKind.RISING, RuleKind.FALLING):
            what = f"{self.metric} {self.kind} > {self.limit:g} per hour over {self.minutes} min"
        else:
            what = f"{self.metric} {'≥' if self.kind == RuleKind.ABOVE else '≤'} {self.limit:g} for {self.minutes} min"
        return f"{where}: {what}"

    def clean(self):
        errors = {}
        if self.machine_id and self.machine_type_id and self.machine.machine_type_id != self.machine_type_id:
            errors["machine"] = f"{self.machine.code} is a {self.machine.machine_type}, not a {self.machine_type}."
        if self.machine_type_id and self.metric:
            known = set(self.machine_type.metrics.values_list("name", flat=True))
            if known and self.metric not in known:
                errors["metric"] = f"{self.machine_type} reports {', '.join(sorted(known))}, not {self.metric}."
        if errors:
            raise ValidationError(errors)


class HealthModelVersion(models.Model):
    """One machine's learned baseline of its own normal behaviour (predictor.ml.health), a versioned
    artifact like the failure models: its directory's sha256 is checked on every load."""

    machine = models.ForeignKey("telemetry.Machine", on_delete=models.CASCADE, related_name="health_models")
    version = models.CharField(max_length=64)
    artifact_path = models.CharField(max_length=500, help_text="Directory holding the model and metadata.json")
    sha256 = models.CharField(
        max_length=64,
        validators=[RegexValidator(r"^[0-9a-f]{64}$", "64 lower-case hex digits")],
        help_text="Checked on every load",
    )
    learned_from = models.DateTimeField(help_text="Start of the normal data it learned from")
    learned_to = models.DateTimeField(help_text="End of the normal data it learned from")
    samples = models.PositiveIntegerField(help_text="Instants of normal behaviour it learned from")
    metrics = models.JSONField(
        default=dict, blank=True, help_text="Threshold, false-alarm rate, the metrics and features it watches"
    )
    trained_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["machine", "-trained_at"]
        constraints = [
            models.UniqueConstraint(fields=["machine", "version"], name="healthmodel_unique_version_per_machine"),
            models.UniqueConstraint(
                fields=["machine"],
                condition=Q(is_active=True),
                name="healthmodel_one_active_per_machine",
                violation_error_message="Another health model of this machine is already active.",
            ),
            models.CheckConstraint(
                condition=Exact(Length("sha256"), 64),
                name="healthmodel_sha256_length",
                violation_error_message="sha256 must be 64 hex digits.",
            ),
            models.CheckConstraint(
                condition=Q(learned_from__lte=F("learned_to")), name="healthmodel_learned_period_ordered"
            ),
        ]

    def __str__(self):
        active = " (active)" if self.is_active else ""
        return f"health model {self.version} of {self.machine}{active}"


class HealthState(models.TextChoices):
    LEARNING = "learning", "Learning normal behaviour"
    READY = "ready", "Watching"


class MachineHealth(models.Model):
    """Where a machine's health model stands, and what it said last: one row per machine, written by
    the learning pass and by every predictor tick."""

    machine = models.OneToOneField("telemetry.Machine", on_delete=models.CASCADE, related_name="health")
    state = models.CharField(max_length=10, choices=HealthState.choices, default=HealthState.LEARNING)
    learned_days = models.FloatField(default=0.0, help_text="Days of usable normal data seen so far")
    ready_since = models.DateTimeField(null=True, blank=True, help_text="When its first health model was learned")
    last_learned_at = models.DateTimeField(null=True, blank=True, help_text="When the learning pass last ran for it")
    last_relearned_at = models.DateTimeField(null=True, blank=True, help_text="When its active model was learned")
    score = models.FloatField(null=True, blank=True, help_text="0-100: 100 is its usual self, 50 its alarm threshold")
    scored_at = models.DateTimeField(null=True, blank=True)
    departures = models.JSONField(default=list, blank=True, help_text="The features that depart most, in words")
    past_threshold_since = models.DateTimeField(
        null=True, blank=True, help_text="Past its alarm threshold since then, without a break"
    )

    class Meta:
        verbose_name_plural = "machine health"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=HealthState.values), name="machinehealth_state_valid"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=100)),
                name="machinehealth_score_0_100",
            ),
            models.CheckConstraint(
                condition=Q(state=HealthState.LEARNING) | Q(ready_since__isnull=False),
                name="machinehealth_ready_has_since",
            ),
        ]

    def __str__(self):
        return f"{self.machine}: {self.get_state_display()}"
