import hashlib

import factory
from django.utils import timezone

from predictor.models import ModelKind, ModelVersion, Prediction
from telemetry.tests.factories import MachineFactory


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    kind = ModelKind.RANDOM_FOREST
    version = factory.Sequence(lambda n: f"2026-11-26.{n}")
    artifact_path = factory.LazyAttribute(lambda mv: f"artifacts/{mv.kind}/{mv.version}")
    sha256 = factory.LazyAttribute(lambda mv: hashlib.sha256(mv.version.encode()).hexdigest())
    metrics = factory.LazyFunction(lambda: {"f1": 0.8, "pr_auc": 0.85})


class PredictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prediction

    machine = factory.SubFactory(MachineFactory)
    ts = factory.LazyFunction(timezone.now)
    model_version = factory.SubFactory(ModelVersionFactory)
    failure_probability = 0.42
