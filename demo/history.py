"""The demo plant's recent past, lived through the real pipeline rather than made up.

Before the demo goes live it simulates the last days of the plant (simulation.runner.
history_write) and, every hour of simulated time, runs what would have run then: the
predictor's tick (predictions → alerts → tickets → escalations, through the same services) and a
crew of simulated technicians who start their tickets, carry out the SOP and resolve them. A
resolution repairs the simulated machine, and its outcome is what the technician found there: the
failure it had reported, the fault it was developing, or nothing. So the weekly report a manager
opens in the demo (breakdowns, downtime, MTBF, MTTR, alert precision, lead time, predicted vs
surprise) is computed from tickets and breakdowns that the product itself produced; every note a
simulated technician writes says that it is simulated history.
"""

import datetime
import logging
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from django.conf import settings

from catalogue.models import FailureMode
from predictor.scoring import Scorer
from simulation.engine import BEARING_WEAR, DEVELOPING, ELECTRICAL_FAULT, IMBALANCE, FaultRecord
from simulation.profiles import CrewProfile
from simulation.runner import GroundTruthRecorder, SimulatedPlant
from tickets.models import Ticket, TicketOutcome, TicketStatus
from tickets.selectors import breakdown_open, tickets_in_hand
from tickets.services import WorkflowError, ticket_comment, ticket_resolve, ticket_start

logger = logging.getLogger(__name__)

SIMULATED_NOTE = "(simulated history: written by the demo's replay of the past days)"


@dataclass(frozen=True)
class CrewHold:
    """The crew leaves a machine's tickets opened from `since` alone until `until` (None: for good),
    and says why in a comment on the ticket (none: the ticket is left to the person watching)."""

    since: datetime.datetime
    until: datetime.datetime | None = None
    reason: str = ""

    def covers(self, ticket: Ticket) -> bool:
        return ticket.opened_at >= self.since

    def holds(self, ticket: Ticket, *, at: datetime.datetime) -> bool:
        return self.covers(ticket) and (self.until is None or at < self.until)


@dataclass(frozen=True)
class CrewHabits:
    """How the simulated technicians work: seeded per ticket, so a replay is reproducible.

    The plant profile's crew says (simulation.profiles.CrewProfile); the defaults are the demo plant's.
    """

    respond_minutes: tuple[float, float] = (10.0, 75.0)  # from assignment to starting work
    pace: tuple[float, float] = (0.8, 1.4)  # actual job time ÷ the SOP's estimate
    # Without an SOP a job takes this long; with one, the sum of its steps' estimates.
    default_job: datetime.timedelta = datetime.timedelta(hours=2)

    @classmethod
    def of_crew(cls, crew: CrewProfile) -> "CrewHabits":
        return cls(
            respond_minutes=crew.respond_minutes,
            pace=crew.pace,
            default_job=datetime.timedelta(hours=crew.default_job_hours),
        )


class PlantReplay:
    """history_write's replay hook: after each slice of simulated time, the predictor and the crew."""

    def __init__(
        self,
        *,
        plant: SimulatedPlant,
        scorer: Scorer,
        truth: GroundTruthRecorder,
        seed: int,
        holds: Mapping[str, CrewHold] | None = None,
        # Hourly: fine enough for faults that develop over hours and for the crew's timing, and it
        # keeps a week's replay to a few hundred predictor ticks.
        every_seconds: float = 3600.0,
        habits: CrewHabits = CrewHabits(),
    ):
        self.plant = plant
        self.scorer = scorer
        self.truth = truth
        self.seed = seed
        # Machine code → when the crew leaves its tickets alone: the live scenario's machine, left to
        # the person watching the demo, or a repair waiting for a part; its other tickets are worked.
        self.holds = dict(holds or {})
        self._explained: set[int] = set()  # held tickets whose hold the crew has commented on
        self.every_seconds = every_seconds
        self.habits = habits
        self.ticks = self.started = self.resolved = 0

    def after(self, simulated_now: datetime.datetime) -> None:
        # The crew first: what they started within the slice is not escalated at its end.
        self._crew_works(at=simulated_now)
        self.scorer.tick(now=simulated_now)
        # As between live ticks, but every machine that is due: no live tick waits on a replay.
        self.scorer.learn(now=simulated_now, all_due=True)
        self.ticks += 1

    def _crew_works(self, *, at: datetime.datetime) -> None:
        for assigned in tickets_in_hand():
            ticket = assigned
            hold = self.holds.get(ticket.machine.code)
            if hold is not None and hold.holds(ticket, at=at):
                self._hold_explain(ticket, hold, at=at)
                continue
            rng = random.Random(f"{self.seed}:crew:{ticket.pk}")  # noqa: S311 - a simulation, reproducible by seed
            start_at = (ticket.assigned_at or ticket.opened_at) + datetime.timedelta(
                minutes=rng.uniform(*self.habits.respond_minutes)
            )
            if hold is not None and hold.covers(ticket) and hold.until is not None:
                start_at = max(start_at, hold.until)  # not before the part is there
            job = self._job_length(ticket) * rng.uniform(*self.habits.pace)
            try:
                if ticket.status == TicketStatus.OPEN and start_at <= at:
                    ticket = ticket_start(ticket=ticket, actor=ticket.assignee, at=start_at)
                    self.started += 1
                if ticket.status == TicketStatus.IN_PROGRESS and ticket.started_at + job <= at:
                    # At the slice's end, not in between: the simulated machine has lived up to
                    # here, and a repair takes effect from the simulation's present.
                    self._resolve(ticket, at=at)
            except WorkflowError:
                # The services refuse what a person could not do either (e.g. a ticket another
                # process resolved meanwhile); the crew leaves it and the replay goes on.
                logger.warning("simulated technician could not work on ticket %s", ticket.pk, exc_info=True)

    def _hold_explain(self, ticket: Ticket, hold: CrewHold, *, at: datetime.datetime) -> None:
        if not hold.reason or ticket.pk in self._explained:
            return
        self._explained.add(ticket.pk)
        ticket_comment(ticket=ticket, actor=ticket.assignee, text=f"{hold.reason} {SIMULATED_NOTE}", at=at)

    def _job_length(self, ticket: Ticket) -> datetime.timedelta:
        minutes = sum(step.estimated_minutes or 0 for step in ticket.sop.steps.all()) if ticket.sop else 0
        return datetime.timedelta(minutes=minutes) if minutes else self.habits.default_job

    def _resolve(self, ticket: Ticket, *, at: datetime.datetime) -> None:
        """What the technician finds is the outcome: the breakdown the machine is in, else the
        simulated machine's state (a fault developing, or none)."""
        code = ticket.machine.code
        state = self.plant.simulation.machines[code].state
        subject = ticket.error_code.title.lower() if ticket.error_code else "the reported problem"
        # The breakdown, not the simulation: left alone, a simulated machine comes back by itself
        # after a while (as if repaired off the books), but the plant's record still has it down.
        if breakdown_open(machine_id=ticket.machine_id):
            outcome = TicketOutcome.FAILURE_CONFIRMED
            notes = f"Machine was down with {subject}; carried out the procedure and ran it back up."
        elif state == DEVELOPING:
            outcome = TicketOutcome.PREVENTIVE_FIX
            notes = f"Found {subject} developing; fixed it before it failed."
        else:
            outcome = TicketOutcome.FALSE_ALARM
            notes = "Inspected the machine and found nothing wrong; readings back within normal ranges."
        # The simulated crew reports the error code's failure mode as found: it reads what the
        # ticket says, not the simulation's own fault, as a technician's first guess would.
        found = ""
        if outcome != TicketOutcome.FALSE_ALARM:
            found = ticket.error_code.failure_mode if ticket.error_code else FailureMode.OTHER
        ticket_resolve(
            ticket=ticket,
            actor=ticket.assignee,
            outcome=outcome,
            found_failure_mode=found,
            notes=f"{notes} {SIMULATED_NOTE}",
            at=at,
        )
        self.truth.record(self.plant.simulation.repair(machine_code=code, at=at))
        self.resolved += 1


# --- the past days' story, the same on every date ----------------------------------------------

# Below a day of replay (a later run of the demo, catching up since the last) nothing is planted.
SCENARIO_MIN_WINDOW = datetime.timedelta(days=1)
# A failure no prediction can see coming: the drive trips minutes after the fault begins.
SUDDEN_DEVELOPMENT = datetime.timedelta(minutes=10)
# How long after the failure the spare part arrives and the crew repairs the machine.
PART_ARRIVES_AFTER_FAILURE = datetime.timedelta(hours=2)
# The thrown balance weight: this long before the replay ends, so that its health model has been past
# its threshold for HEALTH_ALERT_MINUTES (60) at the replay's hourly ticks by the time the demo goes
# live; it fails days later, when nobody watching the demo is still there.
IMBALANCE_ONSET_BEFORE_END = datetime.timedelta(hours=4)
IMBALANCE_DEVELOPMENT = datetime.timedelta(hours=72)


@dataclass(frozen=True)
class HistoryScenario:
    """What the replay of the past days is made to contain besides the machines' natural faults."""

    faults: tuple[FaultRecord, ...] = ()
    holds: Mapping[str, CrewHold] = field(default_factory=dict)
    # The fault of the machine whose own health model sees it first (none: the window is too short
    # for a model to be learned before it, or no machine had a quiet past to learn from).
    departure: FaultRecord | None = None

    def lines(self) -> list[str]:
        lines = [
            f"{fault.machine_code}: {fault.failure_mode} failing at {fault.planned_failure_at:%Y-%m-%d %H:%M} UTC"
            for fault in self.faults
            if fault != self.departure
        ]
        if self.departure is not None:
            lines.append(
                f"{self.departure.machine_code}: {self.departure.failure_mode} since "
                f"{self.departure.started_at:%Y-%m-%d %H:%M} UTC, outside the normal its health model learned"
            )
        return lines


def history_scenario_plant(
    plant: SimulatedPlant, *, start: datetime.datetime, end: datetime.datetime, exclude: Collection[str] = ()
) -> HistoryScenario:
    """Failures in the replayed window, placed by its length and not by the calendar, so that the
    reports open on breakdowns and the dashboard on each kind of alert whatever the date (the natural
    faults of a few days may all be caught in time, or be none):

    - a predicted breakdown: a machine wears out a bearing; the prediction's ticket is assigned,
      but the spare bearing is on order and the machine fails before it arrives (lead time, MTTR);
    - a surprise breakdown: another machine's drive trips minutes after its fault begins, which
      only the machine's own error report announces;
    - a departure from normal: a machine with no fault in the window, so that its health model is
      learned from it, throws a balance weight a few hours before the end; its vibration steps out
      of its own normal at once and its health model raises an anomaly alert, left open for the
      person watching. Only in a window long enough for the model (HEALTH_LEARNING_DAYS after the
      features' 12 hours, and a few hours to spare).

    The first machines by code that are not excluded (the live scenario's machine) carry them; a
    window shorter than a day, or a plant of fewer than two machines, gets no scenario.
    """
    codes = [code for code in plant.machine_ids if code not in set(exclude)]
    window = end - start
    if window < SCENARIO_MIN_WINDOW or len(codes) < 2:
        return HistoryScenario()
    simulation = plant.simulation
    worn = simulation.fault_force(machine_code=codes[0], failure_at=start + 0.6 * window, failure_mode=BEARING_WEAR)
    tripped = simulation.fault_force(
        machine_code=codes[1],
        failure_at=start + 0.35 * window,
        failure_mode=ELECTRICAL_FAULT,
        development=SUDDEN_DEVELOPMENT,
    )
    part_arrives = worn.planned_failure_at + PART_ARRIVES_AFTER_FAILURE
    holds = {
        worn.machine_code: CrewHold(
            since=worn.started_at,
            until=part_arrives,
            reason="Bearing wear confirmed by the vibration trend. Spare bearing ordered; the machine keeps "
            f"running until it arrives ({part_arrives:%Y-%m-%d %H:%M} UTC).",
        )
    }
    departure = _departure_plant(plant, start=start, end=end, codes=codes[2:])
    if departure is None:
        return HistoryScenario(faults=(worn, tripped), holds=holds)
    holds[departure.machine_code] = CrewHold(since=departure.started_at)
    return HistoryScenario(faults=(worn, tripped, departure), holds=holds, departure=departure)


def _departure_plant(
    plant: SimulatedPlant, *, start: datetime.datetime, end: datetime.datetime, codes: Collection[str]
) -> FaultRecord | None:
    onset = end - IMBALANCE_ONSET_BEFORE_END
    learned_by = start + datetime.timedelta(days=settings.HEALTH_LEARNING_DAYS, hours=12 + 1)
    if learned_by > onset - datetime.timedelta(hours=1):
        return None
    simulation = plant.simulation
    for code in codes:
        if IMBALANCE in simulation.fault_modes(code) and not simulation.faults_between(
            machine_code=code, start=start, end=end
        ):
            return simulation.fault_force(
                machine_code=code,
                failure_at=onset + IMBALANCE_DEVELOPMENT,
                failure_mode=IMBALANCE,
                development=IMBALANCE_DEVELOPMENT,
            )
    return None
