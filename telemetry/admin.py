from django.contrib import admin
from django.db.models import Count

from telemetry.models import Machine, MachineType, MetricSpec, RejectedMessage


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
