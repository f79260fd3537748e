from django.apps import AppConfig

from core.role_grants import ALL_ACTIONS, ALL_MODELS
from core.roles import Role


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    # Supervisors follow failed deliveries in the admin; everyone else sees their own through the API.
    role_permissions = {Role.SUPERVISOR: {ALL_MODELS: ALL_ACTIONS}}
