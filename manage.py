#!/usr/bin/env python
"""Django's command-line utility for MaintainX."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maintainx.settings")
    from django.core.management import execute_from_command_line

    from core.env import SettingError

    try:
        execute_from_command_line(sys.argv)
    except SettingError as exc:
        # A bad setting is the operator's to fix: name it plainly instead of a stack trace.
        sys.exit(f"Configuration error: {exc}")


if __name__ == "__main__":
    main()
