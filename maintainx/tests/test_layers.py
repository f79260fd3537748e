"""The layering is enforced: import-linter passes on the project and fails once a lower app imports a
higher one (the check can fail, and fails for the reason it exists)."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """The Python packages import-linter checks, and its configuration, in a folder of their own."""
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    for package in config["tool"]["importlinter"]["root_packages"]:
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - the virtualenv's own lint-imports
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_layers_hold_and_one_reversed_import_breaks_them(project_copy):
    assert _lint_imports(project_copy).returncode == 0

    with (project_copy / "telemetry" / "models.py").open("a") as models:
        models.write("\nfrom tickets.models import Ticket  # a reading model that knows tickets: one layer up\n")
    result = _lint_imports(project_copy)

    assert result.returncode == 1
    assert "telemetry is not allowed to import tickets" in result.stdout
