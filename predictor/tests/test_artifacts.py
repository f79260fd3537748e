import json
import sys

import pytest

from predictor.ml.artifacts import (
    METADATA_FILE,
    ArtifactTampered,
    artifact_verify,
    directory_sha256,
    metadata_read,
    metadata_write,
)


@pytest.fixture
def artifact(tmp_path):
    directory = tmp_path / "forest-v1"
    directory.mkdir()
    (directory / "model.bin").write_bytes(bytes(range(256)) * 4)
    (directory / "sub").mkdir()
    (directory / "sub" / "notes.txt").write_text("trained on the demo plant\n")
    metadata_write(
        directory,
        kind="failure_forest",
        data_description={"machines": 24, "days": 30},
        feature_names=["vibration_mean_1h", "temperature_mean_1h"],
        metrics={"f1": 0.9},
        training_seconds=12.3456,
        extra={"threshold": 0.42},
    )
    return directory


def test_metadata_records_versions_commit_and_what_the_model_was_trained_on(artifact):
    metadata = metadata_read(artifact)
    assert metadata["kind"] == "failure_forest"
    assert metadata["feature_names"] == ["vibration_mean_1h", "temperature_mean_1h"]
    assert metadata["metrics"] == {"f1": 0.9}
    assert metadata["training_seconds"] == 12.346
    assert metadata["extra"] == {"threshold": 0.42}
    assert metadata["data"] == {"machines": 24, "days": 30}
    assert {"numpy", "scikit-learn", "python"} <= set(metadata["libraries"])
    assert len(metadata["git_commit"]) == 40 or metadata["git_commit"] == "unknown"
    assert metadata["created_at"].endswith("+00:00")


def test_writing_metadata_does_not_import_tensorflow(artifact):
    imported_before = "tensorflow" in sys.modules
    metadata_write(artifact, kind="x", data_description="", feature_names=[], metrics={}, training_seconds=0)
    assert ("tensorflow" in sys.modules) == imported_before


def test_directory_hash_is_stable_and_covers_names_contents_and_metadata(artifact, tmp_path):
    digest = directory_sha256(artifact)
    assert digest == directory_sha256(artifact)
    assert len(digest) == 64
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in sorted(artifact.rglob("*")):
        target = copy / path.relative_to(artifact)
        if path.is_dir():
            target.mkdir()
        else:
            target.write_bytes(path.read_bytes())
    assert directory_sha256(copy) == digest  # another place, same content: same hash
    (copy / "sub" / "notes.txt").rename(copy / "sub" / "renamed.txt")
    assert directory_sha256(copy) != digest
    metadata = json.loads((artifact / METADATA_FILE).read_text())
    metadata["metrics"]["f1"] = 0.99
    (artifact / METADATA_FILE).write_text(json.dumps(metadata))
    assert directory_sha256(artifact) != digest


def test_verify_accepts_the_registered_artifact(artifact):
    artifact_verify(artifact, directory_sha256(artifact))


def test_an_artifact_with_one_byte_changed_is_refused(artifact):
    digest = directory_sha256(artifact)
    model = artifact / "model.bin"
    content = bytearray(model.read_bytes())
    content[100] ^= 0x01
    model.write_bytes(bytes(content))
    with pytest.raises(ArtifactTampered, match="refusing to load"):
        artifact_verify(artifact, digest)


def test_a_missing_artifact_is_refused(tmp_path):
    with pytest.raises(ArtifactTampered, match="missing"):
        artifact_verify(tmp_path / "nowhere", "0" * 64)
