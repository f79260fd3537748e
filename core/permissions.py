"""DRF permissions by role. Object-level rules live with the app that owns the object."""

from rest_framework.permissions import BasePermission

from core.roles import Role, user_role


class HasRole(BasePermission):
    """Any of the three roles. An authenticated user in no role group sees nothing."""

    message = "Your account has no MaintainX role yet; ask a supervisor to give you one."

    def has_permission(self, request, view):
        return user_role(request.user) is not None


class IsSupervisor(BasePermission):
    message = "Only supervisors may do this."

    def has_permission(self, request, view):
        return user_role(request.user) == Role.SUPERVISOR
