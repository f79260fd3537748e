"""Reads of the catalogue: error codes, the SOP for a code, the code a predicted failure mode opens."""

from django.db.models import Prefetch, QuerySet

from catalogue.models import SOP, ErrorCode, SOPStep

STEPS_IN_ORDER = Prefetch("steps", queryset=SOPStep.objects.order_by("order", "id"))


def error_code_list() -> QuerySet[ErrorCode]:
    return ErrorCode.objects.all()


def sop_for_error_code(*, code: str) -> SOP | None:
    """The newest published SOP for the error code, with its steps in order; None if it has none.

    Raises ErrorCode.DoesNotExist for an unknown code, so callers can tell the two apart.
    """
    error_code = ErrorCode.objects.get(code=code)
    return (
        error_code.sops.filter(is_published=True)
        .order_by("-version", "-updated_at")
        .prefetch_related(STEPS_IN_ORDER, "error_codes")
        .first()
    )


def error_code_by_failure_mode() -> dict[str, ErrorCode]:
    """The error code a predicted failure mode opens tickets with: the first code of each mode."""
    codes: dict[str, ErrorCode] = {}
    for error_code in ErrorCode.objects.order_by("code"):
        codes.setdefault(error_code.failure_mode, error_code)
    return codes


def sop_list() -> QuerySet[SOP]:
    """Published SOPs, newest version first within a title, with their steps and error codes."""
    return SOP.objects.filter(is_published=True).prefetch_related(STEPS_IN_ORDER, "error_codes")
