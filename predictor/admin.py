from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from predictor.challengers import challenger_promote
from predictor.models import (
    AlarmRule,
    HealthModelVersion,
    HealthState,
    MachineHealth,
    ModelDrift,
    ModelVersion,
    Prediction,
    SensorWarning,
    VibrationClass,
)
from predictor.selectors import model_version_previous
from predictor.services import model_version_activate, model_version_make_challenger


@admin.display(description="PSI", ordering="psi")
def drift_psi(obj: ModelDrift) -> str:
    """The figure, and past DRIFT_PSI_WARNING a red "drifted: retrain" beside it."""
    if obj.is_drifted:
        return format_html('{} <strong style="color: #ba2121">drifted: retrain</strong>', f"{obj.psi:.2f}")
    return f"{obj.psi:.2f}"


class ModelDriftInline(admin.TabularInline):
    """A version's drift per machine type, on its page: is what it learned still what the plant does?"""

    model = ModelDrift
    fields = ["machine_type", drift_psi, "feature", "feature_psi", "sample_size", "measured_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "drift from the training data, per machine type"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Versions are written by `manage.py train_models` and by the scheduled retraining (a challenger);
    here a supervisor compares the challenger with the active version on the plant's own outcomes,
    promotes it, rolls back, or activates a version by hand. Each activation records who and why."""

    inlines = [ModelDriftInline]

    list_display = ["version", "kind", "role", "trained_at", "activated_at", "activated_by", "shadow_summary"]
    list_filter = ["kind", "is_active", "is_challenger"]
    search_fields = ["version", "data_description"]
    actions = ["activate", "promote", "roll_back", "make_challenger"]
    readonly_fields = [
        "kind",
        "version",
        "artifact_path",
        "sha256",
        "metrics",
        "data_description",
        "trained_at",
        "is_active",
        "activated_at",
        "activated_by",
        "activation_note",
        "is_challenger",
        "shadow_since",
        "shadow_figures",
    ]
    exclude = ["shadow_report"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Role")
    def role(self, obj):
        return "active" if obj.is_active else "challenger (in shadow)" if obj.is_challenger else "-"

    @admin.display(description="In shadow, on the plant's outcomes")
    def shadow_summary(self, obj):
        report = obj.shadow_report
        if not report:
            return "-"
        return f"{_figures(report['challenger'])} | active: {_figures(report.get('champion'))} | {report['verdict']}"

    @admin.display(description="Shadow report")
    def shadow_figures(self, obj):
        report = obj.shadow_report
        if not report:
            return "Not judged yet (a challenger is judged every SHADOW_EVALUATE_MINUTES)."
        rows = [
            ("this version (the alerts it would have raised)", report["challenger"]),
            (f"active: {report['champion_version']} (the alerts it raised)", report["champion"]),
        ]
        cells = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    name,
                    figures["alerts"],
                    _share(figures["precision"]),
                    _share(figures["recall"]),
                    f"{figures['events_caught']} of {figures['events']}",
                    _number(figures["median_lead_hours"], " h"),
                    _number(figures["false_alerts_per_machine_week"], ""),
                )
                for name, figures in rows
                if figures is not None
            ),
        )
        return format_html(
            "<p>From {} to {}, horizon {} h: {}</p><table><tr><th></th><th>Alerts</th>"
            "<th>Precision</th><th>Recall</th><th>Outcomes caught</th><th>Median lead</th>"
            "<th>False alerts per machine-week</th></tr>{}</table>",
            report["since"],
            report["evaluated_at"],
            report["horizon_hours"],
            report["verdict"],
            cells,
        )

    @admin.action(description="Activate the selected version (one per kind)", permissions=["change"])
    def activate(self, request, queryset):
        if queryset.values("kind").distinct().count() != queryset.count():
            self.message_user(request, "Select at most one version of each kind.", messages.ERROR)
            return
        for model_version in queryset:
            model_version_activate(model_version=model_version, by=request.user, note="activated by hand")
        self.message_user(request, f"Activated {queryset.count()} version(s).", messages.SUCCESS)

    @admin.action(description="Promote the selected challenger to active", permissions=["change"])
    def promote(self, request, queryset):
        challengers = list(queryset.filter(is_challenger=True))
        if len(challengers) != queryset.count():
            self.message_user(request, "Select challengers only.", messages.ERROR)
            return
        for challenger in challengers:
            verdict = challenger.shadow_report.get("verdict", "not judged yet")
            challenger_promote(challenger, by=request.user, note=f"promoted by hand ({verdict})")
            self.message_user(request, f"{challenger.version} is active.", messages.SUCCESS)

    @admin.action(
        description="Roll back: re-activate the version active before the current one", permissions=["change"]
    )
    def roll_back(self, request, queryset):
        for kind in sorted(set(queryset.values_list("kind", flat=True))):
            previous = model_version_previous(kind=kind)
            if previous is None:
                self.message_user(request, f"No {kind} version was active before the current one.", messages.ERROR)
                continue
            model_version_activate(model_version=previous, by=request.user, note="rolled back in the admin")
            self.message_user(request, f"Rolled back to {previous.version}.", messages.SUCCESS)

    @admin.action(description="Make the selected version the challenger (it scores in shadow)", permissions=["change"])
    def make_challenger(self, request, queryset):
        if queryset.count() != 1 or queryset.filter(is_active=True).exists():
            self.message_user(request, "Select one version that is not the active one.", messages.ERROR)
            return
        challenger = model_version_make_challenger(model_version=queryset.get())
        self.message_user(request, f"{challenger.version} scores in shadow from now.", messages.SUCCESS)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _number(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


def _figures(figures: dict | None) -> str:
    if figures is None:
        return "none"
    return (
        f"{figures['alerts']} alerts, precision {_share(figures['precision'])}, recall {_share(figures['recall'])}, "
        f"lead {_number(figures['median_lead_hours'], ' h')}"
    )


@admin.register(ModelDrift)
class ModelDriftAdmin(admin.ModelAdmin):
    """Read-only: how far each machine type's live features are from each version's training data,
    measured by the predictor every 10 minutes. Past DRIFT_PSI_WARNING the version should be retrained."""

    list_display = [
        "model_version",
        "machine_type",
        drift_psi,
        "drifted",
        "feature",
        "feature_psi",
        "sample_size",
        "measured_at",
    ]
    list_filter = ["model_version__is_active", "machine_type"]
    search_fields = ["machine_type", "feature", "model_version__version"]
    list_select_related = ["model_version"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Drifted", boolean=True)
    def drifted(self, obj):
        return obj.is_drifted


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    """Read-only history of what the models said."""

    list_display = ["machine", "ts", "probability", "error_code", "rul_range", "model_version"]
    list_filter = ["model_version__kind", "error_code", "machine__line"]
    search_fields = ["machine__code", "machine__name"]
    date_hierarchy = "ts"
    list_select_related = ["machine", "error_code", "model_version"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Failure probability", ordering="failure_probability")
    def probability(self, obj):
        return f"{obj.failure_probability:.0%}"

    @admin.display(description="RUL (hours)")
    def rul_range(self, obj):
        if obj.rul_hours is None:
            return "-"
        if obj.rul_low_hours is None or obj.rul_high_hours is None:
            return f"{obj.rul_hours:.0f}"
        return f"{obj.rul_hours:.0f} ({obj.rul_low_hours:.0f}-{obj.rul_high_hours:.0f})"


@admin.register(SensorWarning)
class SensorWarningAdmin(admin.ModelAdmin):
    """Read-only: machines the predictor skipped because their sensors looked wrong."""

    list_display = ["detected_at", "machine", "problem", "detail"]
    list_filter = ["problem", "machine__line"]
    search_fields = ["machine__code", "machine__name", "detail"]
    date_hierarchy = "detected_at"
    list_select_related = ["machine"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AlarmRule)
class AlarmRuleAdmin(admin.ModelAdmin):
    """Supervisors' alarm rules: evaluated every predictor tick, an edit counts from the next one."""

    list_display = ["__str__", "machine_type", "machine", "metric", "kind", "limit", "zone", "minutes", "error_code"]
    list_display_links = ["__str__"]
    list_filter = ["is_enabled", "kind", "machine_type"]
    search_fields = ["name", "metric", "machine__code", "machine_type__name"]
    autocomplete_fields = ["machine", "error_code"]
    fieldsets = [
        (None, {"fields": ["name", "machine_type", "machine", "metric", "kind", "is_enabled"]}),
        ("When it holds", {"fields": ["limit", "vibration_class", "zone", "minutes"]}),
        ("What it raises", {"fields": ["error_code"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("machine_type", "machine", "error_code", "vibration_class")


@admin.register(VibrationClass)
class VibrationClassAdmin(admin.ModelAdmin):
    """Zone boundaries (ISO 10816) as data: a zone rule reads them each tick."""

    list_display = ["name", "zone_b_from", "zone_c_from", "zone_d_from"]
    search_fields = ["name", "description"]


@admin.register(MachineHealth)
class MachineHealthAdmin(admin.ModelAdmin):
    """Each machine's health model: still learning (and how far), or watching since when, last
    relearned when, and what it says now. Written by the predictor; read here."""

    list_display = ["machine", "state", "learning", "ready_since", "last_relearned_at", "score", "scored_at"]
    list_filter = ["state", "machine__machine_type", "machine__line"]
    search_fields = ["machine__code", "machine__name"]
    list_select_related = ["machine"]
    readonly_fields = [
        "machine",
        "state",
        "learned_days",
        "ready_since",
        "last_learned_at",
        "last_relearned_at",
        "score",
        "scored_at",
        "departures",
        "past_threshold_since",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Learning")
    def learning(self, obj):
        if obj.state == HealthState.READY:
            return "done"
        return f"{obj.learned_days:.1f} of {settings.HEALTH_LEARNING_DAYS:g} days"


@admin.register(HealthModelVersion)
class HealthModelVersionAdmin(admin.ModelAdmin):
    """Every machine's learned health models (the active one and the one before it)."""

    list_display = ["machine", "version", "is_active", "learned_from", "learned_to", "samples", "threshold"]
    list_filter = ["is_active", "machine__machine_type"]
    search_fields = ["machine__code", "version"]
    list_select_related = ["machine"]
    readonly_fields = [
        "machine",
        "version",
        "artifact_path",
        "sha256",
        "learned_from",
        "learned_to",
        "samples",
        "metrics",
        "trained_at",
        "is_active",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Threshold")
    def threshold(self, obj):
        value = obj.metrics.get("threshold")
        return f"{value:.3g}" if value is not None else "-"
