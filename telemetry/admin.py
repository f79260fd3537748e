from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from telemetry.models import ListenerSlot, Machine, MachineType, MetricSpec, PayloadSource, RejectedMessage
from telemetry.selectors import payload_source_preview


class MetricSpecInline(admin.TabularInline):
    model = MetricSpec
    extra = 0
    fields = ["name", "unit", "physical_min", "alarm_min", "normal_min", "normal_max", "alarm_max", "physical_max"]


@admin.register(MachineType)
class MachineTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "metric_names", "machine_count"]
    search_fields = ["name"]
    inlines = [MetricSpecInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(machine_count=Count("machines")).prefetch_related("metrics")

    @admin.display(description="Metrics")
    def metric_names(self, obj):
        return ", ".join(str(metric) for metric in obj.metrics.all())

    @admin.display(description="Machines", ordering="machine_count")
    def machine_count(self, obj):
        return obj.machine_count


@admin.register(Machine)
class MachineAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "machine_type", "line", "location", "status", "link_down_since", "installed_at"]
    list_filter = ["status", "machine_type", "line"]
    search_fields = ["code", "name", "location", "line"]
    list_select_related = ["machine_type"]
    readonly_fields = ["status_changed_at", "topic", "offline_since", "offline_reason"]
    fieldsets = [
        (None, {"fields": ["code", "name", "machine_type", "installed_at"]}),
        ("Where", {"fields": ["line", "location"]}),
        ("State", {"fields": ["status", "status_changed_at"]}),
        (
            "Telemetry",
            {
                "fields": ["topic", "offline_since", "offline_reason"],
                "description": "Sensors publish readings to this MQTT topic. A gateway that says the machine's "
                "link is down (a Sparkplug B death) sets 'offline since' until the machine is back.",
            },
        ),
    ]

    @admin.display(description="Link down since", ordering="offline_since")
    def link_down_since(self, obj):
        return obj.offline_since or "-"

    @admin.display(description="MQTT topic")
    def topic(self, obj):
        return obj.topic if obj.code else "-"


@admin.register(RejectedMessage)
class RejectedMessageAdmin(admin.ModelAdmin):
    """Read-only: rejected messages are evidence of what sensors sent, kept for diagnosis."""

    list_display = ["received_at", "kind", "topic", "reason", "payload_size"]
    list_filter = ["kind", "received_at"]
    search_fields = ["topic", "machine_code", "reason"]
    date_hierarchy = "received_at"
    fields = ["received_at", "kind", "topic", "machine_code", "reason", "payload_size", "payload_preview"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ListenerSlot)
class ListenerSlotAdmin(admin.ModelAdmin):
    """Read-only: which client ids the shared group's listeners hold, and which were drained
    (telemetry.slots; README "Scale-out")."""

    list_display = ["client_id", "group", "slot", "claimed_at", "seen_at", "released_at", "drained_at"]
    list_filter = ["group"]
    readonly_fields = ["group", "slot", "client_id", "claimed_at", "seen_at", "released_at", "drained_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PayloadSource)
class PayloadSourceAdmin(admin.ModelAdmin):
    """Supervisors map another gateway's payloads onto readings; the listener picks changes up within
    its sources refresh (30 s by default). Saving validates the mapping (PayloadSource.clean and the
    database's constraints); the preview shows what the sample message would store."""

    list_display = ["name", "enabled", "topic_filter", "machine_code_origin", "ts_path", "metrics_path"]
    list_filter = ["enabled"]
    search_fields = ["name", "topic_filter"]
    readonly_fields = ["sample_preview"]
    fieldsets = [
        (None, {"fields": ["name", "enabled", "topic_filter"]}),
        ("Machine code", {"fields": ["machine_topic_level", "machine_path"]}),
        ("Time", {"fields": ["ts_path", "ts_format"]}),
        (
            "Metrics",
            {
                "fields": ["metrics_path", "readings_path", "field_mappings", "only_mapped_fields"],
                "description": "Paths are keys joined by dots (tags.host); a key of digits indexes an array.",
            },
        ),
        ("Try it", {"fields": ["sample_topic", "sample_payload", "sample_preview"]}),
    ]

    @admin.display(description="Machine code from")
    def machine_code_origin(self, obj):
        if obj.machine_topic_level is not None:
            return f"topic level {obj.machine_topic_level}"
        return obj.machine_path

    @admin.display(description="What the sample would store")
    def sample_preview(self, obj):
        if obj is None or obj.pk is None:
            return "Save the source to see what its sample would store."
        preview = payload_source_preview(obj, now=timezone.now())
        readings = format_html_join(
            "",
            "<li>{} at {}: {}</li>",
            (
                (
                    reading.machine_code,
                    reading.ts.isoformat(),
                    ", ".join(f"{name} = {value:g}" for name, value in reading.metrics.items()),
                )
                for reading in preview.readings
            ),
        )
        rejections = format_html_join("", "<li>{}</li>", ((reason,) for reason in preview.rejections))
        warnings = format_html_join("", "<li>{}</li>", ((warning,) for warning in preview.warnings))
        return format_html(
            '<div class="sample-preview"><p>Readings stored: {}</p><ul>{}</ul>'
            "<p>Kept aside (rejected): {}</p><ul>{}</ul>{}</div>",
            len(preview.readings),
            readings,
            len(preview.rejections),
            rejections,
            format_html("<p>Warnings:</p><ul>{}</ul>", warnings) if preview.warnings else "",
        )
