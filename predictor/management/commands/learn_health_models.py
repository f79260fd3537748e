"""manage.py learn_health_models: learn (or relearn) the machines' health models now."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from predictor.health import health_learning_pass, machine_learn
from telemetry.models import Machine


class Command(BaseCommand):
    help = (
        "Learn the health models that are due now (run_predictor does this a few machines between two ticks), "
        "or those of the machines named, due or not. Each learns from its own usable history (alerts, tickets "
        "and the days before a breakdown left out) once it has HEALTH_LEARNING_DAYS of it; otherwise it says "
        "how far it has got."
    )

    def add_arguments(self, parser):
        parser.add_argument("machines", nargs="*", metavar="CODE", help="Machine codes (default: every machine due)")

    def handle(self, *args, machines, **options):
        if machines:
            found = {machine.code: machine for machine in Machine.objects.filter(code__in=machines)}
            unknown = sorted(set(machines) - set(found))
            if unknown:
                raise CommandError(f"no machine {', '.join(unknown)}")
            now = timezone.now()
            outcomes = [machine_learn(found[code], now=now) for code in machines]
        else:
            outcomes = health_learning_pass()
        for outcome in outcomes:
            if outcome.model_version is None:
                self.stdout.write(f"{outcome.machine_code}: learning, {outcome.learned_days:.1f} usable days so far")
            else:
                self.stdout.write(
                    f"{outcome.machine_code}: learned {outcome.model_version.version} from "
                    f"{outcome.learned_days:.1f} usable days"
                )
        self.stdout.write(f"{len(outcomes)} machine(s) looked at")
