import pytest

from catalogue.models import Severity
from tickets.tests.factories import ErrorCodeFactory, SOPFactory, SOPStepFactory


@pytest.fixture
def reader(api_client, technician):
    api_client.force_authenticate(technician)
    return api_client


def test_error_codes_are_listed_with_readable_severity(reader):
    ErrorCodeFactory(code="E-ELC-01", title="Electrical fault", severity=Severity.CRITICAL)
    codes = {code["code"]: code for code in reader.get("/api/error-codes/").json()["results"]}
    code = codes["E-ELC-01"]  # beside the inspection code every install has
    assert (code["code"], code["severity"], code["severity_display"]) == ("E-ELC-01", 4, "Critical")


def test_sop_for_an_error_code_is_the_newest_published_version_with_steps_in_order(reader):
    code = ErrorCodeFactory(code="E-BRG-01")
    SOPStepFactory(sop=SOPFactory(title="Replace bearing", version=1, error_codes=[code]), order=1)
    newest = SOPFactory(title="Replace bearing", version=2, error_codes=[code])
    SOPFactory(title="Replace bearing", version=3, error_codes=[code], is_published=False)
    SOPStepFactory(sop=newest, order=2, instruction="Pull the bearing", tools="puller, heater", estimated_minutes=30)
    SOPStepFactory(sop=newest, order=1, instruction="Lockout/tagout", estimated_minutes=10)

    sop = reader.get("/api/error-codes/E-BRG-01/sop/").json()

    assert sop["version"] == 2
    assert [step["instruction"] for step in sop["steps"]] == ["Lockout/tagout", "Pull the bearing"]
    assert sop["steps"][1]["tools"] == ["puller", "heater"]
    assert sop["estimated_minutes"] == 40
    assert sop["error_codes"] == ["E-BRG-01"]


def test_error_code_without_published_sop_is_404_saying_so(reader):
    code = ErrorCodeFactory(code="E-LUB-01")
    SOPFactory(error_codes=[code], is_published=False)
    response = reader.get("/api/error-codes/E-LUB-01/sop/")
    assert response.status_code == 404
    assert "no published SOP" in response.json()["detail"]


def test_unknown_error_code_is_404_naming_it(reader):
    response = reader.get("/api/error-codes/E-NOPE/sop/")
    assert response.status_code == 404
    assert "E-NOPE" in response.json()["detail"]
