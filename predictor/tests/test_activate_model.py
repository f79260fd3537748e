"""manage.py activate_model: list, switch (checking the artifact first), roll back."""

import io

import pytest
from django.core.management import CommandError, call_command

from predictor.ml.artifacts import directory_sha256
from predictor.models import ModelKind, ModelVersion
from predictor.tests.factories import ModelVersionFactory


def version_with_artifact(tmp_path, version: str, **fields) -> ModelVersion:
    directory = tmp_path / version
    directory.mkdir()
    (directory / "model.bin").write_bytes(version.encode())
    return ModelVersionFactory(
        version=version, artifact_path=str(directory), sha256=directory_sha256(directory), **fields
    )


def activate(*args: str) -> str:
    out = io.StringIO()
    call_command("activate_model", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_activating_a_version_keeps_the_previous_one_and_rolling_back_restores_it(tmp_path):
    old = version_with_artifact(tmp_path, "2026-11-01.1")
    activate("random_forest", "2026-11-01.1")
    new = version_with_artifact(tmp_path, "2026-11-20.1")

    output = activate("random_forest", "2026-11-20.1")

    assert "2026-11-20.1 (active): active. 2026-11-01.1 is kept, inactive." in output
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.is_active, new.is_active) == (False, True)

    activate("random_forest", "--previous")
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.is_active, new.is_active) == (True, False)


@pytest.mark.django_db
def test_a_tampered_artifact_is_not_activated(tmp_path):
    current = version_with_artifact(tmp_path, "2026-11-01.1")
    activate("random_forest", "2026-11-01.1")
    tampered = version_with_artifact(tmp_path, "2026-11-20.1")
    (tmp_path / "2026-11-20.1" / "model.bin").write_bytes(b"swapped")

    with pytest.raises(CommandError, match=r"not activated: artifact .* has sha256"):
        activate("random_forest", "2026-11-20.1")

    assert ModelVersion.objects.get(is_active=True) == current
    tampered.refresh_from_db()
    assert not tampered.is_active


@pytest.mark.django_db
def test_unknown_version_and_nothing_to_roll_back_to_are_explained(tmp_path):
    version_with_artifact(tmp_path, "2026-11-01.1")
    with pytest.raises(CommandError, match=r"no random_forest version '9' \(known: 2026-11-01.1\)"):
        activate("random_forest", "9")
    with pytest.raises(CommandError, match="no lstm version was active before the current one"):
        activate("lstm", "--previous")
    with pytest.raises(CommandError, match="either a version or --previous"):
        activate("random_forest")


@pytest.mark.django_db
def test_listing_marks_the_active_version_with_its_metrics(tmp_path):
    version_with_artifact(tmp_path, "2026-11-01.1", metrics={"f1": 0.91, "alert_precision": 0.95})
    activate("random_forest", "2026-11-01.1")
    listing = activate()
    assert " * 2026-11-01.1  trained " in listing
    assert "f1 0.910, alert_precision 0.950" in listing
    assert f"{ModelKind.LSTM.label}:\n  (none: manage.py train_models)" in listing
