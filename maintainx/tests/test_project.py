"""Project-wide checks: migrations match the models, the OpenAPI schema is valid. (The dashboard's page
is tested in operations/tests/test_frontend.py.)"""

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
