"""The whole system in one process, for `make demo`: web server, MQTT broker, listener, predictor,
notification sender and simulator, on the embedded defaults.

One process because the in-memory channel layer (no REDIS_URL) only reaches websockets of its own
process: the listener's live frames and the tickets' pushes must be sent where the web server runs.
The web server, the embedded broker (amqtt, pure Python, MQTT 3.1.1) and the websockets share one
asyncio loop; the listener, predictor, notification sender and simulator are the same blocking code
their commands run, each in a worker thread started through asgiref, so that their channel-layer
sends are carried out on that loop. With MQTT_URL set the demo uses that broker instead of embedding
one; REDIS_URL and DATABASE_URL are honoured as everywhere else. Web Push works with the demo's own
VAPID keys (var/demo-vapid.json, made on the first run) unless VAPID_* are set; email goes to the
console unless EMAIL_URL is set.
"""

import asyncio
import concurrent.futures
import contextlib
import datetime
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import connection
from django.utils import timezone

from catalogue.failure_modes import BEARING_WEAR
from core.net import free_port
from demo.history import CrewHabits, CrewHold, HistoryScenario, PlantReplay, history_scenario_plant
from notifications.services import NotificationSender, notifications_still_news_unread
from notifications.vapid import vapid_keys_file_load_or_create
from predictor.challengers import ModelUpkeep, shadow_evaluation
from predictor.scoring import Scorer
from predictor.selectors import active_model_versions, challenger_version
from predictor.services import model_version_activate, model_version_make_challenger
from simulation.engine import LiveClock
from simulation.profiles import PlantProfile, plant_profile_load
from simulation.runner import (
    GroundTruthRecorder,
    HistoryResult,
    ResolvedTicketWatcher,
    SimulatedPlant,
    TelemetryPublisher,
    history_write,
    live_run,
    plant_load,
)
from telemetry.ingest import MachineDirectory
from telemetry.listener import ListenerConfig, TelemetryListener
from telemetry.live import LiveFrames
from telemetry.mqtt import BrokerAddress, default_client_id
from telemetry.selectors import newest_reading_ts, payload_source_decoders
from telemetry.services import hours_rollup
from telemetry.sparkplug import sparkplug_decoder_from_settings

logger = logging.getLogger(__name__)

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    # None: embed a broker; otherwise the broker at this URL (MQTT_URL).
    mqtt_url: str | None = None
    seed: int = 1
    # The scenario: this machine is developing a fault that ends in failure this long after start-up.
    fail_soon: str | None = "M-007"
    fail_soon_minutes: float = 5.0
    # Bearing wear by default: its vibration trend is the one a newcomer sees on the chart at once,
    # and a fixed kind makes every first demo tell the same story (None: drawn from the seed).
    fail_soon_mode: str | None = BEARING_WEAR
    # The plant's past, replayed through the pipeline before going live (demo.history), so that the
    # reports have days to show (about 30 s a simulated day on 2 cores); at least the predictor's
    # longest window (12 h). 4 days: the health models' 3 days of learning after the features' first
    # 12 hours, and hours to spare, so most machines are watched by their own model before the demo
    # goes live and one of them has already stepped out of its normal (demo.history's scenario).
    history_days: float = 4.0
    rate: float = 1.0
    predict_interval: float = 10.0
    # The simulator's ground truth (JSON lines, appended to), as simulate_plant writes it.
    truth_path: Path = settings.BASE_DIR / "var" / "simulator" / "ground_truth.jsonl"
    # The plant to play (simulation.profiles); None: the demo plant.
    profile: PlantProfile | None = None
    # Seconds between the notification sender's passes; a commit that queues a delivery wakes it sooner.
    notify_interval: float = 2.0

    @property
    def plant_profile(self) -> PlantProfile:
        return self.profile if self.profile is not None else plant_profile_load()


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the demo's handler stops every part, not only the web."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def broker_embedded_start(*, host: str):
    """amqtt on a free port of this loop, anonymous, no $SYS topics; returns (broker, url)."""
    from amqtt.broker import Broker  # noqa: PLC0415 - only the demo embeds a broker

    port = free_port()
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
    )
    await broker.start()
    return broker, f"mqtt://{host}:{port}"


class DemoRuntime:
    """Starts the parts in order, stops them in reverse on `request_stop()` or when one of them fails."""

    def __init__(self, options: DemoOptions, *, say: Say):
        self.options = options
        self.say = say
        self.stop = threading.Event()
        self.broker = None
        self.mqtt_url = options.mqtt_url
        self.protocol = "5" if options.mqtt_url else "3.1.1"  # amqtt speaks MQTT 3.1.1
        self.listener: TelemetryListener | None = None
        self.server: _EmbeddedServer | None = None
        self.notifier = NotificationSender()
        self.ticks = 0
        # One scorer for the replay of the past and the live ticks: the models load once. Between live
        # ticks it runs the champion/challenger schedule, as run_predictor does.
        self.scorer = Scorer(upkeep=ModelUpkeep(background=True))
        # Set by _plant_prepare, used by the simulator.
        self._clock: LiveClock | None = None
        self._truth: GroundTruthRecorder | None = None
        # Long-running blocking parts, one thread each; not the loop's default executor, which
        # Django's sync views and the consumers' database calls use.
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=5, thread_name_prefix="demo")

    def _in_thread(self, function: Callable, *args) -> asyncio.Future:
        return asyncio.ensure_future(SyncToAsync(function, thread_sensitive=False, executor=self._executor)(*args))

    def request_stop(self) -> None:
        if self.stop.is_set() and self.server is not None:
            self.server.force_exit = True  # a second Ctrl-C: stop waiting for open connections
        self.stop.set()
        self.notifier.request_stop()
        if self.listener is not None:
            self.listener.request_stop()
        if self.server is not None:
            self.server.should_exit = True

    async def run(self) -> None:
        # The embedded broker narrates every connection and state change at INFO.
        for chatty in ("amqtt", "transitions"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_stop)
        try:
            await self._run()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            self._executor.shutdown(wait=False)

    async def _run(self) -> None:
        options = self.options
        if self.mqtt_url is None:
            self.broker, self.mqtt_url = await broker_embedded_start(host="127.0.0.1")
            self.say(f"Embedded MQTT broker on {self.mqtt_url}")
        else:
            self.say(f"MQTT broker {self.mqtt_url} (MQTT_URL)")
        parts: list[asyncio.Future] = []
        try:
            plant = await self._in_thread(self._plant_prepare)
            self.listener = self._listener_create()
            parts.append(self._in_thread(self._listener_run))
            await self._in_thread(self._listener_wait_subscribed)
            parts.append(self._in_thread(self._notifier_run))
            parts.append(self._in_thread(self._predictor_run))
            parts.append(self._in_thread(self._simulator_run, plant))
            self.server = _EmbeddedServer(
                uvicorn.Config(
                    "maintainx.asgi:application",
                    host=options.host,
                    port=options.port,
                    lifespan="off",
                    log_level="warning",
                )
            )
            parts.append(asyncio.ensure_future(self.server.serve()))
            self.say(f"MaintainX demo on http://{options.host}:{options.port}/  (Ctrl-C stops it)")
            done, _ = await asyncio.wait(parts, return_when=asyncio.FIRST_COMPLETED)
            if not self.stop.is_set():
                failed = next(iter(done))
                self.say("A part of the demo stopped unexpectedly; stopping the rest.")
                failed.result()  # raises what stopped it
        finally:
            self.request_stop()
            results = await asyncio.gather(*parts, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                    logger.error("demo part failed", exc_info=result)
            if self.broker is not None:
                await self.broker.shutdown()
        self.say(f"Stopped. {self.ticks} predictor ticks.")

    # --- the parts, each run in its own thread ------------------------------------------------

    def _plant_prepare(self) -> SimulatedPlant:
        """The simulated plant with its past replayed up to now (demo_past_replay)."""
        options = self.options
        try:
            plant = plant_load(machine_count=None, seed=options.seed, profile=options.plant_profile)
            if not plant.machine_ids:
                raise RuntimeError("there are no machines: run `manage.py seed_demo` first")
            self._truth = GroundTruthRecorder(path=options.truth_path, seed=options.seed, machine_ids=plant.machine_ids)
            demo_past_replay(
                options,
                plant=plant,
                scorer=self.scorer,
                truth=self._truth,
                end=timezone.now(),
                stop=self.stop,
                say=self.say,
            )
            # Live time starts now, not when the history began to be written: readings are never late.
            self._clock = LiveClock.ending_at_present(
                now=timezone.now(), rate=options.rate, speedup=1.0, duration_s=None
            )
            return plant
        finally:
            connection.close()

    def _listener_create(self) -> TelemetryListener:
        sparkplug = sparkplug_decoder_from_settings()
        listener = TelemetryListener(
            ListenerConfig(
                broker=BrokerAddress.from_url(self.mqtt_url),
                client_id=default_client_id("demo-listener"),
                protocol=self.protocol,
                stats_interval=60.0,
            ),
            directory=MachineDirectory(),
            decoders=[sparkplug] if sparkplug else [],
            sources=payload_source_decoders,
            live=LiveFrames(),
        )
        if sparkplug:
            sparkplug.publish = listener.publish
        return listener

    def _listener_run(self) -> None:
        if not self.listener.run():
            raise RuntimeError("the listener stopped with a batch uncommitted")

    def _listener_wait_subscribed(self) -> None:
        # A reading published before the first subscription would have no session to wait in.
        while not self.listener.subscribed.wait(timeout=0.5):
            if self.stop.is_set():
                return

    def _notifier_run(self) -> None:
        self.notifier.run(interval=self.options.notify_interval)  # it closes its database connection

    def _predictor_run(self) -> None:
        def first_tick_said(result, seconds):
            self.ticks += 1
            if self.ticks == 1:
                self.say(
                    f"Predictor: scored {result.predicted} machines in {seconds:.1f} s "
                    f"({', '.join(result.models) or 'no active model: run make demo-models'})"
                )

        try:
            self.scorer.run(stop=self.stop, interval=self.options.predict_interval, on_tick=first_tick_said)
        finally:
            connection.close()

    def _simulator_run(self, plant: SimulatedPlant) -> None:
        publisher = TelemetryPublisher(
            url=self.mqtt_url, client_id=default_client_id("demo-simulator"), protocol=self.protocol
        )
        publisher.connect()
        try:
            live_run(
                plant=plant,
                clock=self._clock,
                publish=publisher.publish,
                truth=self._truth,
                stop=self.stop,
                tickets=ResolvedTicketWatcher(machine_codes=plant.machine_ids, since=timezone.now()),
            )
        finally:
            publisher.flush(timeout_s=5.0)
            publisher.close()
            connection.close()


@dataclass(frozen=True)
class PastReplayed:
    history: HistoryResult
    replay: PlantReplay
    scenario: HistoryScenario


def demo_past_replay(
    options: DemoOptions,
    *,
    plant: SimulatedPlant,
    scorer: Scorer,
    truth: GroundTruthRecorder,
    end: datetime.datetime,
    stop: threading.Event | None = None,
    say: Say,
) -> PastReplayed:
    """Plant the live scenario's fault (it fails `fail_soon_minutes` after `end`) and live the past up
    to `end` through the pipeline: from the newest stored reading (a demo that ran before) or
    `history_days` before `end`, whichever is later. A first run's window also gets the history
    scenario (demo.history.history_scenario_plant), so the reports have breakdowns on any date."""
    holds = {}
    if options.fail_soon:
        fault = plant.simulation.fault_force(
            machine_code=options.fail_soon,
            failure_at=end + datetime.timedelta(minutes=options.fail_soon_minutes),
            failure_mode=options.fail_soon_mode,
            started_before=end,
        )
        holds[options.fail_soon] = CrewHold(since=fault.started_at)
        say(
            f"Scenario: {options.fail_soon} is developing {fault.failure_mode} ({fault.error_code}) and "
            f"fails in {options.fail_soon_minutes:g} minutes unless its ticket is resolved first."
        )
    start = end - datetime.timedelta(days=options.history_days)
    newest = newest_reading_ts()
    if newest is not None and newest > start:
        start = newest + datetime.timedelta(seconds=1)
    scenario = history_scenario_plant(
        plant, start=start, end=end, exclude=[options.fail_soon] if options.fail_soon else []
    )
    holds |= scenario.holds
    habits = CrewHabits.of_crew(options.plant_profile.crew)
    replay = PlantReplay(plant=plant, scorer=scorer, truth=truth, seed=options.seed, holds=holds, habits=habits)
    for active in active_model_versions().values():
        if active.activated_at is None or active.activated_at > start:
            # The replayed past runs with it: its alerts there are its own (shadow_evaluation judges the
            # active forest from its activation on). Same who and why, from the replay's start.
            model_version_activate(model_version=active, by=active.activated_by, note=active.activation_note, at=start)
    challenger = challenger_version()
    if challenger is not None and (challenger.shadow_since is None or challenger.shadow_since > start):
        # The challenger shadows the replayed past too, so its figures and the active forest's are there at once.
        challenger = model_version_make_challenger(model_version=challenger, at=start)
    say(f"Replaying the plant from {start:%Y-%m-%d %H:%M} UTC to now ...")
    for line in scenario.lines():
        say(f"  in the past days: {line}")
    replay_began = timezone.now()
    history = history_write(plant=plant, start=start, end=end, step_seconds=60.0, truth=truth, stop=stop, replay=replay)
    left_to_people = notifications_still_news_unread(recorded_since=replay_began)
    say(
        f"History: {history.stored:,} readings, {history.failures} failures, {replay.ticks} predictor ticks, "
        f"{replay.resolved} tickets worked by the simulated crew, in {history.seconds:.0f} s."
    )
    if left_to_people:
        say(f"Unread on their bells: {left_to_people} open tickets the replay assigned.")
    # The replayed days' hours at once (the listener would roll them up a budget at a time): the
    # 30-day and 1-year charts read the per-hour roll-ups.
    rolled = hours_rollup(now=end)
    if rolled.rolled_up_to is not None:
        say(f"Hourly roll-ups: {rolled.hours:,} rows, up to {rolled.rolled_up_to:%Y-%m-%d %H:%M} UTC.")
    if challenger is not None:
        report = shadow_evaluation(challenger, now=end)
        say(f"Challenger {challenger.version} in shadow since {report['since'][:16]}: {report['verdict']}.")
    return PastReplayed(history=history, replay=replay, scenario=scenario)


def demo_push_keys_ensure(*, path: Path, say: Say) -> None:
    """Web Push for the demo with no VAPID keys configured: its own pair, made once into `path` (under
    the ignored var/) and kept, so that the devices' subscriptions outlive a restart of the demo."""
    if settings.VAPID_PUBLIC_KEY:
        return
    keys = vapid_keys_file_load_or_create(path, subject="mailto:maintainx@localhost")
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = keys["public_key"], keys["private_key"]
    settings.VAPID_SUBJECT = keys["subject"]
    say(f"Web Push with the demo's own VAPID keys ({path})")


def demo_options_from_environment(**overrides) -> DemoOptions:
    """The demo's options: the embedded broker unless MQTT_URL is set in the environment."""
    return DemoOptions(mqtt_url=os.environ.get("MQTT_URL") or None, **overrides)
