"""manage.py simulate_plant: the seeded machines publish simulated sensor readings over MQTT.

Thin: it parses the options, handles SIGINT/SIGTERM and prints progress; the simulation is in
simulation.engine and the wiring to the database and the broker in simulation.runner.
"""

import datetime
import threading
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.clock import instant_argument, now_or
from core.signals import stop_on_signals
from simulation.engine import FAILURE_MODES, SPEEDUP_NEEDS_DURATION, LiveClock
from simulation.profiles import ProfileError, plant_profile_load, profile_argument
from simulation.runner import (
    BrokerUnavailableError,
    GroundTruthRecorder,
    HistoryProgress,
    LiveProgress,
    ResolvedTicketWatcher,
    SimulatedPlant,
    TelemetryPublisher,
    history_write,
    live_run,
    plant_load,
)
from telemetry.mqtt import PROTOCOLS, default_client_id

DEFAULT_TRUTH_FILE = Path("var") / "simulator" / "ground_truth.jsonl"


def _positive(kind: type):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise ValueError(text)
        return value

    parse.__name__ = f"positive {kind.__name__}"  # argparse names the type in its error message
    return parse


def _not_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError(text)
    return value


_not_negative.__name__ = "non-negative number"


class Command(BaseCommand):
    help = (
        "Simulate the plant's sensors: every machine publishes readings to plant/<code>/telemetry over MQTT "
        "(QoS 1), develops faults over simulated hours and fails with its error code; a resolved ticket repairs "
        "it. --history-days writes past readings straight into the database first. Ground truth (faults, "
        "failures, repairs) goes to --truth-file and the SimulatedFault table. Stops on Ctrl-C or SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--profile",
            type=profile_argument,
            default=None,
            metavar="PATH",
            help="Plant profile (TOML) to play: fault kinds, noise, baselines, MTBF (simulation/profiles/demo.toml).",
        )
        parser.add_argument("--machines", type=_positive(int), help="Simulate the first N machines by code (all).")
        parser.add_argument(
            "--rate", type=_positive(float), default=1.0, help="Readings per machine per wall-clock second (1)."
        )
        parser.add_argument(
            "--speedup",
            type=_positive(float),
            default=1.0,
            help="Simulated seconds per wall-clock second (1); above 1 it needs --duration.",
        )
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same readings and faults (1).")
        parser.add_argument(
            "--duration", type=_positive(float), help="Wall-clock seconds to run live (until Ctrl-C or SIGTERM)."
        )
        parser.add_argument("--mqtt-url", default=settings.MQTT_URL, help="Broker URL (settings.MQTT_URL).")
        parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="5", help="MQTT version (5).")
        parser.add_argument(
            "--client-id", default=default_client_id("simulator"), help="MQTT client id (maintainx-simulator-<host>)."
        )
        parser.add_argument(
            "--history-days",
            type=_not_negative,
            default=0.0,
            help="First write this many days of history, ending where the live clock starts, into the database.",
        )
        parser.add_argument(
            "--history-step", type=_positive(float), default=60.0, help="Seconds between history readings (60)."
        )
        parser.add_argument(
            "--mtbf-hours",
            type=_positive(float),
            help="Mean simulated healthy hours between faults of a machine (the profile's mtbf_hours).",
        )
        parser.add_argument(
            "--fail-soon", metavar="CODE", help="Demo: this machine is developing a fault that fails soon."
        )
        parser.add_argument(
            "--fail-soon-minutes",
            type=_positive(float),
            default=5.0,
            help="Wall-clock minutes after the live start at which the --fail-soon machine fails (5).",
        )
        parser.add_argument(
            "--fail-soon-mode", choices=FAILURE_MODES, help="The --fail-soon fault's kind (drawn from the seed)."
        )
        parser.add_argument(
            "--truth-file",
            type=Path,
            default=settings.BASE_DIR / DEFAULT_TRUTH_FILE,
            help=f"Ground truth, JSON lines, appended to ({DEFAULT_TRUTH_FILE} under the project).",
        )
        parser.add_argument("--no-live", action="store_true", help="Write the history, then exit.")
        parser.add_argument(
            "--now",
            type=instant_argument,
            help="With --no-live: the history ends at this instant, ISO 8601 with an offset (default: now); the "
            "same --now and --seed write the same readings and faults on any date.",
        )

    def handle(self, *args, **options) -> None:
        live = not options["no_live"]
        if live and options["speedup"] > 1 and options["duration"] is None:
            raise CommandError(SPEEDUP_NEEDS_DURATION)
        if not live and not options["history_days"]:
            raise CommandError("--no-live only writes history: give --history-days too.")
        if live and options["now"] is not None:
            raise CommandError("--now goes with --no-live: live readings are published at the wall clock's time.")

        profile = options["profile"] or plant_profile_load()
        mtbf_hours = options["mtbf_hours"] or profile.mtbf_hours
        try:
            plant = plant_load(
                machine_count=options["machines"], seed=options["seed"], mtbf_hours=mtbf_hours, profile=profile
            )
        except ProfileError as exc:
            raise CommandError(str(exc)) from exc
        if not plant.machine_ids:
            raise CommandError("There are no machines to simulate: run `manage.py seed_demo` or add some in the admin.")
        clock = LiveClock.ending_at_present(
            now=now_or(options["now"]),
            rate=options["rate"],
            speedup=options["speedup"] if live else 1.0,
            duration_s=options["duration"],
        )
        truth = GroundTruthRecorder(path=options["truth_file"], seed=options["seed"], machine_ids=plant.machine_ids)
        count = len(plant.machine_ids)
        self.stdout.write(
            f"Simulating {count} machine{'s' if count != 1 else ''} ({_code_span(plant.machine_ids)}) of "
            f"{profile.name}, seed {options['seed']}, MTBF {mtbf_hours:g} h; ground truth to {options['truth_file']}"
        )
        if options["fail_soon"]:
            self._fail_soon(plant, clock, options)

        stop = threading.Event()
        with stop_on_signals(stop.set, second_interrupts=True):
            if options["history_days"]:
                self._history(plant, clock, truth, stop, options)
            if live and not stop.is_set():
                self._live(plant, clock, truth, stop, options)

    def _fail_soon(self, plant: SimulatedPlant, clock: LiveClock, options: dict) -> None:
        code = options["fail_soon"]
        if code not in plant.machine_ids:
            raise CommandError(
                f"--fail-soon {code}: not among the simulated machines ({_code_span(plant.machine_ids)})."
            )
        fault = plant.simulation.fault_force(
            machine_code=code,
            failure_at=clock.simulated_after(wall_seconds=options["fail_soon_minutes"] * 60),
            failure_mode=options["fail_soon_mode"],
            started_before=clock.start,
        )
        self.stdout.write(
            f"{code} has been developing {fault.failure_mode} ({fault.error_code}) since {_iso(fault.started_at)}; "
            f"it fails at {_iso(fault.planned_failure_at)} unless a ticket for it is resolved first."
        )

    def _history(
        self, plant: SimulatedPlant, clock: LiveClock, truth: GroundTruthRecorder, stop: threading.Event, options: dict
    ) -> None:
        end = clock.start
        start = end - datetime.timedelta(days=options["history_days"])
        self.stdout.write(f"History {_iso(start)} to {_iso(end)} every {options['history_step']:g} s ...")

        def progress(report: HistoryProgress) -> None:
            self.stdout.write(
                f"  history at {_iso(report.simulated_at)}: {report.fraction_done:.0%}, {report.readings:,} readings"
            )

        result = history_write(
            plant=plant,
            start=start,
            end=end,
            step_seconds=options["history_step"],
            truth=truth,
            stop=stop,
            progress=progress,
        )
        self.stdout.write(
            f"History {'interrupted' if result.interrupted else 'written'}: {result.readings:,} readings "
            f"({result.stored:,} new, {result.duplicates:,} already stored), {result.fault_events} fault events, "
            f"{result.failures} failures, in {result.seconds:.1f} s."
        )
        if result.duplicates:
            self.stdout.write(
                self.style.WARNING(
                    f"{result.duplicates:,} instants were already stored and kept as they were: if an earlier run "
                    "used another seed or scenario, those readings disagree with this run's ground truth."
                )
            )

    def _live(
        self, plant: SimulatedPlant, clock: LiveClock, truth: GroundTruthRecorder, stop: threading.Event, options: dict
    ) -> None:
        try:
            publisher = TelemetryPublisher(
                url=options["mqtt_url"], client_id=options["client_id"], protocol=options["protocol"]
            )
            publisher.connect()
        except (ValueError, BrokerUnavailableError) as exc:  # ValueError: not an MQTT URL
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Live: publishing to {publisher.address} as {options['client_id']!r}, {options['rate']:g} readings/s "
            f"per machine, simulated clock from {_iso(clock.start)} at x{options['speedup']:g}"
            + (f" for {options['duration']:g} s." if options["duration"] else " until Ctrl-C.")
        )

        def progress(report: LiveProgress) -> None:
            lag = f" · {report.behind_s:.1f} s behind" if report.behind_s >= 1 else ""
            self.stdout.write(
                f"[{_iso(report.simulated_at)}] published {report.published:,} (acknowledged {report.acknowledged:,})"
                f" · in fault {report.developing} · down {report.down} · failures {report.failures}{lag}"
            )

        try:
            result = live_run(
                plant=plant,
                clock=clock,
                publish=publisher.publish,
                truth=truth,
                stop=stop,
                duration_s=options["duration"],
                tickets=ResolvedTicketWatcher(machine_codes=plant.machine_ids, since=timezone.now()),
                progress=progress,
                acknowledged=lambda: publisher.acknowledged,
            )
        finally:
            flushed = publisher.flush()
            publisher.close()
        unacknowledged = "all acknowledged" if flushed else f"{publisher.unacknowledged:,} NOT acknowledged"
        dropped = f", {publisher.dropped:,} dropped while the broker was away" if publisher.dropped else ""
        self.stdout.write(
            f"Stopped after {result.ticks:,} ticks: {result.published:,} readings published ({unacknowledged}"
            f"{dropped}), {result.failures} failures, {result.repairs} repairs."
        )


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _code_span(codes: Iterable[str]) -> str:
    codes = list(codes)
    return codes[0] if len(codes) == 1 else f"{codes[0]}..{codes[-1]}"
