from django.apps import AppConfig

from core.role_grants import ALL_ACTIONS, ALL_MODELS
from core.roles import Role


class SimulationConfig(AppConfig):
    """The plant simulator: its engine, the runner that publishes or stores a simulated plant, and
    its ground truth (SimulatedFault)."""

    name = "simulation"
    verbose_name = "Plant simulator"
    role_permissions = {Role.SUPERVISOR: {ALL_MODELS: ALL_ACTIONS}, Role.MANAGER: {ALL_MODELS: ("view",)}}
