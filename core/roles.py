"""The three roles of MaintainX, held as Django groups (see DESIGN.md "Contracts")."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the apps' configs import Role before the models can be imported
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(StrEnum):
    MANAGER = "Manager"
    TECHNICIAN = "Technician"
    SUPERVISOR = "Supervisor"


# When a user holds several roles, the one that can do most is reported.
_ROLES_BY_REACH = (Role.SUPERVISOR, Role.MANAGER, Role.TECHNICIAN)


def role_from_groups(group_names: Iterable[str]) -> Role | None:
    names = set(group_names)
    return next((role for role in _ROLES_BY_REACH if role in names), None)


def user_role(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    """The user's role, or None for anonymous users and users in no role group.

    Superusers count as supervisors so that the install's first account can do everything.
    Group names are cached on the user object for the request, since permissions ask repeatedly.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.SUPERVISOR
    names = getattr(user, "_role_group_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._role_group_names = names
    return role_from_groups(names)


def user_set_role(*, user, role: Role) -> None:
    """Put the user in exactly one role group; supervisors get the admin site (is_staff)."""
    # The Group model is not imported: the apps' configs import this module before the models load.
    groups = user.groups.model.objects
    user.groups.remove(*groups.filter(name__in=[r.value for r in Role]))
    user.groups.add(groups.get(name=role.value))
    user.is_staff = user.is_superuser or role == Role.SUPERVISOR
    user.save(update_fields=["is_staff"])
    user.__dict__.pop("_role_group_names", None)
