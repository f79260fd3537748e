"""What can go wrong with a machine and what to do about it: failure modes, error codes, SOPs.

The simulator, the demo seed, the models and the tickets all read this one catalogue.
"""

from django.db import models
from django.db.models import Q

from catalogue.failure_modes import FAILURE_MODE_LABELS

# What a rule (or a health model) raises when no failure mode fits: a migration creates it, with its SOP.
INSPECT_ERROR_CODE = "E-INS-01"


class Severity(models.IntegerChoices):
    """Severity of an error code, and the priority of the tickets it opens (higher is more urgent)."""

    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"
    CRITICAL = 4, "Critical"


# The failure modes the predictor tells apart, from the one list (catalogue.failure_modes); each maps
# to one or more error codes. FailureMode.BEARING_WEAR == "bearing_wear", with its label.
FailureMode = models.TextChoices(
    "FailureMode", [(value.upper(), (value, label)) for value, label in FAILURE_MODE_LABELS.items()]
)


class ErrorCode(models.Model):
    code = models.CharField(max_length=32, unique=True, help_text="e.g. E-BRG-01")
    title = models.CharField(max_length=160)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    failure_mode = models.CharField(max_length=20, choices=FailureMode.choices)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="errorcode_severity_valid"),
            models.CheckConstraint(condition=Q(failure_mode__in=FailureMode.values), name="errorcode_mode_valid"),
        ]

    def __str__(self):
        return f"{self.code} · {self.title}"


class SOP(models.Model):
    """A Standard Operating Procedure: the ordered steps a technician follows for some error codes.

    A revision is a new row with the same title and a higher version; the newest published version
    is the one technicians are shown.
    """

    title = models.CharField(max_length=160)
    version = models.PositiveIntegerField(default=1)
    summary = models.TextField(blank=True, help_text="When to use this procedure and what it achieves")
    error_codes = models.ManyToManyField(ErrorCode, related_name="sops", blank=True)
    is_published = models.BooleanField(default=False, help_text="Only published SOPs are shown to technicians")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SOP"
        verbose_name_plural = "SOPs"
        ordering = ["title", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["title", "version"], name="sop_unique_title_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="sop_version_positive"),
        ]

    def __str__(self):
        return f"{self.title} (v{self.version})"


class SOPStep(models.Model):
    sop = models.ForeignKey(SOP, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(help_text="Steps are shown in this order")
    instruction = models.TextField()
    warning = models.TextField(blank=True, help_text="Safety note shown before the step")
    tools = models.CharField(max_length=300, blank=True, help_text="Tools and parts, comma-separated")
    estimated_minutes = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "SOP step"
        ordering = ["sop", "order", "id"]

    def __str__(self):
        return f"{self.order}. {self.instruction[:60]}"
