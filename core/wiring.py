"""Calls that go up a layer, wired by the composition root.

A lower app sometimes has to call a higher one: a machine's own error report (telemetry) raises a
ticket, a prediction (predictor) raises an alert. The lower app does not import the higher one; it
calls the function whose dotted path the settings (maintainx/, the composition root) name.
"""

from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


def wired(setting: str) -> Callable[..., Any]:
    """The callable named by the dotted path in `setting`; a missing or wrong path names the setting."""
    path = getattr(settings, setting, None)
    if not isinstance(path, str) or not path:
        raise ImproperlyConfigured(f"{setting}: the composition root must name a function (a dotted path)")
    return _imported(setting, path)


def wired_map(setting: str) -> dict[str, Callable[..., Any]]:
    """The callables of a setting that maps names to dotted paths (e.g. the training sources)."""
    paths = getattr(settings, setting, None)
    if not isinstance(paths, dict):
        raise ImproperlyConfigured(f"{setting}: the composition root must map names to dotted paths")
    return {name: _imported(f"{setting}[{name!r}]", path) for name, path in paths.items()}


@cache
def _imported(setting: str, path: str) -> Callable[..., Any]:
    try:
        target = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{setting}: cannot import {path!r} ({exc})") from exc
    if not callable(target):
        raise ImproperlyConfigured(f"{setting}: {path!r} is not callable")
    return target
