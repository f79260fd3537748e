"""manage.py healthcheck: is this install ready? For container health checks of the processes that serve no HTTP."""

from django.core.management.base import BaseCommand, CommandError

from operations.health import readiness


class Command(BaseCommand):
    help = (
        "Check that the database and the channel layer answer (and with --broker, that the MQTT broker "
        "accepts our credentials); print one line per check. Exits 0 when all pass, 1 otherwise: the "
        "listener's and predictor's health check in docker compose. The web process serves the same "
        "checks at /readyz."
    )

    def add_arguments(self, parser):
        parser.add_argument("--broker", action="store_true", help="Also check the MQTT broker (MQTT_URL)")

    def handle(self, *args, broker: bool, **options):
        checks = readiness(broker=broker)
        for check in checks:
            mark = "ok  " if check.ok else "FAIL"
            self.stdout.write(f"{mark} {check.name:<14} {check.detail} ({check.milliseconds:g} ms)")
        failed = [check.name for check in checks if not check.ok]
        if failed:
            raise CommandError(f"not ready: {', '.join(failed)}")
