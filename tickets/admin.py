from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from tickets.models import Alert, Breakdown, Shift, Ticket, TicketChecklistTick, TicketEvent, TicketPhoto
from tickets.services import ticket_create, ticket_record_edit


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = ["name", "starts_at", "ends_at", "technician_names"]
    filter_horizontal = ["technicians"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("technicians")

    @admin.display(description="Technicians")
    def technician_names(self, obj):
        return ", ".join(user.get_full_name() or user.username for user in obj.technicians.all())

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "technicians":
            kwargs["queryset"] = db_field.related_model.objects.filter(groups__name="Technician", is_active=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["machine", "error_code", "status", "probability_percent", "source", "opened_at", "acknowledged_by"]
    list_filter = ["status", "source", "error_code", "machine__line"]
    search_fields = ["machine__code", "machine__name", "error_code__code"]
    date_hierarchy = "opened_at"
    list_select_related = ["machine", "error_code", "acknowledged_by"]
    autocomplete_fields = ["machine", "error_code"]
    readonly_fields = [
        "probability",
        "source",
        "last_prediction",
        "opened_at",
        "refreshed_at",
        "acknowledged_at",
        "acknowledged_by",
        "cleared_at",
        "cleared_by",
        "clear_reason",
        "marked_false_at",
        "marked_false_by",
        "marked_false_reason",
        "status",
    ]

    def has_add_permission(self, request):
        # Alerts come from predictions, machine reports and rules, never typed in.
        return False

    @admin.display(description="Probability", ordering="probability")
    def probability_percent(self, obj):
        return "rule" if obj.probability is None else f"{obj.probability:.0%}"


class TicketEventInline(admin.TabularInline):
    """The audit trail: shown, never edited."""

    model = TicketEvent
    extra = 0
    fields = ["at", "received_at", "kind", "actor", "from_status", "to_status", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TicketChecklistTickInline(admin.TabularInline):
    """The SOP steps the technician ticked: shown, changed only through the ticket's workflow (each
    tick is also a line in the audit trail)."""

    model = TicketChecklistTick
    extra = 0
    fields = ["step", "done", "done_at", "done_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TicketPhotoInline(admin.TabularInline):
    """The ticket's photos, kept as long as the ticket: shown, never edited or removed. The pictures
    come through the API's views, which check that the signed-in user may see the ticket (the files
    have no public URL)."""

    model = TicketPhoto
    extra = 0
    fields = ["preview", "caption", "uploaded_by", "added_at", "received_at", "dimensions"]
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Photo")
    def preview(self, photo):
        urls = {"pk": photo.ticket_id, "photo_pk": photo.pk}
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" loading="lazy" '
            'style="max-width: 160px; max-height: 160px"></a>',
            reverse("ticket-photo-image", kwargs=urls),
            reverse("ticket-photo-thumbnail", kwargs=urls),
            photo.caption or f"Photo {photo.pk}",
        )

    @admin.display(description="Size")
    def dimensions(self, photo):
        return f"{photo.width} x {photo.height} px, {photo.bytes / 1024 / 1024:.1f} MB, {photo.content_type}"


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Status, outcome and times change through the ticket workflow (dashboard/API), so they are
    read-only here; a supervisor may open a work order and edit what describes it."""

    list_display = ["__str__", "machine", "status", "priority", "assignee", "error_code", "opened_at"]
    list_filter = ["status", "priority", "outcome", "found_failure_mode", "assignee", "machine__line"]
    search_fields = ["title", "description", "machine__code", "machine__name", "error_code__code"]
    date_hierarchy = "opened_at"
    list_select_related = ["machine", "assignee", "error_code"]
    autocomplete_fields = ["machine", "error_code", "sop", "assignee"]
    inlines = [TicketPhotoInline, TicketChecklistTickInline, TicketEventInline]
    workflow_fields = [
        "alert",
        "status",
        "outcome",
        "found_failure_mode",
        "resolution_notes",
        "opened_at",
        "started_at",
        "resolved_at",
        "downtime_start",
        "downtime_end",
    ]
    fieldsets = [
        (None, {"fields": ["title", "machine", "error_code", "sop", "priority", "description"]}),
        ("Workflow", {"fields": [*workflow_fields, "assignee", "assigned_at", "escalated_at"]}),
        (
            "What the alert knew",
            {
                "classes": ["collapse"],
                "fields": ["probability", "explanation", "rul_hours", "rul_low_hours", "rul_high_hours", "evidence"],
            },
        ),
    ]
    alert_fields = [
        "assigned_at",
        "escalated_at",
        "probability",
        "explanation",
        "rul_hours",
        "rul_low_hours",
        "rul_high_hours",
        "evidence",
    ]

    def get_inlines(self, request, obj):
        # A work order being opened has no photos or ticks yet: its form carries no formset for them.
        return (
            self.inlines
            if obj is not None
            else [inline for inline in self.inlines if inline not in (TicketPhotoInline, TicketChecklistTickInline)]
        )

    def get_readonly_fields(self, request, obj=None):
        # The assignee is set by auto-assignment or a reassignment, which records its own event.
        if obj:
            return [*self.workflow_fields, "assignee", *self.alert_fields]
        # A new work order: leave the assignee empty and the assignment policy picks one.
        return [*self.workflow_fields, *self.alert_fields]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            ticket_record_edit(ticket=obj, actor=request.user, changed_fields=form.changed_data)
            return
        created = ticket_create(
            machine=obj.machine,
            title=obj.title,
            actor=request.user,
            description=obj.description,
            error_code=obj.error_code,
            sop=obj.sop,
            priority=obj.priority,
            assignee=obj.assignee,
        )
        obj.pk = created.pk
        obj._state.adding = False


@admin.register(Breakdown)
class BreakdownAdmin(admin.ModelAdmin):
    """Breakdowns are recorded by the machines' reports and the tickets; shown for the reports."""

    list_display = ["machine", "error_code", "down_at", "up_at", "source", "predicted", "ticket"]
    list_filter = ["source", "error_code", "machine__line"]
    search_fields = ["machine__code", "error_code__code"]
    date_hierarchy = "down_at"
    list_select_related = ["machine", "error_code", "ticket"]
    readonly_fields = ["machine", "error_code", "source", "down_at", "up_at", "predicted_by", "ticket"]

    def has_add_permission(self, request):
        return False

    @admin.display(boolean=True, description="Predicted")
    def predicted(self, obj):
        return obj.predicted
