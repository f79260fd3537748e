"""A small plant history written as the plant writes it: readings through readings_ingest, breakdowns
and resolved tickets with each outcome. Hours below count from START; the clock is pinned to END."""

import datetime

import numpy as np

from catalogue.models import FailureMode, Severity
from telemetry.ingest import ReadingRow
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory
from tickets.models import AlertStatus, BreakdownSource, Ticket, TicketOutcome, TicketStatus
from tickets.tests.factories import AlertFactory, BreakdownFactory, ErrorCodeFactory, TicketFactory

DAYS = 4
END = datetime.datetime(2026, 3, 10, 0, 0, tzinfo=datetime.UTC)
START = END - datetime.timedelta(days=DAYS)
READING_EVERY = datetime.timedelta(minutes=10)


def hours(value: float) -> datetime.datetime:
    return START + datetime.timedelta(hours=value)


def machine_with_readings(code: str, *, machine_type, seed: int):
    """A pump whose vibration and temperature were reported every 10 minutes from START to END."""
    machine = MachineFactory(code=code, machine_type=machine_type)
    rng = np.random.default_rng(seed)
    # Five minutes past START: every sample instant, half-hourly from 00:30, has readings in its hour.
    at, rows = START + datetime.timedelta(minutes=5), []
    while at < END:
        metrics = {"vibration": round(1.5 + 0.1 * rng.standard_normal(), 4), "temperature": round(55 + rng.random(), 4)}
        rows.append(ReadingRow(machine.id, machine.code, at, metrics))
        at += READING_EVERY
    readings_ingest(rows=rows, reports_now=END)
    return machine


def resolved_ticket(machine, *, outcome: str, error_code, opened: float, started: float, resolved: float, **fields):
    return TicketFactory(
        machine=machine,
        error_code=error_code,
        status=TicketStatus.RESOLVED,
        outcome=outcome,
        resolution_notes=f"{TicketOutcome(outcome).label}.",
        opened_at=hours(opened),
        started_at=hours(started),
        resolved_at=hours(resolved),
        downtime_start=hours(started),
        downtime_end=hours(resolved),
        **fields,
    )


def plant_history_write() -> dict[str, object]:
    """Two pumps over four days, and what the plant recorded about them:

    P-A: its own error report, a breakdown from 30 h to 34 h (bearing wear); a preventive fix of
         overheating, ticket opened at 60 h and resolved at 66 h.
    P-B: a false alarm, alert at 19.5 h, ticket from 20 h to 23 h; a failure confirmed on a ticket
         (no breakdown recorded), down from 71 h, resolved at 75 h (bearing wear).
    Returns the machines by code.
    """
    bearing = ErrorCodeFactory(
        code="E-BRG-01", title="Bearing wear", severity=Severity.HIGH, failure_mode=FailureMode.BEARING_WEAR
    )
    overheating = ErrorCodeFactory(
        code="E-TMP-01", title="Overheating", severity=Severity.MEDIUM, failure_mode=FailureMode.OVERHEATING
    )
    pumps = MachineTypeFactory(name="Coolant pump")
    MetricSpecFactory(machine_type=pumps, name="vibration", normal_max=4.5)
    MetricSpecFactory(
        machine_type=pumps, name="temperature", unit="°C", normal_min=10, normal_max=80, alarm_min=0, alarm_max=95
    )
    pump_a = machine_with_readings("P-A", machine_type=pumps, seed=1)
    pump_b = machine_with_readings("P-B", machine_type=pumps, seed=2)
    BreakdownFactory(
        machine=pump_a, error_code=bearing, source=BreakdownSource.MACHINE_REPORT, down_at=hours(30), up_at=hours(34)
    )
    resolved_ticket(
        pump_a, outcome=TicketOutcome.PREVENTIVE_FIX, error_code=overheating, opened=60, started=62, resolved=66
    )
    alert = AlertFactory(
        machine=pump_b, error_code=bearing, opened_at=hours(19.5), status=AlertStatus.CLEARED, cleared_at=hours(23)
    )
    resolved_ticket(
        pump_b, outcome=TicketOutcome.FALSE_ALARM, error_code=bearing, opened=20, started=21, resolved=23, alert=alert
    )
    resolved_ticket(
        pump_b, outcome=TicketOutcome.FAILURE_CONFIRMED, error_code=bearing, opened=70, started=71, resolved=75
    )
    assert Ticket.objects.count() == 3
    return {"P-A": pump_a, "P-B": pump_b}


def pump_breakdown_write(code: str, *, down: float, up: float, seed: int):
    """One more pump of the same type, with readings from START to END and a breakdown from `down` to `up` hours."""
    machine = machine_with_readings(code, machine_type=MachineTypeFactory(name="Coolant pump"), seed=seed)
    BreakdownFactory(
        machine=machine,
        error_code=ErrorCodeFactory(code="E-BRG-01"),
        source=BreakdownSource.MACHINE_REPORT,
        down_at=hours(down),
        up_at=hours(up),
    )
    return machine
