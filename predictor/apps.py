from django.apps import AppConfig

from core.role_grants import ALL_ACTIONS, ALL_MODELS
from core.roles import Role


class PredictorConfig(AppConfig):
    name = "predictor"
    verbose_name = "Predictor"
    role_permissions = {
        Role.SUPERVISOR: {ALL_MODELS: ALL_ACTIONS},
        Role.MANAGER: {ALL_MODELS: ("view",)},
        Role.TECHNICIAN: {"prediction": ("view",), "sensorwarning": ("view",)},
    }
