"""Each tick tells the dashboards that new predictions are in, once they are committed."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from predictor.services import PredictionDraft, SensorWarningDraft, predictions_record
from predictor.tests.factories import ModelVersionFactory
from realtime.groups import PLANT_GROUP
from telemetry.tests.factories import MachineFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def frames_on(channel: str) -> list[dict]:
    layer = get_channel_layer()
    frames = []
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), 0.5)
        except TimeoutError:
            return frames
        if message["payload"].get("type") == "predictions":
            frames.append(message["payload"])


def test_a_tick_pushes_one_predictions_frame_after_commit_and_none_on_rollback():
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(PLANT_GROUP, channel)
    scored, stale = MachineFactory(code="PP-001"), MachineFactory(code="PP-002")
    model = ModelVersionFactory(is_active=True)
    now = timezone.now()
    draft = PredictionDraft(
        machine_code=scored.code,
        ts=now,
        model_version=model,
        rul_model_version=None,
        failure_probability=0.2,
        error_code=None,
        rul_hours=None,
        rul_low_hours=None,
        rul_high_hours=None,
        top_signals=[],
    )
    warning = SensorWarningDraft(stale.code, "stale", "newest reading is 9 minutes old")

    def tick_that_fails_after_scoring():
        with transaction.atomic():
            predictions_record(predictions=[draft], warnings=[warning], detected_at=now)
            raise RuntimeError("the tick fails after scoring")

    try:
        with pytest.raises(RuntimeError):
            tick_that_fails_after_scoring()
        predictions_record(predictions=[draft], warnings=[warning], detected_at=now)

        frames = async_to_sync(frames_on)(channel)
    finally:
        async_to_sync(layer.group_discard)(PLANT_GROUP, channel)
    assert frames == [{"type": "predictions", "event": "scored", "at": now.isoformat(), "predicted": 1, "skipped": 1}]
