"""A reading the database refuses as data is found by splitting the batch and kept as a rejection:
it never holds up the rest, nor comes back forever with the broker's redeliveries."""

import datetime
import json

import pytest
from django.db import connection
from django.utils import timezone

from telemetry.ingest import ReadingRow
from telemetry.models import Reading, RejectedMessage
from telemetry.services import readings_ingest
from telemetry.tests.factories import MachineFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="only PostgreSQL refuses data here (jsonb); SQLite stores any text. CI runs this on PostgreSQL",
)


def row(machine, ts, *, payload_note: str | None = None) -> ReadingRow:
    metrics = {"vibration": 2.0}
    payload = None
    if payload_note is not None:
        # As it came over the wire: the bulk write sends such a payload to jsonb as it is.
        document = f'{{"ts": "{ts.isoformat()}", "metrics": {{"vibration": 2.0}}, "note": "{payload_note}"}}'
        payload = document.encode()
    return ReadingRow(machine.id, machine.code, ts, metrics, "", payload)


@pytest.mark.django_db
def test_the_refused_reading_becomes_a_rejection_and_the_others_are_stored():
    machine = MachineFactory(code="M-001")
    now = timezone.now().replace(microsecond=0)
    rows = [row(machine, now - datetime.timedelta(seconds=n), payload_note="ok") for n in range(9)]
    refused_at = now - datetime.timedelta(seconds=20)
    rows.insert(5, row(machine, refused_at, payload_note="\\u0000"))

    result = readings_ingest(rows=rows)

    assert (result.stored, result.rejected) == (9, 1)
    assert Reading.objects.count() == 9
    assert not Reading.objects.filter(ts=refused_at).exists()
    rejection = RejectedMessage.objects.get()
    assert rejection.topic == "plant/M-001/telemetry"
    assert rejection.reason.startswith("the database refused it: ")
    assert json.loads(bytes(rejection.payload))["ts"] == refused_at.isoformat()
