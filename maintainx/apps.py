from django.apps import AppConfig


class MaintainXConfig(AppConfig):
    """The composition root as an app: settings, URLs, ASGI and websocket routing, the admin site's
    configuration, and the data migrations that grant the role groups their permissions. Its APIs and
    views live in the apps they belong to: accounts (login, tokens, "me"), operations (health checks,
    `healthcheck`, `plant_status`, the dashboard's page)."""

    name = "maintainx"
    verbose_name = "MaintainX"
