import os.path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from core.wiring import wired, wired_map


@override_settings(JOIN_HANDLER="os.path.join")
def test_wired_calls_the_function_the_setting_names():
    assert wired("JOIN_HANDLER") is os.path.join


@override_settings(SOURCES={"join": "os.path.join", "split": "os.path.split"})
def test_wired_map_resolves_every_name():
    assert wired_map("SOURCES") == {"join": os.path.join, "split": os.path.split}


def test_a_setting_that_is_missing_names_itself():
    with pytest.raises(ImproperlyConfigured, match="NOT_WIRED_HANDLER: the composition root must name a function"):
        wired("NOT_WIRED_HANDLER")


@override_settings(BROKEN_HANDLER="os.path.no_such_function")
def test_a_path_that_does_not_import_names_the_setting_and_the_path():
    with pytest.raises(ImproperlyConfigured, match=r"BROKEN_HANDLER: cannot import 'os.path.no_such_function'"):
        wired("BROKEN_HANDLER")


@override_settings(CONSTANT_HANDLER="os.path.sep")
def test_a_path_to_something_not_callable_is_refused():
    with pytest.raises(ImproperlyConfigured, match=r"CONSTANT_HANDLER: 'os\.path\.sep' is not callable"):
        wired("CONSTANT_HANDLER")


@override_settings(SOURCES={"join": "os.path.nothing_here"})
def test_a_bad_entry_of_a_map_names_its_key():
    with pytest.raises(ImproperlyConfigured, match=r"SOURCES\['join'\]: cannot import"):
        wired_map("SOURCES")
