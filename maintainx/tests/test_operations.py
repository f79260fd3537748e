"""Operating an install: production settings pass Django's deployment checks, health and readiness
probes, JSON logs, `healthcheck`, `plant_status`."""

import datetime
import io
import json
import logging
import secrets

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from maintainx.log_format import JsonFormatter
from maintainx.tests.test_settings import run_manage
from predictor.tests.factories import ModelVersionFactory, PredictionFactory
from telemetry.models import MachineStatus
from telemetry.tests.factories import MachineFactory, ReadingFactory
from testing.throwaway import free_port
from tickets.models import AlertStatus, TicketStatus
from tickets.tests.factories import AlertFactory, TicketFactory

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


def test_healthz_answers_any_host_without_touching_anything(client):
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_channel_layer():
    response = Client().get("/readyz", HTTP_HOST="web:8000")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "channel_layer"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_with_an_unreachable_broker_is_not_ready_and_says_why(settings):
    settings.MQTT_URL = f"mqtt://127.0.0.1:{free_port()}"
    response = Client().get("/readyz?broker=1")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert "ConnectionRefusedError" in body["checks"]["broker"]["detail"]


@pytest.mark.django_db
def test_healthcheck_command_checks_the_broker_too():
    out = io.StringIO()
    call_command("healthcheck", "--broker", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split()[:2] for line in lines] == [["ok", "database"], ["ok", "channel_layer"], ["ok", "broker"]]


@pytest.mark.django_db
def test_healthcheck_command_fails_naming_what_is_down(settings):
    settings.MQTT_URL = f"mqtt://127.0.0.1:{free_port()}"
    out = io.StringIO()
    with pytest.raises(CommandError, match="not ready: broker"):
        call_command("healthcheck", "--broker", stdout=out)
    assert "FAIL broker" in out.getvalue()


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


@pytest.mark.django_db
def test_plant_status_summarises_machines_telemetry_predictor_alerts_tickets_and_models():
    now = timezone.now()
    fresh = MachineFactory(code="M-001")
    silent = MachineFactory(code="M-002")
    MachineFactory(code="M-003", status=MachineStatus.DOWN)
    ReadingFactory(machine=fresh, ts=now - datetime.timedelta(seconds=20))
    ReadingFactory(machine=silent, ts=now - datetime.timedelta(minutes=30))
    model = ModelVersionFactory(is_active=True, version="2026-11-27.1")
    PredictionFactory(machine=fresh, model_version=model, created_at=now - datetime.timedelta(seconds=40))
    AlertFactory(machine=fresh, status=AlertStatus.ACTIVE)
    TicketFactory(machine=fresh, status=TicketStatus.OPEN, assignee=None)

    out = io.StringIO()
    call_command("plant_status", stdout=out)
    text = out.getvalue()

    assert "3: 2 running, 0 degraded, 1 down, 0 under maintenance" in text
    assert "newest reading 20 s ago; 1 running machines silent for over 5 min: M-002" in text
    assert "newest prediction 40 s ago; active models: Random Forest (failure within horizon) 2026-11-27.1" in text
    assert "1 active, 0 acknowledged" in text
    assert "1 open (1 unassigned, 0 escalated), 0 in progress" in text
