"""Model artifacts: a directory of files plus metadata.json, identified by the sha256 of it all.

Training writes the model files, then `metadata_write`, then records `directory_sha256` in the
model registry. Serving calls `artifact_verify` with the recorded hash before it loads anything:
the model files are pickles, and a pickle runs code when loaded, so only verified bytes are loaded.
metadata.json is inside the hash, so the recorded description cannot be swapped either.
"""

import datetime
import hashlib
import importlib.metadata
import json
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

METADATA_FILE = "metadata.json"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
_CHUNK = 1 << 20
# Reported when importable; a library is never imported just to read its version (TensorFlow alone
# takes seconds and hundreds of megabytes).
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "joblib", "keras", "tensorflow", "tensorflow-cpu")
_MODULE_OF = {"scikit-learn": "sklearn", "tensorflow-cpu": "tensorflow"}


class ArtifactTampered(Exception):  # noqa: N818 - the name says what happened, as the callers read it
    """The artifact's content is not the content that was registered: it must not be loaded."""


def directory_sha256(directory: str | Path) -> str:
    """sha256 over every file under `directory`: relative paths (sorted, POSIX) and contents.

    Independent of file system order and timestamps; a renamed, added, removed or changed file
    changes it.
    """
    directory = Path(directory)
    digest = hashlib.sha256()
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    for path in sorted(files, key=lambda found: found.relative_to(directory).as_posix()):
        name = path.relative_to(directory).as_posix().encode()
        file_digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                file_digest.update(chunk)
        # Length-prefixed name and the file's own digest: no two layouts give the same byte stream.
        digest.update(len(name).to_bytes(8, "big") + name + file_digest.digest())
    return digest.hexdigest()


def artifact_verify(directory: str | Path, expected_sha256: str) -> None:
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactTampered(f"artifact {directory} is missing")
    actual = directory_sha256(directory)
    if actual != expected_sha256.lower():
        raise ArtifactTampered(
            f"artifact {directory} has sha256 {actual}, but {expected_sha256} was registered: refusing to load it"
        )


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for distribution in _LIBRARIES:
        module = sys.modules.get(_MODULE_OF.get(distribution, distribution))
        version = getattr(module, "__version__", None) if module is not None else None
        if version is None:
            try:
                version = importlib.metadata.version(distribution)
            except importlib.metadata.PackageNotFoundError:
                continue
        versions[distribution] = str(version)
    return versions


def git_commit() -> str:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = completed.stdout.strip()
    return commit if completed.returncode == 0 and commit else "unknown"


def metadata_write(
    directory: str | Path,
    *,
    kind: str,
    data_description: str | Mapping[str, Any],
    feature_names: Sequence[str],
    metrics: Mapping[str, Any] | Sequence[str],
    training_seconds: float,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write metadata.json (call it last: the artifact's hash covers it).

    `metrics`: what the model was evaluated to (or the sensor metrics it reads; both are recorded
    as given). `extra`: anything else the kind needs at serving time (threshold, horizon, ...).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    metadata = {
        "kind": kind,
        "created_at": datetime.datetime.now(tz=datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "libraries": library_versions(),
        "data": data_description,
        "feature_names": list(feature_names),
        "metrics": metrics if isinstance(metrics, Mapping) else list(metrics),
        "training_seconds": round(float(training_seconds), 3),
        "extra": dict(extra or {}),
    }
    path = directory / METADATA_FILE
    path.write_text(json.dumps(metadata, indent=2, sort_keys=True, default=_json_default) + "\n", encoding="utf-8")
    return path


def metadata_read(directory: str | Path) -> dict[str, Any]:
    return json.loads((Path(directory) / METADATA_FILE).read_text(encoding="utf-8"))


def metadata_read_if_any(directory: str | Path) -> dict[str, Any]:
    """metadata.json, or {} for a model directory saved without it (a model saved and registered by
    hand, as tests do): serving then falls back to what training did before it recorded anything."""
    if not (Path(directory) / METADATA_FILE).is_file():
        return {}
    return metadata_read(directory)


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays in metrics: recorded as plain numbers and lists.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
