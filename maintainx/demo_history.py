"""The demo plant's recent past, lived through the real pipeline rather than made up.

Before the demo goes live it simulates the last days of the plant (telemetry.simulation_runner.
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
from collections.abc import Mapping
from dataclasses import dataclass

from predictor.scoring import Scorer
from telemetry.simulation_runner import GroundTruthRecorder, SimulatedPlant
from telemetry.simulator import DEVELOPING
from tickets.models import Ticket, TicketOutcome, TicketStatus
from tickets.selectors import breakdown_open, tickets_in_hand
from tickets.services import WorkflowError, ticket_resolve, ticket_start

logger = logging.getLogger(__name__)

SIMULATED_NOTE = "(simulated history: written by the demo's replay of the past days)"
# Without an SOP a job takes this long; with one, the sum of its steps' estimates.
DEFAULT_JOB = datetime.timedelta(hours=2)


@dataclass(frozen=True)
class CrewHabits:
    """How the simulated technicians work: seeded per ticket, so a replay is reproducible."""

    respond_minutes: tuple[float, float] = (10.0, 75.0)  # from assignment to starting work
    pace: tuple[float, float] = (0.8, 1.4)  # actual job time ÷ the SOP's estimate


class PlantReplay:
    """history_write's replay hook: after each slice of simulated time, the predictor and the crew."""

    def __init__(
        self,
        *,
        plant: SimulatedPlant,
        scorer: Scorer,
        truth: GroundTruthRecorder,
        seed: int,
        left_alone: Mapping[str, datetime.datetime] | None = None,
        # Hourly: fine enough for faults that develop over hours and for the crew's timing, and it
        # keeps a week's replay to a few hundred predictor ticks.
        every_seconds: float = 3600.0,
        habits: CrewHabits = CrewHabits(),
    ):
        self.plant = plant
        self.scorer = scorer
        self.truth = truth
        self.seed = seed
        # Machine code → from when the crew leaves its tickets to the person watching the demo (the
        # scenario's fault); its earlier faults are worked like any other machine's.
        self.left_alone = dict(left_alone or {})
        self.every_seconds = every_seconds
        self.habits = habits
        self.ticks = self.started = self.resolved = 0

    def after(self, simulated_now: datetime.datetime) -> None:
        # The crew first: what they started within the slice is not escalated at its end.
        self._crew_works(at=simulated_now)
        self.scorer.tick(now=simulated_now)
        self.ticks += 1

    def _crew_works(self, *, at: datetime.datetime) -> None:
        for assigned in tickets_in_hand():
            ticket = assigned
            leave_from = self.left_alone.get(ticket.machine.code)
            if leave_from is not None and ticket.opened_at >= leave_from:
                continue
            rng = random.Random(f"{self.seed}:crew:{ticket.pk}")  # noqa: S311 - a simulation, reproducible by seed
            start_at = (ticket.assigned_at or ticket.opened_at) + datetime.timedelta(
                minutes=rng.uniform(*self.habits.respond_minutes)
            )
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

    @staticmethod
    def _job_length(ticket: Ticket) -> datetime.timedelta:
        minutes = sum(step.estimated_minutes or 0 for step in ticket.sop.steps.all()) if ticket.sop else 0
        return datetime.timedelta(minutes=minutes) if minutes else DEFAULT_JOB

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
        ticket_resolve(ticket=ticket, actor=ticket.assignee, outcome=outcome, notes=f"{notes} {SIMULATED_NOTE}", at=at)
        self.truth.record(self.plant.simulation.repair(machine_code=code, at=at))
        self.resolved += 1
