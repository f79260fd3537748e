"""Roles for the predictor's sensor warnings: supervisors manage them, everyone else reads them."""

from django.db import migrations

from core.role_grants import ALL_ACTIONS, grant

ROLE_PERMISSIONS = {
    "Supervisor": [("predictor", "sensorwarning", ALL_ACTIONS)],
    "Manager": [("predictor", "sensorwarning", ("view",))],
    "Technician": [("predictor", "sensorwarning", ("view",))],
}


def grant_permissions(apps, schema_editor):
    grant(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("maintainx", "0003_reading_minute_permissions"), ("predictor", "0003_sensor_warning")]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
