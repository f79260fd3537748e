from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running an install: liveness and readiness (/healthz, /readyz, `healthcheck`), the operator's
    summary (`plant_status`) and the page that serves the built dashboard. It reads across telemetry,
    predictor and tickets, so it sits at the top of the layers beside demo (no models)."""

    name = "operations"
    verbose_name = "Operations"
