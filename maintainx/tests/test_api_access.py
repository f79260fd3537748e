"""The role matrix: every endpoint, for anonymous users, users without a role and each role."""

import pytest
from rest_framework.authtoken.models import Token

from telemetry.tests.factories import MachineFactory
from tickets.tests.factories import ErrorCodeFactory, SOPFactory, SOPStepFactory

# Declared because several tests ask for their user fixture by name at run time, which pytest-django
# cannot see when it orders database tests before transactional ones.
pytestmark = pytest.mark.django_db

READ_ENDPOINTS = [
    "/api/machines/",
    "/api/machines/M-001/",
    "/api/error-codes/",
    "/api/error-codes/E-BRG-01/sop/",
    "/api/schema/",
    "/api/docs/",
]
ROLE_FIXTURES = ["technician", "manager", "supervisor"]


@pytest.fixture
def plant(db):
    MachineFactory(code="M-001")
    code = ErrorCodeFactory(code="E-BRG-01")
    SOPStepFactory(sop=SOPFactory(error_codes=[code]))


@pytest.mark.parametrize("url", [*READ_ENDPOINTS, "/api/me/"])
def test_anonymous_user_is_refused_with_401(api_client, plant, url):
    response = api_client.get(url)
    assert response.status_code == 401


def test_anonymous_user_cannot_log_out(api_client, db):
    assert api_client.post("/api/auth/logout/").status_code == 401


@pytest.mark.parametrize("url", [u for u in READ_ENDPOINTS if not u.startswith(("/api/schema", "/api/docs"))])
def test_user_without_a_role_is_refused_with_403(api_client, plant, user_without_role, url):
    api_client.force_authenticate(user_without_role)
    response = api_client.get(url)
    assert response.status_code == 403
    assert "no MaintainX role" in response.json()["detail"]


def test_user_without_a_role_may_ask_who_they_are(api_client, user_without_role):
    api_client.force_authenticate(user_without_role)
    assert api_client.get("/api/me/").json()["role"] is None


@pytest.mark.parametrize("url", READ_ENDPOINTS)
@pytest.mark.parametrize("role_fixture", ROLE_FIXTURES)
def test_every_role_reads_the_plant(api_client, plant, request, role_fixture, url):
    api_client.force_authenticate(request.getfixturevalue(role_fixture))
    assert api_client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("role_fixture", "role"), [("technician", "Technician"), ("manager", "Manager"), ("supervisor", "Supervisor")]
)
def test_me_reports_the_role(api_client, request, role_fixture, role):
    user = request.getfixturevalue(role_fixture)
    api_client.force_authenticate(user)
    body = api_client.get("/api/me/").json()
    assert (body["username"], body["role"], body["is_staff"]) == (user.username, role, role == "Supervisor")


@pytest.mark.parametrize("url", ["/api/machines/", "/api/error-codes/"])
@pytest.mark.parametrize("role_fixture", ROLE_FIXTURES)
def test_read_only_endpoints_refuse_writes(api_client, plant, request, role_fixture, url):
    api_client.force_authenticate(request.getfixturevalue(role_fixture))
    assert api_client.post(url, {"code": "M-999"}, format="json").status_code == 405


@pytest.mark.parametrize(
    ("role_fixture", "admin_status"),
    [("technician", 302), ("manager", 302), ("supervisor", 200), ("user_without_role", 302)],
)
def test_only_supervisors_enter_the_admin(client, request, role_fixture, admin_status):
    client.force_login(request.getfixturevalue(role_fixture))
    assert client.get("/admin/").status_code == admin_status


def test_token_authentication_reads_the_api(api_client, plant, technician):
    token = Token.objects.create(user=technician)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/machines/").status_code == 200


def test_unknown_token_is_refused(api_client, plant):
    api_client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert api_client.get("/api/machines/").status_code == 401
