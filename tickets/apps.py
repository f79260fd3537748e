from django.apps import AppConfig

from core.role_grants import ALL_ACTIONS, ALL_MODELS
from core.roles import Role


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Maintenance"
    role_permissions = {
        Role.SUPERVISOR: {ALL_MODELS: ALL_ACTIONS},
        Role.MANAGER: {ALL_MODELS: ("view",), "alert": ("change",)},  # change: acknowledging an alert
        Role.TECHNICIAN: {
            "alert": ("view",),
            "ticket": ("view", "change"),
            "ticketevent": ("view", "add"),
            "ticketphoto": ("view", "add"),  # the assignee attaches photos
        },
    }

    def ready(self):
        from tickets.services.photos import photo_files_follow_deletions  # noqa: PLC0415 - models load first

        photo_files_follow_deletions()
