"""Create the role groups Manager, Technician and Supervisor with their model permissions.

Object-level rules (a technician updates only their own tickets) are enforced by the API; these
permissions decide what each role may see and do in the admin and set the ceiling for the API.
A later migration that adds a model grants its permissions to the roles the same way.
"""

from django.db import migrations

from core.role_grants import ALL_ACTIONS, grant

# (app_label, model name or None for every model of the app, actions)
ROLE_PERMISSIONS = {
    "Supervisor": [
        ("telemetry", None, ALL_ACTIONS),
        ("predictor", None, ALL_ACTIONS),
        ("tickets", None, ALL_ACTIONS),
        ("auth", "user", ALL_ACTIONS),
        ("auth", "group", ("view",)),
    ],
    "Manager": [
        ("telemetry", None, ("view",)),
        ("predictor", None, ("view",)),
        ("tickets", None, ("view",)),
        ("tickets", "alert", ("change",)),  # acknowledging an alert
    ],
    "Technician": [
        ("telemetry", "machinetype", ("view",)),
        ("telemetry", "metricspec", ("view",)),
        ("telemetry", "machine", ("view",)),
        ("telemetry", "reading", ("view",)),
        ("predictor", "prediction", ("view",)),
        ("tickets", "errorcode", ("view",)),
        ("tickets", "sop", ("view",)),
        ("tickets", "sopstep", ("view",)),
        ("tickets", "alert", ("view",)),
        ("tickets", "ticket", ("view", "change")),
        ("tickets", "ticketevent", ("view", "add")),
    ],
}


def create_roles(apps, schema_editor):
    grant(apps, ROLE_PERMISSIONS)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("telemetry", "0001_initial"),
        ("predictor", "0002_initial"),
        ("tickets", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
