from django.apps import AppConfig

from core.role_grants import ALL_ACTIONS, ALL_MODELS
from core.roles import Role


class TelemetryConfig(AppConfig):
    name = "telemetry"
    verbose_name = "Telemetry"
    role_permissions = {
        Role.SUPERVISOR: {ALL_MODELS: ALL_ACTIONS},
        Role.MANAGER: {ALL_MODELS: ("view",)},
        Role.TECHNICIAN: dict.fromkeys(("machinetype", "metricspec", "machine", "reading", "readingminute"), ("view",)),
    }
