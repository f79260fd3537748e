"""manage.py run_predictor: score every running machine every few seconds with the active models."""

import argparse
import threading

from django.core.management.base import BaseCommand

from core.signals import stop_on_signals
from predictor.challengers import ModelUpkeep
from predictor.partitions import WHOLE_PLANT, Partition
from predictor.scoring import Scorer


def partition_argument(text: str) -> Partition:
    try:
        return Partition.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class Command(BaseCommand):
    help = (
        "Every --interval seconds, score every running machine with the active Random Forest (and "
        "LSTM, when one is active): one Prediction per machine with the failure probability, the "
        "error code, the remaining useful life and the top signals; machines whose sensors are stale, "
        "flat or out of range get a sensor warning instead. Between ticks it learns the machines' health "
        "models, judges the challenger forest in shadow (promoting it by MODEL_PROMOTION) and trains a new "
        "challenger from the plant's outcomes every RETRAIN_EVERY_DAYS. Stops cleanly on SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=10.0, help="Seconds between ticks (10)")
        parser.add_argument("--once", action="store_true", help="Score once and exit")
        parser.add_argument(
            "--partition",
            type=partition_argument,
            default=WHOLE_PLANT,
            metavar="i/K",
            help="Score only the machines whose code hashes to i of K (K workers, 0/K to K-1/K, cover the "
            "plant; partition 0 also does the plant-wide jobs between ticks). Default: the whole plant",
        )

    def handle(self, *args, interval, once, partition, **options):
        stop = threading.Event()
        of_partition = "" if partition == WHOLE_PLANT else f" of partition {partition}"

        def report(result, seconds):
            self.stdout.write(
                f"scored {result.predicted} machines{of_partition}, skipped {result.skipped} with sensor warnings "
                f"in {seconds:.2f} s ({', '.join(result.models) or 'no active model'})"
            )

        with stop_on_signals(stop.set):
            # Between ticks: the champion/challenger schedule, its trainings in a thread of their own.
            scorer = Scorer(upkeep=ModelUpkeep(background=True), partition=partition)
            scorer.run(stop=stop, interval=interval, on_tick=report, once=once)
