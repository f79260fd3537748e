import datetime
import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from catalogue.models import SOP, ErrorCode, FailureMode, Severity
from core.storage import private_media_storage


class Shift(models.Model):
    """A recurring daily shift in plant-local time (settings.TIME_ZONE); it may run past midnight."""

    name = models.CharField(max_length=60, unique=True)
    starts_at = models.TimeField()
    ends_at = models.TimeField()
    technicians = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="shifts", blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(starts_at=F("ends_at")),
                name="shift_not_empty",
                violation_error_message="A shift must start and end at different times.",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.starts_at:%H:%M}-{self.ends_at:%H:%M})"

    def covers(self, moment: datetime.time) -> bool:
        if self.starts_at < self.ends_at:
            return self.starts_at <= moment < self.ends_at
        return moment >= self.starts_at or moment < self.ends_at


class AlertStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLEARED = "cleared", "Cleared"


class AlertSource(models.TextChoices):
    PREDICTION = "prediction", "Predicted"
    MACHINE = "machine", "Reported by the machine"
    RULE = "rule", "Raised by an alarm rule"
    ANOMALY = "anomaly", "Raised by the machine's health model"


# Not cleared: the database allows one such alert per machine and error code.
ALERT_OPEN_STATUSES = (AlertStatus.ACTIVE, AlertStatus.ACKNOWLEDGED)


class Alert(models.Model):
    """A predicted or reported failure of one machine with one error code, until it clears."""

    Status = AlertStatus
    Source = AlertSource
    OPEN_STATUSES = ALERT_OPEN_STATUSES

    machine = models.ForeignKey("telemetry.Machine", on_delete=models.CASCADE, related_name="alerts")
    error_code = models.ForeignKey(ErrorCode, on_delete=models.PROTECT, related_name="alerts")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.PREDICTION)
    probability = models.FloatField(
        null=True,
        blank=True,
        help_text="Latest failure probability (1 when the machine reported it; empty for a rule's alert)",
    )
    detail = models.CharField(
        max_length=300, blank=True, help_text="Why, in words, when no model speaks for it: the rule that holds"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    last_prediction = models.ForeignKey(
        "predictor.Prediction", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the alert cleared itself or with its ticket",
    )
    clear_reason = models.CharField(max_length=200, blank=True)
    # A person's word that the alert was wrong: a label for the models, as a ticket's false alarm is.
    marked_false_at = models.DateTimeField(null=True, blank=True, help_text="When a person marked it a false alarm")
    marked_false_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    marked_false_reason = models.TextField(blank=True, help_text="Why it was a false alarm, in their words")
    below_clear_threshold_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Since when the probability has stayed below the clear threshold (hysteresis)",
    )
    rearmed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When, after clearing, the probability first fell below the alert threshold (below the "
        "clear threshold after a false alarm): from then on a new alert may open within the cooldown",
    )
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["status", "-opened_at"], name="alert_status_opened_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["machine", "error_code"],
                condition=Q(status__in=ALERT_OPEN_STATUSES),
                name="alert_one_open_per_machine_and_code",
                violation_error_message="This machine already has an open alert for this error code.",
            ),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
            models.CheckConstraint(condition=Q(source__in=AlertSource.values), name="alert_source_valid"),
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=1), name="alert_probability_0_1"
            ),
            models.CheckConstraint(
                condition=~Q(status="acknowledged") | Q(acknowledged_at__isnull=False),
                name="alert_acknowledged_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="cleared") | Q(cleared_at__isnull=False), name="alert_cleared_has_time"
            ),
            models.CheckConstraint(
                condition=Q(marked_false_at__isnull=True, marked_false_reason="")
                | (Q(status="cleared", marked_false_at__isnull=False) & ~Q(marked_false_reason="")),
                name="alert_marked_false_is_cleared_with_reason",
                violation_error_message="An alert marked false is cleared and says why; any other has no such mark.",
            ),
        ]

    def __str__(self):
        return f"{self.machine.code} {self.error_code.code} ({self.get_status_display()})"


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"


class TicketOutcome(models.TextChoices):
    FAILURE_CONFIRMED = "failure_confirmed", "Failure confirmed"
    FALSE_ALARM = "false_alarm", "False alarm"
    PREVENTIVE_FIX = "preventive_fix", "Preventive fix"


# The types a ticket photo is stored as (each kept in the format it came in).
TICKET_PHOTO_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")

# The outcomes where the technician found a failure (or its beginning) and says which failure mode.
FOUND_FAILURE_OUTCOMES = (TicketOutcome.FAILURE_CONFIRMED, TicketOutcome.PREVENTIVE_FIX)


class Ticket(models.Model):
    Status = TicketStatus
    Outcome = TicketOutcome

    machine = models.ForeignKey("telemetry.Machine", on_delete=models.CASCADE, related_name="tickets")
    alert = models.OneToOneField(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="ticket", help_text="The alert it answers"
    )
    error_code = models.ForeignKey(ErrorCode, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets")
    sop = models.ForeignKey(
        SOP, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets", verbose_name="SOP"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_tickets"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    priority = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    found_failure_mode = models.CharField(
        max_length=20,
        choices=FailureMode.choices,
        blank=True,
        help_text="The failure mode the technician found, which may differ from the predicted one; "
        "empty for a false alarm, and on tickets resolved before the question was asked",
    )
    resolution_notes = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    downtime_start = models.DateTimeField(null=True, blank=True)
    downtime_end = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True, help_text="When the current assignee got it")
    escalated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the supervisors were told nobody had started it"
    )
    # What the alert knew when the ticket opened, kept as it was then.
    probability = models.FloatField(null=True, blank=True, help_text="Failure probability that opened it")
    explanation = models.JSONField(default=list, blank=True, help_text="Top contributing signals, in words")
    rul_hours = models.FloatField(null=True, blank=True)
    rul_low_hours = models.FloatField(null=True, blank=True)
    rul_high_hours = models.FloatField(null=True, blank=True)
    evidence = models.JSONField(
        default=dict, blank=True, help_text="The recent readings window and the model versions that fired"
    )
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-priority", "opened_at"]
        indexes = [
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status_idx"),
            models.Index(fields=["status", "-opened_at"], name="ticket_status_opened_idx"),
            models.Index(fields=["machine", "-opened_at"], name="ticket_machine_opened_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TicketStatus.values), name="ticket_status_valid"),
            models.CheckConstraint(condition=Q(priority__in=Severity.values), name="ticket_priority_valid"),
            models.CheckConstraint(
                condition=Q(outcome="") | Q(outcome__in=TicketOutcome.values), name="ticket_outcome_valid"
            ),
            models.CheckConstraint(
                condition=(Q(status="resolved", resolved_at__isnull=False) & ~Q(outcome="") & ~Q(resolution_notes=""))
                | (~Q(status="resolved") & Q(resolved_at__isnull=True, outcome="")),
                name="ticket_resolved_has_outcome",
                violation_error_message="A resolved ticket needs an outcome, notes and a resolution time; "
                "an unresolved one has none.",
            ),
            models.CheckConstraint(
                condition=Q(found_failure_mode="") | Q(found_failure_mode__in=FailureMode.values),
                name="ticket_found_failure_mode_valid",
            ),
            # Required for those outcomes by the resolve service, not here: tickets resolved before
            # the question was asked have no answer, and inventing one would be a false label.
            models.CheckConstraint(
                condition=Q(found_failure_mode="") | Q(outcome__in=FOUND_FAILURE_OUTCOMES),
                name="ticket_found_failure_mode_only_when_found",
                violation_error_message="Only a confirmed failure or a preventive fix found a failure mode.",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(started_at__isnull=False), name="ticket_started_has_time"
            ),
            models.CheckConstraint(
                condition=Q(downtime_start__isnull=True)
                | Q(downtime_end__isnull=True)
                | Q(downtime_end__gte=F("downtime_start")),
                name="ticket_downtime_ordered",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"


class TicketEventKind(models.TextChoices):
    CREATED = "created", "Created"
    ASSIGNED = "assigned", "Assigned"
    STATUS_CHANGED = "status_changed", "Status changed"
    COMMENTED = "commented", "Commented"
    ESCALATED = "escalated", "Escalated"
    REOPENED = "reopened", "Reopened"
    EDITED = "edited", "Edited"
    FAILURE_REPORTED = "failure_reported", "Failure reported by the machine"
    ALERT_CLEARED = "alert_cleared", "Alert cleared"
    PHOTO_ADDED = "photo_added", "Photo added"
    CHECKLIST_TICKED = "checklist_ticked", "Checklist step ticked"


class TicketEvent(models.Model):
    """One change to a ticket: the audit trail, never edited."""

    Kind = TicketEventKind

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when MaintainX itself made the change",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who the ticket was assigned to, on assignment events",
    )
    from_status = models.CharField(max_length=12, choices=TicketStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=TicketStatus.choices, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the server received it, for an action done offline on a tablet and sent later "
        "(`at` is when it was done); empty when it was done online",
    )

    class Meta:
        ordering = ["ticket", "at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticketevent_ticket_at_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=TicketEventKind.values), name="ticketevent_kind_valid")
        ]

    def __str__(self):
        who = self.actor or "MaintainX"
        return f"{self.get_kind_display()} by {who} at {self.at:%Y-%m-%d %H:%M}"


def ticket_photo_path(photo: "TicketPhoto", filename: str) -> str:
    # A name of our own: the camera's (IMG_0042.jpg) says nothing and may repeat.
    return f"tickets/{photo.ticket_id}/photos/{photo.key}{Path(filename).suffix.lower()}"


def ticket_photo_thumbnail_path(photo: "TicketPhoto", filename: str) -> str:
    return f"tickets/{photo.ticket_id}/photos/{photo.key}-thumbnail{Path(filename).suffix.lower()}"


class TicketPhoto(models.Model):
    """A photo attached to a ticket by its assignee or a supervisor, kept as long as the ticket.

    Stored re-encoded, upright and with no EXIF (a tablet's camera writes where it was), in private
    storage: only the views that check the ticket's visibility send it.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="photos")
    event = models.OneToOneField(
        TicketEvent,
        on_delete=models.CASCADE,
        related_name="photo",
        help_text="Its line in the ticket's activity",
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Names its files")
    caption = models.CharField(max_length=500, blank=True)
    original_name = models.CharField(max_length=255, blank=True, help_text="The file's name on the device")
    added_at = models.DateTimeField(help_text="When the person attached it (on a tablet offline: before it was sent)")
    received_at = models.DateTimeField(default=timezone.now, help_text="When the server received it")
    image = models.FileField(storage=private_media_storage, upload_to=ticket_photo_path, max_length=200)
    thumbnail = models.FileField(storage=private_media_storage, upload_to=ticket_photo_thumbnail_path, max_length=200)
    content_type = models.CharField(max_length=20, help_text="Of the stored image")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField(help_text="Size of the stored image")
    sha256 = models.CharField(
        max_length=64,
        help_text="Of the file as uploaded: the same photo sent twice (a tablet's retry) is kept once",
    )

    class Meta:
        ordering = ["ticket", "added_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "sha256"],
                name="ticketphoto_once_per_ticket",
                violation_error_message="This photo is already on the ticket.",
            ),
            models.CheckConstraint(
                condition=Q(content_type__in=TICKET_PHOTO_CONTENT_TYPES), name="ticketphoto_content_type_valid"
            ),
            models.CheckConstraint(condition=Q(width__gt=0, height__gt=0, bytes__gt=0), name="ticketphoto_not_empty"),
        ]

    def __str__(self):
        return f"Photo {self.pk} on ticket #{self.ticket_id}"


class TicketChecklistTick(models.Model):
    """One step of the ticket's SOP checklist, ticked (or unticked) by the technician: kept on the
    server so that another device, a supervisor and the audit see what was done."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="checklist_ticks")
    step = models.PositiveSmallIntegerField(help_text="The SOP step's order number")
    done = models.BooleanField()
    done_at = models.DateTimeField(help_text="When it was ticked or unticked (on a tablet offline: before it was sent)")
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["ticket", "step"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "step"],
                name="ticketchecklisttick_once_per_step",
                violation_error_message="This step already has a tick on this ticket.",
            ),
            models.CheckConstraint(condition=Q(step__gte=1), name="ticketchecklisttick_step_positive"),
        ]

    def __str__(self):
        return f"Ticket #{self.ticket_id} step {self.step}: {'done' if self.done else 'not done'}"


class TicketActionReceipt(models.Model):
    """The answer given to an action sent with an Idempotency-Key: the same key again (a tablet
    retrying after a lost answer) gets this answer back and the action is not done twice."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100, help_text="The Idempotency-Key header, unique per user")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=30, help_text="Which action the key was used for")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["actor", "key"],
                name="ticketactionreceipt_key_once_per_actor",
                violation_error_message="This Idempotency-Key was already used.",
            )
        ]

    def __str__(self):
        return f"{self.action} on ticket #{self.ticket_id} by {self.actor_id} ({self.key})"


class BreakdownSource(models.TextChoices):
    MACHINE_REPORT = "machine_report", "Reported by the machine"
    TICKET = "ticket", "Confirmed on a ticket"


class Breakdown(models.Model):
    """A failure of a machine, from when it went down to when it was back up.

    Reports count these: breakdowns, downtime, MTBF, MTTR, and "predicted" (an alert from a
    prediction was open when it failed) against "surprise".
    """

    Source = BreakdownSource

    machine = models.ForeignKey("telemetry.Machine", on_delete=models.CASCADE, related_name="breakdowns")
    error_code = models.ForeignKey(
        ErrorCode, on_delete=models.PROTECT, null=True, blank=True, related_name="breakdowns"
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    down_at = models.DateTimeField()
    up_at = models.DateTimeField(null=True, blank=True, help_text="Empty while the machine is still down")
    predicted_by = models.ForeignKey(
        Alert,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="breakdowns",
        help_text="The predicted alert that was open before the failure; empty for a surprise",
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="breakdowns", help_text="The repair"
    )

    class Meta:
        ordering = ["-down_at"]
        indexes = [
            models.Index(fields=["down_at"], name="breakdown_down_idx"),
            models.Index(fields=["machine", "down_at"], name="breakdown_machine_down_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["machine"],
                condition=Q(up_at__isnull=True),
                name="breakdown_one_open_per_machine",
                violation_error_message="This machine is already down.",
            ),
            models.CheckConstraint(
                condition=Q(up_at__isnull=True) | Q(up_at__gte=F("down_at")), name="breakdown_up_after_down"
            ),
            models.CheckConstraint(condition=Q(source__in=BreakdownSource.values), name="breakdown_source_valid"),
        ]

    def __str__(self):
        return f"{self.machine_id} down {self.down_at:%Y-%m-%d %H:%M}"

    @property
    def predicted(self) -> bool:
        return self.predicted_by_id is not None
