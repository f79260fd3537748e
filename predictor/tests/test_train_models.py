"""train_models from simulated history: a registered, verifiable, evaluated model version."""

import datetime
import json
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

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


def test_now_pins_the_simulated_history_so_the_same_model_is_trained_on_any_date(plant):
    def train(at):
        with time_machine.travel(at, tick=False):
            call_command(
                "train_models",
                "--kind=random_forest",
                "--days=4",
                "--machines=8",
                "--mtbf-hours=30",
                "--seed=3",
                "--now=2026-01-15T12:00:00+00:00",
                stdout=StringIO(),
            )
        return ModelVersion.objects.order_by("-pk").first()

    first = train(datetime.datetime(2026, 12, 5, 8, 0, tzinfo=datetime.UTC))
    second = train(datetime.datetime(2028, 2, 29, 23, 0, tzinfo=datetime.UTC))

    assert first.metrics == second.metrics
    metadata = json.loads((Path(second.artifact_path) / "metadata.json").read_text())
    assert metadata["data"]["to"] == "2026-01-15T12:00:00+00:00"


def test_now_without_an_offset_is_refused(plant):
    with pytest.raises(CommandError, match="has no UTC offset"):
        call_command("train_models", "--now=2026-01-15T12:00", stdout=StringIO())


def test_a_trained_forest_records_what_each_machine_types_feature_rows_looked_like(plant):
    call_command("train_models", kind="random_forest", days=4, machines=8, mtbf_hours=30, seed=3, stdout=StringIO())

    metadata = json.loads((Path(ModelVersion.objects.get().artifact_path) / "metadata.json").read_text())
    references = metadata["extra"]["drift_references"]
    assert set(references) == set(metadata["data"]["machine_types"])
    for reference in references.values():
        assert reference["rows"] > 0
        assert reference["features"]
        assert set(reference["features"]) <= set(metadata["feature_names"])
        for binned in reference["features"].values():
            assert binned["edges"] == sorted(binned["edges"])
            assert len(binned["shares"]) == len(binned["edges"]) + 2
