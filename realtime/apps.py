from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """Channel groups, the broadcaster and the websocket consumers (no models)."""

    name = "realtime"
    verbose_name = "Realtime"
