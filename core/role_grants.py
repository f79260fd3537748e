"""Grant model permissions to the role groups from a data migration (the apps' roles migrations share it).

A plain helper that data migrations import, with the historical `apps` they are given.
"""

from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes

ALL_ACTIONS = ("add", "change", "delete", "view")


def create_missing_permissions(apps):
    # Permissions are normally created after `migrate` finishes; a fresh database has none yet.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_contenttypes(app_config, apps=apps, verbosity=0)
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def grant(apps, role_permissions: dict[str, list[tuple[str, str | None, tuple[str, ...]]]]) -> None:
    """role -> [(app_label, model name or None for every model of the app, actions)]."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    create_missing_permissions(apps)
    for role, grants in role_permissions.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, model, actions in grants:
            permissions = Permission.objects.filter(content_type__app_label=app_label)
            if model is not None:
                permissions = permissions.filter(content_type__model=model)
            wanted = [p for p in permissions if p.codename.split("_", 1)[0] in actions]
            if not wanted:
                raise RuntimeError(f"No permissions found for {app_label}.{model or '*'} {actions}")
            group.permissions.add(*wanted)
