from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign in, sign out, the CSRF token, API tokens and "who am I" (no models: users and their role
    groups are Django's auth, the roles core's). It imports only core (import-linter)."""

    name = "accounts"
    verbose_name = "Accounts"
