"""Operating an install: production settings pass Django's deployment checks, redirect to HTTPS but
let probes from inside the container through, and log JSON. (The health checks themselves and
`plant_status` are tested in operations/tests.)"""

import datetime
import json
import logging
import secrets

from maintainx.log_format import JsonFormatter
from maintainx.tests.test_settings import run_manage

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "maintainx.plant.example",
}


def test_production_settings_pass_the_deployment_checks_without_a_warning():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_redirects_plain_http_and_sets_hsts_but_probes_answer_from_inside_the_container():
    # Only the settings module decides this, so ask a fresh interpreter what it serves.
    probe = """
from django.test import Client
client = Client()
print(client.get("/api/machines/", HTTP_HOST="maintainx.plant.example").status_code)
secure = client.get("/api/machines/", HTTP_HOST="maintainx.plant.example", HTTP_X_FORWARDED_PROTO="https")
print(secure.status_code, secure.headers.get("Strict-Transport-Security"))
print(client.get("/healthz", HTTP_HOST="localhost:8000").status_code)
"""
    result = run_manage("shell", "--no-imports", "-c", probe, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    plain, secure, health = result.stdout.split("\n")[:3]
    assert plain == "301"
    assert secure == "401 max-age=31536000; includeSubDomains; preload"
    assert health == "200"


def test_json_log_lines_are_one_object_each_with_extras_and_exceptions():
    formatter = JsonFormatter()
    record = logging.LogRecord("telemetry.listener", logging.WARNING, __file__, 1, "lost %s", ("the broker",), None)
    record.machine = "M-001"
    entry = json.loads(formatter.format(record))
    assert (entry["level"], entry["logger"], entry["message"], entry["machine"]) == (
        "WARNING",
        "telemetry.listener",
        "lost the broker",
        "M-001",
    )
    datetime.datetime.fromisoformat(entry["ts"])
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        import sys  # noqa: PLC0415

        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = formatter.format(failed)
    assert "\n" not in line
    assert "ValueError: bad" in json.loads(line)["exception"]


def test_log_format_json_configures_the_console_handler():
    result = run_manage(
        "shell", "--no-imports", "-c", "import logging; logging.getLogger('probe').warning('hello')", LOG_FORMAT="json"
    )
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert (entry["logger"], entry["message"]) == ("probe", "hello")
