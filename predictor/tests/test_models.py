import pytest
from django.db import IntegrityError, transaction

from predictor.models import ModelKind, ModelVersion
from predictor.services import model_version_activate
from predictor.tests.factories import ModelVersionFactory, PredictionFactory

pytestmark = pytest.mark.django_db


def test_second_active_version_of_a_kind_is_refused():
    ModelVersionFactory(kind=ModelKind.RANDOM_FOREST, is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(kind=ModelKind.RANDOM_FOREST, is_active=True)


def test_each_kind_has_its_own_active_version():
    ModelVersionFactory(kind=ModelKind.RANDOM_FOREST, is_active=True)
    ModelVersionFactory(kind=ModelKind.LSTM, is_active=True)
    ModelVersionFactory(kind=ModelKind.LSTM, is_active=False)
    assert ModelVersion.objects.filter(is_active=True).count() == 2


def test_version_names_are_unique_per_kind():
    ModelVersionFactory(kind=ModelKind.LSTM, version="v1")
    ModelVersionFactory(kind=ModelKind.RANDOM_FOREST, version="v1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(kind=ModelKind.LSTM, version="v1")


def test_activating_a_version_deactivates_the_previous_one_and_keeps_it():
    previous = ModelVersionFactory(kind=ModelKind.LSTM, is_active=True)
    other_kind = ModelVersionFactory(kind=ModelKind.RANDOM_FOREST, is_active=True)
    candidate = ModelVersionFactory(kind=ModelKind.LSTM)

    model_version_activate(model_version=candidate)

    previous.refresh_from_db()
    other_kind.refresh_from_db()
    candidate.refresh_from_db()
    assert (previous.is_active, candidate.is_active, other_kind.is_active) == (False, True, True)
    assert candidate.activated_at is not None


def test_sha256_must_be_64_characters():
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(sha256="abc123")


@pytest.mark.parametrize("probability", [-0.01, 1.01])
def test_failure_probability_outside_0_1_is_refused(probability):
    with pytest.raises(IntegrityError), transaction.atomic():
        PredictionFactory(failure_probability=probability)


def test_rul_range_must_be_ordered():
    with pytest.raises(IntegrityError), transaction.atomic():
        PredictionFactory(rul_hours=10, rul_low_hours=12, rul_high_hours=8)


def test_negative_rul_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        PredictionFactory(rul_hours=-1)
