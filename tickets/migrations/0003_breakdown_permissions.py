"""Roles for breakdowns: supervisors manage them, managers read them (reports)."""

from django.db import migrations

from core.role_grants import ALL_ACTIONS, grant

ROLE_PERMISSIONS = {
    "Supervisor": [("tickets", "breakdown", ALL_ACTIONS)],
    "Manager": [("tickets", "breakdown", ("view",))],
}


def grant_permissions(apps, schema_editor):
    grant(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("maintainx", "0004_sensor_warning_permissions"), ("tickets", "0002_alerts_workflow_breakdowns")]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
