"""train_models from simulated history: a registered, verifiable, evaluated model version."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from predictor.models import ModelKind, ModelVersion
from predictor.selectors import model_version_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    call_command("seed_demo", stdout=StringIO())


def test_forest_trained_from_simulation_is_registered_evaluated_and_loadable(plant):
    out = StringIO()
    call_command(
        "train_models", kind="random_forest", days=6, machines=8, mtbf_hours=30, activate=True, seed=3, stdout=out
    )

    version = ModelVersion.objects.get(kind=ModelKind.RANDOM_FOREST)
    assert version.is_active
    directory = Path(version.artifact_path)
    assert {"metadata.json", "evaluation.png"} <= {path.name for path in directory.iterdir()}
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["data"]["source"] == "simulate"
    for name in ("precision", "recall", "f1", "pr_auc", "alert_precision", "lead_time_median_hours"):
        assert name in version.metrics
    assert 0 < version.metrics["pr_auc"] <= 1
    assert model_version_load(version).feature_names == metadata["feature_names"]
    assert "active" in out.getvalue()


def test_unless_active_trains_nothing_when_a_version_is_active(plant):
    call_command(
        "train_models", kind="random_forest", days=6, machines=8, mtbf_hours=30, activate=True, stdout=StringIO()
    )
    out = StringIO()
    call_command("train_models", kind="random_forest", unless_active=True, stdout=out)
    assert ModelVersion.objects.count() == 1
    assert "not training another" in out.getvalue()
