"""The roles' grants are kept in sync after every migrate, from what each app declares."""

from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured

from core.role_grants import role_grants_sync
from core.roles import Role

pytestmark = pytest.mark.django_db


def _codenames(role: Role, app_label: str) -> set[str]:
    return set(
        Group.objects.get(name=role)
        .permissions.filter(content_type__app_label=app_label)
        .values_list("codename", flat=True)
    )


def test_after_migrate_each_role_holds_what_the_apps_declare():
    assert _codenames(Role.TECHNICIAN, "tickets") == {
        "view_alert",
        "view_ticket",
        "change_ticket",
        "view_ticketevent",
        "add_ticketevent",
        "view_ticketphoto",
        "add_ticketphoto",
    }
    assert _codenames(Role.TECHNICIAN, "catalogue") == {"view_errorcode", "view_sop", "view_sopstep"}
    assert "change_alert" in _codenames(Role.MANAGER, "tickets")
    assert "delete_breakdown" not in _codenames(Role.MANAGER, "tickets")
    assert {"add_simulatedfault", "delete_simulatedfault"} <= _codenames(Role.SUPERVISOR, "simulation")
    assert _codenames(Role.SUPERVISOR, "auth") == {"add_user", "change_user", "delete_user", "view_user", "view_group"}


def test_a_grant_taken_away_comes_back_and_one_given_by_hand_stays():
    technicians = Group.objects.get(name=Role.TECHNICIAN)
    technicians.permissions.remove(Permission.objects.get(codename="view_ticket"))
    technicians.permissions.add(Permission.objects.get(codename="view_breakdown"))

    role_grants_sync(sender=apps.get_app_config("tickets"))

    assert {"view_ticket", "view_breakdown"} <= _codenames(Role.TECHNICIAN, "tickets")


def test_a_role_group_deleted_by_hand_is_created_again():
    Group.objects.filter(name=Role.MANAGER).delete()

    role_grants_sync(sender=apps.get_app_config("catalogue"))

    assert _codenames(Role.MANAGER, "catalogue") == {"view_errorcode", "view_sop", "view_sopstep"}


def test_a_grant_naming_a_model_the_app_does_not_have_stops_the_migrate():
    misdeclared = SimpleNamespace(label="tickets", role_permissions={Role.MANAGER: {"tikcet": ("view",)}})

    with pytest.raises(
        ImproperlyConfigured, match=r"tickets: role_permissions for Manager name models it does not have: \['tikcet'\]"
    ):
        role_grants_sync(sender=misdeclared)
