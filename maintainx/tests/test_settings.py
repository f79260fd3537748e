"""Settings come from the environment; a bad value stops start-up with a message that names it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.env import SettingError, env_bool, env_database, env_float, env_list, env_url
from core.wiring import wired, wired_map
from notifications.services import ticket_news_handle
from notifications.vapid import vapid_keys_generate
from tickets.selectors import machine_last_repairs
from tickets.services import machine_reports_handle, predictions_handle

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in a fresh interpreter, with the test's variables over a clean configuration."""
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "MQTT_URL", "DEBUG"}}
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py, arguments from the tests
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PREDICTION_THRESHOLD", "eighty"),
        ("PREDICTION_THRESHOLD", "1.5"),
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://root@localhost/maintainx"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("MQTT_URL", "mqtt://"),
        ("MQTT_URL", "mqtt://broker:not-a-port"),
        ("LOG_LEVEL", "LOUD"),
        ("TIME_ZONE", "Mars/Olympus_Mons"),
        ("LOGIN_RATE", "many"),
        ("SPARKPLUG_GROUPS", "plant1,plant2/gateway/extra"),
        ("SPARKPLUG_GROUPS", "plant/#"),
        ("EMAIL_URL", "ftp://mail.plant.example"),
        ("EMAIL_URL", "smtp://"),
        ("DEFAULT_FROM_EMAIL", "maintainx at the plant"),
        ("SITE_URL", "maintainx.plant.example"),
        ("NOTIFY_DIGEST_AFTER", "0"),
        ("NOTIFY_RETRY_SECONDS", "soon"),
        ("READINGS_MINUTES_RETENTION_DAYS", "a quarter"),
        ("READINGS_MINUTES_RETENTION_DAYS", "7"),  # shorter than the raw readings' 30 days
        ("READINGS_HOURS_RETENTION_DAYS", "60"),  # shorter than the minutes' 90 days
    ],
)
def test_bad_setting_stops_start_up_naming_the_variable(variable, value):
    result = run_manage("check", **{variable: value})
    assert result.returncode != 0
    assert result.stderr.startswith(f"Configuration error: {variable}: ")
    assert "Traceback" not in result.stderr


def _vapid_pair() -> dict[str, str]:
    public_key, private_key = vapid_keys_generate()
    return {"VAPID_PUBLIC_KEY": public_key, "VAPID_PRIVATE_KEY": private_key}


@pytest.mark.parametrize(
    ("variables", "refused", "problem"),
    [
        ({"VAPID_PUBLIC_KEY": _vapid_pair()["VAPID_PUBLIC_KEY"]}, "VAPID_PRIVATE_KEY", "must be set with the other"),
        (
            {**_vapid_pair(), "VAPID_PUBLIC_KEY": _vapid_pair()["VAPID_PUBLIC_KEY"], "VAPID_SUBJECT": "mailto:a@b.c"},
            "VAPID_PUBLIC_KEY",
            "is not the public key of VAPID_PRIVATE_KEY",
        ),
        ({**_vapid_pair(), "VAPID_SUBJECT": "maintenance"}, "VAPID_SUBJECT", "must be a mailto: or https: contact"),
    ],
)
def test_vapid_keys_must_be_one_pair_with_a_contact(variables, refused, problem):
    result = run_manage("check", **variables)
    assert result.returncode != 0
    assert result.stderr.startswith(f"Configuration error: {refused}: {problem}")


def test_production_without_secret_key_refuses_to_start():
    result = run_manage("check", DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY: must be set when DEBUG is off" in result.stderr


def test_embedded_defaults_start_with_nothing_set():
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'],"
        " s.CHANNEL_LAYERS['default']['BACKEND'], s.MQTT_URL, s.PREDICTION_THRESHOLD)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "mqtt://127.0.0.1:1883",
        "0.8",
    ]


def test_redis_url_selects_the_redis_channel_layer():
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.CHANNEL_LAYERS['default']['BACKEND'])",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "channels_redis.core.RedisChannelLayer"


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("FALSE", False)])
def test_bool_accepts_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", default=not expected) is expected


def test_empty_variable_means_the_default(monkeypatch):
    monkeypatch.setenv("PREDICTION_THRESHOLD", "  ")
    assert env_float("PREDICTION_THRESHOLD", default=0.8, minimum=0.01, maximum=1) == 0.8


def test_float_out_of_range_names_the_variable_and_the_range(monkeypatch):
    monkeypatch.setenv("PREDICTION_THRESHOLD", "nan")
    with pytest.raises(SettingError, match=r"^PREDICTION_THRESHOLD: must be a number from 0.01 to 1"):
        env_float("PREDICTION_THRESHOLD", default=0.8, minimum=0.01, maximum=1)


def test_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "plant.example, ,10.0.0.5")
    assert env_list("ALLOWED_HOSTS", default=[]) == ["plant.example", "10.0.0.5"]


def test_list_items_must_match_the_pattern_when_one_is_given(monkeypatch):
    monkeypatch.setenv("SPARKPLUG_GROUPS", "plant1, plant2/gateway-3")
    assert env_list("SPARKPLUG_GROUPS", default=[], item_pattern=r"[a-z0-9-]+(/[a-z0-9-]+)?") == [
        "plant1",
        "plant2/gateway-3",
    ]
    monkeypatch.setenv("SPARKPLUG_GROUPS", "plant1,+")
    with pytest.raises(SettingError, match=r"^SPARKPLUG_GROUPS: '\+' is not a valid item \(a group\)"):
        env_list("SPARKPLUG_GROUPS", default=[], item_pattern=r"[a-z0-9-]+", example="a group")


def test_url_scheme_is_checked(monkeypatch):
    monkeypatch.setenv("MQTT_URL", "mqtts://broker.plant:8883")
    assert env_url("MQTT_URL", default=None, schemes=("mqtt", "mqtts")) == "mqtts://broker.plant:8883"


def test_postgres_url_becomes_a_psycopg_database(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://maint:secret@db:5432/maintainx")
    config = env_database("DATABASE_URL", default="sqlite:///x.sqlite3")
    assert (config["ENGINE"], config["HOST"], config["NAME"], config["USER"]) == (
        "django.db.backends.postgresql",
        "db",
        "maintainx",
        "maint",
    )


def test_every_call_the_composition_root_wires_resolves():
    assert wired("MACHINE_REPORTS_HANDLER") is machine_reports_handle
    assert wired("PREDICTIONS_HANDLER") is predictions_handle
    assert wired("TICKET_NEWS_HANDLER") is ticket_news_handle
    assert wired("LAST_REPAIRS_SELECTOR") is machine_last_repairs
    assert set(wired_map("TRAINING_SOURCES")) == {"simulate", "db", "plant"}
