"""Drift: the population stability index of live feature rows against the training rows' reference,
and the predictor's rolling sample per machine type."""

import datetime
import json

import numpy as np
import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from predictor.drift import DriftMonitor
from predictor.ml.drift import SHARE_FLOOR, drift_reference, drift_references, population_stability
from predictor.ml.features import MachineWindow, feature_names
from predictor.ml.predict import LoadedArtifact
from predictor.models import ModelDrift
from predictor.selectors import MachineRef
from predictor.tests.factories import ModelVersionFactory

NAMES = ["vibration_mean_1h", "temperature_mean_1h", "error_codes_24h"]


def normal_rows(count: int, *, seed: int, shift: float = 0.0) -> np.ndarray:
    """Vibration and temperature, normal, each moved by `shift` of its standard deviation."""
    rows = np.random.default_rng(seed).normal(size=(count, len(NAMES)))
    rows[:, 0] = 2.0 + 0.3 * (rows[:, 0] + shift)
    rows[:, 1] = 50.0 + 4.0 * (rows[:, 1] + shift)
    rows[:, 2] = 0.0  # no error code in training: a constant
    return rows


def test_a_sample_from_the_training_distribution_reads_stable():
    reference = drift_reference(normal_rows(5000, seed=0), NAMES)

    drift = population_stability(reference, normal_rows(2000, seed=1), NAMES)

    assert drift.psi < 0.02
    assert drift.feature_psi < 0.02
    assert drift.sample_size == 2000


def test_means_shifted_by_two_standard_deviations_read_significant():
    reference = drift_reference(normal_rows(5000, seed=0), NAMES)

    drift = population_stability(reference, normal_rows(2000, seed=1, shift=2.0), NAMES)

    assert drift.psi > 0.25
    assert drift.feature in ("vibration_mean_1h", "temperature_mean_1h")
    assert drift.feature_psi >= drift.psi


def test_a_feature_constant_in_training_is_left_out_and_cannot_dominate():
    reference = drift_reference(normal_rows(5000, seed=0), NAMES)
    live = normal_rows(2000, seed=1)
    live[:, 2] = 3.0  # error codes live, none in training: a forest could not have split on it

    drift = population_stability(reference, live, NAMES)

    assert "error_codes_24h" not in reference["features"]
    assert drift.psi < 0.02
    assert drift.feature != "error_codes_24h"


def test_a_constant_or_missing_feature_everywhere_gives_no_reference_and_no_figure():
    rows = np.full((100, 2), np.nan)
    rows[:, 1] = 7.0

    reference = drift_reference(rows, ["flow_mean_1h", "speed_mean_1h"])

    assert reference == {"rows": 100, "features": {}}
    assert population_stability(reference, rows, ["flow_mean_1h", "speed_mean_1h"]) is None


def test_a_metric_that_stops_reporting_counts_as_drift():
    reference = drift_reference(normal_rows(5000, seed=0), NAMES)
    live = normal_rows(500, seed=1)
    live[:, 1] = np.nan

    drift = population_stability(reference, live, NAMES)

    assert drift.feature == "temperature_mean_1h"
    assert drift.psi > 0.25


def test_empty_bins_are_floored_so_the_figure_stays_finite():
    reference = drift_reference(normal_rows(5000, seed=0), NAMES)

    drift = population_stability(reference, np.full((10, len(NAMES)), 1e6), NAMES)

    assert np.isfinite(drift.psi)
    # The shares differ by 2 at most in all, and no log is larger than ln(1 / floor).
    assert drift.psi <= 2 * np.log(1 / SHARE_FLOOR)


def test_references_are_kept_per_group_and_small_enough_for_the_metadata():
    rows = np.vstack([normal_rows(3000, seed=0), normal_rows(3000, seed=1, shift=3.0)])
    groups = ["Pump"] * 3000 + ["Gearbox"] * 2999 + [None]

    references = drift_references(rows, groups, NAMES)

    assert set(references) == {"Pump", "Gearbox"}
    assert references["Gearbox"]["rows"] == 2999
    binned = references["Pump"]["features"]["vibration_mean_1h"]
    assert len(binned["edges"]) == 9
    assert binned["edges"] == sorted(binned["edges"])
    assert len(binned["shares"]) == 11  # ten bins and the share missing
    assert sum(binned["shares"]) == pytest.approx(1.0, abs=1e-3)
    assert len(json.dumps(references)) < 2000


@pytest.mark.django_db
def test_the_monitor_measures_a_type_each_sample_once_its_samples_span_the_window_and_no_further():
    names = feature_names()
    reference_rows = np.random.default_rng(0).normal(size=(500, len(names)))
    forest = (
        ModelVersionFactory(),
        LoadedArtifact(
            model=None,
            metadata={"extra": {"drift_references": drift_references(reference_rows, ["Pump"] * 500, names)}},
        ),
    )
    machines = [MachineRef(id=n, code=f"M-{n}", machine_type_id=1, machine_type="Pump") for n in range(300)]
    windows = [MachineWindow(ref.code, np.empty(0), {}) for ref in machines]
    monitor = DriftMonitor(window=datetime.timedelta(hours=1), every=datetime.timedelta(minutes=1), rows_per_sample=100)
    start = datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.UTC)
    measured = []
    for seconds in range(0, 90 * 60, 20):  # a tick every 20 seconds for an hour and a half
        rows = np.random.default_rng(seconds).normal(size=(len(windows), len(names)))
        at = start + datetime.timedelta(seconds=seconds)
        drafts = monitor.observe(forest, windows=windows, machines=machines, features=rows, now=at)
        measured += [(at - start, draft.sample_size) for draft in drafts]

    # A sample a minute, not a tick's; the first figure once an hour of them is there; 100 of the 300 rows each.
    assert measured[0] == (datetime.timedelta(minutes=59), 60 * 100)
    assert len(measured) == 31
    assert {size for _, size in measured} == {60 * 100}  # the last hour, no more
    drift = ModelDrift.objects.get()
    assert drift.measured_at == start + datetime.timedelta(minutes=89)
    assert drift.psi < settings.DRIFT_PSI_WARNING


@pytest.mark.django_db
def test_a_version_has_one_drift_per_machine_type():
    version = ModelVersionFactory()
    ModelDrift.objects.create(**drift_fields(version))
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelDrift.objects.create(**drift_fields(version))


@pytest.mark.django_db
def test_the_median_psi_is_never_above_the_most_drifted_features():
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelDrift.objects.create(**drift_fields(ModelVersionFactory(), psi=0.5, feature_psi=0.3))


def test_the_admin_flags_a_drifted_type_in_the_list_and_on_the_versions_page(admin_client):
    version = ModelVersionFactory(is_active=True)
    ModelDrift.objects.create(**drift_fields(version, machine_type="Screw compressor", psi=0.6, feature_psi=4.1))
    ModelDrift.objects.create(**drift_fields(version, machine_type="Induction motor", psi=0.05, feature_psi=0.2))

    listed = admin_client.get(reverse("admin:predictor_modeldrift_changelist")).content.decode()
    on_version = admin_client.get(reverse("admin:predictor_modelversion_change", args=[version.pk])).content.decode()

    for page in (listed, on_version):
        assert "Screw compressor" in page
        assert "Induction motor" in page
        assert page.count("drifted: retrain") == 1
    assert 'alt="True"' in listed  # the "Drifted" column's icon


def drift_fields(version, **fields):
    return {
        "model_version": version,
        "machine_type": "Centrifugal pump",
        "psi": 0.1,
        "feature": "vibration_mean_1h",
        "feature_psi": 0.3,
        "sample_size": 600,
        "measured_at": datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.UTC),
        **fields,
    }
