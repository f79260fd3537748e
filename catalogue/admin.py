from django.contrib import admin, messages
from django.db.models import Count

from catalogue.models import SOP, ErrorCode, SOPStep


@admin.register(ErrorCode)
class ErrorCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "severity", "failure_mode", "published_sops"]
    list_filter = ["severity", "failure_mode"]
    search_fields = ["code", "title", "description"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sops")

    @admin.display(description="Published SOPs")
    def published_sops(self, obj):
        return ", ".join(str(sop) for sop in obj.sops.all() if sop.is_published) or "none"


class SOPStepInline(admin.TabularInline):
    model = SOPStep
    extra = 1
    fields = ["order", "instruction", "warning", "tools", "estimated_minutes"]
    ordering = ["order", "id"]


@admin.register(SOP)
class SOPAdmin(admin.ModelAdmin):
    list_display = ["title", "version", "is_published", "codes", "step_count", "updated_at"]
    list_filter = ["is_published", "error_codes"]
    search_fields = ["title", "summary", "error_codes__code"]
    filter_horizontal = ["error_codes"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [SOPStepInline]
    actions = ["publish", "unpublish"]
    # "Save as new" copies the SOP with its steps: the way to start the next version.
    save_as = True
    fields = ["title", "version", "summary", "error_codes", "is_published", "created_at", "updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(step_count=Count("steps")).prefetch_related("error_codes")

    @admin.display(description="Error codes")
    def codes(self, obj):
        return ", ".join(code.code for code in obj.error_codes.all())

    @admin.display(description="Steps", ordering="step_count")
    def step_count(self, obj):
        return obj.step_count

    @admin.action(description="Publish the selected SOPs", permissions=["change"])
    def publish(self, request, queryset):
        count = queryset.update(is_published=True)
        self.message_user(request, f"Published {count} SOP(s).", messages.SUCCESS)

    @admin.action(description="Unpublish the selected SOPs", permissions=["change"])
    def unpublish(self, request, queryset):
        count = queryset.update(is_published=False)
        self.message_user(request, f"Unpublished {count} SOP(s).", messages.SUCCESS)
