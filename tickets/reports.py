"""The plant report over a period of days: breakdowns, downtime, MTBF, MTTR, tickets and how well
the alerts did. Reads only; every figure is an aggregation in the database over the period.

Definitions (the figures a manager asks for, made exact at the period's edges):
- The period is whole plant-local days (settings.TIME_ZONE), [first day 00:00, day after the last 00:00).
  Time after "now" has not happened: it counts as neither operating time nor downtime.
- breakdowns: failures that began in the period (a machine down since before it is not a new one);
  predicted when an alert from a prediction was open before the failure, otherwise a surprise.
- downtime_hours: the part of every breakdown's down time that lies inside the period.
- mttr_hours: mean time to repair (down → up) of the breakdowns repaired in the period.
- mtbf_hours: operating hours in the period (machines * hours - downtime) / breakdowns.
- alert_precision: of the tickets raised by a predicted alert and resolved in the period, the share
  resolved as failure_confirmed or preventive_fix (the rest were false alarms).
- median_lead_time_hours: alert opened → failure, over the predicted breakdowns of the period.

prediction_quality: how well each source of alerts did, month by month (see its docstring).
"""

import dataclasses
import datetime
import itertools
from dataclasses import dataclass

from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Least, TruncDate
from django.utils import timezone

from predictor.ml.outcomes import AlertSpan, PlantOutcomes, outcome_report
from predictor.ml.predict import DEFAULT_HORIZON_HOURS
from telemetry.models import Machine
from tickets.models import AlertSource, Breakdown, Ticket, TicketOutcome
from tickets.selectors import alert_spans_open, plant_outcomes

HOUR = datetime.timedelta(hours=1)
WEEK = datetime.timedelta(weeks=1)
# Every source is judged over the forest's horizon (a failure within 24 h of the alert), the one its
# training has always used: one yardstick for every source and every month, so that they compare.
QUALITY_HORIZON = datetime.timedelta(hours=DEFAULT_HORIZON_HOURS)
# The sources that predict, in the order the report lists them; "machine" (the machine's own error
# report) says a failure has happened, and alert_spans leaves it out.
QUALITY_SOURCES = (AlertSource.RULE, AlertSource.ANOMALY, AlertSource.PREDICTION)
ALL_SOURCES = "all"


@dataclass(frozen=True)
class Period:
    first_day: datetime.date
    last_day: datetime.date
    start: datetime.datetime
    end: datetime.datetime

    @classmethod
    def of_days(cls, *, first_day: datetime.date, last_day: datetime.date) -> "Period":
        zone = timezone.get_current_timezone()

        def midnight(day: datetime.date) -> datetime.datetime:
            return datetime.datetime.combine(day, datetime.time(), tzinfo=zone)

        return cls(first_day, last_day, midnight(first_day), midnight(last_day + datetime.timedelta(days=1)))

    @classmethod
    def last_days(cls, *, days: int, today: datetime.date | None = None) -> "Period":
        today = today or timezone.localdate()
        return cls.of_days(first_day=today - datetime.timedelta(days=days - 1), last_day=today)

    def days(self) -> list[datetime.date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + datetime.timedelta(days=n) for n in range(count)]


def _hours(duration: datetime.timedelta | None) -> float:
    return round((duration or datetime.timedelta()) / HOUR, 2)


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 2) if denominator else None


def _downtime_within(*, start: datetime.datetime, end: datetime.datetime) -> ExpressionWrapper:
    """A breakdown's down time clipped to [start, end); a machine still down is down until `end`."""
    start_value = Value(start, output_field=DateTimeField())
    end_value = Value(end, output_field=DateTimeField())
    return ExpressionWrapper(
        Least(Coalesce("up_at", end_value), end_value) - Greatest("down_at", start_value),
        output_field=DurationField(),
    )


def _overlapping(*, start: datetime.datetime, end: datetime.datetime) -> QuerySet[Breakdown]:
    return Breakdown.objects.filter(down_at__lt=end).filter(Q(up_at__isnull=True) | Q(up_at__gt=start))


def _median(durations: QuerySet) -> datetime.timedelta | None:
    """The median of an ordered queryset of durations, reading only its middle one or two rows."""
    count = durations.count()
    if not count:
        return None
    middle = list(durations[(count - 1) // 2 : count // 2 + 1])
    return sum(middle, datetime.timedelta()) / len(middle)


def plant_report(*, period: Period, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    start, end = period.start, period.end
    elapsed_end = max(start, min(end, now))
    elapsed_hours = (elapsed_end - start) / HOUR

    began = Breakdown.objects.filter(down_at__gte=start, down_at__lt=end)
    predicted = Q(predicted_by__isnull=False)
    totals = began.aggregate(
        breakdowns=Count("pk"),
        predicted=Count("pk", filter=predicted),
        machines=Count("machine", distinct=True),
    )
    downtime = _downtime_within(start=start, end=elapsed_end)
    repair_time = ExpressionWrapper(F("up_at") - F("down_at"), output_field=DurationField())
    repaired = Breakdown.objects.filter(up_at__gte=start, up_at__lt=end)

    # Per machine: three grouped queries, merged with the machine list.
    per_machine: dict[int, dict] = {
        machine_id: {"machine": code, "name": name, "breakdowns": 0, "predicted": 0, "downtime": None, "repairs": 0}
        for machine_id, code, name in Machine.objects.order_by("code").values_list("pk", "code", "name")
    }
    for row in began.values("machine").annotate(count=Count("pk"), predicted=Count("pk", filter=predicted)):
        per_machine[row["machine"]].update(breakdowns=row["count"], predicted=row["predicted"])
    for row in _overlapping(start=start, end=elapsed_end).values("machine").annotate(downtime=Sum(downtime)):
        per_machine[row["machine"]]["downtime"] = row["downtime"]
    for row in repaired.values("machine").annotate(repairs=Count("pk"), repair_time=Sum(repair_time)):
        per_machine[row["machine"]].update(repairs=row["repairs"], repair_time=row["repair_time"])

    by_day = {
        row["day"]: row
        for row in began.annotate(day=TruncDate("down_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(count=Count("pk"), predicted=Count("pk", filter=predicted))
    }

    tickets = Ticket.objects.filter(
        Q(opened_at__gte=start, opened_at__lt=end) | Q(resolved_at__gte=start, resolved_at__lt=end)
    ).aggregate(
        opened=Count("pk", filter=Q(opened_at__gte=start, opened_at__lt=end)),
        resolved=Count("pk", filter=Q(resolved_at__gte=start, resolved_at__lt=end)),
    )
    alert_tickets = Ticket.objects.filter(
        resolved_at__gte=start, resolved_at__lt=end, alert__source=AlertSource.PREDICTION
    ).aggregate(
        resolved=Count("pk"),
        useful=Count("pk", filter=Q(outcome__in=[TicketOutcome.FAILURE_CONFIRMED, TicketOutcome.PREVENTIVE_FIX])),
    )
    lead_times = (
        began.filter(predicted)
        .annotate(lead=ExpressionWrapper(F("down_at") - F("predicted_by__opened_at"), output_field=DurationField()))
        .order_by("lead")
        .values_list("lead", flat=True)
    )
    median_lead = _median(lead_times)

    total_downtime = sum(
        (row["downtime"] or datetime.timedelta() for row in per_machine.values()), datetime.timedelta()
    )
    total_repairs = sum(row["repairs"] for row in per_machine.values())
    total_repair_time = sum(
        (row.get("repair_time") or datetime.timedelta() for row in per_machine.values()), datetime.timedelta()
    )
    machine_rows = [
        {
            "machine": row["machine"],
            "name": row["name"],
            "breakdowns": row["breakdowns"],
            "predicted": row["predicted"],
            "surprise": row["breakdowns"] - row["predicted"],
            "downtime_hours": _hours(row["downtime"]),
            "mtbf_hours": _ratio(elapsed_hours - (row["downtime"] or datetime.timedelta()) / HOUR, row["breakdowns"]),
            "mttr_hours": _ratio((row.get("repair_time") or datetime.timedelta()) / HOUR, row["repairs"]),
        }
        for row in per_machine.values()
    ]
    return {
        "period": {
            "first_day": period.first_day,
            "last_day": period.last_day,
            "start": start,
            "end": end,
            "hours_elapsed": round(elapsed_hours, 2),
        },
        "machines": len(per_machine),
        "machines_broken_down": totals["machines"],
        "breakdowns": totals["breakdowns"],
        "breakdowns_predicted": totals["predicted"],
        "breakdowns_surprise": totals["breakdowns"] - totals["predicted"],
        "downtime_hours": _hours(total_downtime),
        "mtbf_hours": _ratio(len(per_machine) * elapsed_hours - total_downtime / HOUR, totals["breakdowns"]),
        "mttr_hours": _ratio(total_repair_time / HOUR, total_repairs),
        "tickets_opened": tickets["opened"],
        "tickets_resolved": tickets["resolved"],
        "alert_tickets_resolved": alert_tickets["resolved"],
        "alert_precision": _ratio(alert_tickets["useful"], alert_tickets["resolved"]),
        "median_lead_time_hours": None if median_lead is None else _hours(median_lead),
        "by_machine": machine_rows,
        "by_day": [
            {
                "day": day,
                "breakdowns": by_day[day]["count"] if day in by_day else 0,
                "predicted": by_day[day]["predicted"] if day in by_day else 0,
                "surprise": by_day[day]["count"] - by_day[day]["predicted"] if day in by_day else 0,
            }
            for day in period.days()
        ],
    }


def _month_starts(*, months: int, now: datetime.datetime) -> list[datetime.datetime]:
    """The plant-local midnights that start the last `months` calendar months, the current one
    included, oldest first, and the start of the next month after them."""
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now, zone).date()
    current = today.year * 12 + today.month - 1  # months counted from year 0: a month is then one step
    return [
        datetime.datetime(month // 12, month % 12 + 1, 1, tzinfo=zone)
        for month in range(current - months + 1, current + 2)
    ]


def _within(moment: float, start: datetime.datetime, end: datetime.datetime) -> bool:
    return start.timestamp() <= moment < end.timestamp()


def prediction_quality(*, months: int, now: datetime.datetime | None = None) -> dict:
    """Precision, recall, median lead and false alerts per machine-week of each source of alerts
    (rule, health model, forest, and all of them together), per calendar month (plant-local), the
    last `months` months with the current one, oldest first. The judging is predictor.ml.outcomes',
    over QUALITY_HORIZON, as of `now`:

    - A month's alerts are those opened in it: each is true, false or pending (its horizon has not
      passed and nothing confirmed it yet) by what the plant recorded up to now, so an alert late in
      a month is confirmed by a failure early in the next. Only these count in the alert figures.
    - A month's events are the failures (at their failure) and prevented faults (at their fix) that
      fall in it. Each is caught when an alert of the source was open in the horizon before it,
      wherever that alert was opened: one opened late last month catches a failure on the 1st.
    - Machine-weeks: the machines there are times the weeks of the month that have passed.

    A few queries in all, whatever the number of months or alerts: the judging runs in Python.
    """
    now = now or timezone.now()
    bounds = _month_starts(months=months, now=now)
    first_start = bounds[0]
    spans = alert_spans_open(start=first_start - QUALITY_HORIZON, end=now)
    outcomes = plant_outcomes(start=first_start, end=now)
    machines = Machine.objects.count()
    horizon_s = QUALITY_HORIZON.total_seconds()

    def judged(
        spans_of_source: list[AlertSpan], *, start: datetime.datetime, end: datetime.datetime, machine_weeks: float
    ) -> dict:
        opened_in_month = [span for span in spans_of_source if _within(span.opened, start, end)]
        month_events = PlantOutcomes(
            failures=[failure for failure in outcomes.failures if _within(failure[1], start, end)],
            prevented=[fault for fault in outcomes.prevented if _within(fault[2], start, end)],
        )
        # Two judgements, each counting what it is right for: the month's alerts against every
        # outcome, and the month's events against every alert that could have caught them.
        alerts = outcome_report(
            opened_in_month, outcomes, horizon_s=horizon_s, now=now.timestamp(), machine_weeks=machine_weeks
        )
        events = outcome_report(spans_of_source, month_events, horizon_s=horizon_s, now=now.timestamp())
        return dataclasses.replace(
            alerts,
            events=events.events,
            events_caught=events.events_caught,
            lead_times_hours=events.lead_times_hours,
        ).as_dict()

    rows = []
    for start, end in itertools.pairwise(bounds):
        machine_weeks = machines * (max(start, min(end, now)) - start) / WEEK
        sources = [
            {
                "source": source.value,
                "label": source.label,
                **judged(
                    [span for span in spans if span.source == source],
                    start=start,
                    end=end,
                    machine_weeks=machine_weeks,
                ),
            }
            for source in QUALITY_SOURCES
        ]
        sources.append(
            {
                "source": ALL_SOURCES,
                "label": "All predictions",
                **judged(spans, start=start, end=end, machine_weeks=machine_weeks),
            }
        )
        rows.append(
            {
                "month": start.date(),
                "start": start,
                "end": end,
                "machine_weeks": round(machine_weeks, 2),
                "sources": sources,
            }
        )
    return {"horizon_hours": QUALITY_HORIZON / HOUR, "machines": machines, "months": rows}
