import pytest

from telemetry.models import MachineStatus
from telemetry.tests.factories import MachineFactory, MachineTypeFactory, MetricSpecFactory


@pytest.fixture
def reader(api_client, manager):
    api_client.force_authenticate(manager)
    return api_client


def test_machine_list_shows_type_metrics_and_topic(reader):
    pump = MachineTypeFactory(name="Centrifugal pump")
    MetricSpecFactory(machine_type=pump, name="vibration", unit="mm/s RMS")
    MetricSpecFactory(machine_type=pump, name="temperature", unit="°C", normal_min=10, normal_max=70, alarm_max=90)
    MachineFactory(code="M-001", machine_type=pump)

    [machine] = reader.get("/api/machines/").json()["results"]

    assert machine["machine_type"] == "Centrifugal pump"
    assert [(m["name"], m["unit"]) for m in machine["metrics"]] == [("temperature", "°C"), ("vibration", "mm/s RMS")]
    assert machine["topic"] == "plant/M-001/telemetry"


def test_machine_list_filters_by_status_and_line(reader):
    MachineFactory(code="M-001", line="Line 1", status=MachineStatus.DOWN)
    MachineFactory(code="M-002", line="Line 1")
    MachineFactory(code="M-003", line="Line 2", status=MachineStatus.DEGRADED)

    def codes(query):
        return [m["code"] for m in reader.get(f"/api/machines/?{query}").json()["results"]]

    assert codes("status=down&status=degraded") == ["M-001", "M-003"]
    assert codes("line=Line 1") == ["M-001", "M-002"]
    assert codes("search=M-002") == ["M-002"]


def test_machine_list_refuses_an_unknown_status_naming_the_field(reader, db):
    response = reader.get("/api/machines/?status=exploded")
    assert response.status_code == 400
    assert "status" in response.json()


def test_machine_list_queries_do_not_grow_with_machines(reader, django_assert_max_num_queries):
    for _ in range(30):
        MachineFactory()
    # session/auth, count, page, metric specs: a fixed number whatever the plant's size
    with django_assert_max_num_queries(4):
        assert len(reader.get("/api/machines/").json()["results"]) == 30


def test_machine_detail_by_code(reader):
    MachineFactory(code="M-007", name="Conveyor drive 7")
    assert reader.get("/api/machines/M-007/").json()["name"] == "Conveyor drive 7"


def test_unknown_machine_is_404_naming_the_code(reader, db):
    response = reader.get("/api/machines/M-404/")
    assert response.status_code == 404
    assert "M-404" in response.json()["detail"]
