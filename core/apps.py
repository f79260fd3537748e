from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Roles, permissions, errors, pagination and typed environment readers: the layer every app
    imports, which imports no app (import-linter)."""

    name = "core"
    verbose_name = "Core"
