"""The operator's one-screen summary, `manage.py plant_status`."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from predictor.tests.factories import ModelVersionFactory, PredictionFactory
from telemetry.models import MachineStatus
from telemetry.tests.factories import MachineFactory, ReadingFactory
from tickets.models import AlertStatus, TicketStatus
from tickets.tests.factories import AlertFactory, TicketFactory


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
