"""Project-wide checks: migrations match the models, the OpenAPI schema is valid, the SPA is served."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree():
    # --check exits non-zero when a model change has no migration
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())


def test_openapi_schema_is_valid_and_has_no_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for path in ("/api/machines/{code}/", "/api/error-codes/{code}/sop/", "/api/auth/login/", "/api/me/"):
        assert f"{path}:" in schema


def test_dashboard_page_is_served_at_the_root_and_for_client_routes(client, settings, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><div id=root></div>")
    settings.FRONTEND_DIST = tmp_path
    for path in ("/", "/tickets/42"):
        response = client.get(path)
        assert response.status_code == 200
        assert b"<div id=root>" in response.content


def test_unbuilt_dashboard_says_how_to_build_it(client, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path / "missing"
    response = client.get("/")
    assert response.status_code == 503
    assert b"make frontend" in response.content


def test_api_paths_are_not_swallowed_by_the_dashboard(client, db):
    assert client.get("/api/nothing-here/").status_code == 404
