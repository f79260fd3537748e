import datetime

import factory
from django.utils import timezone

from catalogue.models import SOP, ErrorCode, FailureMode, Severity, SOPStep
from telemetry.tests.factories import MachineFactory
from tickets.models import Alert, Breakdown, BreakdownSource, Ticket


class ErrorCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ErrorCode
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"E-TST-{n + 1:02d}")
    title = "Bearing wear"
    severity = Severity.HIGH
    failure_mode = FailureMode.BEARING_WEAR


class SOPFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SOP
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Replace bearing {n}")
    version = 1
    is_published = True

    @factory.post_generation
    def error_codes(self, create, codes, **kwargs):
        if create and codes:
            self.error_codes.add(*codes)


class SOPStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SOPStep

    sop = factory.SubFactory(SOPFactory)
    order = factory.Sequence(lambda n: n + 1)
    instruction = "Apply lockout/tagout and verify zero energy."


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    machine = factory.SubFactory(MachineFactory)
    error_code = factory.SubFactory(ErrorCodeFactory)
    probability = 0.86


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    machine = factory.SubFactory(MachineFactory)
    title = factory.LazyAttribute(lambda t: f"Inspect {t.machine.code}")


class BreakdownFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Breakdown

    machine = factory.SubFactory(MachineFactory)
    source = BreakdownSource.MACHINE_REPORT
    down_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=2))
    up_at = factory.LazyAttribute(lambda b: b.down_at + datetime.timedelta(hours=1))
