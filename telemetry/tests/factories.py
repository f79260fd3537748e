import datetime

import factory
from django.utils import timezone

from telemetry.models import Machine, MachineType, MetricSpec, Reading


class MachineTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MachineType
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Pump type {n}")


class MetricSpecFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MetricSpec

    machine_type = factory.SubFactory(MachineTypeFactory)
    name = "vibration"
    unit = "mm/s RMS"
    normal_min = 0.0
    normal_max = 4.5
    alarm_min = 0.0
    alarm_max = 7.1


class MachineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Machine

    code = factory.Sequence(lambda n: f"M-{n + 1:03d}")
    name = factory.Sequence(lambda n: f"Coolant pump {n + 1}")
    machine_type = factory.SubFactory(MachineTypeFactory)
    line = "Line 1"
    location = "Hall A"
    installed_at = datetime.date(2021, 3, 1)


class ReadingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reading

    machine = factory.SubFactory(MachineFactory)
    ts = factory.LazyFunction(timezone.now)
    metrics = factory.LazyFunction(lambda: {"vibration": 2.1, "temperature": 55.0})
