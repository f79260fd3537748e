"""Opening tickets, from an alert or by hand, and assigning them."""

import datetime

from django.db import transaction
from django.utils import timezone

from catalogue.models import SOP, ErrorCode, Severity
from catalogue.selectors import sop_for_error_code
from predictor.models import Prediction
from telemetry.models import Machine
from telemetry.selectors import minute_summaries
from tickets.assignment import assignee_for_new_ticket
from tickets.models import Alert, AlertSource, AlertStatus, Ticket, TicketEvent, TicketEventKind, TicketStatus
from tickets.services.common import at_or_now, person_name
from tickets.services.events import TicketNews, TicketNewsKind, supervisor_ids, ticket_news, ticket_pushed

# The readings window kept on a ticket as evidence: what the technician sees the model saw.
EVIDENCE_WINDOW = datetime.timedelta(hours=1)


def _evidence(*, machine: Machine, prediction: Prediction | None, at: datetime.datetime) -> dict:
    """The readings window the alert was raised on (per-minute mean, min and max of each metric)
    and the model versions that fired, frozen on the ticket."""
    end = prediction.ts if prediction is not None else at
    start = end - EVIDENCE_WINDOW
    metrics = minute_summaries(machine=machine, start=start, end=end)
    evidence: dict = {
        "window": {"from": start.isoformat(), "to": end.isoformat(), "step": "1 minute", "metrics": metrics}
    }
    if prediction is not None:
        evidence["prediction"] = {
            "id": prediction.pk,
            "ts": prediction.ts.isoformat(),
            "probability": prediction.failure_probability,
            "model_version": str(prediction.model_version),
            "rul_model_version": str(prediction.rul_model_version) if prediction.rul_model_version_id else None,
        }
    return evidence


def _rul_sentence(prediction: Prediction) -> str:
    if prediction.rul_hours is None:
        return ""
    if prediction.rul_low_hours is not None and prediction.rul_high_hours is not None:
        return (
            f" Remaining useful life about {prediction.rul_hours:.0f} h "
            f"({prediction.rul_low_hours:.0f}-{prediction.rul_high_hours:.0f} h)."
        )
    return f" Remaining useful life about {prediction.rul_hours:.0f} h."


def ticket_for_new_alert(
    *,
    alert: Alert,
    machine: Machine,
    prediction: Prediction | None,
    at: datetime.datetime,
    reported_at: datetime.datetime | None = None,
) -> Ticket:
    """One sick machine, one ticket: a machine whose alert-born ticket is still unresolved gets the
    new alert on that ticket (an event, a higher priority); otherwise a new ticket opens, with the
    error code, its SOP, the explanation, the RUL range and the evidence, and is assigned."""
    reported = reported_at is not None
    error_code = alert.error_code
    existing = (
        Ticket.objects.select_for_update(of=("self",))
        .filter(machine=machine, alert__isnull=False)
        .exclude(status=TicketStatus.RESOLVED)
        .select_related("machine", "alert", "error_code")
        .order_by("-opened_at")
        .first()
    )
    if existing is not None:
        return _ticket_takes_alert(existing, alert=alert, reported_at=reported_at, at=at)

    if reported:
        title = f"{machine.code} reported {error_code.code}: {error_code.title}"
        description = f"The machine reported a failure at {timezone.localtime(reported_at):%Y-%m-%d %H:%M:%S}."
    elif alert.source == AlertSource.RULE:
        title = f"{error_code.title} on {machine.code}: {alert.detail}"
        description = f"An alarm rule holds: {alert.detail}."
    elif alert.source == AlertSource.ANOMALY:
        title = f"{machine.code} departs from its normal behaviour: inspect"
        description = f"The machine's health model, learned from its own normal data, flags it: {alert.detail}."
    else:
        title = f"{error_code.title} predicted on {machine.code} ({prediction.failure_probability:.0%})"
        description = (
            f"Failure probability {prediction.failure_probability:.0%} within the horizon, most likely "
            f"{error_code.code}.{_rul_sentence(prediction)}"
        )
    ticket = Ticket.objects.create(
        machine=machine,
        alert=alert,
        error_code=error_code,
        sop=sop_for_error_code(code=error_code.code),
        title=title[:200],
        description=description,
        priority=Severity.CRITICAL if reported else error_code.severity,
        opened_at=at,
        probability=1.0 if reported else alert.probability,
        explanation=list(prediction.top_signals) if prediction is not None else [alert.detail] if alert.detail else [],
        rul_hours=prediction.rul_hours if prediction is not None else None,
        rul_low_hours=prediction.rul_low_hours if prediction is not None else None,
        rul_high_hours=prediction.rul_high_hours if prediction is not None else None,
        evidence=_evidence(machine=machine, prediction=prediction, at=reported_at or at),
    )
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.CREATED,
        to_status=ticket.status,
        note=f"Opened by alert #{alert.pk} ({alert.get_source_display().lower()})",
        at=at,
    )
    ticket_pushed(ticket, "opened")
    ticket_assign_automatically(ticket=ticket, at=at)
    return ticket


def _ticket_takes_alert(
    ticket: Ticket, *, alert: Alert, reported_at: datetime.datetime | None, at: datetime.datetime
) -> Ticket:
    changed = ["updated_at"]
    notes = []
    if reported_at is not None:
        notes.append(
            f"The machine reported {alert.error_code.code} ({alert.error_code.title}) "
            f"at {timezone.localtime(reported_at):%Y-%m-%d %H:%M:%S}: it has failed."
        )
        if ticket.error_code_id != alert.error_code_id:
            # The machine's own report outranks a prediction: the ticket follows its code and SOP.
            previous = ticket.error_code.code if ticket.error_code else "none"
            ticket.error_code = alert.error_code
            ticket.sop = sop_for_error_code(code=alert.error_code.code)
            changed += ["error_code", "sop"]
            notes.append(f"Error code changed from {previous} and the SOP with it.")
        kind = TicketEventKind.FAILURE_REPORTED
        priority = Severity.CRITICAL
    else:
        what = f"at {alert.probability:.0%}" if alert.probability is not None else f"({alert.detail})"
        notes.append(f"Alert #{alert.pk} raised again: {alert.error_code.code} {what}.")
        kind = TicketEventKind.EDITED
        priority = alert.error_code.severity
    if ticket.alert_id != alert.pk and (ticket.alert is None or ticket.alert.status == AlertStatus.CLEARED):
        ticket.alert = alert
        changed.append("alert")
    if priority > ticket.priority:
        ticket.priority = priority
        changed.append("priority")
    ticket.save(update_fields=changed)
    TicketEvent.objects.create(ticket=ticket, kind=kind, note=" ".join(notes), at=at)
    ticket_pushed(ticket, "failure_reported" if reported_at is not None else "alert_raised")
    return ticket


def ticket_assign_automatically(*, ticket: Ticket, at: datetime.datetime, actor=None) -> None:
    assignee = assignee_for_new_ticket(ticket=ticket, at=at)
    if assignee is None:
        supervisors = supervisor_ids()
        TicketEvent.objects.create(
            ticket=ticket,
            actor=actor,
            kind=TicketEventKind.ASSIGNED,
            note=f"Nobody on shift: left unassigned; {len(supervisors)} supervisor(s) told",
            at=at,
        )
        ticket_pushed(ticket, "unassigned", user_ids=supervisors, plant=False)
        ticket_news(TicketNews(ticket, TicketNewsKind.UNASSIGNED, at=at, actor_id=actor.pk if actor else None))
        return
    ticket.assignee, ticket.assigned_at = assignee, at
    ticket.save(update_fields=["assignee", "assigned_at", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=TicketEventKind.ASSIGNED,
        assignee=assignee,
        note=f"Assigned to {person_name(assignee)}: least busy technician on shift",
        at=at,
    )
    ticket_pushed(ticket, "assigned")
    ticket_news(TicketNews(ticket, TicketNewsKind.ASSIGNED, at=at, actor_id=actor.pk if actor else None))


@transaction.atomic
def ticket_create(
    *,
    machine: Machine,
    title: str,
    actor=None,
    description: str = "",
    error_code: ErrorCode | None = None,
    sop: SOP | None = None,
    priority: int | None = None,
    assignee=None,
    at: datetime.datetime | None = None,
) -> Ticket:
    """Open a ticket by hand (a work order); without an assignee it is assigned by the policy.

    Alert-driven tickets come from the predictor and the machines' reports."""
    at = at_or_now(at)
    if priority is None:
        priority = error_code.severity if error_code else Severity.MEDIUM
    if sop is None and error_code is not None:
        sop = sop_for_error_code(code=error_code.code)
    ticket = Ticket.objects.create(
        machine=machine,
        title=title,
        description=description,
        error_code=error_code,
        sop=sop,
        priority=priority,
        opened_at=at,
    )
    TicketEvent.objects.create(ticket=ticket, actor=actor, kind=TicketEventKind.CREATED, to_status=ticket.status, at=at)
    ticket_pushed(ticket, "opened")
    if assignee is None:
        ticket_assign_automatically(ticket=ticket, at=at, actor=actor)
    else:
        ticket_assign(ticket=ticket, assignee=assignee, actor=actor, at=at, note=f"Assigned to {person_name(assignee)}")
    return ticket


def ticket_assign(*, ticket: Ticket, assignee, actor, at: datetime.datetime, note: str) -> None:
    previous = ticket.assignee_id
    ticket.assignee, ticket.assigned_at = assignee, at
    ticket.save(update_fields=["assignee", "assigned_at", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=TicketEventKind.ASSIGNED, assignee=assignee, note=note, at=at
    )
    ticket_pushed(ticket, "assigned", user_ids=[previous])
    ticket_news(
        TicketNews(
            ticket,
            TicketNewsKind.REASSIGNED if previous is not None else TicketNewsKind.ASSIGNED,
            at=at,
            actor_id=actor.pk if actor else None,
            previous_assignee_id=previous,
        )
    )
