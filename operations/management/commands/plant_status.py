"""manage.py plant_status: a one-screen text summary of the plant and of the processes that feed it."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from operations.plant_status import plant_status_read, plant_status_text


class Command(BaseCommand):
    help = (
        "Print a one-screen summary: machines by state, running machines the listener has not heard from "
        "in 5 minutes, how fresh the newest reading and prediction are (is the listener, is the predictor "
        "running?), open alerts, open and in-progress tickets (unassigned, escalated), and the active models."
    )

    def handle(self, *args, **options):
        self.stdout.write(plant_status_text(plant_status_read(now=timezone.now())))
