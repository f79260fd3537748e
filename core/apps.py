from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Roles, permissions, errors, pagination and typed environment readers: the layer every app
    imports, which imports no app (import-linter)."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from django.db.models.signals import post_migrate  # noqa: PLC0415 - the app registry is ready only now

        from core.role_grants import role_grants_sync  # noqa: PLC0415 - it imports the auth models

        # After auth's and contenttypes' receivers (core comes after them in INSTALLED_APPS), so each
        # app's permissions exist when its roles are granted them.
        post_migrate.connect(role_grants_sync, dispatch_uid="core.role_grants_sync")
