"""Admin site identity and the user admin for supervisors."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from core.roles import Role, role_from_groups, user_role

admin.site.site_header = "MaintainX administration"
admin.site.site_title = "MaintainX"
admin.site.index_title = "Plant, maintenance and people"

User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class MaintainXUserAdmin(UserAdmin):
    """Supervisors manage people by role. Only a superuser may grant superuser or per-user
    permissions, so that a supervisor cannot raise anyone (themselves included) above supervisor."""

    list_display = ["username", "full_name", "email", "role", "shift_names", "is_active", "last_login"]
    list_filter = ["groups", "is_active", "shifts"]
    search_fields = ["username", "first_name", "last_name", "email"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups", "shifts")

    def get_readonly_fields(self, request, obj=None):
        readonly = ["last_login", "date_joined"]
        if not request.user.is_superuser:
            readonly += ["is_superuser", "is_staff", "user_permissions"]
        return readonly

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["queryset"] = db_field.related_model.objects.filter(name__in=[role.value for role in Role])
            kwargs["help_text"] = "Supervisor: admin and everything; Manager: reads all; Technician: own tickets."
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user = form.instance
        # The admin site is the supervisors' tool: staff status follows the role.
        user.__dict__.pop("_role_group_names", None)
        should_be_staff = user.is_superuser or user_role(user) == Role.SUPERVISOR
        if user.is_staff != should_be_staff:
            user.is_staff = should_be_staff
            user.save(update_fields=["is_staff"])

    @admin.display(description="Name")
    def full_name(self, obj):
        return obj.get_full_name()

    @admin.display(description="Role")
    def role(self, obj):
        if obj.is_superuser:
            return "Superuser"
        role = role_from_groups(group.name for group in obj.groups.all())
        return role.value if role else "-"

    @admin.display(description="Shifts")
    def shift_names(self, obj):
        return ", ".join(shift.name for shift in obj.shifts.all())
