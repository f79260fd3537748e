"""The predictor's read API: prediction history per machine, and every machine's latest for the plant grid."""

import datetime

import pytest
from django.utils import timezone

from predictor.models import HealthState, MachineHealth, SensorWarning
from predictor.tests.factories import ModelVersionFactory, PredictionFactory
from telemetry.tests.factories import MachineFactory
from tickets.tests.factories import ErrorCodeFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def reader(api_client, technician):
    api_client.force_authenticate(technician)
    return api_client


def minutes_ago(minutes: float) -> datetime.datetime:
    return NOW - datetime.timedelta(minutes=minutes)


def test_prediction_history_of_one_machine_newest_first_with_the_why(reader):
    pump, other = MachineFactory(code="M-001"), MachineFactory(code="M-002")
    bearing = ErrorCodeFactory(code="E-BRG-01", title="Bearing wear")
    PredictionFactory(machine=pump, ts=minutes_ago(20), failure_probability=0.2)
    PredictionFactory(
        machine=pump,
        ts=minutes_ago(10),
        failure_probability=0.91,
        error_code=bearing,
        rul_hours=6.5,
        rul_low_hours=3.0,
        rul_high_hours=11.0,
        top_signals=["vibration 3.1x its 12-hour level"],
    )
    PredictionFactory(machine=other, ts=minutes_ago(5))

    results = reader.get("/api/predictions/", {"machine": "M-001"}).json()["results"]

    assert [p["failure_probability"] for p in results] == [0.91, 0.2]
    newest = results[0]
    assert (newest["machine"], newest["error_code"], newest["error_title"]) == ("M-001", "E-BRG-01", "Bearing wear")
    assert (newest["rul_hours"], newest["rul_low_hours"], newest["rul_high_hours"]) == (6.5, 3.0, 11.0)
    assert newest["top_signals"] == ["vibration 3.1x its 12-hour level"]
    assert results[1]["error_code"] is None


def test_since_gives_only_predictions_recorded_after_it(reader):
    pump = MachineFactory(code="M-001")
    PredictionFactory(machine=pump, ts=minutes_ago(10), created_at=minutes_ago(10))
    recent = PredictionFactory(machine=pump, ts=minutes_ago(1), created_at=minutes_ago(1))

    results = reader.get("/api/predictions/", {"since": minutes_ago(5).isoformat()}).json()["results"]

    assert [p["id"] for p in results] == [recent.pk]


def test_from_and_to_bound_the_prediction_instants(reader):
    pump = MachineFactory(code="M-001")
    for minutes in (90, 50, 10):
        PredictionFactory(machine=pump, ts=minutes_ago(minutes))

    window = {"from": minutes_ago(60).isoformat(), "to": minutes_ago(5).isoformat()}
    results = reader.get("/api/predictions/", window).json()["results"]

    assert [p["ts"] for p in results] == [
        minutes_ago(10).isoformat().replace("+00:00", "Z"),
        minutes_ago(50).isoformat().replace("+00:00", "Z"),
    ]


def test_a_malformed_since_is_refused_naming_the_field(reader, db):
    response = reader.get("/api/predictions/", {"since": "last tuesday"})

    assert response.status_code == 400
    assert "since" in response.json()


def test_latest_gives_every_machine_its_newest_prediction_and_the_threshold(reader, settings):
    settings.PREDICTION_THRESHOLD = 0.75
    forest = ModelVersionFactory()
    pump, fan, new = MachineFactory(code="M-001"), MachineFactory(code="M-002"), MachineFactory(code="M-003")
    PredictionFactory(machine=pump, ts=minutes_ago(30), failure_probability=0.9, model_version=forest)
    PredictionFactory(machine=pump, ts=minutes_ago(1), failure_probability=0.35, model_version=forest)
    PredictionFactory(machine=fan, ts=minutes_ago(2), failure_probability=0.8, model_version=forest)

    body = reader.get("/api/predictions/latest/").json()

    assert body["threshold"] == 0.75
    latest = {row["machine"]: row for row in body["machines"]}
    assert latest["M-001"]["prediction"]["failure_probability"] == 0.35
    assert latest["M-002"]["prediction"]["failure_probability"] == 0.8
    assert latest["M-003"] == {"machine": new.code, "prediction": None, "sensor_warning": None, "health": None}


def test_latest_gives_each_machine_s_health_model_state_and_score(reader, settings):
    settings.HEALTH_LEARNING_DAYS = 3.0
    learning, watched = MachineFactory(code="M-001"), MachineFactory(code="M-002")
    MachineHealth.objects.create(machine=learning, learned_days=1.6, last_learned_at=NOW)
    MachineHealth.objects.create(
        machine=watched,
        state=HealthState.READY,
        learned_days=3.1,
        ready_since=NOW,
        last_relearned_at=NOW,
        score=31.5,
        scored_at=NOW,
        departures=["vibration 1 h mean 4.02 mm/s RMS above its normal 2.01 ± 0.05"],
    )

    latest = {row["machine"]: row["health"] for row in reader.get("/api/predictions/latest/").json()["machines"]}

    assert latest["M-001"]["state"] == "learning"
    assert (latest["M-001"]["learned_days"], latest["M-001"]["required_days"], latest["M-001"]["score"]) == (
        1.6,
        3.0,
        None,
    )
    assert latest["M-002"]["state"] == "ready"
    assert latest["M-002"]["score"] == 31.5
    assert latest["M-002"]["departures"] == ["vibration 1 h mean 4.02 mm/s RMS above its normal 2.01 ± 0.05"]


def test_latest_shows_a_sensor_warning_only_when_it_came_after_the_prediction(reader):
    pump, fan = MachineFactory(code="M-001"), MachineFactory(code="M-002")
    PredictionFactory(machine=pump, ts=minutes_ago(10), created_at=minutes_ago(10))
    SensorWarning.objects.create(machine=pump, problem="stale", detail="no readings for 9 min", detected_at=NOW)
    SensorWarning.objects.create(machine=fan, problem="flat", detail="stuck", detected_at=minutes_ago(30))
    PredictionFactory(machine=fan, ts=minutes_ago(1), created_at=minutes_ago(1))

    latest = {row["machine"]: row for row in reader.get("/api/predictions/latest/").json()["machines"]}

    assert latest["M-001"]["sensor_warning"]["problem_display"] == "No recent readings"
    assert latest["M-001"]["sensor_warning"]["detail"] == "no readings for 9 min"
    assert latest["M-002"]["sensor_warning"] is None


def test_latest_takes_a_fixed_number_of_queries_whatever_the_plant_size(reader, django_assert_max_num_queries):
    forest = ModelVersionFactory()
    for _ in range(25):
        machine = MachineFactory()
        for minutes in (3, 2, 1):
            PredictionFactory(machine=machine, ts=minutes_ago(minutes), model_version=forest)

    # auth (user, groups), machines with their latest ids, predictions, warnings, health
    with django_assert_max_num_queries(6):
        assert len(reader.get("/api/predictions/latest/").json()["machines"]) == 25


def test_predictions_need_a_role(api_client, user_without_role):
    assert api_client.get("/api/predictions/latest/").status_code == 401
    api_client.force_authenticate(user_without_role)
    assert api_client.get("/api/predictions/").status_code == 403
