import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.tests.factories import TEST_PASSWORD


@pytest.fixture
def browser():
    """A client that, like a browser, must pass Django's CSRF check."""
    return APIClient(enforce_csrf_checks=True)


def csrf_token(client) -> str:
    return client.get("/api/auth/csrf/").json()["csrf_token"]


def test_the_csrf_answer_tells_an_anonymous_visitor_nothing_but_null(browser, db):
    response = browser.get("/api/auth/csrf/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"csrf_token", "user"}
    assert body["user"] is None
    assert browser.get("/api/me/").status_code == 401  # API clients still get their 401


def test_the_csrf_answer_names_the_signed_in_user_as_me_does(browser, technician):
    browser.force_login(technician)
    body = browser.get("/api/auth/csrf/").json()
    assert body["user"] == browser.get("/api/me/").json()
    assert (body["user"]["username"], body["user"]["role"]) == ("tech", "Technician")


def test_the_csrf_answer_follows_the_session_not_a_token(api_client, technician):
    # A script's token is not a browser session: it asks /api/me/, which answers for the token.
    token = Token.objects.create(user=technician)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/auth/csrf/").json()["user"] is None
    assert api_client.get("/api/me/").json()["username"] == "tech"


def test_login_sets_a_session_that_reads_the_api(browser, technician):
    token = csrf_token(browser)
    response = browser.post(
        "/api/auth/login/", {"username": "tech", "password": TEST_PASSWORD}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200
    assert response.json()["role"] == "Technician"
    assert browser.get("/api/machines/").status_code == 200


def test_login_without_csrf_token_is_refused(browser, technician):
    response = browser.post("/api/auth/login/", {"username": "tech", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_wrong_password_gets_400_and_no_session(browser, technician):
    token = csrf_token(browser)
    response = browser.post(
        "/api/auth/login/", {"username": "tech", "password": "guess"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Wrong username or password."}
    assert browser.get("/api/me/").status_code == 401


def test_login_without_password_names_the_field(browser, db):
    token = csrf_token(browser)
    response = browser.post("/api/auth/login/", {"username": "tech"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert list(response.json()) == ["password"]


def test_logout_ends_the_session(browser, technician):
    browser.force_login(technician)
    token = csrf_token(browser)
    assert browser.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=token).status_code == 204
    assert browser.get("/api/me/").status_code == 401
    assert browser.get("/api/auth/csrf/").json()["user"] is None


def test_token_endpoint_issues_a_token_for_scripts(api_client, manager):
    response = api_client.post("/api/auth/token/", {"username": "boss", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api_client.get("/api/me/").json()["username"] == "boss"
