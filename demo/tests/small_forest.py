"""The small Random Forest the demo tests run on: 16 simulated days of the demo plant ending at a fixed
instant, so that it is the same model on every date (the history it learns from depends on the
window, not on when the test runs).

16 days, not fewer: a forest from 8 days (about 20 failures) let the scenario machine's probability
sag below the clearing threshold in the last hours before its failure when "now" fell between
08:00 and 16:00 UTC (the daily load cycle it had seen too few failures across), so the live
demo's alert cleared before the machine failed; test_any_date runs the scenario at every second
hour of a day.
"""

import datetime

from django.test import override_settings

from predictor.training import TrainedArtifact, forest_train
from simulation.training_data import training_data_simulate

DAYS = 16
SEED = 1
TRAINED_UNTIL = datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)
# The same model through the command, for tests that train it in a subprocess.
TRAIN_MODELS_ARGS = (
    "train_models",
    "--kind",
    "random_forest",
    "--days",
    str(DAYS),
    "--seed",
    str(SEED),
    "--now",
    TRAINED_UNTIL.isoformat(),
    "--activate",
)


def small_forest_train(*, artifact_dir) -> TrainedArtifact:
    """Train it from the seeded demo machines into `artifact_dir` (the database must hold them)."""
    with override_settings(MODEL_ARTIFACT_DIR=artifact_dir):
        data = training_data_simulate(days=DAYS, machine_count=None, seed=SEED, mtbf_hours=200.0, end=TRAINED_UNTIL)
        return forest_train(data, seed=SEED, progress=lambda _line: None)
