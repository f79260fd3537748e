"""manage.py mqtt_listen: store the plant's telemetry from MQTT, acknowledging only what is committed."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from core.errors import error_first_line
from core.signals import stop_on_signals
from telemetry.ingest import MachineDirectory
from telemetry.listener import ListenerConfig, TelemetryListener
from telemetry.live import LiveFrames
from telemetry.mqtt import PROTOCOLS, BrokerAddress, default_client_id
from telemetry.selectors import payload_source_decoders
from telemetry.services import machine_auto_register
from telemetry.slots import ListenerSlotLease
from telemetry.sparkplug import sparkplug_decoder_from_settings


class Command(BaseCommand):
    help = (
        "Subscribe to plant/+/telemetry, the payload sources' topics (admin: Telemetry > Payload sources) "
        "and the Sparkplug B groups of SPARKPLUG_GROUPS (QoS 1, persistent session) and store every "
        "reading: one bulk write per batch, acknowledged only after commit, so nothing is lost if the "
        "listener or the database stops. Bad messages are kept as rejected messages with their reason. "
        "Stops cleanly on SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--mqtt-url", default=settings.MQTT_URL, help="Broker URL (default: MQTT_URL)")
        parser.add_argument(
            "--client-id",
            help="Stable client id: the broker keeps this listener's session (and backlog) under it "
            "(default: with --shared on PostgreSQL, the group's lowest free slot, maintainx-listener-GROUP-N; "
            "otherwise from the host name)",
        )
        parser.add_argument(
            "--shared",
            metavar="GROUP",
            help="Join the shared subscriptions $share/GROUP/<filter> so listeners split the load "
            "(Sparkplug B is not split: each listener reads every edge node)",
        )
        parser.add_argument(
            "--drain-after",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="With a slot: drain a slot of the group that no listener has held for this long, "
            "its session's share stored and the group left in its name (default 60)",
        )
        parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="5", help="MQTT version (default 5)")
        parser.add_argument("--batch-size", type=int, default=2000, help="Readings per write at most (default 2000)")
        parser.add_argument("--batch-age-ms", type=int, default=200, help="Longest wait to fill a batch (default 200)")
        parser.add_argument(
            "--receive-maximum",
            type=int,
            default=10_000,
            help="Unacknowledged messages the broker may send us (MQTT 5): bounds memory (default 10000)",
        )
        parser.add_argument("--stats-interval", type=float, default=10.0, help="Seconds between summary lines")

    def handle(self, *args, **options):
        if options["drain_after"] <= 0:
            raise CommandError("--drain-after must be more than 0 seconds")
        slot = None
        client_id = options["client_id"]
        if client_id is None and options["shared"]:
            try:
                slot = ListenerSlotLease.claim(options["shared"], now=timezone.now())
            except (DatabaseError, RuntimeError) as exc:
                raise CommandError(
                    f"could not take a client-id slot of the group {options['shared']!r}: {error_first_line(exc)}"
                ) from None
        if client_id is None:
            client_id = slot.client_id if slot else default_client_id("listener")
        try:
            config = ListenerConfig(
                broker=BrokerAddress.from_url(options["mqtt_url"]),
                client_id=client_id,
                protocol=options["protocol"],
                shared_group=options["shared"],
                batch_size=options["batch_size"],
                batch_max_age=options["batch_age_ms"] / 1000,
                receive_maximum=options["receive_maximum"],
                stats_interval=options["stats_interval"],
                slot_drain_after=options["drain_after"],
                slot_check_interval=min(15.0, options["drain_after"] / 2),
            )
        except ValueError as exc:
            if slot is not None:
                slot.release(now=timezone.now())
            raise CommandError(str(exc)) from None
        directory = MachineDirectory(auto_register=machine_auto_register if settings.TELEMETRY_AUTO_REGISTER else None)
        sparkplug = sparkplug_decoder_from_settings()
        listener = TelemetryListener(
            config,
            directory=directory,
            decoders=[sparkplug] if sparkplug else [],
            sources=payload_source_decoders,
            live=LiveFrames(),
            slot=slot,
        )
        if sparkplug:
            sparkplug.publish = listener.publish
        held = f" (slot {slot.slot} of the group {slot.group})" if slot else ""
        self.stdout.write(
            f"Listening on {config.broker} for {', '.join(listener.router.topic_filters())} and the payload "
            f"sources' topics as {config.client_id}{held}. Ctrl-C stops."
        )
        with stop_on_signals(listener.request_stop):
            stopped_cleanly = listener.run()
        if listener.slot_lost:
            raise CommandError(f"stopped: {config.client_id} went to another listener (its lock was lost)")
        if not stopped_cleanly:
            raise CommandError("stopped with a batch uncommitted (database unavailable); the broker keeps it")
