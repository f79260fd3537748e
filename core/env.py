"""Typed readers for settings taken from the environment.

Each reader returns the default when the variable is unset or empty, and raises `SettingError`
naming the variable when the value is malformed, so that a bad setting stops start-up with a
message an operator can act on instead of a stack trace deep inside a library.
"""

import math
import os
import re
import zoneinfo
from email.utils import parseaddr
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class SettingError(ImproperlyConfigured):
    """A configuration variable is missing or malformed; the message names it."""

    def __init__(self, name: str, problem: str, value: str | None = None):
        shown = "" if value is None else f" (got {value!r})"
        super().__init__(f"{name}: {problem}{shown}")
        self.name = name


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_str(name: str, *, default: str | None = None, required: bool = False) -> str | None:
    value = _raw(name)
    if value is None:
        if required:
            raise SettingError(name, "must be set")
        return default
    return value


def env_choice(name: str, *, default: str, choices: tuple[str, ...]) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value not in choices:
        raise SettingError(name, f"must be one of {', '.join(choices)}", value)
    return value


def env_rate(name: str, *, default: str) -> str:
    """A request rate as DRF's throttles read it: a count per second, minute, hour or day (20/min)."""
    value = _raw(name)
    if value is None:
        return default
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise SettingError(name, "must be a count per period, e.g. 20/min or 500/hour", value)
    return value


def env_timezone(name: str, *, default: str) -> str:
    value = _raw(name)
    if value is None:
        return default
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingError(name, "must be an IANA time zone such as Europe/Berlin", value) from None
    return value


def env_bool(name: str, *, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE_WORDS:
        return True
    if lowered in _FALSE_WORDS:
        return False
    raise SettingError(name, "must be one of 1/0, true/false, yes/no, on/off", value)


def env_float(name: str, *, default: float, minimum: float, maximum: float) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise SettingError(name, "must be a number", value) from None
    if not math.isfinite(number) or not minimum <= number <= maximum:
        raise SettingError(name, f"must be a number from {minimum} to {maximum}", value)
    return number


def env_int(name: str, *, default: int, minimum: int, maximum: int) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SettingError(name, "must be a whole number", value) from None
    if not minimum <= number <= maximum:
        raise SettingError(name, f"must be a whole number from {minimum} to {maximum}", value)
    return number


def env_list(name: str, *, default: list[str], item_pattern: str | None = None, example: str = "") -> list[str]:
    """Comma-separated items, blanks dropped; each must match `item_pattern` when one is given
    (`example` shows the operator a good value)."""
    value = _raw(name)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",") if item.strip()]
    if item_pattern is not None:
        for item in items:
            if not re.fullmatch(item_pattern, item):
                raise SettingError(name, f"{item!r} is not a valid item{f' ({example})' if example else ''}", value)
    return items


def env_url(name: str, *, default: str | None, schemes: tuple[str, ...]) -> str | None:
    """A URL whose scheme is one of `schemes` and which names a host."""
    value = _raw(name)
    if value is None:
        return default
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - accessing .port is what validates it
    except ValueError as exc:
        raise SettingError(name, f"is not a valid URL: {exc}", value) from None
    if parts.scheme not in schemes:
        raise SettingError(name, f"scheme must be one of {', '.join(schemes)}", value)
    if not parts.hostname:
        raise SettingError(name, "must name a host", value)
    return value


def env_email_url(name: str, *, default: str) -> dict:
    """Django's EMAIL_* settings for an email URL: smtp://user:password@host:25, smtp+tls://…:587
    (STARTTLS), smtps://…:465 (TLS), consolemail:// (the messages printed, as in the demo)."""
    value = _raw(name) or default
    scheme = urlsplit(value).scheme
    if scheme not in environ.Env.EMAIL_SCHEMES:
        raise SettingError(name, f"scheme must be one of {', '.join(sorted(environ.Env.EMAIL_SCHEMES))}", value)
    try:
        config = environ.Env.email_url_config(value)
    except (ValueError, ImproperlyConfigured) as exc:
        raise SettingError(name, f"is not a valid email URL: {exc}", value) from None
    if scheme.startswith("smtp") and not config.get("EMAIL_HOST"):
        raise SettingError(name, "must name the SMTP server's host", value)
    return config


def env_email_address(name: str, *, default: str) -> str:
    """A sender address, bare (maintainx@plant.example) or with a name (MaintainX <maintainx@plant.example>)."""
    value = _raw(name) or default
    address = parseaddr(value)[1]
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise SettingError(name, "must be an email address, e.g. MaintainX <maintainx@plant.example>", value)
    return value


def env_database(name: str, *, default: str) -> dict:
    """Django's DATABASES entry for a database URL (postgres://…, sqlite:///path)."""
    value = _raw(name) or default
    scheme = urlsplit(value).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise SettingError(name, "scheme must be postgres:// or sqlite:///", value)
    try:
        config = environ.Env.db_url_config(value)
    except (ValueError, ImproperlyConfigured) as exc:
        raise SettingError(name, f"is not a valid database URL: {exc}", value) from None
    if scheme != "sqlite" and not config.get("NAME"):
        raise SettingError(name, "must name a database after the host, e.g. /maintainx", value)
    return config
