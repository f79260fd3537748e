"""Glue between the pure plant simulation (simulation.engine) and Django and MQTT.

Loads the machines to simulate, writes history through `readings_ingest`, publishes live readings
over MQTT, records the ground truth (JSON lines and SimulatedFault rows) and turns resolved tickets
into repairs. `manage.py simulate_plant` only parses arguments and wires these together; the tests
call them directly.
"""

import datetime
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import paho.mqtt.client as mqtt
from django.utils import timezone

from catalogue.selectors import error_code_by_failure_mode
from simulation.engine import (
    DEFAULT_ERROR_CODES,
    REPAIRED,
    FaultEvent,
    LiveClock,
    MachineProfile,
    MetricRange,
    PlantSimulation,
    SimulatedReading,
    history_instants,
)
from simulation.profiles import DEMO_PROFILE_PATH, MachineTypeProfile, PlantProfile, ProfileError, plant_profile_load
from simulation.services import simulated_faults_save
from telemetry.ingest import ReadingRow
from telemetry.models import MetricSpec
from telemetry.mqtt import BrokerAddress, client_create, connect_options, telemetry_topic
from telemetry.selectors import machine_list
from telemetry.services import readings_ingest
from tickets.selectors import tickets_resolved_since

HISTORY_CHUNK_ROWS = 20_000
QOS = 1


# --- the plant from the database --------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedPlant:
    simulation: PlantSimulation
    machine_ids: dict[str, int]  # code -> Machine.id, in code order


def plant_load(
    *, machine_count: int | None, seed: int, mtbf_hours: float | None = None, profile: PlantProfile | None = None
) -> SimulatedPlant:
    """The first `machine_count` machines by code (all when None), calibrated by their types' metric specs.

    The plant profile (the demo plant's by default) gives the fault kinds, downtimes, noise, the
    plant's UTC offset (unless it leaves it to TIME_ZONE), its MTBF (unless `mtbf_hours` is given),
    and how each metric of its machine types behaves (role, baseline shift); the limits are the
    database's, which a supervisor may have edited since the seed.
    """
    profile = profile if profile is not None else plant_profile_load(DEMO_PROFILE_PATH)
    machines = list(machine_list().order_by("code")[:machine_count])
    profiles = [
        MachineProfile(
            code=machine.code,
            metrics=tuple(
                _metric_range(spec, profile.machine_type(machine.machine_type.name))
                for spec in machine.machine_type.metrics.all()
            ),
            machine_type=machine.machine_type.name,
        )
        for machine in machines
    ]
    try:
        simulation = profile.simulation(
            seed=seed,
            machines=profiles,
            mtbf_hours=mtbf_hours,
            error_codes=error_codes_by_failure_mode(),
            utc_offset_hours=profile.utc_offset_hours
            if profile.utc_offset_hours is not None
            else plant_utc_offset_hours(),
        )
    except ValueError as exc:
        raise ProfileError(f"{profile.path}: cannot play the machines in the database: {exc}") from exc
    return SimulatedPlant(simulation=simulation, machine_ids={machine.code: machine.id for machine in machines})


def _metric_range(spec: MetricSpec, machine_type: MachineTypeProfile | None) -> MetricRange:
    """The database's limits; the profile's role and baseline shift where its type has this metric."""
    metric = machine_type.metric(spec.name) if machine_type is not None else None
    shape = {}
    if metric is not None:
        shape = {
            "role": metric.role,
            "baseline_scale": metric.baseline_scale,
            "baseline_offset": metric.baseline_offset,
        }
    return MetricRange(spec.name, spec.normal_min, spec.normal_max, spec.alarm_min, spec.alarm_max, **shape)


def error_codes_by_failure_mode() -> dict[str, str]:
    """The code each failure mode reports: the one predictions open tickets with, else the demo's."""
    codes = error_code_by_failure_mode()
    return {mode: codes[mode].code if mode in codes else default for mode, default in DEFAULT_ERROR_CODES.items()}


def plant_utc_offset_hours() -> float:
    """The plant's offset from UTC today (settings.TIME_ZONE): the load cycle peaks in its afternoon.

    Taken once per run; a daylight-saving change during a run shifts the peak by an hour, which
    nothing downstream can tell from load noise.
    """
    offset = timezone.localtime().utcoffset()
    return offset.total_seconds() / 3600.0 if offset else 0.0


# --- ground truth -----------------------------------------------------------------------------


def fault_event_json(event: FaultEvent, *, seed: int) -> dict:
    fault = event.fault
    return {
        "event": event.event,
        "machine": fault.machine_code,
        "failure_mode": fault.failure_mode,
        "error_code": fault.error_code,
        "started_at": fault.started_at.isoformat(),
        "planned_failure_at": fault.planned_failure_at.isoformat(),
        "failed_at": fault.failed_at.isoformat() if fault.failed_at else None,
        "repaired_at": fault.repaired_at.isoformat() if fault.repaired_at else None,
        "seed": seed,
    }


class GroundTruthRecorder:
    """Every fault start, failure and repair: one JSON line each, and one SimulatedFault row per fault."""

    def __init__(self, *, path: Path, seed: int, machine_ids: Mapping[str, int]):
        self.path = path
        self.seed = seed
        self.machine_ids = machine_ids
        self.events_recorded = 0

    def record(self, events: Sequence[FaultEvent]) -> None:
        if not events:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as truth_file:
            truth_file.writelines(
                json.dumps(fault_event_json(event, seed=self.seed), separators=(",", ":")) + "\n" for event in events
            )
        simulated_faults_save(faults=[event.fault for event in events], seed=self.seed, machine_ids=self.machine_ids)
        self.events_recorded += len(events)


# --- history ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryProgress:
    simulated_at: datetime.datetime
    fraction_done: float
    readings: int


class HistoryReplayHook(Protocol):
    """What history_write calls to live the history instead of only writing it."""

    every_seconds: float

    def after(self, simulated_now: datetime.datetime) -> None: ...


@dataclass(frozen=True)
class HistoryResult:
    readings: int
    stored: int
    duplicates: int
    fault_events: int
    failures: int
    seconds: float
    interrupted: bool


def history_write(
    *,
    plant: SimulatedPlant,
    start: datetime.datetime,
    end: datetime.datetime,
    step_seconds: float,
    truth: GroundTruthRecorder,
    chunk_rows: int = HISTORY_CHUNK_ROWS,
    stop: threading.Event | None = None,
    progress: Callable[[HistoryProgress], None] | None = None,
    progress_every_s: float = 3.0,
    replay: "HistoryReplayHook | None" = None,
) -> HistoryResult:
    """Simulate [start, end) at `step_seconds` straight into the database, in bulk writes of ~`chunk_rows`.

    The ground truth of the window is written once at the end (also when stopped early), in one
    bulk write: a fault seen in several chunks is one row either way.

    With `replay`, the history is lived rather than only written: it is written in slices of
    `replay.every_seconds` of simulated time, the machines' failure reports count as of the end of
    their slice (so they raise alerts and breakdowns as they would have live), and after each
    slice `replay.after` runs with the slice's end (the predictor, the technicians).
    """
    began = time.monotonic()
    last_progress = began
    simulation = plant.simulation
    failures_before = simulation.failures
    span_s = max((end - start).total_seconds(), 1e-9)
    rows: list[ReadingRow] = []
    events: list[FaultEvent] = []
    readings = stored = duplicates = 0
    interrupted = False

    def flush(*, reports_now: datetime.datetime | None = None) -> None:
        nonlocal stored, duplicates
        if rows:
            result = readings_ingest(rows=rows, reports_now=reports_now)
            stored += result.stored
            duplicates += result.duplicates
            rows.clear()

    slice_end = start + datetime.timedelta(seconds=replay.every_seconds) if replay else None
    try:
        for ts in history_instants(start=start, end=end, step_seconds=step_seconds):
            if replay is not None and ts >= slice_end:
                flush(reports_now=slice_end)
                replay.after(slice_end)
                slice_end += datetime.timedelta(seconds=replay.every_seconds)
            tick = simulation.tick(ts)
            rows.extend(_reading_row(reading, plant.machine_ids) for reading in tick.readings)
            events.extend(tick.events)
            readings += len(tick.readings)
            if replay is None and len(rows) >= chunk_rows:
                flush()
                if stop is not None and stop.is_set():
                    interrupted = True
                    break
                if progress is not None and time.monotonic() - last_progress >= progress_every_s:
                    last_progress = time.monotonic()
                    progress(HistoryProgress(ts, (ts - start).total_seconds() / span_s, readings))
        flush(reports_now=end if replay else None)
        if replay is not None:
            replay.after(end)
    finally:
        truth.record(events)
    return HistoryResult(
        readings=readings,
        stored=stored,
        duplicates=duplicates,
        fault_events=len(events),
        failures=simulation.failures - failures_before,
        seconds=time.monotonic() - began,
        interrupted=interrupted,
    )


def _reading_row(reading: SimulatedReading, machine_ids: Mapping[str, int]) -> ReadingRow:
    return ReadingRow(
        machine_id=machine_ids[reading.machine_code],
        machine_code=reading.machine_code,
        ts=reading.ts,
        metrics=reading.metrics,
        error_code=reading.error_code,
    )


# --- live: MQTT -------------------------------------------------------------------------------


def payload_encode(reading: SimulatedReading) -> bytes:
    """The payload contract of DESIGN.md: ts as ISO-8601 with its offset, metrics, and the error code if any."""
    document: dict = {"ts": reading.ts.isoformat(), "metrics": reading.metrics}
    if reading.error_code:
        document["error_code"] = reading.error_code
    return json.dumps(document, separators=(",", ":")).encode()


class BrokerUnavailableError(Exception):
    pass


class TelemetryPublisher:
    """Publishes readings at QoS 1 over one paho client and counts the broker's acknowledgements.

    paho queues messages while the connection is down and sends them once it is back; the queue is
    bounded so that an outage of hours costs a known amount of memory, like a sensor's buffer.
    """

    MAX_QUEUED = 50_000

    def __init__(self, *, url: str, client_id: str, protocol: str = "5"):
        self.address = BrokerAddress.from_url(url)
        self.protocol = protocol
        self.client = client_create(self.address, client_id=client_id, protocol=protocol)
        self.client.max_queued_messages_set(self.MAX_QUEUED)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self._connected = threading.Event()
        self._connect_failure: str | None = None
        self._lock = threading.Lock()
        self.sent = 0
        self.acknowledged = 0
        self.dropped = 0

    def connect(self, *, timeout_s: float = 10.0) -> None:
        try:
            self.client.connect(
                self.address.host,
                self.address.port,
                keepalive=30,
                **connect_options(protocol=self.protocol, persistent=False),
            )
        except OSError as exc:
            raise BrokerUnavailableError(f"cannot reach the MQTT broker at {self.address}: {exc}") from exc
        self.client.loop_start()
        if not self._connected.wait(timeout_s):
            self.client.loop_stop()
            reason = self._connect_failure or f"no answer within {timeout_s:g} s"
            raise BrokerUnavailableError(f"the MQTT broker at {self.address} refused the connection: {reason}")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._connect_failure = str(reason_code)
        else:
            self._connected.set()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self.acknowledged += 1

    def publish(self, reading: SimulatedReading) -> None:
        info = self.client.publish(telemetry_topic(reading.machine_code), payload_encode(reading), qos=QOS)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self.dropped += 1
            return
        with self._lock:
            self.sent += 1

    @property
    def unacknowledged(self) -> int:
        with self._lock:
            return self.sent - self.acknowledged

    def flush(self, *, timeout_s: float = 10.0) -> bool:
        """Wait until the broker has acknowledged every message sent; False if it has not in time."""
        deadline = time.monotonic() + timeout_s
        while self.unacknowledged > 0:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# --- live: tickets ----------------------------------------------------------------------------


class ResolvedTicketWatcher:
    """Tickets of the simulated machines resolved since the last look: the technicians' repairs.

    Looks back a little past the last resolution seen, because a ticket resolved just before our
    previous query may commit just after it; ticket ids already handled are skipped.
    """

    LOOK_BACK = datetime.timedelta(seconds=60)

    def __init__(self, *, machine_codes: Iterable[str], since: datetime.datetime):
        self.machine_codes = list(machine_codes)
        self.since = since
        self._handled: dict[int, datetime.datetime] = {}

    def poll(self) -> list[tuple[str, datetime.datetime]]:
        """(machine code, resolved_at) of each newly resolved ticket, oldest first."""
        resolved = tickets_resolved_since(machine_codes=self.machine_codes, since=self.since - self.LOOK_BACK)
        news = []
        for ticket_id, machine_code, resolved_at in resolved:
            if ticket_id in self._handled:
                continue
            self._handled[ticket_id] = resolved_at
            news.append((machine_code, resolved_at))
            self.since = max(self.since, resolved_at)
        # Forget what has fallen out of the look-back window, so the memory stays small.
        horizon = self.since - self.LOOK_BACK
        self._handled = {ticket_id: at for ticket_id, at in self._handled.items() if at > horizon}
        return news


# --- live: the loop ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveProgress:
    simulated_at: datetime.datetime
    published: int
    acknowledged: int
    developing: int
    down: int
    failures: int
    behind_s: float  # how far the loop lags its schedule


@dataclass(frozen=True)
class LiveResult:
    ticks: int
    published: int
    repairs: int
    failures: int


def live_run(
    *,
    plant: SimulatedPlant,
    clock: LiveClock,
    publish: Callable[[SimulatedReading], None],
    truth: GroundTruthRecorder,
    stop: threading.Event,
    duration_s: float | None = None,
    tickets: ResolvedTicketWatcher | None = None,
    ticket_poll_s: float = 3.0,
    progress: Callable[[LiveProgress], None] | None = None,
    progress_every_s: float = 5.0,
    acknowledged: Callable[[], int] = lambda: 0,
    monotonic: Callable[[], float] = time.monotonic,
) -> LiveResult:
    """Publish tick after tick until `stop` is set or `duration_s` has passed.

    Tick k is published at wall offset k/rate from the start, computed from the start every time
    so that a slow tick makes the loop late once, never for good: a late loop publishes at once
    until it has caught up.
    """
    simulation = plant.simulation
    failures_before = simulation.failures
    last_tick = clock.last_tick(duration_s=duration_s) if duration_s is not None else None
    started = monotonic()
    next_ticket_poll = started + ticket_poll_s
    next_progress = started + progress_every_s
    published = repairs = 0
    tick = 0
    while not stop.is_set() and (last_tick is None or tick <= last_tick):
        delay = started + clock.wall_offset(tick) - monotonic()
        if delay > 0 and stop.wait(delay):
            break
        simulated_at = clock.simulated_at(tick)
        result = simulation.tick(simulated_at)
        for reading in result.readings:
            publish(reading)
        published += len(result.readings)
        truth.record(result.events)
        now = monotonic()
        if tickets is not None and now >= next_ticket_poll:
            next_ticket_poll = now + ticket_poll_s
            for machine_code, _resolved_at in tickets.poll():
                # The repair takes effect at the simulated present: the wall clock of the
                # resolution means nothing on a clock that runs faster.
                events = simulation.repair(machine_code=machine_code, at=simulated_at)
                repairs += sum(1 for event in events if event.event == REPAIRED)
                truth.record(events)
        if progress is not None and now >= next_progress:
            next_progress = now + progress_every_s
            state = simulation.state()
            progress(
                LiveProgress(
                    simulated_at=simulated_at,
                    published=published,
                    acknowledged=acknowledged(),
                    developing=state.developing,
                    down=state.down,
                    failures=state.failures - failures_before,
                    behind_s=max(0.0, now - started - clock.wall_offset(tick)),
                )
            )
        tick += 1
    return LiveResult(ticks=tick, published=published, repairs=repairs, failures=simulation.failures - failures_before)
