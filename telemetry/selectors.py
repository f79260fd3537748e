from django.db.models import Prefetch, QuerySet

from telemetry.models import Machine, MetricSpec


def machine_list() -> QuerySet[Machine]:
    """Machines with their type and its metric specs, in two queries whatever the count."""
    return Machine.objects.select_related("machine_type").prefetch_related(
        Prefetch("machine_type__metrics", queryset=MetricSpec.objects.order_by("name"))
    )


def machine_get(*, code: str) -> Machine:
    """The machine with this code; raises Machine.DoesNotExist."""
    return machine_list().get(code=code)
