"""A database filled by the code from before the restructuring migrates forward to today's layout and
loses nothing: every row, the catalogue's and the simulator's models in their new apps with their
content types (permissions, roles' grants and admin history follow), and the moved tables still
take new rows."""

import json
import os
import shutil
import subprocess
import sys
import uuid
from importlib import import_module
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from catalogue.models import INSPECT_ERROR_CODE
from maintainx.tests.upgrade_scripts import FILL_BEFORE, READ_AFTER

# main just before the restructuring moved the catalogue (ErrorCode, SOP) out of tickets, the
# simulator's SimulatedFault out of telemetry, and squashed each app's migrations into one.
BEFORE_RESTRUCTURING = "43a175d"


@pytest.fixture(scope="module")
def code_before(tmp_path_factory) -> Path:
    """That commit's tree, from this clone's history (a clone without it fails here, loudly)."""
    target = tmp_path_factory.mktemp("before-restructuring")
    git, tar = shutil.which("git"), shutil.which("tar")
    archive = subprocess.run(  # noqa: S603 - our own repository, a fixed commit
        [git, "-C", str(settings.BASE_DIR), "archive", BEFORE_RESTRUCTURING], capture_output=True, check=True
    )
    subprocess.run([tar, "-x", "-C", str(target)], input=archive.stdout, check=True)  # noqa: S603 - that archive
    return target


def _run(code: Path, database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "maintainx.settings"}
    result = subprocess.run(  # noqa: S603 - our own manage.py and scripts
        [sys.executable, *args], cwd=code, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{args[:2]} failed in {code}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def _script(code: Path, database_url: str, script: str) -> str:
    return _run(code, database_url, "-c", "import django\ndjango.setup()\n" + script)


def _census(output: str) -> dict:
    return json.loads(next(line for line in output.splitlines() if line.startswith("CENSUS "))[len("CENSUS ") :])


def _upgrade_and_compare(code_before: Path, database_url: str) -> None:
    today = Path(settings.BASE_DIR)
    _run(code_before, database_url, "manage.py", "migrate", "--verbosity=0")
    before = _census(_script(code_before, database_url, FILL_BEFORE))
    assert before["counts"]["Ticket"] >= 2  # the machine's own report's and the prediction's
    assert before["counts"]["Breakdown"] == 1
    assert before["logged_apps"] == ["tickets"]

    _run(today, database_url, "manage.py", "migrate", "--verbosity=0")
    output = _script(today, database_url, READ_AFTER)
    after = _census(output)

    assert after["logged_apps"] == ["catalogue"]  # the ErrorCode's content type moved with it
    # A later migration gives every install the generic inspection code and its SOP: beside what was there.
    inspection = ["Inspect a flagged machine", 1, INSPECT_ERROR_CODE]
    assert inspection in after["sop_error_codes"]
    after["sop_error_codes"].remove(inspection)
    steps = import_module("catalogue.migrations.0003_inspection_code").STEPS
    added = {"ErrorCode": 1, "SOP": 1, "SOPStep": len(steps)}
    after["counts"] = {name: count - added.get(name, 0) for name, count in after["counts"].items()}
    for part in ("counts", "sop_error_codes", "tickets", "predictions", "faults", "logged_models"):
        assert after[part] == before[part], part
    # Every grant kept; the roles also get the models added since (the alarm rules, the health models, the
    # models' drift, the payload sources, the tickets' photos, the notifications, checklist ticks, the
    # answers kept for offline tablets' retries, the readings' blocks and hour roll-ups with their
    # upkeep's state, and the listeners' client-id slots), by the sync after migrate.
    for role, codenames in before["grants"].items():
        new = set(after["grants"][role]) - set(codenames)
        assert set(codenames) <= set(after["grants"][role]), role
        assert {codename.split("_", 1)[1] for codename in new} <= {
            "alarmrule",
            "vibrationclass",
            "healthmodelversion",
            "machinehealth",
            "shadowprediction",
            "modeldrift",
            "payloadsource",
            "ticketphoto",
            "notification",
            "delivery",
            "pushsubscription",
            "channelchoice",
            "ticketchecklisttick",
            "ticketactionreceipt",
            "readingblock",
            "readinghour",
            "readinghourstale",
            "rollupwatermark",
            "listenerslot",
        }, role
    assert "NEW_ROWS_OK E-NEW-01 True" in output
    # Nothing left for a later migrate: today's migrations are all recorded as applied.
    plan = _run(today, database_url, "manage.py", "showmigrations", "--plan")
    assert "[ ]" not in plan, plan


def test_a_sqlite_database_from_before_the_restructuring_migrates_forward_without_loss(code_before, tmp_path):
    _upgrade_and_compare(code_before, f"sqlite:///{tmp_path / 'upgraded.sqlite3'}")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="runs in the PostgreSQL pass (DATABASE_URL)")
def test_a_postgresql_database_from_before_the_restructuring_migrates_forward_without_loss(code_before):
    server = connection.settings_dict
    address = f"postgres://{server['USER']}@{server['HOST'] or '127.0.0.1'}:{server['PORT'] or 5432}"
    name = f"maintainx_upgrade_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{address}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        _upgrade_and_compare(code_before, f"{address}/{name}")
    finally:
        with psycopg.connect(f"{address}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
