"""Roles for the simulator's ground truth: supervisors manage it, managers read it."""

from django.db import migrations

from core.role_grants import ALL_ACTIONS, grant

ROLE_PERMISSIONS = {
    "Supervisor": [("telemetry", "simulatedfault", ALL_ACTIONS)],
    "Manager": [("telemetry", "simulatedfault", ("view",))],
}


def grant_permissions(apps, schema_editor):
    grant(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("maintainx", "0001_roles"), ("telemetry", "0002_simulated_fault")]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
