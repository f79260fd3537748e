import datetime

import pytest
from django.utils import timezone

from catalogue.models import FailureMode, Severity
from core.roles import Role
from core.tests.factories import UserFactory
from predictor.models import Prediction
from predictor.tests.factories import ModelVersionFactory
from telemetry.tests.factories import MachineFactory, MetricSpecFactory
from tickets.models import Shift
from tickets.tests.factories import ErrorCodeFactory, SOPFactory, SOPStepFactory

# Mid-morning, plant time: well inside the day shift the tests put technicians on.
AT = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0) - datetime.timedelta(days=1)


@pytest.fixture
def bearing_code(db):
    code = ErrorCodeFactory(
        code="E-BRG-01", title="Bearing wear", severity=Severity.HIGH, failure_mode=FailureMode.BEARING_WEAR
    )
    sop = SOPFactory(title="Replace a worn bearing", error_codes=[code])
    SOPStepFactory(sop=sop, order=1, instruction="Lock out and tag out the drive.", estimated_minutes=10)
    SOPStepFactory(sop=sop, order=2, instruction="Pull the drive-end bearing.", estimated_minutes=40)
    return code


@pytest.fixture
def overheating_code(db):
    return ErrorCodeFactory(
        code="E-TMP-01", title="Overheating", severity=Severity.MEDIUM, failure_mode=FailureMode.OVERHEATING
    )


@pytest.fixture
def pump(db):
    machine = MachineFactory(code="M-007", name="Coolant pump 7")
    MetricSpecFactory(machine_type=machine.machine_type, name="vibration")
    return machine


@pytest.fixture
def forest(db):
    return ModelVersionFactory(version="2026-11-26.1", is_active=True)


@pytest.fixture
def predict(forest):
    """predict(machine, probability, code=None, at=AT, **fields): a saved prediction, as the predictor makes them."""

    def make(machine, probability, error_code=None, *, at=AT, **fields) -> Prediction:
        fields.setdefault("top_signals", ["vibration 3.1x its 12-hour level, rising 0.4 mm/s per hour"])
        return Prediction.objects.create(
            machine=machine,
            ts=at,
            model_version=forest,
            failure_probability=probability,
            error_code=error_code,
            created_at=at,
            **fields,
        )

    return make


@pytest.fixture
def day_shift(db):
    """A shift from 06:00 to 18:00 plant time, which covers AT."""
    return Shift.objects.create(name="Day", starts_at=datetime.time(6), ends_at=datetime.time(18))


@pytest.fixture
def technician_on_shift(day_shift):
    user = UserFactory(username="tech1", role=Role.TECHNICIAN)
    day_shift.technicians.add(user)
    return user
