"""A predictor tick measures each machine type's drift from the active forest's training rows."""

import datetime

import numpy as np
import pytest
from django.conf import settings
from django.utils import timezone

from predictor.drift import DriftMonitor
from predictor.ml.artifacts import metadata_write
from predictor.ml.drift import drift_references
from predictor.ml.features import feature_names, windows_features
from predictor.ml.forest import FailureForest
from predictor.models import ModelDrift, ModelKind
from predictor.scoring import Scorer
from predictor.selectors import machine_windows
from predictor.services import model_version_register
from telemetry.ingest import ReadingRow
from telemetry.models import Machine
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory, MachineTypeFactory

pytestmark = pytest.mark.django_db

TYPES = ("Centrifugal pump", "Belt conveyor gearbox")
LEVELS = (1.8, 2.0, 2.2)


def readings(machine, *, end, level, minutes=40):
    rows = [
        ReadingRow(machine.id, machine.code, end - datetime.timedelta(minutes=m), {"vibration": level + (m % 5) / 10})
        for m in range(minutes)
    ]
    readings_ingest(rows=rows)


def plant_readings(*, end, gearbox_factor=1.0):
    """Three machines of each type, at three vibration levels; the gearboxes' scaled by `gearbox_factor`."""
    for machine in Machine.objects.select_related("machine_type").order_by("code"):
        factor = gearbox_factor if machine.machine_type.name == TYPES[1] else 1.0
        readings(machine, end=end, level=LEVELS[int(machine.name[-1])] * factor)


def forest_trained_on_the_plant(tmp_path, *, at):
    """A forest whose training rows were the plant's rows at `at`, as a tick computes them."""
    machines = list(Machine.objects.select_related("machine_type").order_by("id"))
    windows = machine_windows(end=at, hours=12.5, machines=machines)
    rows = windows_features(windows, [window.ts[-1:] for window in windows])
    types = {machine.code: machine.machine_type.name for machine in machines}
    names = feature_names()
    X = np.random.default_rng(0).normal(size=(200, len(names)))  # noqa: N806 - a feature matrix is X
    FailureForest(n_estimators=10, n_jobs=1).fit(X, X[:, 0] > 0.5, feature_names=names).save(tmp_path / "forest")
    metadata_write(
        tmp_path / "forest",
        kind=ModelKind.RANDOM_FOREST,
        data_description="generated",
        feature_names=names,
        metrics={},
        training_seconds=0.0,
        extra={
            "machine_types": list(TYPES),
            "drift_references": drift_references(rows, [types[window.machine_code] for window in windows], names),
        },
    )
    return model_version_register(
        kind=ModelKind.RANDOM_FOREST,
        version="drift",
        directory=tmp_path / "forest",
        metrics={},
        data_description="generated",
        activate=True,
    )


@pytest.fixture
def plant():
    for type_name in TYPES:
        machine_type = MachineTypeFactory(name=type_name)
        for index in range(len(LEVELS)):
            MachineFactory(machine_type=machine_type, name=f"{type_name} {index}")


def test_a_tick_records_one_drift_per_version_and_type_and_a_shifted_type_past_the_warning(plant, tmp_path):
    trained_at = timezone.now() - datetime.timedelta(hours=14)
    plant_readings(end=trained_at)
    version = forest_trained_on_the_plant(tmp_path, at=trained_at)
    scorer = Scorer()
    # A minute's sample, not a day's: each tick below is measured on its own rows.
    minute = datetime.timedelta(minutes=1)
    scorer._drift = DriftMonitor(window=minute, every=minute)

    scorer.tick(now=trained_at)
    as_trained = {drift.machine_type: drift for drift in ModelDrift.objects.filter(model_version=version)}
    # Later, past the features' 12-hour window: the gearboxes vibrate at twice their trained level.
    now = trained_at + datetime.timedelta(hours=13)
    plant_readings(end=now, gearbox_factor=2.0)
    scorer.tick(now=now)
    scorer.tick(now=now + datetime.timedelta(seconds=30))  # within the minute: not measured again

    assert set(as_trained) == set(TYPES)
    assert all(drift.psi < 0.1 and drift.sample_size == 3 for drift in as_trained.values())
    later = {drift.machine_type: drift for drift in ModelDrift.objects.all()}
    assert set(later) == set(TYPES)  # the rows were replaced, not added to
    assert later[TYPES[0]].psi < 0.1
    assert later[TYPES[1]].psi > settings.DRIFT_PSI_WARNING
    assert later[TYPES[1]].is_drifted
    assert later[TYPES[1]].feature.startswith("vibration")
    assert {drift.measured_at for drift in later.values()} == {now}


def test_a_forest_trained_before_drift_was_measured_has_no_drift_figure(plant, tmp_path):
    names = feature_names()
    X = np.random.default_rng(0).normal(size=(200, len(names)))  # noqa: N806 - a feature matrix is X
    FailureForest(n_estimators=10, n_jobs=1).fit(X, X[:, 0] > 0.5, feature_names=names).save(tmp_path / "forest")
    model_version_register(
        kind=ModelKind.RANDOM_FOREST,
        version="bare",
        directory=tmp_path / "forest",
        metrics={},
        data_description="generated",
        activate=True,
    )
    now = timezone.now()
    plant_readings(end=now)

    assert Scorer().tick(now=now).predicted == 6
    assert not ModelDrift.objects.exists()
