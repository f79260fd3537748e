"""The alerts and tickets API: lists and filters, the detail a technician works from, the workflow
through PATCH, and refusals that say why. The role matrix is in maintainx/tests/test_api_access.py."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.roles import Role
from core.tests.factories import UserFactory
from telemetry.models import Machine, MachineStatus
from telemetry.tests.factories import MachineFactory
from tickets.models import Alert, AlertSource, AlertStatus, Ticket, TicketStatus
from tickets.services import alerts_from_predictions, ticket_create
from tickets.tests.conftest import AT
from tickets.tests.factories import AlertFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert_ticket(pump, bearing_code, predict, technician_on_shift) -> Ticket:
    alerts_from_predictions(
        predictions=[predict(pump, 0.9, bearing_code, rul_hours=30.0, rul_low_hours=18.0, rul_high_hours=44.0)], at=AT
    )
    return Ticket.objects.get()


@pytest.fixture
def tech1_client(api_client, technician_on_shift):
    api_client.force_authenticate(technician_on_shift)
    return api_client


def test_the_ticket_detail_has_the_sop_steps_explanation_rul_evidence_and_what_i_may_do(alert_ticket, tech1_client):
    body = tech1_client.get(f"/api/tickets/{alert_ticket.pk}/").json()

    assert (body["machine"], body["error_code"], body["status"], body["assignee"]["username"]) == (
        "M-007",
        "E-BRG-01",
        "open",
        "tech1",
    )
    assert [step["instruction"] for step in body["sop"]["steps"]] == [
        "Lock out and tag out the drive.",
        "Pull the drive-end bearing.",
    ]
    assert body["explanation"] == ["vibration 3.1x its 12-hour level, rising 0.4 mm/s per hour"]
    assert body["rul"] == {"hours": 30.0, "low_hours": 18.0, "high_hours": 44.0}
    assert body["evidence"]["prediction"]["probability"] == 0.9
    assert [event["kind"] for event in body["events"]] == ["created", "assigned"]
    assert body["actions"] == ["start", "comment", "add_photo"]


def test_a_technician_starts_and_resolves_their_ticket_through_the_api(alert_ticket, tech1_client):
    url = f"/api/tickets/{alert_ticket.pk}/"
    started = tech1_client.patch(url, {"status": "in_progress"}, format="json")
    assert started.status_code == 200
    assert (started.json()["status"], started.json()["actions"]) == ("in_progress", ["resolve", "comment", "add_photo"])
    assert Machine.objects.get(code="M-007").status == MachineStatus.MAINTENANCE

    resolved = tech1_client.patch(
        url,
        {
            "status": "resolved",
            "outcome": "preventive_fix",
            "found_failure_mode": "bearing_wear",
            "notes": "Regreased the bearing",
        },
        format="json",
    )

    assert resolved.status_code == 200
    body = resolved.json()
    assert (body["status"], body["outcome"], body["found_failure_mode"], body["resolution_notes"]) == (
        "resolved",
        "preventive_fix",
        "bearing_wear",
        "Regreased the bearing",
    )
    assert [(event["kind"], event["to_status"]) for event in body["events"]][-2:] == [
        ("status_changed", "in_progress"),
        ("status_changed", "resolved"),
    ]
    assert Alert.objects.get().status == AlertStatus.CLEARED
    assert Machine.objects.get(code="M-007").status == MachineStatus.RUNNING


@pytest.mark.parametrize(
    ("body", "status_code", "reason"),
    [
        ({"status": "resolved", "outcome": "false_alarm", "notes": "x"}, 400, "start it first"),
        ({"status": "open"}, 403, "Only supervisors may reopen"),
    ],
)
def test_illegal_transitions_are_refused_saying_why(alert_ticket, tech1_client, body, status_code, reason):
    response = tech1_client.patch(f"/api/tickets/{alert_ticket.pk}/", body, format="json")
    assert response.status_code == status_code
    assert reason in response.json()["detail"]
    assert Ticket.objects.get().status == TicketStatus.OPEN


def test_resolving_without_notes_is_a_400_that_says_notes_are_needed(alert_ticket, tech1_client):
    url = f"/api/tickets/{alert_ticket.pk}/"
    tech1_client.patch(url, {"status": "in_progress"}, format="json")
    response = tech1_client.patch(url, {"status": "resolved", "outcome": "false_alarm"}, format="json")
    assert response.status_code == 400
    assert "needs notes" in response.json()["detail"]


def test_an_unknown_status_or_outcome_is_a_400_naming_the_field(alert_ticket, tech1_client):
    url = f"/api/tickets/{alert_ticket.pk}/"
    assert "status" in tech1_client.patch(url, {"status": "done"}, format="json").json()
    response = tech1_client.patch(url, {"status": "resolved", "outcome": "fixed", "notes": "x"}, format="json")
    assert response.status_code == 400
    assert "outcome" in response.json()


@pytest.fixture
def unassigned(pump) -> Ticket:
    """Opened while nobody was on shift."""
    return ticket_create(machine=pump, title="Coupling rattles", at=AT)


def test_a_technician_takes_an_unassigned_ticket_and_may_then_start_it(unassigned, api_client):
    tech = UserFactory(username="tech2", role=Role.TECHNICIAN)
    api_client.force_authenticate(tech)
    url = f"/api/tickets/{unassigned.pk}/"
    assert api_client.get(url).json()["actions"] == ["take"]

    response = api_client.post(f"{url}take/")

    assert response.status_code == 200
    body = response.json()
    assert (body["assignee"]["username"], body["status"], body["actions"]) == (
        "tech2",
        "open",
        ["start", "comment", "add_photo"],
    )
    assert (body["events"][-1]["kind"], body["events"][-1]["actor"], body["events"][-1]["assignee"]) == (
        "assigned",
        "tech2",
        "tech2",
    )
    assert api_client.patch(url, {"status": "in_progress"}, format="json").status_code == 200


def test_supervisors_are_offered_take_on_unassigned_tickets_only(unassigned, api_client, supervisor):
    assigned = TicketFactory(assignee=UserFactory(username="tech2", role=Role.TECHNICIAN))
    api_client.force_authenticate(supervisor)
    assert api_client.get(f"/api/tickets/{unassigned.pk}/").json()["actions"] == [
        "take",
        "start",
        "comment",
        "add_photo",
        "reassign",
    ]
    assert api_client.get(f"/api/tickets/{assigned.pk}/").json()["actions"] == [
        "start",
        "comment",
        "add_photo",
        "reassign",
    ]


def test_a_ticket_taken_meanwhile_is_refused_saying_so(unassigned, api_client, supervisor):
    first = UserFactory(username="tech2", role=Role.TECHNICIAN)
    second = UserFactory(username="tech3", role=Role.TECHNICIAN)
    url = f"/api/tickets/{unassigned.pk}/take/"
    api_client.force_authenticate(first)
    assert api_client.post(url).status_code == 200

    # The colleague's page was stale: the ticket is now someone else's, which they may not see.
    api_client.force_authenticate(second)
    late = api_client.post(url)
    assert late.status_code == 404
    assert "another technician has it" in late.json()["detail"]
    # A supervisor sees every ticket, and is told who has it.
    api_client.force_authenticate(supervisor)
    refused = api_client.post(url)
    assert refused.status_code == 400
    assert f"{first.get_full_name()} has it since" in refused.json()["detail"]
    assert Ticket.objects.get().assignee == first


def test_comments_are_added_to_the_audit_trail(alert_ticket, tech1_client):
    response = tech1_client.post(f"/api/tickets/{alert_ticket.pk}/comments/", {"text": "Parts ordered"}, format="json")
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["actor"], response.json()["note"]) == (
        "commented",
        "tech1",
        "Parts ordered",
    )
    assert (
        tech1_client.post(f"/api/tickets/{alert_ticket.pk}/comments/", {"text": ""}, format="json").status_code == 400
    )


def test_a_supervisor_reassigns_by_username(alert_ticket, api_client, supervisor, day_shift):
    tech2 = UserFactory(username="tech2", role=Role.TECHNICIAN)
    api_client.force_authenticate(supervisor)
    url = f"/api/tickets/{alert_ticket.pk}/reassign/"

    response = api_client.post(url, {"assignee": "tech2"}, format="json")

    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == tech2.pk
    assert api_client.post(url, {"assignee": "nobody"}, format="json").status_code == 400
    again = api_client.post(url, {"assignee": "tech2"}, format="json")
    assert (again.status_code, "already assigned" in again.json()["detail"]) == (400, True)


def test_technicians_list_their_own_and_unassigned_tickets_and_filter_mine_status_machine(
    api_client, technician_on_shift
):
    other = UserFactory(username="tech2", role=Role.TECHNICIAN)
    mine = TicketFactory(assignee=technician_on_shift, machine=MachineFactory(code="M-001"))
    unassigned = TicketFactory(machine=MachineFactory(code="M-002"))
    TicketFactory(assignee=other)
    api_client.force_authenticate(technician_on_shift)

    def ids(params=None):
        return {row["id"] for row in api_client.get("/api/tickets/", params or {}).json()["results"]}

    assert ids() == {mine.pk, unassigned.pk}
    assert ids({"mine": "true"}) == {mine.pk}
    assert ids({"machine": "M-002"}) == {unassigned.pk}
    assert ids({"status": ["in_progress", "resolved"]}) == set()


def test_since_returns_only_what_changed_after_it(api_client, manager, pump, bearing_code):
    old = TicketFactory(machine=pump)
    Ticket.objects.filter(pk=old.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    new = TicketFactory(machine=pump)
    old_alert = AlertFactory(machine=pump, error_code=bearing_code, status=AlertStatus.CLEARED, cleared_at=AT)
    Alert.objects.filter(pk=old_alert.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    new_alert = AlertFactory(machine=pump, error_code=bearing_code)
    api_client.force_authenticate(manager)
    since = (timezone.now() - datetime.timedelta(minutes=5)).isoformat()

    assert [row["id"] for row in api_client.get("/api/tickets/", {"since": since}).json()["results"]] == [new.pk]
    assert [row["id"] for row in api_client.get("/api/alerts/", {"since": since}).json()["results"]] == [new_alert.pk]
    bad = api_client.get("/api/alerts/", {"since": "yesterday"})
    assert (bad.status_code, "since" in bad.json()) == (400, True)
    # The same instant written with an offset PostgreSQL refuses (beyond ±15:59) means the same.
    far_west = (timezone.now() - datetime.timedelta(minutes=5)).astimezone(
        datetime.timezone(-datetime.timedelta(hours=18, minutes=54))
    )
    assert [
        row["id"] for row in api_client.get("/api/tickets/", {"since": far_west.isoformat()}).json()["results"]
    ] == [new.pk]
    # An instant that does not exist in UTC (after year 9999 there) is a 400 naming the parameter.
    beyond = api_client.get("/api/tickets/", {"since": "9999-12-31T23:59:59-18:00"})
    assert (beyond.status_code, beyond.json()) == (400, {"since": ["Datetime value out of range."]})


def test_alerts_are_listed_by_status_and_acknowledged_by_a_manager(alert_ticket, api_client, manager):
    api_client.force_authenticate(manager)
    [row] = api_client.get("/api/alerts/", {"status": ["active"], "machine": "M-007"}).json()["results"]
    assert (row["error_code"], row["probability"], row["ticket"], row["severity"]) == (
        "E-BRG-01",
        0.9,
        alert_ticket.pk,
        3,
    )

    acknowledged = api_client.post(f"/api/alerts/{row['id']}/acknowledge/")
    assert acknowledged.status_code == 200
    assert (acknowledged.json()["status"], acknowledged.json()["acknowledged_by"]["username"]) == (
        "acknowledged",
        "boss",
    )
    again = api_client.post(f"/api/alerts/{row['id']}/acknowledge/")
    assert again.status_code == 400
    assert "already acknowledged by" in again.json()["detail"]
    assert api_client.get("/api/alerts/", {"status": ["active"]}).json()["count"] == 0


def test_sops_are_listed_with_their_steps_and_filtered_by_error_code(bearing_code, tech1_client):
    [sop] = tech1_client.get("/api/sops/", {"error_code": "E-BRG-01"}).json()["results"]
    assert (sop["title"], len(sop["steps"]), sop["estimated_minutes"]) == ("Replace a worn bearing", 2, 50)
    assert tech1_client.get("/api/sops/", {"error_code": "E-NONE"}).json()["count"] == 0
    assert tech1_client.get(f"/api/sops/{sop['id']}/").json()["error_codes"] == ["E-BRG-01"]


def test_an_alert_carries_its_why_and_remaining_life_from_its_last_prediction(alert_ticket, api_client, manager):
    api_client.force_authenticate(manager)
    [row] = api_client.get("/api/alerts/").json()["results"]
    assert row["explanation"] == ["vibration 3.1x its 12-hour level, rising 0.4 mm/s per hour"]
    assert row["rul"] == {"hours": 30.0, "low_hours": 18.0, "high_hours": 44.0}
    assert api_client.get(f"/api/alerts/{row['id']}/").json()["explanation"] == row["explanation"]


def test_a_machine_reported_alert_says_the_machine_reported_it(api_client, manager, pump, bearing_code, predict):
    reported = AlertFactory(machine=pump, error_code=bearing_code, source=AlertSource.MACHINE, probability=1.0)
    api_client.force_authenticate(manager)

    body = api_client.get(f"/api/alerts/{reported.pk}/").json()
    assert (body["explanation"], body["rul"]) == (["M-007 reported E-BRG-01 itself: it has failed."], None)

    # A prediction that refreshes it since adds its own signals after the machine's word.
    Alert.objects.filter(pk=reported.pk).update(last_prediction=predict(pump, 0.95, bearing_code, rul_hours=2.0))
    body = api_client.get(f"/api/alerts/{reported.pk}/").json()
    assert body["explanation"] == [
        "M-007 reported E-BRG-01 itself: it has failed.",
        "vibration 3.1x its 12-hour level, rising 0.4 mm/s per hour",
    ]
    assert body["rul"] == {"hours": 2.0, "low_hours": None, "high_hours": None}


def test_the_alert_list_costs_the_same_queries_for_one_alert_or_many(
    api_client, manager, bearing_code, predict, django_assert_num_queries
):
    def add_alerts(count: int, first: int) -> None:
        for number in range(first, first + count):
            machine = MachineFactory(code=f"M-{number:03d}")
            prediction = predict(machine, 0.9, bearing_code, rul_hours=10.0, rul_low_hours=5.0, rul_high_hours=20.0)
            alert = AlertFactory(machine=machine, error_code=bearing_code, last_prediction=prediction)
            TicketFactory(machine=machine, alert=alert)
        AlertFactory(
            machine=MachineFactory(code=f"M-{first + count:03d}"), error_code=bearing_code, source=AlertSource.MACHINE
        )

    api_client.force_authenticate(manager)
    add_alerts(1, first=1)
    api_client.get("/api/alerts/")  # the user's role groups are cached on the first request's user

    def queries_for_list(expected_rows: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = api_client.get("/api/alerts/").json()["results"]
        assert len(rows) == expected_rows
        assert all(row["explanation"] for row in rows)
        return len(captured)

    few = queries_for_list(2)
    add_alerts(8, first=10)
    assert queries_for_list(11) == few
