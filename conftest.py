import pytest
from rest_framework.test import APIClient

from maintainx.roles import Role
from maintainx.tests.factories import UserFactory


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
