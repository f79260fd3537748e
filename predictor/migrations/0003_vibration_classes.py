"""The machine classes of ISO 10816-3 (industrial machines, 120 to 15,000 rpm, measured on the
bearing housings) with their zone boundaries in mm/s RMS, so zone rules work on day one; a
supervisor edits them or adds others (ISO 10816-1's classes I-IV) in the admin."""

from django.db import migrations

ISO_10816_3 = [
    ("ISO 10816-3 group 1, rigid foundation", "Large machines, 300 kW to 50 MW", 2.3, 4.5, 7.1),
    ("ISO 10816-3 group 1, flexible foundation", "Large machines, 300 kW to 50 MW", 3.5, 7.1, 11.0),
    ("ISO 10816-3 group 2, rigid foundation", "Medium machines, 15 kW to 300 kW", 1.4, 2.8, 4.5),
    ("ISO 10816-3 group 2, flexible foundation", "Medium machines, 15 kW to 300 kW", 2.3, 4.5, 7.1),
]


def add_classes(apps, schema_editor):
    VibrationClass = apps.get_model("predictor", "VibrationClass")
    for name, description, zone_b, zone_c, zone_d in ISO_10816_3:
        VibrationClass.objects.get_or_create(
            name=name,
            defaults={"description": description, "zone_b_from": zone_b, "zone_c_from": zone_c, "zone_d_from": zone_d},
        )


class Migration(migrations.Migration):
    dependencies = [("predictor", "0002_alarm_rules")]

    operations = [migrations.RunPython(add_classes, migrations.RunPython.noop)]
