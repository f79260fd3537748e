from django.apps import AppConfig


class MaintainXConfig(AppConfig):
    """The project package as an app: it owns the role groups (data migration) and seed_demo."""

    name = "maintainx"
    verbose_name = "MaintainX"
