from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo plant's seed, the replay of its past and `run_demo`: the top of the layers, which
    nothing but the composition root imports."""

    name = "demo"
    verbose_name = "Demo"
