"""manage.py mqtt_listen: store the plant's telemetry from MQTT, acknowledging only what is committed."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.signals import stop_on_signals
from telemetry.ingest import MachineDirectory
from telemetry.listener import ListenerConfig, TelemetryListener
from telemetry.live import LiveFrames
from telemetry.mqtt import PROTOCOLS, BrokerAddress, default_client_id
from telemetry.selectors import payload_source_decoders
from telemetry.services import machine_auto_register
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
            default=default_client_id("listener"),
            help="Stable client id: the broker keeps this listener's session (and backlog) under it "
            "(default: from the host name)",
        )
        parser.add_argument(
            "--shared",
            metavar="GROUP",
            help="Join the shared subscriptions $share/GROUP/<filter> so listeners split the load "
            "(Sparkplug B is not split: each listener reads every edge node)",
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
        try:
            config = ListenerConfig(
                broker=BrokerAddress.from_url(options["mqtt_url"]),
                client_id=options["client_id"],
                protocol=options["protocol"],
                shared_group=options["shared"],
                batch_size=options["batch_size"],
                batch_max_age=options["batch_age_ms"] / 1000,
                receive_maximum=options["receive_maximum"],
                stats_interval=options["stats_interval"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        directory = MachineDirectory(auto_register=machine_auto_register if settings.TELEMETRY_AUTO_REGISTER else None)
        sparkplug = sparkplug_decoder_from_settings()
        listener = TelemetryListener(
            config,
            directory=directory,
            decoders=[sparkplug] if sparkplug else [],
            sources=payload_source_decoders,
            live=LiveFrames(),
        )
        if sparkplug:
            sparkplug.publish = listener.publish
        self.stdout.write(
            f"Listening on {config.broker} for {', '.join(listener.router.topic_filters())} and the payload "
            f"sources' topics as {config.client_id}. Ctrl-C stops."
        )
        with stop_on_signals(listener.request_stop):
            stopped_cleanly = listener.run()
        if not stopped_cleanly:
            raise CommandError("stopped with a batch uncommitted (database unavailable); the broker keeps it")
