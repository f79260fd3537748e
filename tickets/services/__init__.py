"""Writes to alerts, tickets and breakdowns, and the machine status changes that go with them, one
module a subject, each importing only those below it (an import-linter contract), never the package:

    ticks                        the predictor tick's hand-off: predictions and rules, then escalation
    workflow | machine_reports | rules | photos | receipts
                                 what people do to a ticket | the machines' own error reports | alarm rules
                                 | photos attached to a ticket | answers kept for an Idempotency-Key
    alerts                       alerts from predictions, acknowledgement, clearing, marking false
    opening | escalation         new tickets and their assignment | tickets nobody started in time
    machines | events            breakdowns | what is pushed to the dashboards
    common                       WorkflowError, names of people and instants

Every change to a ticket records a TicketEvent; every change to an alert or a ticket is pushed to
the dashboards once it commits (realtime.broadcast). Who may do what is decided by tickets.permissions,
the same rules the API filters with; a change the object's state does not allow raises
WorkflowError with the reason, which the API answers with 400.

Entry points of the other apps, re-exported here with the rest of the app's service API:
- predictor: `predictions_handle` once per tick, with the tick's saved predictions and the alarm
  rules that hold;
- telemetry: `machine_reports_handle` with the readings of a batch that carried an error code.
"""

from tickets.services.alerts import alert_acknowledge, alert_mark_false, alerts_from_predictions
from tickets.services.common import WorkflowError
from tickets.services.conditions import alerts_from_health, alerts_from_rules
from tickets.services.escalation import tickets_escalate_overdue
from tickets.services.machine_reports import MACHINE_REPORT_MAX_AGE, MachineReport, machine_reports_handle
from tickets.services.opening import ticket_create
from tickets.services.photos import ticket_photo_add
from tickets.services.receipts import ticket_action_once
from tickets.services.ticks import predictions_handle
from tickets.services.workflow import (
    found_failure_mode_problem,
    ticket_checklist_tick,
    ticket_comment,
    ticket_reassign,
    ticket_record_edit,
    ticket_reopen,
    ticket_resolve,
    ticket_start,
    ticket_take,
)

__all__ = [
    "MACHINE_REPORT_MAX_AGE",
    "MachineReport",
    "WorkflowError",
    "alert_acknowledge",
    "alert_mark_false",
    "alerts_from_health",
    "alerts_from_predictions",
    "alerts_from_rules",
    "found_failure_mode_problem",
    "machine_reports_handle",
    "predictions_handle",
    "ticket_action_once",
    "ticket_checklist_tick",
    "ticket_comment",
    "ticket_create",
    "ticket_photo_add",
    "ticket_reassign",
    "ticket_record_edit",
    "ticket_reopen",
    "ticket_resolve",
    "ticket_start",
    "ticket_take",
    "tickets_escalate_overdue",
]
