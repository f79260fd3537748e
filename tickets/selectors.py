import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Max, Prefetch, QuerySet

from catalogue.failure_modes import OTHER
from catalogue.models import SOP, ErrorCode
from catalogue.selectors import STEPS_IN_ORDER
from predictor.ml.outcomes import AlertSpan, PlantOutcomes
from tickets.models import (
    Alert,
    Breakdown,
    Ticket,
    TicketChecklistTick,
    TicketEvent,
    TicketOutcome,
    TicketPhoto,
    TicketStatus,
)
from tickets.permissions import ticket_visibility


def tickets_resolved_since(
    *, machine_codes: Iterable[str], since: datetime.datetime
) -> list[tuple[int, str, datetime.datetime]]:
    """(ticket id, machine code, resolved_at) of these machines' tickets resolved after `since`, oldest first."""
    return list(
        Ticket.objects.filter(
            machine__code__in=list(machine_codes), status=TicketStatus.RESOLVED, resolved_at__gt=since
        )
        .order_by("resolved_at", "id")
        .values_list("id", "machine__code", "resolved_at")
    )


def alert_list() -> QuerySet[Alert]:
    """Every alert (all roles read them), newest first, with what the list shows in one query: the
    why and the remaining life come from the alert's last prediction."""
    return Alert.objects.select_related(
        "machine", "error_code", "acknowledged_by", "cleared_by", "marked_false_by", "ticket", "last_prediction"
    )


def ticket_list(*, user) -> QuerySet[Ticket]:
    """The tickets `user` may see (tickets.permissions): the API lists and fetches through this."""
    return Ticket.objects.filter(ticket_visibility(user)).select_related("machine", "error_code", "assignee", "alert")


# Oldest first, as they were attached, each with who attached it.
TICKET_PHOTOS_IN_ORDER = TicketPhoto.objects.select_related("uploaded_by").order_by("added_at", "id")


def ticket_detail_list(*, user) -> QuerySet[Ticket]:
    """ticket_list with the SOP's steps, the audit trail and the photos, for one ticket's page."""
    return ticket_list(user=user).prefetch_related(
        Prefetch("sop", queryset=SOP.objects.prefetch_related(STEPS_IN_ORDER, "error_codes")),
        Prefetch(
            "events", queryset=TicketEvent.objects.select_related("actor", "assignee", "photo").order_by("at", "id")
        ),
        Prefetch("photos", queryset=TICKET_PHOTOS_IN_ORDER),
        Prefetch("checklist_ticks", queryset=TicketChecklistTick.objects.select_related("done_by").order_by("step")),
    )


def ticket_not_visible_reason(*, user, pk: int) -> str | None:
    """Why `user` no longer sees ticket `pk` when it exists (a technician's ticket reassigned to a
    colleague), for the answer to an action their tablet queued; None when there is no such ticket."""
    ticket = Ticket.objects.select_related("assignee").filter(pk=pk).first()
    if ticket is None:
        return None
    if ticket.assignee_id is not None and ticket.assignee_id != user.pk:
        who = ticket.assignee.get_full_name() or ticket.assignee.username
        was_theirs = TicketEvent.objects.filter(ticket=ticket, assignee=user).exists()
        if was_theirs:
            return f"Ticket #{pk} is not yours any more: it is assigned to {who}."
        return f"Ticket #{pk} is assigned to {who}, not to you."
    return f"Ticket #{pk} is not among the tickets you may see."


def ticket_photo_list(*, user, ticket_id: int) -> QuerySet[TicketPhoto]:
    """The photos of one ticket, oldest first; none when `user` may not see the ticket
    (tickets.permissions), so that its files are sent to nobody else."""
    visible = Ticket.objects.filter(ticket_visibility(user)).values("pk")
    return TICKET_PHOTOS_IN_ORDER.filter(ticket_id=ticket_id, ticket__in=visible)


def tickets_in_hand() -> QuerySet[Ticket]:
    """Open and in-progress tickets that someone is assigned to, oldest first, with their machine,
    error code and SOP steps (the demo's simulated crew works through these)."""
    return (
        Ticket.objects.filter(status__in=[TicketStatus.OPEN, TicketStatus.IN_PROGRESS], assignee__isnull=False)
        .select_related("machine", "error_code", "assignee")
        .prefetch_related(Prefetch("sop", queryset=SOP.objects.prefetch_related(STEPS_IN_ORDER)))
        .order_by("opened_at", "pk")
    )


def breakdown_open(*, machine_id: int) -> bool:
    """Whether the machine is down now: a breakdown started and not ended."""
    return Breakdown.objects.filter(machine_id=machine_id, up_at__isnull=True).exists()


def machine_last_repairs(*, machine_ids: Sequence[int], end: datetime.datetime) -> dict[int, float]:
    """Per machine, when its latest ticket up to `end` was resolved (epoch seconds): the predictor's
    features count the time since the last repair (settings.LAST_REPAIRS_SELECTOR)."""
    return {
        machine_id: resolved_at.timestamp()
        for machine_id, resolved_at in Ticket.objects.filter(
            machine_id__in=machine_ids, status=TicketStatus.RESOLVED, resolved_at__lte=end
        )
        .order_by()
        .values("machine_id")
        .annotate(latest=Max("resolved_at"))
        .values_list("machine_id", "latest")
    }


def machine_flagged_periods(
    *, machine_ids: Sequence[int], start: datetime.datetime, end: datetime.datetime, before_failure: datetime.timedelta
) -> dict[int, list[tuple[float, float]]]:
    """Per machine, the periods between `start` and `end` that were not normal as far as the plant
    knows (epoch seconds, unsorted, may overlap): an alert from opening to clearing, a ticket from
    opening to resolving, a breakdown from `before_failure` ahead of it until the machine was up
    again. A health model never learns from them, so a developing fault does not become normal
    (settings.HEALTH_FLAGGED_PERIODS_SELECTOR). A false alarm (a ticket resolved so, an alert marked
    false) is not among them: someone looked and found the machine normal (machine_confirmed_normal_periods)."""
    end_s = end.timestamp()
    periods: dict[int, list[tuple[float, float]]] = {machine_id: [] for machine_id in machine_ids}

    def add(machine_id: int, begin: datetime.datetime, finish: datetime.datetime | None) -> None:
        periods[machine_id].append((begin.timestamp(), finish.timestamp() if finish is not None else end_s))

    for machine_id, opened_at, cleared_at in (
        Alert.objects.filter(machine_id__in=machine_ids, opened_at__lt=end, marked_false_at__isnull=True)
        .exclude(cleared_at__lt=start)
        .exclude(ticket__outcome=TicketOutcome.FALSE_ALARM)
        .values_list("machine_id", "opened_at", "cleared_at")
    ):
        add(machine_id, opened_at, cleared_at)
    for machine_id, opened_at, resolved_at in (
        Ticket.objects.filter(machine_id__in=machine_ids, opened_at__lt=end)
        .exclude(resolved_at__lt=start)
        .exclude(outcome=TicketOutcome.FALSE_ALARM)
        .values_list("machine_id", "opened_at", "resolved_at")
    ):
        add(machine_id, opened_at, resolved_at)
    for machine_id, down_at, up_at in (
        Breakdown.objects.filter(machine_id__in=machine_ids, down_at__lt=end + before_failure)
        .exclude(up_at__lt=start)
        .values_list("machine_id", "down_at", "up_at")
    ):
        add(machine_id, down_at - before_failure, up_at)
    return periods


def machine_failure_times(
    *, machine_ids: Sequence[int], start: datetime.datetime, end: datetime.datetime
) -> dict[int, list[float]]:
    """Per machine, when it broke down between `start` and `end` (epoch seconds, ascending): a health
    model that learned from the days before one of them learned a developing fault as normal
    (settings.HEALTH_FAILURES_SELECTOR)."""
    times: dict[int, list[float]] = {machine_id: [] for machine_id in machine_ids}
    for machine_id, down_at in (
        Breakdown.objects.filter(machine_id__in=machine_ids, down_at__gte=start, down_at__lte=end)
        .order_by("down_at")
        .values_list("machine_id", "down_at")
    ):
        times[machine_id].append(down_at.timestamp())
    return times


def machine_confirmed_normal_periods(
    *, machine_ids: Sequence[int], start: datetime.datetime, end: datetime.datetime
) -> dict[int, list[tuple[float, float]]]:
    """Per machine, the false alarms between `start` and `end` (epoch seconds): a ticket resolved
    false_alarm from its alert's opening (or its own) to its resolution, an alert marked false from its
    opening to its marking. A health model learns from them and keeps its threshold above them
    (settings.HEALTH_CONFIRMED_NORMAL_SELECTOR)."""
    periods: dict[int, list[tuple[float, float]]] = {machine_id: [] for machine_id in machine_ids}
    for ticket in Ticket.objects.filter(
        machine_id__in=machine_ids, outcome=TicketOutcome.FALSE_ALARM, resolved_at__gte=start, opened_at__lt=end
    ).select_related("alert"):
        opened = min(ticket.opened_at, ticket.alert.opened_at) if ticket.alert else ticket.opened_at
        periods[ticket.machine_id].append((opened.timestamp(), ticket.resolved_at.timestamp()))
    for machine_id, opened_at, marked_at in Alert.objects.filter(
        machine_id__in=machine_ids, marked_false_at__gte=start, opened_at__lt=end
    ).values_list("machine_id", "opened_at", "marked_false_at"):
        periods[machine_id].append((opened_at.timestamp(), marked_at.timestamp()))
    return periods


@dataclass
class PlantRecords:
    """What the plant recorded about its machines' faults, as training labels (plain data, datetimes):
    - failures: FaultTruth dicts (machine_code, failure_mode, started_at, failed_at, repaired_at);
    - prevented: PreventedFault dicts (machine_code, failure_mode, noticed_at, worked_from, fixed_at);
    - normal_periods: NormalPeriod dicts (machine_code, start, end), the false alarms;
    - repairs: per machine code, when each of its tickets was resolved (epoch seconds), as serving
      counts a resolved ticket as a repair (machine_last_repairs)."""

    failures: list[dict] = field(default_factory=list)
    prevented: list[dict] = field(default_factory=list)
    normal_periods: list[dict] = field(default_factory=list)
    repairs: dict[str, list[float]] = field(default_factory=dict)


def plant_records(
    *, start: datetime.datetime, end: datetime.datetime, repairs_since: datetime.datetime | None = None
) -> PlantRecords:
    """The failures, prevented faults and false alarms between `start` and `end`, from the plant's own
    records only: breakdowns and resolved tickets, never a simulator's ground truth.

    Nothing recorded after `end` is used, so that training as of a past instant sees what the plant knew then.
    - A breakdown (the machine's own error report, or a ticket confirming a failure) is a failure from
      its down_at; still down at `end`, it has no repair yet.
    - A ticket resolved failure_confirmed with no breakdown (resolved before breakdowns were recorded)
      is a failure from its downtime start, or its start.
    - A ticket resolved preventive_fix is a fault present from its alert's opening (or its own) until
      the technician started on it, and fixed at its resolution (predictor.ml.features.training_samples
      says which hours around it are labelled, and why).
    - A ticket resolved false_alarm is a normal period from its alert's opening (or its own) to its
      resolution: someone looked, and the machine was fine.
    - An alert a manager or supervisor marked false, without a ticket, is a normal period from its
      opening to its marking.
    A ticket that ended a breakdown is that failure's repair, whatever its outcome says: the machine broke.
    The failure mode is the one the technician found (the resolve form's "what did you find"), else
    the error code's (the ticket's when the breakdown has none; `other` without either).
    """
    records = PlantRecords()
    for breakdown in (
        Breakdown.objects.filter(down_at__gte=start, down_at__lte=end)
        .select_related("machine", "error_code", "ticket__error_code")
        .order_by("down_at", "id")
    ):
        error_code = breakdown.error_code or (breakdown.ticket.error_code if breakdown.ticket else None)
        found = breakdown.ticket.found_failure_mode if breakdown.ticket else ""
        records.failures.append(
            {
                "machine_code": breakdown.machine.code,
                "failure_mode": found or _failure_mode(error_code),
                "started_at": breakdown.down_at,
                "failed_at": breakdown.down_at,
                "repaired_at": breakdown.up_at if breakdown.up_at is not None and breakdown.up_at <= end else None,
            }
        )
    resolved = (
        Ticket.objects.filter(status=TicketStatus.RESOLVED, resolved_at__gte=start, resolved_at__lte=end)
        .select_related("machine", "error_code", "alert")
        .order_by("resolved_at", "id")
    )
    for ticket in resolved.filter(breakdowns__isnull=True):
        code, mode = ticket.machine.code, ticket.found_failure_mode or _failure_mode(ticket.error_code)
        if ticket.outcome == TicketOutcome.FAILURE_CONFIRMED:
            failed_at = ticket.downtime_start or ticket.started_at
            records.failures.append(
                {
                    "machine_code": code,
                    "failure_mode": mode,
                    "started_at": ticket.opened_at,
                    "failed_at": failed_at,
                    "repaired_at": ticket.resolved_at,
                }
            )
        elif ticket.outcome == TicketOutcome.PREVENTIVE_FIX:
            records.prevented.append(
                {
                    "machine_code": code,
                    "failure_mode": mode,
                    "noticed_at": _alarmed_at(ticket),
                    "worked_from": ticket.started_at,
                    "fixed_at": ticket.resolved_at,
                }
            )
        elif ticket.outcome == TicketOutcome.FALSE_ALARM:
            records.normal_periods.append(
                {"machine_code": code, "start": _alarmed_at(ticket), "end": ticket.resolved_at}
            )
    for alert in Alert.objects.filter(marked_false_at__gte=start, marked_false_at__lte=end).select_related("machine"):
        records.normal_periods.append(
            {"machine_code": alert.machine.code, "start": alert.opened_at, "end": alert.marked_false_at}
        )
    for code, resolved_at in (
        Ticket.objects.filter(
            status=TicketStatus.RESOLVED, resolved_at__gte=repairs_since or start, resolved_at__lte=end
        )
        .order_by("resolved_at", "id")
        .values_list("machine__code", "resolved_at")
    ):
        records.repairs.setdefault(code, []).append(resolved_at.timestamp())
    return records


def _failure_mode(error_code: ErrorCode | None) -> str:
    return error_code.failure_mode if error_code is not None else OTHER


def _alarmed_at(ticket: Ticket) -> datetime.datetime:
    """When the alert that led to the ticket opened (it may have opened before the ticket), else the ticket."""
    return min(ticket.opened_at, ticket.alert.opened_at) if ticket.alert else ticket.opened_at


def plant_outcomes(*, start: datetime.datetime, end: datetime.datetime) -> PlantOutcomes:
    """The failures and prevented faults the plant recorded between `start` and `end` (plant_records),
    in the form predictor.ml.outcomes judges alerts by."""
    records = plant_records(start=start, end=end)
    return PlantOutcomes(
        failures=[(failure["machine_code"], failure["failed_at"].timestamp()) for failure in records.failures],
        prevented=[
            (fault["machine_code"], fault["noticed_at"].timestamp(), fault["fixed_at"].timestamp())
            for fault in records.prevented
        ],
    )


def alert_spans(*, start: datetime.datetime, end: datetime.datetime) -> list[AlertSpan]:
    """The alerts opened between `start` and `end`, each with its source and whether a person said it
    was false (an alert marked false, or its ticket resolved false_alarm); a machine's own error
    report is not a prediction and is left out."""
    return _alert_spans(Alert.objects.filter(opened_at__gte=start, opened_at__lte=end))


def predicted_alert_spans(
    *, model_version_id: int, start: datetime.datetime, end: datetime.datetime
) -> list[AlertSpan]:
    """The alerts a model version raised between `start` and `end` (predicted, opened then, and last
    refreshed by its prediction), as alert_spans gives them (settings.RAISED_ALERTS_SELECTOR)."""
    return _alert_spans(
        Alert.objects.filter(
            source=Alert.Source.PREDICTION,
            opened_at__gte=start,
            opened_at__lte=end,
            last_prediction__model_version_id=model_version_id,
        )
    )


def alert_spans_open(*, start: datetime.datetime, end: datetime.datetime) -> list[AlertSpan]:
    """The alerts open at some point between `start` and `end` (opened by `end`, not cleared before
    `start`), as alert_spans gives them: an alert opened before a period may catch a failure early in it."""
    return _alert_spans(Alert.objects.filter(opened_at__lte=end).exclude(cleared_at__lt=start))


def _alert_spans(alerts: QuerySet[Alert]) -> list[AlertSpan]:
    alerts = alerts.exclude(source=Alert.Source.MACHINE)
    rows = alerts.order_by("opened_at", "id").values_list(
        "id", "machine__code", "opened_at", "cleared_at", "source", "marked_false_at"
    )
    false_alarm_alerts = set(
        Ticket.objects.filter(alert__in=alerts.values("pk"), outcome=TicketOutcome.FALSE_ALARM).values_list(
            "alert_id", flat=True
        )
    )
    return [
        AlertSpan(
            machine_code=code,
            opened=opened_at.timestamp(),
            closed=cleared_at.timestamp() if cleared_at else None,
            source=source,
            marked_false=marked_false_at is not None or alert_id in false_alarm_alerts,
        )
        for alert_id, code, opened_at, cleared_at, source, marked_false_at in rows
    ]
