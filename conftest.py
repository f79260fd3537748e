import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from core.roles import Role
from core.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def technician(db):
    return UserFactory(username="tech", role=Role.TECHNICIAN)


@pytest.fixture
def manager(db):
    return UserFactory(username="boss", role=Role.MANAGER)


@pytest.fixture
def supervisor(db):
    return UserFactory(username="super", role=Role.SUPERVISOR)


@pytest.fixture
def user_without_role(db):
    return UserFactory(username="nobody")


@pytest.fixture
def role_groups(transactional_db):
    """The role groups, for transactional tests: the flush after each of them removes what the data
    migrations created. (serialized_rollback would restore them, but it clashes with the content
    types that another transactional test's flush re-creates.)"""
    for role in Role:
        Group.objects.get_or_create(name=role.value)
