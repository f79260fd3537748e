"""Liveness and readiness: /healthz and /readyz (answered by the middleware placed first) and the
`healthcheck` command of the processes that serve no HTTP."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from testing.throwaway import free_port


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
