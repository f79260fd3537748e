"""train_models --source plant: labels from what the plant recorded (breakdowns, ticket outcomes) only."""

import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import time_machine
from django.core.management import CommandError, call_command

from catalogue.models import FailureMode
from predictor.models import ModelKind, ModelVersion
from predictor.training import samples_build
from tickets.models import AlertStatus, Ticket, TicketOutcome
from tickets.tests.factories import AlertFactory
from tickets.tests.plant_history import DAYS, END, START, hours, plant_history_write, pump_breakdown_write
from tickets.training_data import training_data_plant

pytestmark = pytest.mark.django_db

EVENTS = {"failures": 2, "preventive_fixes": 1, "false_alarms": 1}


@pytest.fixture
def plant(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    with time_machine.travel(END, tick=False):
        yield plant_history_write()


def half_hours(first: float, last: float) -> list[float]:
    return [float(h) for h in np.arange(first, last + 0.25, 0.5)]


def labels_by_hand() -> dict[tuple[str, float], str]:
    """Each sample's label from the story in plant_history_write, a 24 h horizon: the failure mode where
    positive, "hard negative" or "negative". Samples are half-hourly; those whose 24 h reach past the
    last reading (95.9 h) are left out unless labelled positive or hard negative, and so is down time."""
    labels = {}
    for h in half_hours(0.5, 71.5):
        if 30 <= h < 34:
            continue  # P-A is down
        if 6 <= h < 30:
            labels["P-A", h] = "bearing_wear"  # the breakdown at 30 h
        elif 36 <= h < 60 or 62 <= h < 66:
            continue  # the preventive fix's horizon before its ticket, and the technician's work on it
        elif 60 <= h < 62:
            labels["P-A", h] = "overheating"  # the preventive fix: from its ticket to the work
        else:
            labels["P-A", h] = "negative"
    for h in half_hours(0.5, 70.5):
        if 47 <= h < 71:
            labels["P-B", h] = "bearing_wear"  # the failure confirmed on a ticket, down at 71 h
        elif 19.5 <= h <= 23:
            labels["P-B", h] = "hard negative"  # the false alarm, from its alert to the ticket's resolution
        else:
            labels["P-B", h] = "negative"
    return labels


def sample_labels(samples) -> dict[tuple[str, float], str]:
    labels = {}
    for code, at, failing, mode, hard in zip(
        samples.machine_codes, samples.times, samples.y_failure, samples.y_mode, samples.hard_negative, strict=True
    ):
        assert not (failing and hard)
        label = mode if failing else "hard negative" if hard else "negative"
        labels[str(code), (at - START.timestamp()) / 3600] = label
    return labels


def test_plant_labels_are_the_breakdowns_preventive_fixes_and_false_alarms_as_computed_by_hand(plant):
    data = training_data_plant(days=DAYS)

    assert data.faults == [
        {
            "machine_code": "P-A",
            "failure_mode": "bearing_wear",
            "started_at": hours(30),
            "failed_at": hours(30),
            "repaired_at": hours(34),
        },
        {
            "machine_code": "P-B",
            "failure_mode": "bearing_wear",
            "started_at": hours(70),
            "failed_at": hours(71),
            "repaired_at": hours(75),
        },
    ]
    assert data.prevented == [
        {
            "machine_code": "P-A",
            "failure_mode": "overheating",
            "noticed_at": hours(60),
            "worked_from": hours(62),
            "fixed_at": hours(66),
        }
    ]
    assert data.normal_periods == [{"machine_code": "P-B", "start": hours(19.5), "end": hours(23)}]
    assert data.description["label_events"] == EVENTS
    assert data.description["source"] == "plant"
    assert sample_labels(samples_build(data, with_sequences=False)) == labels_by_hand()


def test_history_as_of_an_earlier_end_uses_nothing_recorded_after_it(plant):
    data = training_data_plant(days=DAYS, end=hours(68))

    # P-B's failure ticket resolved at 75 h and P-A's fix at 66 h is the last thing seen.
    assert [fault["machine_code"] for fault in data.faults] == ["P-A"]
    assert data.description["label_events"] == {"failures": 1, "preventive_fixes": 1, "false_alarms": 1}


def test_train_models_refuses_too_few_failure_events_naming_the_counts_and_the_setting(plant):
    out = StringIO()
    with pytest.raises(CommandError) as refused, time_machine.travel(END, tick=False):
        call_command("train_models", "--source=plant", f"--days={DAYS}", "--kind=random_forest", stdout=out)

    assert str(refused.value) == (
        "too few failure events to train on: 3 (failures 2 + preventive fixes 1; false alarms 1, which do not "
        "count); TRAINING_MIN_FAILURE_EVENTS is 10: use more --days, or lower the setting"
    )
    assert "label events: failures 2, preventive fixes 1, false alarms 1 (hard negatives)" in out.getvalue()
    assert not ModelVersion.objects.exists()


def test_train_models_from_the_plant_records_keeps_the_label_events_with_the_model_version(plant, settings):
    settings.TRAINING_MIN_FAILURE_EVENTS = 5
    out = StringIO()
    with time_machine.travel(END, tick=False):
        # Two more pumps that broke early: whichever machine the split holds out, training sees failures.
        pump_breakdown_write("P-C", down=25, up=27, seed=3)
        pump_breakdown_write("P-D", down=35, up=38, seed=4)
        call_command("train_models", "--source=plant", f"--days={DAYS}", "--kind=random_forest", stdout=out)

    version = ModelVersion.objects.get(kind=ModelKind.RANDOM_FOREST)
    metadata = json.loads((Path(version.artifact_path) / "metadata.json").read_text())
    assert metadata["data"]["source"] == "plant"
    assert metadata["data"]["label_events"] == {"failures": 4, "preventive_fixes": 1, "false_alarms": 1}
    assert "label_events {'failures': 4, 'preventive_fixes': 1, 'false_alarms': 1}" in version.data_description
    assert "label events: failures 4, preventive fixes 1, false alarms 1 (hard negatives)" in out.getvalue()


def test_the_mode_the_technician_found_and_an_alert_marked_false_are_labels_too(plant):
    fix = Ticket.objects.get(outcome=TicketOutcome.PREVENTIVE_FIX)
    fix.found_failure_mode = FailureMode.LUBRICATION_LOSS  # predicted overheating, found dry bearings
    fix.save(update_fields=["found_failure_mode"])
    AlertFactory(
        machine=plant["P-A"],
        error_code=fix.error_code,
        opened_at=hours(40),
        status=AlertStatus.CLEARED,
        cleared_at=hours(41),
        marked_false_at=hours(41),
        marked_false_reason="Vibration from the forklift unloading next to it",
    )

    data = training_data_plant(days=DAYS)

    assert data.prevented == [
        {
            "machine_code": "P-A",
            "failure_mode": "lubrication_loss",
            "noticed_at": hours(60),
            "worked_from": hours(62),
            "fixed_at": hours(66),
        }
    ]
    assert {"machine_code": "P-A", "start": hours(40), "end": hours(41)} in data.normal_periods
