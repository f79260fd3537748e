"""VAPID keys: what vapid_keys prints is a pair the settings accept; a mismatched pair is named."""

import io

from django.core.management import call_command

from notifications.vapid import vapid_keys_file_load_or_create, vapid_keys_generate, vapid_keys_problem


def test_the_printed_pair_is_one_the_settings_accept():
    out = io.StringIO()
    call_command("vapid_keys", stdout=out)
    lines = dict(line.split("=", 1) for line in out.getvalue().splitlines())

    assert lines.keys() == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"}
    assert vapid_keys_problem(public_key=lines["VAPID_PUBLIC_KEY"], private_key=lines["VAPID_PRIVATE_KEY"]) is None


def test_keys_of_two_pairs_are_refused_naming_the_public_key():
    public_key, _ = vapid_keys_generate()
    _, private_key = vapid_keys_generate()

    assert vapid_keys_problem(public_key=public_key, private_key=private_key) == (
        "VAPID_PUBLIC_KEY",
        "is not the public key of VAPID_PRIVATE_KEY",
    )


def test_the_demo_keys_file_is_made_once_then_read_back(tmp_path):
    path = tmp_path / "var" / "demo-vapid.json"

    made = vapid_keys_file_load_or_create(path, subject="mailto:demo@localhost")
    again = vapid_keys_file_load_or_create(path, subject="mailto:other@localhost")

    assert again == made
    assert made["subject"] == "mailto:demo@localhost"
    assert vapid_keys_problem(public_key=made["public_key"], private_key=made["private_key"]) is None
    assert path.stat().st_mode & 0o077 == 0
