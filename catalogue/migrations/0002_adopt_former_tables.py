from django.db import migrations

from core.migration_operations import AdoptFormerTable


class Migration(migrations.Migration):
    dependencies = [("contenttypes", "0002_remove_content_type_name"), ("catalogue", "0001_initial")]

    operations = [
        AdoptFormerTable(model_name="ErrorCode", former_app_label="tickets"),
        AdoptFormerTable(model_name="SOP", former_app_label="tickets"),
        AdoptFormerTable(model_name="SOPStep", former_app_label="tickets"),
    ]
