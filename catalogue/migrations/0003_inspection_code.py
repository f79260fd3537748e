"""The generic inspection code and its SOP: what an alarm rule raises when no failure mode fits,
on every install (a plant with no error codes of its own still gets a procedure)."""

from django.db import migrations

CODE = "E-INS-01"
# (instruction, safety warning, tools, estimated minutes)
STEPS = [
    ("Read the alert's why: which metric, how far past its limit, for how long.", "", "", 2),
    (
        "Walk to the machine and check it runs as usual: noise, smell, heat by hand at a safe distance, leaks.",
        "Do not touch rotating parts; lock out before opening guards.",
        "",
        10,
    ),
    (
        "Measure the flagged metric with a hand-held instrument to rule out a faulty sensor.",
        "",
        "vibration pen, infrared thermometer",
        10,
    ),
    (
        "If the reading is real, follow the SOP of the failure it points to, or stop the machine and call the "
        "supervisor; if the sensor is wrong, replace or re-mount it.",
        "",
        "",
        15,
    ),
    ("Resolve the ticket with what you found: the outcome is what the next models learn from.", "", "", 3),
]


def add_inspection(apps, schema_editor):
    ErrorCode = apps.get_model("catalogue", "ErrorCode")
    SOP = apps.get_model("catalogue", "SOP")
    SOPStep = apps.get_model("catalogue", "SOPStep")
    code, _ = ErrorCode.objects.get_or_create(
        code=CODE,
        defaults={
            "title": "Inspect the machine",
            "severity": 2,
            "failure_mode": "other",
            "description": "A rule or a health model flagged the machine and no failure mode fits: look before it fails.",
        },
    )
    sop, created = SOP.objects.get_or_create(
        title="Inspect a flagged machine",
        version=1,
        defaults={"summary": "A first look when a rule or a health model raises an alert.", "is_published": True},
    )
    if created:
        sop.error_codes.add(code)
        for order, (instruction, warning, tools, minutes) in enumerate(STEPS, start=1):
            SOPStep.objects.create(
                sop=sop, order=order, instruction=instruction, warning=warning, tools=tools, estimated_minutes=minutes
            )


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0002_adopt_former_tables")]

    operations = [migrations.RunPython(add_inspection, migrations.RunPython.noop)]
