"""The training sources against the simulator's ground truth: the plant source never reads it."""

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from simulation.models import SimulatedFault
from simulation.training_data import training_data_database
from tickets.tests.plant_history import DAYS, END, hours, plant_history_write
from tickets.training_data import training_data_plant

pytestmark = pytest.mark.django_db


def test_the_plant_source_never_reads_the_simulators_ground_truth():
    with time_machine.travel(END, tick=False):
        pumps = plant_history_write()
        without_truth = training_data_plant(days=DAYS)
        SimulatedFault.objects.create(
            machine=pumps["P-B"],
            failure_mode="overheating",
            error_code="E-TMP-01",
            started_at=hours(2),
            planned_failure_at=hours(10),
            failed_at=hours(10),
            repaired_at=hours(12),
            seed=1,
        )
        with CaptureQueriesContext(connection) as queries:
            with_truth = training_data_plant(days=DAYS)
        # The db source does learn from it: the fault is inside the history.
        assert "overheating" in {fault["failure_mode"] for fault in training_data_database(days=DAYS).faults}

    assert with_truth.faults == without_truth.faults
    assert with_truth.prevented == without_truth.prevented
    assert with_truth.normal_periods == without_truth.normal_periods
    assert with_truth.description == without_truth.description
    assert not [query["sql"] for query in queries.captured_queries if SimulatedFault._meta.db_table in query["sql"]]
