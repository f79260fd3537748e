from django.db import transaction
from django.utils import timezone

from predictor.models import ModelVersion


@transaction.atomic
def model_version_activate(*, model_version: ModelVersion) -> ModelVersion:
    """Make this version the active one of its kind; the previous one stays, inactive, for rollback."""
    # Lock the kind's rows so that two activations at once cannot both deactivate and activate.
    list(ModelVersion.objects.select_for_update().filter(kind=model_version.kind))
    ModelVersion.objects.filter(kind=model_version.kind, is_active=True).exclude(pk=model_version.pk).update(
        is_active=False
    )
    model_version.is_active = True
    model_version.activated_at = timezone.now()
    model_version.save(update_fields=["is_active", "activated_at"])
    return model_version
