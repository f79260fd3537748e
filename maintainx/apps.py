from django.apps import AppConfig


class MaintainXConfig(AppConfig):
    """The composition root as an app: it owns the role groups (data migrations), the login API, the
    health checks and the operators' commands (healthcheck, plant_status)."""

    name = "maintainx"
    verbose_name = "MaintainX"
