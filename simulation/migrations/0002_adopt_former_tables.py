from django.db import migrations

from core.migration_operations import AdoptFormerTable


class Migration(migrations.Migration):
    dependencies = [("contenttypes", "0002_remove_content_type_name"), ("simulation", "0001_initial")]

    operations = [
        AdoptFormerTable(model_name="SimulatedFault", former_app_label="telemetry"),
    ]
