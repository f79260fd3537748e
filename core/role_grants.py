"""The roles' model permissions, kept in sync after every `migrate` (a post_migrate receiver).

Each app declares on its AppConfig what each role may do with its own models:

    role_permissions = {Role.SUPERVISOR: {ALL_MODELS: ALL_ACTIONS}, Role.MANAGER: {"alert": ("change",)}}

so a new model is granted by the `migrate` that creates it, with no migration of its own. The sync
only adds: a permission a supervisor gave a role by hand in the admin stays. Object-level rules (a
technician updates only their own tickets) are the APIs'; these permissions decide what each role
may see and do in the admin and set the ceiling for the API.
"""

from collections.abc import Mapping

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS

from core.roles import Role

ALL_ACTIONS = ("add", "change", "delete", "view")
ALL_MODELS = "*"

RolePermissions = Mapping[Role, Mapping[str, tuple[str, ...]]]

# Django's own auth app declares nothing: supervisors manage the users and see the roles.
AUTH_ROLE_PERMISSIONS: RolePermissions = {Role.SUPERVISOR: {"user": ALL_ACTIONS, "group": ("view",)}}


def role_grants_sync(sender: AppConfig, using: str = DEFAULT_DB_ALIAS, apps=global_apps, **kwargs) -> None:
    """Create the role groups and grant them what `sender` (an app just migrated) declares."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    groups = {role: Group.objects.using(using).get_or_create(name=role)[0] for role in Role}
    declared = AUTH_ROLE_PERMISSIONS if sender.label == "auth" else getattr(sender, "role_permissions", {})
    if not declared:
        return
    permissions = list(
        Permission.objects.using(using).filter(content_type__app_label=sender.label).select_related("content_type")
    )
    models = {permission.content_type.model for permission in permissions}
    for role, grants in declared.items():
        unknown = set(grants) - models - {ALL_MODELS}
        if unknown:
            raise ImproperlyConfigured(
                f"{sender.label}: role_permissions for {role} name models it does not have: {sorted(unknown)}"
            )
        wanted = [
            permission
            for permission in permissions
            if permission.codename.split("_", 1)[0]
            in {*grants.get(ALL_MODELS, ()), *grants.get(permission.content_type.model, ())}
        ]
        groups[role].permissions.add(*wanted)
