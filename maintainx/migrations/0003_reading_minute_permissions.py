"""Roles for the per-minute roll-ups: everyone who reads readings reads these too."""

from django.db import migrations

from core.role_grants import ALL_ACTIONS, grant

ROLE_PERMISSIONS = {
    "Supervisor": [("telemetry", "readingminute", ALL_ACTIONS)],
    "Manager": [("telemetry", "readingminute", ("view",))],
    "Technician": [("telemetry", "readingminute", ("view",))],
}


def grant_permissions(apps, schema_editor):
    grant(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("maintainx", "0002_simulated_fault_permissions"), ("telemetry", "0003_reading_minute")]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
