"""The two halves of the upgrade test, run as scripts in a subprocess each: one with the code from
before the restructuring, which fills a database, and one with today's code, after its `migrate`,
which reads it back. Each prints one JSON document.

Both read only what both layouts have under the same names (models found by their class name), so
the same census can be compared.
"""

CENSUS = r"""
import json
from django.apps import apps
from django.contrib.auth.models import Group
from django.contrib.admin.models import LogEntry

MODELS = ["MachineType", "MetricSpec", "Machine", "Reading", "ReadingMinute", "RejectedMessage", "SimulatedFault",
          "ErrorCode", "SOP", "SOPStep", "Shift", "ModelVersion", "Prediction", "SensorWarning", "Alert", "Ticket",
          "TicketEvent", "Breakdown"]
by_name = {model.__name__: model for model in apps.get_models()}
census = {"counts": {name: by_name[name].objects.count() for name in MODELS}}
SOP = by_name["SOP"]
census["sop_error_codes"] = sorted(
    (sop.title, sop.version, code)
    for sop in SOP.objects.all()
    for code in sop.error_codes.values_list("code", flat=True)
)
census["tickets"] = sorted(
    (t.id, t.machine.code, t.error_code.code if t.error_code else None, t.sop.title if t.sop else None, t.status)
    for t in by_name["Ticket"].objects.select_related("machine", "error_code", "sop")
)
census["predictions"] = sorted(
    (p.machine.code, p.error_code.code if p.error_code else None, round(p.failure_probability, 6))
    for p in by_name["Prediction"].objects.select_related("machine", "error_code")
)
census["faults"] = sorted(
    (f.machine.code, f.failure_mode, f.started_at.isoformat()) for f in by_name["SimulatedFault"].objects.all()
)
census["grants"] = {g.name: sorted(p.codename for p in g.permissions.all()) for g in Group.objects.all()}
census["logged_models"] = sorted(
    (entry.content_type.model, entry.object_repr) for entry in LogEntry.objects.select_related("content_type")
)
census["logged_apps"] = sorted(
    {entry.content_type.app_label for entry in LogEntry.objects.select_related("content_type")}
)
print("CENSUS " + json.dumps(census, default=str))
"""

# With the code from before: seed the demo plant, store readings (one carries a machine's own error
# code: an alert, a ticket and a breakdown), score a machine above the threshold (another alert and
# ticket), and keep a fault of the simulator's, a sensor warning and an admin log entry.
FILL_BEFORE = (
    r"""
import datetime
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.utils import timezone

from predictor.models import ModelVersion, SensorWarning
from predictor.services import PredictionDraft, predictions_record
from telemetry.ingest import ReadingRow
from telemetry.models import Machine, SimulatedFault
from telemetry.services import readings_ingest
from tickets.models import ErrorCode

call_command("seed_demo", verbosity=0)
now = timezone.now().replace(microsecond=0)
machines = list(Machine.objects.order_by("code")[:3])
rows = [
    ReadingRow(
        m.id, m.code, now - datetime.timedelta(minutes=minutes), {"vibration": 2.0 + minutes / 100, "temperature": 60.0}
    )
    for m in machines
    for minutes in range(0, 90, 3)
]
rows.append(
    ReadingRow(machines[0].id, machines[0].code, now + datetime.timedelta(seconds=1), {"vibration": 9.0}, "E-ELC-01")
)
readings_ingest(rows=rows, reports_now=now)
version = ModelVersion.objects.create(
    kind="random_forest", version="before", artifact_path="/nowhere", sha256="0" * 64, is_active=True
)
bearing = ErrorCode.objects.filter(failure_mode="bearing_wear").order_by("code").first()
predictions_record(
    predictions=[
        PredictionDraft(machines[1].code, now, version, None, 0.95, bearing, 30.0, 20.0, 40.0, ["vibration rising"])
    ],
    warnings=[],
    detected_at=now,
)
SensorWarning.objects.create(machine=machines[2], problem="flat", detail="temperature flat", detected_at=now)
SimulatedFault.objects.create(
    machine=machines[2],
    failure_mode="overheating",
    error_code="E-TMP-01",
    started_at=now - datetime.timedelta(hours=5),
    planned_failure_at=now + datetime.timedelta(hours=5),
    seed=7,
)
admin = get_user_model().objects.create_superuser("upgrader", "upgrader@example.com", "x")
LogEntry.objects.log_action(
    user_id=admin.id, content_type_id=ContentType.objects.get_for_model(ErrorCode).id, object_id=bearing.id,
    object_repr=str(bearing), action_flag=ADDITION,
)
"""
    + CENSUS
)

# With today's code, after its migrate: the same census, and the moved tables still take new rows.
READ_AFTER = (
    CENSUS
    + r"""
from django.apps import apps
from django.core.management import call_command
by_name = {model.__name__: model for model in apps.get_models()}
code = by_name["ErrorCode"].objects.create(code="E-NEW-01", title="After the upgrade", failure_mode="other")
sop = by_name["SOP"].objects.create(title="After the upgrade", is_published=True)
sop.error_codes.add(code)
by_name["SOPStep"].objects.create(sop=sop, order=1, instruction="Look")
machine = by_name["Machine"].objects.order_by("code").first()
fault = by_name["SimulatedFault"].objects.create(
    machine=machine, failure_mode="other", error_code="E-NEW-01", started_at="2026-01-01T00:00:00Z",
    planned_failure_at="2026-01-02T00:00:00Z", seed=1,
)
ticket = by_name["Ticket"].objects.create(title="After the upgrade", machine=machine, error_code=code, sop=sop)
call_command("makemigrations", check=True, dry_run=True, verbosity=0)
print("NEW_ROWS_OK", ticket.sop.error_codes.get().code, fault.pk is not None)
"""
)
