from django.db import models
from django.db.models import F, Q


class SimulatedFault(models.Model):
    """Ground truth from the plant simulator: a fault, when it began, when it failed, when it was fixed.

    The predictor trains on it (labels) and the reports measure alert precision and lead time
    against it. `failed_at` stays empty when a repair came first (the failure was prevented) or the
    fault is still developing.
    """

    machine = models.ForeignKey("telemetry.Machine", on_delete=models.CASCADE, related_name="simulated_faults")
    failure_mode = models.CharField(max_length=20, help_text="e.g. bearing_wear")
    error_code = models.CharField(max_length=32, help_text="The code the machine reports when it fails")
    started_at = models.DateTimeField()
    planned_failure_at = models.DateTimeField(help_text="When it fails if nobody intervenes")
    failed_at = models.DateTimeField(null=True, blank=True)
    repaired_at = models.DateTimeField(null=True, blank=True)
    seed = models.BigIntegerField(help_text="The simulator's --seed")

    class Meta:
        ordering = ["machine", "started_at"]
        indexes = [models.Index(fields=["machine", "started_at"], name="simfault_machine_started_idx")]
        constraints = [
            models.UniqueConstraint(fields=["machine", "started_at"], name="simfault_unique_machine_start"),
            models.CheckConstraint(
                condition=Q(planned_failure_at__gt=F("started_at")), name="simfault_failure_after_start"
            ),
            models.CheckConstraint(
                condition=Q(failed_at__isnull=True) | Q(failed_at__gte=F("started_at")),
                name="simfault_failed_after_start",
            ),
            models.CheckConstraint(
                condition=Q(repaired_at__isnull=True) | Q(repaired_at__gte=F("started_at")),
                name="simfault_repaired_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.machine_id} {self.failure_mode} from {self.started_at:%Y-%m-%d %H:%M}"
