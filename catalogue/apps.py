from django.apps import AppConfig

from core.role_grants import ALL_ACTIONS, ALL_MODELS
from core.roles import Role


class CatalogueConfig(AppConfig):
    """What can go wrong and what to do: failure modes, error codes and SOPs."""

    name = "catalogue"
    verbose_name = "Failure catalogue"
    role_permissions = {
        Role.SUPERVISOR: {ALL_MODELS: ALL_ACTIONS},
        Role.MANAGER: {ALL_MODELS: ("view",)},
        Role.TECHNICIAN: {ALL_MODELS: ("view",)},
    }
